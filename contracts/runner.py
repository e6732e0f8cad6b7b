"""Verify a server (the mock, or a real SuperOffice installation) against the contract.

``verify(base_url, ...)`` drives the server with Hypothesis through both of its faces, the agent
(``/api/v1/Agents/Webhook/*``) and REST (``/api/v1/Webhook``), running every named check of
``contracts.checks`` (the REST checks of ``contracts.rest_checks`` among them) on every exchange.
For each generated webhook a scenario saves it through the agent and reads it through REST, updates
it through the agent and puts it through REST, patches it through REST (a document of
``from_patch``) and reads it through both, sends a patch whose ``test`` fails (409) and one with a
stale If-Unmodified-Since (412), creates another through REST, deletes it through the agent and
asks REST for it (404), deletes the first through REST and asks the agent (null). Then a rule-based
state machine does the same in any order (``contracts.runner_machine``); the model is the oracle.

A failing check is reported with the minimal request Hypothesis shrank it to, as a curl command;
the run then continues without that check, so every check gets a verdict. A check that rests on
an assumption (docs/fidelity.md) only warns; so do properties the contract does not know in an
answer (a newer server's, F-190), which the model leaves out of every comparison (F-192). A failure
the server does not repeat (Hypothesis cannot replay it: flaky) fails its check with the request as
first seen; an error that is no check's (a request that got no answer) fails ``run`` and stops the
run; a run that could create no webhook (every save refused) passes no check.

Safe against a real tenant: every webhook it creates carries the run's tag in its Name and is
deleted at the end, also when the run fails or is interrupted; it names no other webhook (no id it
was not handed, on either face: ``contracts.runner_session``); ``max_examples`` and
``min_interval`` keep the load gentle.
"""

from __future__ import annotations

import secrets
from typing import Any

import requests
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Flaky

from contracts.check_registry import BASIS, CHECKS, REST, CheckContext, Violation
from contracts.exchange import WireRequest
from contracts.rest_strategies import from_patch, patchable_fields
from contracts.runner_machine import run_machine
from contracts.runner_report import CheckOutcome, VerifyReport
from contracts.runner_session import RUN, Client, Session
from contracts.spec import load
from contracts.strategies import Credentials, from_webhook

__all__ = ["CheckOutcome", "VerifyReport", "verify"]

_STALE = "Wed, 21 Oct 2015 07:28:00 GMT"  # an If-Unmodified-Since before any webhook of the run
# what a patch of the run may change: what from_patch changes by default, but the Name, which
# carries the run's tag
_PATCHED = [name for name in patchable_fields(load()) if name != "Name"]


def _scenario(run: Session, webhook: dict[str, Any], data: st.DataObject) -> None:
    """One webhook through both faces (the module's docstring tells the steps)."""
    ctx = CheckContext()
    webhook = run.tagged(webhook)
    saved = run.save(ctx, "SaveWebhook", webhook)
    if saved is None:
        return
    webhook_id = saved["WebhookId"]
    at = {"id": webhook_id}
    for accept in ("application/json", "application/xml"):
        run.read(ctx, webhook_id, rest=True, accept=accept)
    run.save(ctx, "SaveWebhook", {**webhook, "WebhookId": webhook_id, "Name": f"{run.tag} updated"})
    run.save(
        ctx, REST.put, {**webhook, "WebhookId": 0, "Name": f"{run.tag} put"}, path=at
    )  # the path's id wins
    run.read(ctx, webhook_id, rest=False, accept="application/xml")
    changes = data.draw(from_patch(ctx.model[webhook_id], fields=_PATCHED), label="patch")
    run.save(ctx, REST.patch, changes, path=at)
    run.read(ctx, webhook_id, rest=False)
    run.read(ctx, webhook_id, rest=True)
    name = ctx.model[webhook_id]["Name"]
    conflict = [
        {"op": "test", "path": "name", "value": f"{name} (not)"},
        {"op": "replace", "path": "/Name", "value": f"{run.tag} never"},
    ]
    run.save(ctx, REST.patch, conflict, path=at)  # 409: the model stays as it was
    run.save(
        ctx, REST.patch, {"Name": f"{run.tag} never"}, path=at, headers={"If-Unmodified-Since": _STALE}
    )  # 412
    run.read(ctx, webhook_id, rest=True)
    posted = run.save(ctx, REST.post, run.tagged(webhook, "posted"))
    if posted is not None:
        other = {"id": posted["WebhookId"]}
        run.read(ctx, posted["WebhookId"], rest=False)
        if run.delete(ctx, posted["WebhookId"], rest=False):
            run.read(ctx, posted["WebhookId"], rest=True)  # 404, where the agent answers null
            run.save(ctx, REST.put, run.tagged(webhook, "gone"), path=other)  # 404, nothing created
            run.save(
                ctx, REST.patch, [{"op": "replace", "path": "name", "value": f"{run.tag} gone"}], path=other
            )
    if run.delete(ctx, webhook_id, rest=True):
        run.read(ctx, webhook_id, rest=False)


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
    client = Client(base_url, credentials, min_interval, timeout, verify_tls)
    base_url = client.base_url
    run = Session(client, tag, names, target_url)
    outcomes = {n: CheckOutcome(n, CHECKS[n].title, BASIS[n]) for n in names}  # type: ignore[attr-defined]
    webhooks = from_webhook(target_url=target_url) if target_url else from_webhook()
    options = settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        print_blob=False,
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
            run.raised = None

            @options
            @given(webhooks, st.data())
            def scenarios(webhook: dict[str, Any], data: st.DataObject) -> None:
                _scenario(run, webhook, data)

            try:
                scenarios()
            except Violation as violation:
                failure.append(violation)
            except (
                Flaky,
                requests.RequestException,
            ) as error:  # a flaky server, or no answer: a failure, no traceback
                failure.append(run.failure_of(error))
            if not failure:
                break
            first = failure[0]
            outcome = outcomes.setdefault(first.check, CheckOutcome(first.check, first.title, first.basis))
            outcome.status, outcome.message = "failed", first.message
            outcome.curl = _reproduction(first, run.steps_before(CheckContext(), first), base_url)
            if first.check == RUN:
                break
            run.active.remove(first.check)
        if RUN not in outcomes:
            run_machine(run, stateful_steps, outcomes, base_url, _PATCHED)
    finally:
        report = VerifyReport(base_url, tag, outcomes, requests=client.count, served=client.served)
        report.created, report.deleted = _cleanup(client, tag)
        report.cleaned_up = len(report.deleted)
    for name, warning in run.warnings.items():
        if outcomes[name].status == "passed":
            outcomes[name].status, outcomes[name].message = "warned", warning.message
            outcomes[name].basis = warning.basis  # a documented check warns only on an assumption (F-190)
            outcomes[name].curl = warning.request.as_curl(base_url) if warning.request else ""
    if not client.owned:
        _not_judged(run, outcomes, base_url)
    return report


def _not_judged(run: Session, outcomes: dict[str, CheckOutcome], base_url: str) -> None:
    """A run that could create no webhook checked nothing: no check of it passed."""
    if run.refused is not None:
        refusal, request = run.refused
        why, curl = f"the server refused every save (the first refusal: {refusal})", request.as_curl(base_url)
        if "TargetUrl" in refusal and run.target_url is None:  # the registration ping (F-093) found nobody
            why += (
                "; a server that pings a webhook's TargetUrl when it is saved needs one that answers 200: pass"
                " --target-url URL, or --receiver (and start the mock with --ca-file CA), or start the mock with"
                " --no-registration-ping"
            )
    elif RUN in outcomes:
        why, curl = "the run stopped before it could save one (see run)", ""
    else:
        return
    for outcome in outcomes.values():
        if outcome.status == "passed":
            outcome.status, outcome.curl = "failed", curl
            outcome.message = f"not judged: the run created no webhook to check: {why}"
            curl = ""  # the refused request once, under the first check


def _reproduction(violation: Violation, before: list[WireRequest], base_url: str) -> str:
    """The shrunk failing request as curl, preceded by the requests that set its webhook up."""
    if violation.request is None:
        return ""
    steps = [
        f"# step {n}{' (the id comes from its answer)' if n == 1 else ''}:\n{r.as_curl(base_url)}"
        for n, r in enumerate(before, 1)
    ]
    steps.append(("# then, failing:\n" if steps else "") + violation.request.as_curl(base_url))
    return "\n".join(steps)


def _cleanup(client: Client, tag: str) -> tuple[int, list[int]]:
    """Delete every webhook this run created: the ones it remembers and any listed with its tag;
    (how many there were, the ids deleted)."""
    created = set(client.created)
    try:
        exchange, answer = client.send("GetAllWebhooks", {"NameFilter": None})
        if exchange.status == 200:
            created |= {w["WebhookId"] for w in answer.json() if str(w.get("Name") or "").startswith(tag)}
            client.owned |= created  # its tag says the run created them
    except (requests.RequestException, ValueError):
        pass
    deleted: list[int] = []
    for webhook_id in sorted(created):
        try:
            if client.delete(webhook_id):
                deleted.append(webhook_id)
        except requests.RequestException:
            pass
    client.created.clear()
    return len(created), deleted
