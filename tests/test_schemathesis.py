"""schemathesis against the mock, in-process: its default checks, positive and negative modes."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings

import contracts.schemathesis_adapter  # noqa: F401  (the agent's XML and form wire formats)
from mockserver import MockConfig, create_app

AUTH = {"Authorization": "Basic dGplMDpUamUw"}

schema = schemathesis.openapi.from_wsgi("/openapi.json", create_app(MockConfig()))
schema.config.generation.update(modes=[schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE])


@schema.auth()
class SeedCredentials:
    """The seed page's Basic credentials, applied so schemathesis can also probe without them."""

    def get(self, case: schemathesis.Case, context: schemathesis.AuthContext) -> str:
        return AUTH["Authorization"]

    def set(self, case: schemathesis.Case, data: str, context: schemathesis.AuthContext) -> None:
        case.headers = case.headers or {}
        case.headers["Authorization"] = data

@schema.parametrize()
@settings(max_examples=25, deadline=None)
def test_the_mock_passes_schemathesis_default_checks(case: schemathesis.Case) -> None:
    case.call_and_validate()


def test_the_adapter_remembers_every_webhook_the_run_created_for_cleanup() -> None:
    from contracts.schemathesis_adapter import RUN_TAG, created_webhooks
    from mockserver import state_of

    rows = state_of(schema.app).store.all()
    assert rows, "the parametrized run above saved webhooks"
    assert {row.webhook_id for row in rows} <= set(created_webhooks())  # the exit hook deletes them all
    # generated (fuzzed) bodies carry the run tag; the coverage phase builds its bodies without hooks
    assert any((row.webhook.get("Name") or "").startswith(RUN_TAG) for row in rows)


# The stateful phase: sequences of calls that follow the links schemathesis infers from the
# contract (SaveWebhook's WebhookId into GetWebhook, DeleteWebhook, GetLastError).
TestStateful = schema.as_state_machine().TestCase
TestStateful.settings = settings(
    max_examples=15, stateful_step_count=6, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)
