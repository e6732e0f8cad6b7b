"""What ``sowebhook verify`` reports: one outcome per check (passed, failed or warned), as text and
as JUnit XML, credentials masked (``contracts.redact``): the raw outcome keeps them, for the HTML
report to mask with ``mockserver.masking``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from xml.etree import ElementTree

from contracts.redact import mask_curl, mask_values, without_userinfo

__all__ = ["CheckOutcome", "VerifyReport"]


@dataclass
class CheckOutcome:
    name: str
    title: str
    basis: str
    status: str = "passed"  # passed | failed | warned
    message: str = ""
    curl: str = ""

    def shown(self) -> tuple[str, str]:
        """The message and the curl as a report shows them: credentials and URLs' userinfo masked."""
        curl, values = mask_curl(self.curl)
        return mask_values(self.message, values), curl


@dataclass
class VerifyReport:
    base_url: str
    tag: str
    outcomes: dict[str, CheckOutcome]
    created: int = 0
    cleaned_up: int = 0
    requests: int = 0
    # what the HTML report shows (contracts.report_html): the run's exchanges by (operation,
    # status, media type), and the ids cleanup deleted
    served: Mapping[tuple[str, int, str], int] = field(default_factory=dict)
    deleted: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(o.status != "failed" for o in self.outcomes.values())

    def render(self) -> str:
        lines = [f"Verified {without_userinfo(self.base_url)} (run tag {self.tag}; {self.requests} requests)"]
        for outcome in self.outcomes.values():
            mark = {"passed": "PASS", "failed": "FAIL", "warned": "WARN"}[outcome.status]
            lines.append(f"  {mark}  {outcome.name} [{outcome.basis}]: {outcome.title}")
            if outcome.status != "passed":
                message, curl = outcome.shown()
                lines.append("        " + message.replace("\n", "\n        "))
                if curl:
                    lines.append("        reproduce with:\n          " + curl.replace("\n", "\n          "))
        counts = {
            s: sum(o.status == s for o in self.outcomes.values()) for s in ("passed", "failed", "warned")
        }
        lines.append(
            f"cleanup: {self.cleaned_up} of {self.created} left-over webhooks with the run tag deleted"
        )
        lines.append(f"{counts['passed']} passed, {counts['failed']} failed, {counts['warned']} warned")
        return "\n".join(lines)

    def junit(self) -> str:
        suite = ElementTree.Element(
            "testsuite",
            name="sowebhook verify",
            tests=str(len(self.outcomes)),
            failures=str(sum(o.status == "failed" for o in self.outcomes.values())),
        )
        for outcome in self.outcomes.values():
            case = ElementTree.SubElement(suite, "testcase", classname="sowebhook.checks", name=outcome.name)
            message, curl = outcome.shown()
            if outcome.status == "failed":
                ElementTree.SubElement(case, "failure", message=outcome.title).text = f"{message}\n\n{curl}"
            elif outcome.status == "warned":
                ElementTree.SubElement(case, "system-out").text = f"WARNING (assumption): {message}"
        return ElementTree.tostring(suite, encoding="unicode")
