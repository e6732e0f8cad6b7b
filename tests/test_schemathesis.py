"""schemathesis against the mock, in-process: its default checks, positive and negative modes."""

from __future__ import annotations

import schemathesis
from hypothesis import settings

import contracts.schemathesis_adapter  # noqa: F401  (the agent's XML and form wire formats)
from mockserver import MockConfig, create_app

AUTH = {"Authorization": "Basic dGplMDpUamUw"}

schema = schemathesis.openapi.from_wsgi("/openapi.json", create_app(MockConfig()))
schema.config.generation.update(modes=[schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE])

@schema.parametrize()
@settings(max_examples=25, deadline=None)
def test_the_mock_passes_schemathesis_default_checks(case: schemathesis.Case) -> None:
    case.call_and_validate(headers=AUTH)


def test_the_adapter_remembers_every_webhook_the_run_created_for_cleanup() -> None:
    from contracts.schemathesis_adapter import RUN_TAG, created_webhooks
    from mockserver import state_of

    rows = state_of(schema.app).store.all()
    assert rows, "the parametrized run above saved webhooks"
    assert {row.webhook_id for row in rows} <= set(created_webhooks())  # the exit hook deletes them all
    # generated (fuzzed) bodies carry the run tag; the coverage phase builds its bodies without hooks
    assert any((row.webhook.get("Name") or "").startswith(RUN_TAG) for row in rows)
