"""The HTML reports (``contracts.report_html``), parsed back with ``html.parser`` and held to the
run's own figures: the checks and verdicts of the report object, coverage counted independently
from what the server saw (its journal, and a WSGI wrapper for the media types), cleanup from the
journal's trailing deletes, and each curl, split as a shell splits it, against the request the
server received. A hostile server cannot put markup into a report."""

from __future__ import annotations

import json
import shlex
from collections import Counter
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from click.testing import CliRunner

from contracts.check_registry import CHECKS
from contracts.cli import main
from contracts.report_html import Curl, parse_reproduction, verify_html
from contracts.runner import verify
from harness.versions import mock_app, webhooks_changed
from mockserver import MockConfig, masking, state_of
from mockserver.config import DeliveryConfig
from mockserver.testing import MockServer

CREDENTIALS = "dGplMDpUamUw"  # the default Basic credentials of every run here: never in a report


# -- the parsed page -----------------------------------------------------------------------------


class Node:
    def __init__(self, tag: str, attrs: dict[str, str]) -> None:
        self.tag = tag
        self.attrs = attrs
        self.children: list[Node | str] = []

    @property
    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text for c in self.children)

    def all(self, tag: str | None = None, cls: str | None = None) -> list[Node]:
        found = []
        for child in self.children:
            if isinstance(child, Node):
                if (tag is None or child.tag == tag) and (
                    cls is None or cls in child.attrs.get("class", "").split()
                ):
                    found.append(child)
                found += child.all(tag, cls)
        return found


class Page(HTMLParser):
    VOID = {"meta", "link", "br", "img", "input", "hr"}

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in self.VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        while len(self.stack) > 1:
            if self.stack.pop().tag == tag:
                break

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parsed(text: str) -> Node:
    return Page(text).root


def cells(page: Node) -> dict[tuple[str, str, str], int]:
    return {
        (cell.attrs["data-operation"], cell.attrs["data-status"], cell.attrs["data-media-type"]): int(
            cell.all(cls="count")[0].text
        )
        for cell in page.all("span", "cell")
    }


def command(curl: Node) -> list[str]:
    """A curl of the page as a POSIX shell reads it (a backslash-newline continues the line)."""
    return shlex.split(curl.text.replace("\\\n", ""))


def sent(words: list[str]) -> dict[str, Any]:
    assert words[:2] == ["curl", "-X"]
    options = list(zip(words[4::2], words[5::2], strict=True))
    return {
        "method": words[2],
        "url": words[3],
        "headers": {
            name.lower(): value
            for option, header in options
            if option == "-H"
            for name, value in [header.split(": ", 1)]
        },
        "body": next((value for option, value in options if option == "--data-raw"), None),
    }


def masked_secrets(value: Any) -> Any:
    """The test's own masking of a body: every Secret's value is ``***``."""
    if isinstance(value, dict):
        return {k: "***" if k.lower() == "secret" else masked_secrets(v) for k, v in value.items()}
    return [masked_secrets(v) for v in value] if isinstance(value, list) else value


# -- verify ----------------------------------------------------------------------------------------


def media_recorded(app: Any, seen: list[str]) -> Callable[..., Any]:
    """``app``, noting the media type of every answer (the journal keeps no response headers)."""

    def recorded(environ: dict[str, Any], start_response: Any) -> Any:
        def start(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
            kind = next((value for name, value in headers if name.lower() == "content-type"), "")
            seen.append(kind.split(";")[0].strip().lower())
            return start_response(status, headers, *rest)

        return app(environ, start)

    return recorded


def test_a_verify_report_holds_the_runs_checks_coverage_tag_and_cleanup() -> None:
    app = mock_app()
    media: list[str] = []
    report = verify(media_recorded(app, media), max_examples=3, stateful_steps=5)
    page = parsed(verify_html(report, masking))

    rows = page.all("tr", "check")
    assert [(r.attrs["data-check"], r.attrs["data-status"]) for r in rows] == [
        (n, o.status) for n, o in report.outcomes.items()
    ]
    assert set(CHECKS) <= {r.attrs["data-check"] for r in rows}
    assert {r.attrs["data-basis"] for r in rows} <= {"documented", "assumed"}
    negotiation = next(r for r in rows if r.attrs["data-check"] == "content_negotiation")
    assert negotiation.attrs["data-basis"] == "assumed"
    assert [d.attrs["data-row"] for d in negotiation.all("details", "fidelity")] == ["F-065"]
    assert "content negotiation" in negotiation.all("details", "fidelity")[0].text  # the row's own text

    # coverage: every exchange the server answered, counted from its journal and its answers
    journal = state_of(app).journal.entries()
    assert len(journal) == len(media)
    independent = Counter(
        (e.operation, str(e.status), m or "") for e, m in zip(journal, media, strict=True) if e.operation
    )
    shown = cells(page)
    assert {cell: n for cell, n in shown.items() if n} == dict(independent)
    assert page.all(cls="declared")[0].text == str(len(shown))
    assert page.all(cls="served-count")[0].text == str(sum(1 for n in shown.values() if n))
    assert page.all("table", "undeclared") == []

    # the run tag names every webhook it saved; cleanup deleted what the trailing deletes name
    assert page.all(cls="tag")[0].text == report.tag
    saved = [json.loads(e.raw) for e in journal if e.operation == "SaveWebhook"]
    assert saved and all(body["Name"].startswith(report.tag) for body in saved)
    trailing: list[int] = []
    for entry in reversed(journal):
        if entry.operation != "DeleteWebhook":
            break
        trailing.insert(0, int(entry.query["WebhookId"]))
    assert report.deleted == trailing
    shown_ids = page.all(cls="deleted-ids")[0].text  # "1-3, 7"
    assert [i for part in shown_ids.split(", ") if part != "none" for i in _expand(part)] == trailing
    assert CREDENTIALS not in page.text


def _expand(part: str) -> list[int]:
    first, _, last = part.partition("-")
    return list(range(int(first), int(last or first) + 1))


def test_the_cli_writes_the_html_report_of_a_failing_run_and_its_curl_reproduces_the_request(
    tmp_path: Path,
) -> None:
    html, junit = tmp_path / "report.html", tmp_path / "report.xml"
    with MockServer(
        MockConfig(response_validation="report", delivery=DeliveryConfig(registration_ping=False))
    ) as mock:
        agent = state_of(mock.app).agent
        original = agent.handlers["SaveWebhook"]

        def save(call: Any) -> tuple[int, Any]:  # the defect: an update answers a new Registered
            status, webhook = original(call)
            if (call.request.body or {}).get("WebhookId") and isinstance(webhook, dict):
                webhook = {**webhook, "Registered": webhook["Updated"]}
            return status, webhook

        agent.handlers["SaveWebhook"] = save
        result = CliRunner().invoke(
            main,
            [
                "verify",
                mock.url,
                "--max-examples",
                "5",
                "--check",
                "save_update_keeps_registered",
                "--html",
                str(html),
                "--junit",
                str(junit),
            ],
        )
        journal, base_url = mock.journal(), mock.url
    assert result.exit_code == 1, result.output
    assert junit.read_text(encoding="utf-8").startswith("<testsuite")  # JUnit as it was
    page = parsed(html.read_text(encoding="utf-8"))
    (row,) = page.all("tr", "check")
    assert (row.attrs["data-check"], row.attrs["data-status"]) == ("save_update_keeps_registered", "failed")
    assert "Registered changed" in row.all("pre", "message")[0].text
    steps = row.all("pre", "curl")
    assert len(steps) >= 2 and [sent(command(step))["method"] for step in steps] == ["POST"] * len(
        steps
    )  # its save, then the update
    failing = command(row.all("pre", "curl")[-1])
    request = sent(failing)
    assert request["headers"]["authorization"] == "***"
    assert CREDENTIALS not in page.text
    url = urlsplit(request["url"])
    assert f"{url.scheme}://{url.netloc}" == base_url
    body = json.loads(request["body"])
    assert body["WebhookId"] > 0  # the update
    received = [
        e
        for e in journal
        if (e.method, e.path, e.query) == (request["method"], url.path, dict(parse_qsl(url.query)))
        and masked_secrets(json.loads(e.raw)) == body
    ]
    assert received, "the server never received the request the curl sends"
    assert all(received[0].headers.get(name.title()) == value for name, value in request["headers"].items())


def test_a_hostile_server_cannot_put_markup_into_the_report() -> None:
    script = '</pre></td><script>alert("owned")</script>'
    changed = webhooks_changed(mock_app(), lambda webhook: {**webhook, "Name": script})

    def hostile(environ: dict[str, Any], start_response: Any) -> Any:
        """Its webhooks are named with markup, and its lists are of a media type of markup."""

        def start(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
            if environ["PATH_INFO"].endswith("GetAllWebhooks"):
                headers = [(k, f"text/{script}" if k.lower() == "content-type" else v) for k, v in headers]
            return start_response(status, headers, *rest)

        return changed(environ, start)

    report = verify(hostile, max_examples=3, stateful_steps=0, checks=["save_echoes_client_fields"])
    assert report.outcomes["save_echoes_client_fields"].status == "failed", report.render()
    page = parsed(verify_html(report, masking))
    assert page.all("script") == []
    assert "<script>" in page.all("pre", "message")[0].text  # shown, as text
    undeclared = page.all("tr", "undeclared-cell")
    # the lists' markup media type; the proxy answers its 204s as text/plain, undeclared too
    listed = [row for row in undeclared if row.text.startswith("GetAllWebhooks")]
    assert listed and all("<script>" in row.text for row in listed), [row.text for row in undeclared]


# -- the reproduction's masking, without a run ---------------------------------------------------


def test_a_password_in_the_servers_url_is_masked_everywhere_in_the_report() -> None:
    from contracts.exchange import WireRequest
    from contracts.runner_report import CheckOutcome, VerifyReport

    base = "http://someone:url-password-9@127.0.0.1:1"
    request = WireRequest(
        "PUT", "/api/v1/Webhook/7", {"Accept": "application/json"}, json.dumps({"TargetUrl": base}).encode()
    )
    failed = CheckOutcome(
        "no_server_error",
        "no 5xx",
        "documented",
        "failed",
        f"got 500 from {base}/api/v1/Webhook/7",
        request.as_curl(base),
    )
    report = VerifyReport(base, "tag", {failed.name: failed})
    page = parsed(verify_html(report, masking))
    assert "url-password-9" not in page.text and "someone" not in page.text
    assert page.all("dd", "server")[0].text == "http://***@127.0.0.1:1"
    curl = sent(command(page.all("pre", "curl")[0]))
    assert curl["url"] == "http://***@127.0.0.1:1/api/v1/Webhook/7" and json.loads(curl["body"]) == {
        "TargetUrl": "http://***@127.0.0.1:1"
    }
    assert "got 500 from http://***@127.0.0.1:1/" in page.all("pre", "message")[0].text


def test_a_reproduction_is_parsed_back_and_masked() -> None:
    from contracts.exchange import WireRequest

    body = json.dumps({"Name": "it's $HOME `x`", "Secret": "hunter2-secret"}).encode()
    steps = [
        WireRequest(
            "POST",
            "/api/v1/Agents/Webhook/SaveWebhook?x=1",
            {"Authorization": f"Basic {CREDENTIALS}", "Accept": "*/*"},
            body,
        )
    ]
    text = (
        "# step 1 (the id comes from its answer):\n"
        + steps[0].as_curl("http://h")
        + "\n# then, failing:\n"
        + steps[0].as_curl("http://h")
    )
    curls = parse_reproduction(text)
    assert curls is not None and [c.caption for c in curls] == [
        "step 1 (the id comes from its answer)",
        "then, failing",
    ]
    masked, secrets = curls[1].masked(masking)
    assert set(secrets) >= {"hunter2-secret", CREDENTIALS}
    request = sent(shlex.split(masked.text.replace("\\\n", "")))
    assert request == {
        "method": "POST",
        "url": "http://h/api/v1/Agents/Webhook/SaveWebhook?x=1",
        "headers": {"authorization": "***", "accept": "*/*"},
        "body": json.dumps({"Name": "it's $HOME `x`", "Secret": "***"}),
    }
    assert parse_reproduction("rm -rf /") is None
    assert Curl("GET", "http://h/", (), "@/etc/passwd").text.endswith("--data-raw @/etc/passwd")


def test_a_journal_entry_as_curl_has_its_secrets_masked_in_the_query_and_the_urls_too() -> None:
    from types import SimpleNamespace

    from contracts.report_html import entry_curl

    body = {"TargetUrl": "https://someone:url-password-9@example.invalid/h", "Secret": "body-secret-7"}
    entry = SimpleNamespace(
        id=3,
        method="POST",
        path="/api/v1/Agents/Webhook/SaveWebhook",
        query={"Secret": "query-secret-8", "x": "1"},
        headers={"Authorization": "***", "Host": "h"},
        raw=json.dumps(body).encode(),
    )
    request = sent(shlex.split(entry_curl("http://127.0.0.1:1", entry, masking).text.replace("\\\n", "")))
    assert dict(parse_qsl(urlsplit(request["url"]).query)) == {"Secret": "***", "x": "1"}
    assert json.loads(request["body"]) == {"TargetUrl": "https://***@example.invalid/h", "Secret": "***"}
    assert request["headers"] == {"authorization": "***"}


# -- the pytest plugin -----------------------------------------------------------------------------

SESSION = """
import requests

AUTH = {"Authorization": "Basic dGplMDpUamUw"}
HOOK = {"Name": "n", "Type": "crmscript", "TargetUrl": "https://example.invalid/hook", "Secret": "top-secret-value"}  # not pinged


def save(url, webhook):
    return requests.post(f"{url}/api/v1/Agents/Webhook/SaveWebhook", json=webhook, headers=AUTH, timeout=10)


def test_clean(sowebhook_mock):
    saved = save(sowebhook_mock.url, HOOK).json()
    got = requests.post(f"{sowebhook_mock.url}/api/v1/Agents/Webhook/GetWebhook?webhookId={saved['WebhookId']}",
                        headers={**AUTH, "Accept": "application/xml"}, timeout=10)
    assert got.status_code == 200


def test_typo(sowebhook_mock):
    assert save(sowebhook_mock.url, {**HOOK, "Nmae": "typo"}).status_code == 200


def test_server(sowebhook_verify):
    sowebhook_verify(max_examples=2, stateful_steps=0, checks=["status_code_conformance"])


def test_receiver(sowebhook_receiver_check):
    from werkzeug.wrappers import Response
    sowebhook_receiver_check(lambda environ, start_response: Response("OK")(environ, start_response), "s3cret")


def test_nothing_of_ours():
    pass
"""


@pytest.mark.slow  # a pytest subprocess, with a mock on a real socket
@pytest.mark.parametrize(
    "processes", [["-p", "no:xdist"], ["-n", "2", "--dist", "each"]], ids=["one", "xdist"]
)
def test_the_plugins_session_report(pytester: pytest.Pytester, tmp_path: Path, processes: list[str]) -> None:
    """In one process, and with pytest-xdist, where each worker has its own mock and the controller
    writes the one file (with ``--dist each`` every test runs on both workers: both mocks' coverage
    is summed)."""
    pytester.makepyfile(test_session=SESSION)
    out = tmp_path / "session.html"
    with MockServer(MockConfig(delivery=DeliveryConfig(registration_ping=False))) as server:
        result = pytester.runpytest_subprocess(
            "-p",
            "no:cacheprovider",
            *processes,
            "--sowebhook-url",
            server.url,
            "--sowebhook-report",
            str(out),
        )
    runs = 2 if "-n" in processes else 1
    result.assert_outcomes(
        passed=4 * runs, failed=1 * runs, errors=1 * runs
    )  # test_typo passes, then errs at teardown (the typo)
    result.stdout.fnmatch_lines([f"*sowebhook report: {out}*"])
    assert sum(f"sowebhook report: {out}" in line for line in result.outlines) == 1
    page = parsed(out.read_text(encoding="utf-8"))
    tests = {s.attrs["data-nodeid"].split("::")[-1]: s for s in page.all("section", "test")}
    assert {name: s.attrs["data-outcome"] for name, s in tests.items()} == {
        "test_clean": "passed",
        "test_typo": "error",
        "test_server": "passed",
        "test_receiver": "failed",
    }
    (problem,) = tests["test_typo"].all("div", "problem")
    assert "Nmae" in problem.all("pre", "message")[0].text
    request = sent(command(problem.all("pre", "curl")[0]))
    assert (
        request["method"] == "POST" and urlsplit(request["url"]).path == "/api/v1/Agents/Webhook/SaveWebhook"
    )
    assert request["headers"]["authorization"] == "***"
    assert json.loads(request["body"]) == {
        "Name": "n",
        "Type": "crmscript",
        "TargetUrl": "https://example.invalid/hook",
        "Secret": "***",
        "Nmae": "typo",
    }
    assert "top-secret-value" not in page.text and CREDENTIALS not in page.text
    (verified,) = tests["test_server"].all("section", "verify")
    assert [(r.attrs["data-check"], r.attrs["data-status"]) for r in verified.all("tr", "check")] == [
        ("status_code_conformance", "passed")
    ]
    failed = {
        r.attrs["data-check"]
        for r in tests["test_receiver"].all("tr", "receiver-check")
        if r.attrs["data-status"] == "failed"
    }
    assert "rejects_tampered_body" in failed  # it answers OK to everything
    # the session's mock served what test_clean and test_typo sent (the verify run had its own server)
    (session,) = page.all("section", "session-coverage")
    assert {cell: n for cell, n in cells(session).items() if n} == {
        ("SaveWebhook", "200", "application/json"): 2 * runs,
        ("GetWebhook", "200", "application/xml"): 1 * runs,
    }


def test_the_session_report_makes_its_directory_and_says_when_it_cannot_write(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makepyfile(test_plain="def test_plain():\n    pass\n")
    nested = tmp_path / "new" / "dir" / "report.html"
    made = pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", "-p", "no:xdist", "--sowebhook-report", str(nested)
    )
    made.assert_outcomes(passed=1)
    assert parsed(nested.read_text(encoding="utf-8")).all("dd", "test-count")[0].text.startswith("0 ")
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    refused = pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", "-p", "no:xdist", "--sowebhook-report", str(blocked / "report.html")
    )
    refused.assert_outcomes(passed=1)  # the tests' verdict, no INTERNALERROR
    assert refused.ret == 0
    refused.stdout.fnmatch_lines(["*sowebhook report: not written (*a-file*"])
