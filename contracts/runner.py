"""Verify a server (the mock, or a real SuperOffice installation) against the contract.

``verify(base_url, ...)`` drives the server with Hypothesis: for generated webhooks it saves,
reads back in JSON and XML, updates, saves again and deletes, running every named check of
``contracts.checks`` on every exchange; then a rule-based state machine over save, get, get-all
and delete whose model is the oracle. A failing check is reported with the minimal request
Hypothesis shrank it to, as a curl command; the run then continues without that check, so every
check gets a verdict. A check that rests on an assumption (docs/fidelity.md) only warns; so do
properties the contract does not know in an answer (a newer server's, F-190), which the model
leaves out of every comparison (F-192).

Safe against a real tenant: every webhook it creates carries the run's tag in its Name and is
deleted at the end, also when the run fails or is interrupted; ``max_examples`` and
``min_interval`` keep the load gentle.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree

import requests
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from werkzeug.datastructures import Headers

from contracts.checks import BASIS, CHECKS, CheckContext, Exchange, Violation, known_only, run_checks
from contracts.exchange import WireRequest
from contracts.spec import load
from contracts.strategies import Credentials, from_webhook

__all__ = ["CheckOutcome", "VerifyReport", "verify"]



@dataclass
class CheckOutcome:
    name: str
    title: str
    basis: str
    status: str = "passed"  # passed | failed | warned
    message: str = ""
    curl: str = ""


@dataclass
class VerifyReport:
    base_url: str
    tag: str
    outcomes: dict[str, CheckOutcome]
    created: int = 0
    cleaned_up: int = 0
    requests: int = 0

    @property
    def ok(self) -> bool:
        return all(o.status != "failed" for o in self.outcomes.values())

    def render(self) -> str:
        lines = [f"Verified {self.base_url} (run tag {self.tag}; {self.requests} requests)"]
        for outcome in self.outcomes.values():
            mark = {"passed": "PASS", "failed": "FAIL", "warned": "WARN"}[outcome.status]
            lines.append(f"  {mark}  {outcome.name} [{outcome.basis}]: {outcome.title}")
            if outcome.status != "passed":
                lines.append("        " + outcome.message.replace("\n", "\n        "))
                if outcome.curl:
                    lines.append("        reproduce with:\n          " + outcome.curl.replace("\n", "\n          "))
        counts = {s: sum(o.status == s for o in self.outcomes.values()) for s in ("passed", "failed", "warned")}
        lines.append(f"cleanup: {self.cleaned_up} of {self.created} left-over webhooks with the run tag deleted")
        lines.append(f"{counts['passed']} passed, {counts['failed']} failed, {counts['warned']} warned")
        return "\n".join(lines)

    def junit(self) -> str:
        suite = ElementTree.Element(
            "testsuite", name="sowebhook verify", tests=str(len(self.outcomes)),
            failures=str(sum(o.status == "failed" for o in self.outcomes.values())),
        )
        for outcome in self.outcomes.values():
            case = ElementTree.SubElement(suite, "testcase", classname="sowebhook.checks", name=outcome.name)
            if outcome.status == "failed":
                ElementTree.SubElement(case, "failure", message=outcome.title).text = f"{outcome.message}\n\n{outcome.curl}"
            elif outcome.status == "warned":
                ElementTree.SubElement(case, "system-out").text = f"WARNING (assumption): {outcome.message}"
        return ElementTree.tostring(suite, encoding="unicode")


class _Client:
    """HTTP to the server under test, rate-limited, remembering what it created."""

    def __init__(self, target: Any, credentials: Credentials, min_interval: float, timeout: float, verify_tls: bool | str) -> None:
        self.base_url = target.rstrip("/") if isinstance(target, str) else "http://wsgi-app"
        self.app = None if isinstance(target, str) else target
        self.credentials = credentials
        self.session = requests.Session()
        self.session.verify = verify_tls
        self.min_interval = min_interval
        self.timeout = timeout
        self.created: set[int] = set()
        self.count = 0
        self._last = 0.0
        self._lock = threading.Lock()

    def send(self, operation: str, value: Any = None, *, query: str = "", accept: str = "application/json") -> tuple[Exchange, Any]:
        import json

        headers = {**self.credentials.headers(), "Accept": accept}
        body = b""
        if value is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
            body = json.dumps(value, ensure_ascii=False).encode("utf-8")
        called = load().operation(operation)
        request = WireRequest(called.method, called.path + query, headers, body, value, "application/json" if value is not None else None)
        with self._lock:
            wait = self._last + self.min_interval - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self._last = time.monotonic()
            self.count += 1
        if self.app is not None:  # in-process: a WSGI app, through werkzeug's test client
            from werkzeug.test import Client

            answer: Any = _WsgiAnswer(Client(self.app).post(request.path, data=body or None, headers=headers))
        else:
            answer = self.session.post(self.base_url + request.path, data=body or None, headers=headers, timeout=self.timeout)
        exchange = Exchange(operation, request, answer.status_code, Headers(list(answer.headers.items())), answer.content)
        return exchange, answer

    def delete(self, webhook_id: int) -> bool:
        exchange, _ = self.send("DeleteWebhook", query=f"?WebhookId={webhook_id}")
        return exchange.status == 204


class _WsgiAnswer:
    """A werkzeug test response with the few attributes of a requests.Response the runner reads."""

    def __init__(self, response: Any) -> None:
        self.status_code = response.status_code
        self.headers = response.headers
        self.content = response.get_data()

    def json(self) -> Any:
        import json

        return json.loads(self.content)


_WEBHOOK = load().document["components"]["schemas"]["Webhook"]["properties"]
_NAME_LIMIT = _WEBHOOK["Name"]["maxLength"]
_SERVER_SET = frozenset(name for name, schema in _WEBHOOK.items() if schema.get("readOnly"))  # the server sets them


class _Run:
    def __init__(self, client: _Client, tag: str, names: list[str], target_url: str | None) -> None:
        self.client = client
        self.tag = tag
        self.active = list(names)
        self.target_url = target_url
        self.warnings: dict[str, Violation] = {}
        self.last_save: WireRequest | None = None

    def exchange(self, ctx: CheckContext, operation: str, value: Any = None, **kwargs: Any) -> tuple[Exchange, Any]:
        exchange, answer = self.client.send(operation, value, **kwargs)
        if operation == "SaveWebhook":
            self.last_save = exchange.request
        for violation in run_checks(ctx, exchange, self.active):
            if violation.basis == "assumed":
                self.warnings.setdefault(violation.check, violation)
            else:
                raise violation
        return exchange, answer

    def remember(self, ctx: CheckContext, exchange: Exchange) -> dict[str, Any] | None:
        saved = ctx.value(exchange, {"$ref": "#/components/schemas/WebhookRecord"}) if exchange.status == 200 else None
        if isinstance(saved, dict) and saved.get("WebhookId"):
            self.client.created.add(saved["WebhookId"])
            ctx.seen_ids.add(saved["WebhookId"])
            # the model holds what the contract knows: a newer server's properties are not judged
            # against it, nor sent back in an update (F-192)
            ctx.model[saved["WebhookId"]] = known_only(ctx.contract, "WebhookRecord", saved)
            return saved
        return None

    def scenario(self, webhook: dict[str, Any]) -> None:
        """Save, read back (JSON and XML), update, save again, delete, read back."""
        ctx = CheckContext()
        webhook = {**webhook, "Name": f"{self.tag} {webhook.get('Name') or ''}"[:_NAME_LIMIT]}
        exchange, _ = self.exchange(ctx, "SaveWebhook", webhook)
        saved = self.remember(ctx, exchange)
        if saved is None:
            return
        webhook_id = saved["WebhookId"]
        for accept in ("application/json", "application/xml"):
            self.exchange(ctx, "GetWebhook", query=f"?webhookId={webhook_id}", accept=accept)
        changed = {**webhook, "WebhookId": webhook_id, "Name": f"{self.tag} updated"}
        exchange, _ = self.exchange(ctx, "SaveWebhook", changed)
        self.remember(ctx, exchange)
        exchange, _ = self.exchange(ctx, "SaveWebhook", {**changed})
        self.remember(ctx, exchange)
        self.exchange(ctx, "DeleteWebhook", query=f"?WebhookId={webhook_id}")
        self.client.created.discard(webhook_id)
        ctx.deleted.add(webhook_id)
        self.exchange(ctx, "GetWebhook", query=f"?webhookId={webhook_id}")


def verify(
    base_url: Any,
    *,
    credentials: Credentials = Credentials(),  # noqa: B008 - frozen dataclass: one shared default is safe
    target_url: str | None = None,
    max_examples: int = 20,
    stateful_steps: int = 20,
    min_interval: float = 0.0,
    timeout: float = 30.0,
    verify_tls: bool | str = True,
    checks: list[str] | None = None,
) -> VerifyReport:
    """Run every check (or ``checks``) against the server at ``base_url``, or a WSGI app in-process."""
    names = [n for n in CHECKS if checks is None or n in checks]
    tag = f"sowebhook-verify-{secrets.token_hex(4)}"
    client = _Client(base_url, credentials, min_interval, timeout, verify_tls)
    base_url = client.base_url
    run = _Run(client, tag, names, target_url)
    outcomes = {n: CheckOutcome(n, CHECKS[n].title, BASIS[n]) for n in names}  # type: ignore[attr-defined]
    webhooks = from_webhook(target_url=target_url) if target_url else from_webhook()
    options = settings(
        max_examples=max_examples, deadline=None, database=None, derandomize=True,
        suppress_health_check=list(HealthCheck), print_blob=False,
        # one failure at a time (the loop below reports it and runs on without its check): two
        # checks failing on different examples would otherwise come back as an ExceptionGroup
        report_multiple_bugs=False,
        # no explain phase: the report shows the shrunk request itself, and explaining a failure
        # re-draws it dozens of times (30 s of a 31 s shrink against the mock)
        phases=[phase for phase in Phase if phase is not Phase.explain],
    )
    try:
        while run.active:
            failure: list[Violation] = []

            @options
            @given(webhooks)
            def scenarios(webhook: dict[str, Any]) -> None:
                run.scenario(webhook)

            try:
                scenarios()
            except Violation as violation:
                failure.append(violation)
            if not failure:
                break
            first = failure[0]
            outcome = outcomes[first.check]
            outcome.status, outcome.message = "failed", first.message
            outcome.curl = _reproduction(first, run.last_save, base_url)
            run.active.remove(first.check)
        _stateful(run, stateful_steps, outcomes, base_url)
    finally:
        report = VerifyReport(base_url, tag, outcomes, requests=client.count)
        report.created, report.cleaned_up = _cleanup(client, tag)
    for name, warning in run.warnings.items():
        if outcomes[name].status == "passed":
            outcomes[name].status, outcomes[name].message = "warned", warning.message
            outcomes[name].basis = warning.basis  # a documented check warns only on an assumption (F-190)
            outcomes[name].curl = warning.request.as_curl(base_url) if warning.request else ""
    return report


def _stateful(run: _Run, steps: int, outcomes: dict[str, CheckOutcome], base_url: str) -> None:
    """A rule-based state machine over save, get, get-all and delete; the model is the oracle."""
    if not run.active or steps <= 0:
        return

    class Webhooks(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.ctx = CheckContext()

        @initialize()
        def start(self) -> None:
            self.ctx = CheckContext()

        @rule(webhook=from_webhook(target_url=run.target_url) if run.target_url else from_webhook())
        def save_new(self, webhook: dict[str, Any]) -> None:
            exchange, _ = run.exchange(self.ctx, "SaveWebhook", {**webhook, "Name": run.tag})
            run.remember(self.ctx, exchange)

        @rule(data=st.data())
        def update(self, data: st.DataObject) -> None:
            if self.ctx.model:
                webhook_id = data.draw(st.sampled_from(sorted(self.ctx.model)))
                current = {k: v for k, v in self.ctx.model[webhook_id].items() if k not in _SERVER_SET}
                exchange, _ = run.exchange(self.ctx, "SaveWebhook", {**current, "Name": f"{run.tag} v{data.draw(st.integers(0, 99))}"})
                run.remember(self.ctx, exchange)

        @rule(data=st.data())
        def get(self, data: st.DataObject) -> None:
            known = sorted(self.ctx.model) + sorted(self.ctx.deleted)
            if known:
                webhook_id = data.draw(st.sampled_from(known))
                run.exchange(self.ctx, "GetWebhook", query=f"?webhookId={webhook_id}")

        @rule(data=st.data())
        def delete(self, data: st.DataObject) -> None:
            if self.ctx.model:
                webhook_id = data.draw(st.sampled_from(sorted(self.ctx.model)))
                exchange, _ = run.exchange(self.ctx, "DeleteWebhook", query=f"?WebhookId={webhook_id}")
                if exchange.status == 204:
                    del self.ctx.model[webhook_id]
                    self.ctx.deleted.add(webhook_id)
                    run.client.created.discard(webhook_id)

        @invariant()
        def get_all_agrees_with_the_model(self) -> None:
            exchange, answer = run.exchange(self.ctx, "GetAllWebhooks", {"NameFilter": None})
            if exchange.status != 200:
                return
            listing = known_only(self.ctx.contract, "WebhookList", answer.json())  # F-192
            listed = {w["WebhookId"]: w for w in listing if str(w.get("Name") or "").startswith(run.tag)}
            for webhook_id, expected in self.ctx.model.items():
                if listed.get(webhook_id) != expected:
                    raise Violation(
                        operation="GetAllWebhooks", check="stateful_model", title="GetAllWebhooks agrees with the model",
                        message=f"webhook {webhook_id}: expected {expected!r:.200}, listed {listed.get(webhook_id)!r:.200}",
                        request=exchange.request,
                    )
            still_listed = sorted(set(listed) & self.ctx.deleted)
            if still_listed:
                raise Violation(
                    operation="GetAllWebhooks", check="stateful_model", title="GetAllWebhooks agrees with the model",
                    message=f"deleted webhooks are still listed: {still_listed}", request=exchange.request,
                )

    outcomes.setdefault("stateful_model", CheckOutcome("stateful_model", "GetAllWebhooks agrees with the model after save, get and delete", "documented"))
    try:
        run_state_machine_as_test(
            Webhooks,
            settings=settings(max_examples=max(1, steps // 5), stateful_step_count=5, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck)),
        )
    except Violation as violation:
        outcome = outcomes.get(violation.check) or outcomes["stateful_model"]
        outcome.status, outcome.message = "failed", violation.message
        outcome.curl = violation.request.as_curl(base_url) if violation.request else ""


def _reproduction(violation: Violation, last_save: WireRequest | None, base_url: str) -> str:
    """The shrunk failing request as curl, preceded by the save that set the state up."""
    if violation.request is None:
        return ""
    steps = []
    if last_save is not None and last_save is not violation.request:
        steps.append("# after saving (the id comes from its answer):\n" + last_save.as_curl(base_url))
    steps.append(violation.request.as_curl(base_url))
    return "\n".join(steps)


def _cleanup(client: _Client, tag: str) -> tuple[int, int]:
    """Delete every webhook this run created: the ones it remembers and any listed with its tag."""
    created = set(client.created)
    try:
        exchange, answer = client.send("GetAllWebhooks", {"NameFilter": None})
        if exchange.status == 200:
            created |= {w["WebhookId"] for w in answer.json() if str(w.get("Name") or "").startswith(tag)}
    except (requests.RequestException, ValueError):
        pass
    deleted = 0
    for webhook_id in sorted(created):
        try:
            deleted += client.delete(webhook_id)
        except requests.RequestException:
            pass
    client.created.clear()
    return len(created), deleted

