"""The rule-based state machine of ``sowebhook verify``: webhooks saved, updated, patched, read and
deleted through either face in any order, the model the oracle. After every step both lists (the
agent's GetAllWebhooks and REST's GET /api/v1/Webhook) must agree with the model."""

from __future__ import annotations

from typing import Any

import requests
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.errors import Flaky
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from contracts.check_registry import REST, CheckContext, Violation
from contracts.checks import known_only
from contracts.rest_strategies import from_patch
from contracts.runner_report import CheckOutcome
from contracts.runner_session import RUN, Session
from contracts.strategies import from_webhook

__all__ = ["run_machine"]

_FACES = st.sampled_from(["agent", "rest"])


def run_machine(
    run: Session, steps: int, outcomes: dict[str, CheckOutcome], base_url: str, patch_fields: list[str]
) -> None:
    """Run the machine for about ``steps`` steps; a violation fails its check (``stateful_model``
    for a list that disagrees with the model)."""
    if not run.active or steps <= 0:
        return
    webhooks = from_webhook(target_url=run.target_url) if run.target_url else from_webhook()

    class Webhooks(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.ctx = CheckContext()

        @initialize()
        def start(self) -> None:
            self.ctx = CheckContext()

        @rule(webhook=webhooks, face=_FACES)
        def save_new(self, webhook: dict[str, Any], face: str) -> None:
            run.save(self.ctx, "SaveWebhook" if face == "agent" else REST.post, {**webhook, "Name": run.tag})

        @rule(data=st.data(), face=_FACES)
        def update(self, data: st.DataObject, face: str) -> None:
            if self.ctx.model:
                webhook_id = data.draw(st.sampled_from(sorted(self.ctx.model)))
                changed = {
                    **run.client_view(self.ctx, webhook_id),
                    "Name": f"{run.tag} v{data.draw(st.integers(0, 99))}",
                }
                if face == "agent":
                    run.save(self.ctx, "SaveWebhook", changed)
                else:
                    run.save(self.ctx, REST.put, {**changed, "WebhookId": 0}, path={"id": webhook_id})

        @rule(data=st.data())
        def patch(self, data: st.DataObject) -> None:
            if self.ctx.model:
                webhook_id = data.draw(st.sampled_from(sorted(self.ctx.model)))
                changes = data.draw(
                    from_patch(self.ctx.model[webhook_id], fields=patch_fields, values=webhooks)
                )
                run.save(self.ctx, REST.patch, changes, path={"id": webhook_id})

        @rule(data=st.data(), face=_FACES)
        def get(self, data: st.DataObject, face: str) -> None:
            known = sorted(self.ctx.model) + sorted(self.ctx.deleted)
            if known:
                run.read(self.ctx, data.draw(st.sampled_from(known)), rest=face == "rest")

        @rule(data=st.data(), face=_FACES)
        def delete(self, data: st.DataObject, face: str) -> None:
            if self.ctx.model:
                run.delete(self.ctx, data.draw(st.sampled_from(sorted(self.ctx.model))), rest=face == "rest")

        @invariant()
        def both_lists_agree_with_the_model(self) -> None:
            for operation, value in (("GetAllWebhooks", {"NameFilter": None}), (REST.list, None)):
                exchange, answer = run.exchange(self.ctx, operation, value)
                if exchange.status == 200:
                    _agrees(run, self.ctx, operation, exchange.request, answer.json())

    outcomes.setdefault(
        "stateful_model",
        CheckOutcome(
            "stateful_model",
            "both faces' lists agree with the model after saves, patches, reads and deletes",
            "documented",
        ),
    )
    run.raised = None
    try:
        run_state_machine_as_test(
            Webhooks,
            settings=settings(
                max_examples=max(1, steps // 5),
                stateful_step_count=5,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            ),
        )
    except (
        Violation,
        Flaky,
        requests.RequestException,
    ) as error:  # a flaky server, or no answer: a failure, no traceback
        violation = error if isinstance(error, Violation) else run.failure_of(error)
        if violation.check == RUN:
            outcomes[RUN] = CheckOutcome(RUN, violation.title, violation.basis)
        outcome = outcomes.get(violation.check) or outcomes["stateful_model"]
        outcome.status, outcome.message = "failed", violation.message
        outcome.curl = violation.request.as_curl(base_url) if violation.request else ""


def _agrees(run: Session, ctx: CheckContext, operation: str, request: Any, listing: Any) -> None:
    listing = known_only(ctx.contract, "WebhookList", listing)  # F-192
    listed = {w["WebhookId"]: w for w in listing if str(w.get("Name") or "").startswith(run.tag)}
    for webhook_id, expected in ctx.model.items():
        if listed.get(webhook_id) != expected:
            raise Violation(
                operation=operation,
                check="stateful_model",
                title="the lists agree with the model",
                message=f"webhook {webhook_id}: expected {expected!r:.200}, listed {listed.get(webhook_id)!r:.200}",
                request=request,
            )
    still_listed = sorted(set(listed) & ctx.deleted)
    if still_listed:
        raise Violation(
            operation=operation,
            check="stateful_model",
            title="the lists agree with the model",
            message=f"deleted webhooks are still listed: {still_listed}",
            request=request,
        )
