"""schemathesis against the mock, in-process: its default checks, positive and negative modes."""

from __future__ import annotations

import re
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from werkzeug.wrappers import Response

import contracts.schemathesis_adapter  # noqa: F401  (the agent's XML and form wire formats)
from contracts.schemathesis_adapter import guard
from contracts.wire import XML_TYPES
from mockserver import MockConfig, create_app, state_of
from mockserver.config import DeliveryConfig

AUTH = {"Authorization": "Basic dGplMDpUamUw"}
KEPT = 20

# No registration ping: the tenant guard points every TargetUrl at .invalid (no SOWEBHOOK_TARGET_URL here).
schema = schemathesis.openapi.from_wsgi("/openapi.json", create_app(MockConfig(delivery=DeliveryConfig(registration_ping=False))))
schema.config.generation.update(modes=[schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE])
# No constants mined from the app's Python source: that pool is state outside Hypothesis, and the
# stateful phase's replays then drew differently (FlakyStrategyDefinition, seen once in 10 runs).
schema.config.analysis.constants.enabled = False


@schema.auth()
class SeedCredentials:
    """The seed page's Basic credentials, applied so schemathesis can also probe without them."""

    def get(self, case: schemathesis.Case, context: schemathesis.AuthContext) -> str:
        return AUTH["Authorization"]

    def set(self, case: schemathesis.Case, data: str, context: schemathesis.AuthContext) -> None:
        case.headers = case.headers or {}
        case.headers["Authorization"] = data

@pytest.mark.slow  # schemathesis's full run over every operation
@schema.parametrize()
@settings(max_examples=25, deadline=None)
def test_the_mock_passes_schemathesis_default_checks(case: schemathesis.Case) -> None:
    case.call_and_validate()
    # The coverage phase saves thousands of webhooks; GetAllWebhooks would answer all of them to
    # every later case (validated, encoded, decoded and validated again). Keep the newest few.
    store = state_of(schema.app).store
    rows = store.all()
    for row in rows[: max(0, len(rows) - KEPT)]:
        store.delete(row.webhook_id)


@pytest.mark.slow  # schemathesis's full run over every operation
def test_the_adapter_remembers_every_webhook_the_run_created_for_cleanup() -> None:
    from contracts.schemathesis_adapter import RUN_TAG, created_webhooks

    rows = state_of(schema.app).store.all()
    assert rows, "the parametrized run above saved webhooks"
    assert {row.webhook_id for row in rows} <= set(created_webhooks())  # the exit hook deletes them all
    # every webhook the run saved carries the run tag, whatever phase generated it
    assert all((row.webhook.get("Name") or "").startswith(RUN_TAG) for row in rows)


def _corrupt_xml(app: Any) -> Any:
    """The mock, except that every XML answer names its webhook with text where a number belongs."""

    def wrapped(environ: dict[str, Any], start_response: Any) -> Any:
        response = Response.from_app(app, environ)
        if response.mimetype in XML_TYPES:
            response.set_data(re.sub(rb"<WebhookId>\d+</WebhookId>", b"<WebhookId>none</WebhookId>", response.get_data()))
        return response(environ, start_response)

    return wrapped


@pytest.mark.parametrize("media_type", sorted(XML_TYPES))
def test_xml_answers_are_read_so_schemathesis_judges_them(media_type: str) -> None:
    from schemathesis.core.failures import FailureGroup
    from schemathesis.specs.openapi.checks import response_schema_conformance

    for app, breaks in ((create_app(MockConfig()), False), (_corrupt_xml(create_app(MockConfig())), True)):
        operation = schemathesis.openapi.from_wsgi("/openapi.json", app)["/api/v1/Agents/Webhook/CreateDefaultWebhook"]["POST"]
        case = operation.Case(headers={**AUTH, "Accept": media_type})
        response = case.call()
        content_type = {k.lower(): v for k, v in response.headers.items()}["content-type"]
        assert response.status_code == 200 and str(content_type).find(media_type) >= 0
        if breaks:
            with pytest.raises(FailureGroup, match="Response violates schema"):
                case.validate_response(response, checks=[response_schema_conformance])
        else:
            case.validate_response(response, checks=[response_schema_conformance])


# The stateful phase: sequences of calls that follow the links schemathesis infers from the
# contract (SaveWebhook's WebhookId into GetWebhook, DeleteWebhook, GetLastError).
class _Machine(schema.as_state_machine()):  # type: ignore[misc]
    def setup(self) -> None:
        """Each example starts from an empty mock, so what one sequence saved cannot steer the
        links (and so the draws) of the next: Hypothesis requires generation that external state
        does not change (FlakyStrategyDefinition)."""
        from mockserver.state import reset

        reset(state_of(schema.app))
        with guard._lock:
            guard.live.clear()


TestStateful = pytest.mark.slow(_Machine.TestCase)  # sequences of calls, stateful schemathesis
TestStateful.settings = settings(
    max_examples=15, stateful_step_count=6, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)
