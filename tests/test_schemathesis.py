"""schemathesis against the mock, in-process: its default checks, positive and negative modes."""

from __future__ import annotations

import re
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import OperationConfig, OperationsConfig, PhasesConfig
from schemathesis.filters import FilterSet
from werkzeug.wrappers import Response

import contracts.schemathesis_adapter  # noqa: F401  (the agent's XML and form wire formats)
from contracts import load
from contracts.schemathesis_adapter import guard
from contracts.tenant_scope import is_webhook
from contracts.wire import XML_TYPES
from mockserver import MockConfig, create_app, state_of
from mockserver.config import DeliveryConfig

AUTH = {"Authorization": "Basic dGplMDpUamUw"}
KEPT = 20

# No registration ping: the tenant guard points every TargetUrl at .invalid (no SOWEBHOOK_TARGET_URL here).
schema = schemathesis.openapi.from_wsgi(
    "/openapi.json", create_app(MockConfig(delivery=DeliveryConfig(registration_ping=False)))
)
schema.config.generation.update(
    modes=[schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]
)
# No constants mined from the app's Python source: that pool is state outside Hypothesis, and the
# stateful phase's replays then drew differently (FlakyStrategyDefinition, seen once in 10 runs).
schema.config.analysis.constants.enabled = False
# The REST operations that take a webhook as their body (POST, PUT, Test) take SaveWebhook's body
# in the same seven media types; the coverage phase would walk every property of it three times
# more (about 40 s). They run the examples and fuzzing phases, the agent's twins the coverage too.
_TWINS = [
    operation.operation_id
    for operation in load().operations.values()
    if operation.path.startswith("/api/v1/Webhook")
    and any(is_webhook(content.get("schema")) for content in operation.body_content.values())
]
_without_coverage = PhasesConfig()
_without_coverage.coverage.enabled = False
_twins = FilterSet()
_twins.include(operation_id=_TWINS)
schema.config.operations = OperationsConfig(
    operations=[OperationConfig(filter_set=_twins, phases=_without_coverage)]
)


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
@settings(max_examples=15, deadline=None)
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
            response.set_data(
                re.sub(rb"<WebhookId>\d+</WebhookId>", b"<WebhookId>none</WebhookId>", response.get_data())
            )
        return response(environ, start_response)

    return wrapped


@pytest.mark.parametrize("media_type", sorted(XML_TYPES))
@pytest.mark.parametrize(
    ("path", "method"),
    [("/api/v1/Agents/Webhook/CreateDefaultWebhook", "POST"), ("/api/v1/Webhook/default", "GET")],
)
def test_xml_answers_are_read_so_schemathesis_judges_them(media_type: str, path: str, method: str) -> None:
    from schemathesis.core.failures import FailureGroup
    from schemathesis.specs.openapi.checks import response_schema_conformance

    for app, breaks in ((create_app(MockConfig()), False), (_corrupt_xml(create_app(MockConfig())), True)):
        operation = schemathesis.openapi.from_wsgi("/openapi.json", app)[path][method]
        case = operation.Case(headers={**AUTH, "Accept": media_type})
        response = case.call()
        content_type = {k.lower(): v for k, v in response.headers.items()}["content-type"]
        assert response.status_code == 200 and str(content_type).find(media_type) >= 0
        if breaks:
            with pytest.raises(FailureGroup, match="Response violates schema"):
                case.validate_response(response, checks=[response_schema_conformance])
        else:
            case.validate_response(response, checks=[response_schema_conformance])


# What the server is right about (contracts.schemathesis_verdicts, the adapter's filter_failure)


def test_the_answer_to_a_path_no_route_takes_is_not_held_against_its_operation() -> None:
    """``/api/v1/Webhook/<event>/abc`` matches no route (``{primaryKey:int}``): the document's 404,
    which SignalEvent's own answers do not list (F-200)."""
    from contracts.schemathesis_verdicts import unrouted

    operation = schema["/api/v1/Webhook/{eventName}/{primaryKey}"]["POST"]
    case = operation.Case(path_parameters={"eventName": "a.b", "primaryKey": "abc"}, headers=dict(AUTH))
    assert unrouted(case)
    response = case.call()
    assert response.status_code == 404
    case.validate_response(response)  # undocumented status, schema, content type: all dropped
    assert not unrouted(operation.Case(path_parameters={"eventName": "a.b", "primaryKey": "-7"}))


def test_negative_cases_the_server_reads_as_valid() -> None:
    from contracts.schemathesis_verdicts import read_as_valid

    listing = schema["/api/v1/Webhook"]["GET"].Case(query={"statusFilter": "", "NAMEFILTER": "x"})
    assert read_as_valid(listing, None)  # an empty query value is none (F-043); names in any casing
    assert not read_as_valid(schema["/api/v1/Webhook"]["GET"].Case(query={"statusFilter": "Sometimes"}), None)
    signal = schema["/api/v1/Webhook/{eventName}/{primaryKey}"]["POST"].Case(
        path_parameters={"eventName": "a.b", "primaryKey": "+7"}, body="\r", media_type="text/json"
    )
    assert read_as_valid(signal, b"\r")  # a blank optional body is none; "+7" routes as 7


_STORED = {
    name: None for name in load().document["components"]["schemas"]["Webhook"]["properties"]
} | {  # as answered
    "WebhookId": 5,
    "Name": "n",
    "Events": ["a.b"],
    "TargetUrl": "https://x.invalid/hook",
    "Secret": "s",
    "State": "Active",
    "Type": "webhook",
    "Headers": {},
    "Properties": {},
    "Registered": "2024-01-02T03:04:05Z",
    "RegisteredAssociate": None,
    "Updated": "2024-05-06T07:08:09Z",
    "UpdatedAssociate": None,
    "NotifyVia": "None",
    "NotifyWhen": "None",
    "TotalCalls": 0,
    "TotalErrors": 0,
    "ConsecutiveErrors": 0,
}


@pytest.mark.parametrize(
    ("changes", "headers", "status", "stored", "right"),
    [
        (
            [{"op": "replace", "path": "/NoSuchProperty", "value": 1}],
            {},
            400,
            None,
            True,
        ),  # whatever is stored
        ({"NoSuchProperty": 1}, {}, 400, None, True),
        ([{"op": "add", "path": "/Name"}], {}, 400, None, True),  # add without a value
        ([{"op": "replace", "path": "/Events", "value": "a.b"}], {}, 400, None, False),  # unknown: kept
        ([{"op": "replace", "path": "/Events", "value": "a.b"}], {}, 400, _STORED, True),  # no valid webhook
        ([{"op": "remove", "path": "/Headers/X-Missing"}], {}, 400, _STORED, True),  # does not apply
        (
            [{"op": "replace", "path": "/Description", "value": "d"}],
            {},
            400,
            _STORED,
            False,
        ),  # the server's error
        (
            [{"op": "replace", "path": "/Description", "value": "d"}],
            {"If-Unmodified-Since": "Mon, 01 Jan 2024 00:00:00 GMT"},
            412,
            _STORED,
            True,
        ),
        (
            [{"op": "replace", "path": "/Description", "value": "d"}],
            {"If-Unmodified-Since": "Mon, 01 Jul 2024 00:00:00 GMT"},
            412,
            _STORED,
            False,
        ),
        (
            {"NoSuchProperty": 1},
            {"If-Unmodified-Since": "Mon, 01 Jan 2024 00:00:00 GMT"},
            412,
            _STORED,
            True,
        ),  # the date first
        ({"NoSuchProperty": 1}, {"If-Unmodified-Since": "Mon, 01 Jan 2024 00:00:00 GMT"}, 412, None, False),
    ],
)
def test_a_patch_refusal_is_judged_by_the_patch_semantics(
    changes: Any, headers: dict[str, str], status: int, stored: dict[str, Any] | None, right: bool
) -> None:
    from types import SimpleNamespace

    from contracts.schemathesis_verdicts import rightly_refused_patch

    case = schema["/api/v1/Webhook/{id}"]["PATCH"].Case(
        path_parameters={"id": 5}, headers=headers, body=changes, media_type="application/json"
    )
    assert rightly_refused_patch(case, SimpleNamespace(status_code=status), stored) is right


@pytest.mark.parametrize("path", ["/api/v1/Agents/Webhook/SaveWebhook", "/api/v1/Webhook"])
@pytest.mark.parametrize(
    ("headers", "right"),
    [
        ({"X-Key": "v"}, False),
        ({"bad name": "v"}, True),
        ({"X-Key": "a\r\nInjected: 1"}, True),
        ({"X-Key": "\u20ac"}, True),
    ],
)
def test_a_save_refused_for_headers_no_request_can_carry(
    path: str, headers: dict[str, str], right: bool
) -> None:
    """The server pings the TargetUrl with the webhook's Headers as it saves: a header name that is no
    token, a value with a line break or beyond Latin-1, cannot go out (RFC 9110), and it refuses."""
    from types import SimpleNamespace

    from contracts.schemathesis_verdicts import rightly_refused_save

    case = schema[path]["POST"].Case(body={"Name": "n", "headers": headers}, media_type="application/json")
    assert rightly_refused_save(case, SimpleNamespace(status_code=400)) is right
    assert not rightly_refused_save(case, SimpleNamespace(status_code=200))


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
    max_examples=15,
    stateful_step_count=6,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@pytest.mark.parametrize(
    "sent", [[7], 7, "7", [7, 8], [{"x": 1}]], ids=["list", "int", "text", "two", "object"]
)
def test_a_delete_whose_id_came_as_a_repeated_query_parameter_is_seen(sent: Any) -> None:
    """schemathesis sends a query value as a list when it repeats the parameter; the adapter's
    after_call took the list for one id and raised (unhashable), failing the whole run."""
    from types import SimpleNamespace

    from contracts import schemathesis_adapter as adapter

    delete = load().operation("DeleteWebhook")
    (name,) = (p["name"] for p in delete.query() if p.get("required"))
    case = SimpleNamespace(
        operation=SimpleNamespace(path=delete.path, method=delete.method),
        method=delete.method,
        query={name: sent},
        path_parameters={},
    )
    adapter._seen[7] = ({"Name": "seen"}, True)
    try:
        adapter._see(case, SimpleNamespace(status_code=204))
        # the oracle: what the server binds from the query (every integer value the list holds)
        bound = {v for v in (sent if isinstance(sent, list) else [sent]) if isinstance(v, int)}
        assert (7 in adapter._seen) == (7 not in bound)
    finally:
        adapter._seen.pop(7, None)
