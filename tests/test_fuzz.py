"""Fuzzing the mock, in-process: arbitrary requests against every operation of the contract (the
agent's and the REST endpoints', their paths with arbitrary segments in any case), the admin
endpoints and paths that are neither, arbitrary patch documents, then schemathesis in negative mode.

Every answer is judged by what holds for any request a client can send, not by the mock's code:
no 5xx, no traceback in a body, one of SuperOffice's error shapes on every 4xx (the agent's,
docs/fidelity.md F-032; on a REST endpoint also the REST error object of api/webapi/rest/index.md,
F-202), checked key by key, no change of state from a request that was not answered 2xx (the store,
the faults, the response mode and the deliveries read directly before and after), no answer that
breaks the contract (the journal's ``response_violations``, the mock reporting instead of raising),
and routing by .NET's rules: an integer path segment that ``int.TryParse`` does not read as an
int32 matches no route (404 in the agent's shape), one it reads is routed (a 404 is then the REST
error object; F-200). Every example starts from the same state: two stored webhooks, no faults.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import contracts.schemathesis_adapter  # noqa: F401  (the agent's XML and form wire formats)
from harness.arbitrary import PATCHES, requests, resolve
from harness.clients import AUTH
from harness.hostile import LIMIT, error_shape_problems, hostile_app, no_traceback, rest_path, snapshot
from mockserver import state_of

pytestmark = pytest.mark.slow  # long Hypothesis and schemathesis runs (hundreds of requests)


def _baseline(app: Flask) -> tuple[int, int]:
    """The state every example starts from: two webhooks (one owned by an application), no faults,
    an empty journal. Their ids (a SQLite store never gives an id twice)."""
    state = state_of(app)
    state.store.reset()
    state.faults.clear()
    state.journal.clear()
    state.agent.generate_responses(None)
    ids = []
    for name, owner in (("first", None), ("second", "default-app-token")):
        webhook = {
            "Name": name,
            "Events": ["contact.created"],
            "TargetUrl": "https://192.0.2.1/hook",
            "Secret": "s",
            "State": "Active",
            "Type": "crmscript",
            "Headers": None,
            "Properties": None,
            "Registered": "2026-01-02T03:04:05.0000000Z",
            "RegisteredAssociate": None,
            "Updated": "0001-01-01T00:00:00",
            "UpdatedAssociate": None,
            "ErrorsEmail": None,
        }
        ids.append(state.store.create(lambda new_id, w=webhook: {**w, "WebhookId": new_id}, owner).webhook_id)
    return ids[0], ids[1]


def judge(
    status: int,
    content_type: str,
    body: bytes,
    changed: bool,
    request: str,
    *,
    rest: bool = False,
    route: str | None = None,
) -> list[str]:
    """What is wrong with an answer, whatever the request was (empty when nothing is). ``rest``: the
    path is a REST endpoint's (the REST error object is one of its shapes); ``route``: what routing
    must have done (``harness.arbitrary.route``)."""
    problems = []
    if status >= 500:
        problems.append(f"{status} answered")
    if not no_traceback(body):
        problems.append("a traceback in the body")
    if 400 <= status < 500:
        problems += error_shape_problems(content_type, body, rest=rest)
    if changed and not 200 <= status < 300:
        problems.append(f"state changed by a request answered {status}")
    if route == "unrouted" and (status != 404 or b"ErrorType" in body):
        problems.append(
            f"{status} where no route matches (an integer segment that is no int32): 404 in the agent's shape"
        )
    if route == "routed" and status == 404 and body and b"SoNotFoundException" not in body:
        problems.append(
            "404 from no route where an operation's path matches (every integer segment an int32)"
        )
    return [f"{problem}: {request}" for problem in problems]


def _journal_problems(app: Flask) -> list[str]:
    """The mock's answers that broke the contract, as the journal recorded them (``report`` mode)."""
    return [
        f"the answer to {entry.method} {entry.path} ({entry.operation}) broke the contract: {'; '.join(entry.response_violations)}"
        for entry in state_of(app).journal.entries()
        if entry.response_violations
    ]


def _run(app: Flask, request: dict[str, Any]) -> list[str]:
    request = resolve(request, _baseline(app))
    client = app.test_client()
    before = snapshot(app)
    headers = dict(request["headers"])
    if request["media_type"] is not None:
        headers["Content-Type"] = request["media_type"]
    url = request["path"] + (f"?{request['query']}" if request["query"] else "")
    response = client.open(url, method=request["method"], headers=headers, data=request["body"])
    event(
        f"{'REST' if rest_path(request['path']) else 'other'} {response.status_code} (route: {request['route']})"
    )
    changed = snapshot(app) != before
    shown = f"{request['method']} {url} {headers} {request['body'][:200]!r}"
    verdict = judge(
        response.status_code,
        response.headers.get("Content-Type", ""),
        response.get_data(),
        changed,
        shown,
        rest=rest_path(request["path"]),
        route=request["route"],
    )
    return verdict + [f"{problem}: {shown}" for problem in _journal_problems(app)]


@pytest.mark.parametrize(("store", "examples"), [("memory", 500), ("sqlite", 150)])
def test_arbitrary_requests_never_fail_the_server_nor_change_state_when_refused(
    store: str, examples: int, tmp_path: Path
) -> None:
    app = hostile_app(
        str(tmp_path / "fuzz.sqlite3") if store == "sqlite" else None, response_validation="report"
    )

    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(requests())
    def fuzz(request: dict[str, Any]) -> None:
        problems = _run(app, request)
        assert not problems, "\n".join(problems)

    try:
        fuzz()
    finally:
        state_of(app).deliveries.close()
        state_of(app).store.close()


# -- PATCH documents ------------------------------------------------------------------------------------

PATCH_APP = hostile_app(response_validation="report")
PATCH_TYPES = ["application/json", "text/json", "application/json-patch+json", "application/merge-patch+json"]


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(changes=PATCHES, media_type=st.sampled_from(PATCH_TYPES), which=st.sampled_from([0, 0, 0, 1]))
def test_arbitrary_patch_documents_apply_whole_or_are_refused_naming_the_member(
    changes: Any, media_type: str, which: int
) -> None:
    # the oracle is the answer's shape and the store read directly, not contracts.patch: a 2xx
    # answers what is stored now; a 400 names the operation or merge member (changes...) or the
    # patched webhook's field (entity...); a 409 is the REST ConflictException; nothing else, and a
    # refused patch changes nothing
    ids = _baseline(PATCH_APP)
    state = state_of(PATCH_APP)
    before = snapshot(PATCH_APP)
    body = json.dumps(changes).encode()
    response = PATCH_APP.test_client().patch(
        f"/api/v1/Webhook/{ids[which]}", data=body, headers={**AUTH, "Content-Type": media_type}
    )
    shown = f"PATCH {media_type} {len(body)} bytes: {body[:300]!r}"
    event(f"{response.status_code} to a {type(changes).__name__}")
    problems = judge(
        response.status_code,
        response.headers.get("Content-Type", ""),
        response.get_data(),
        snapshot(PATCH_APP) != before,
        shown,
        rest=True,
        route="routed",
    )
    problems += _journal_problems(PATCH_APP)
    assert not problems, "\n".join(problems)
    answer = json.loads(response.data) if response.data else None
    if response.status_code == 200:
        stored = state.store.get(ids[which])
        assert stored is not None
        assert {k: v for k, v in answer.items() if k != "_Links"} == state.agent.answer(stored), shown
    elif response.status_code == 400:
        named = list(answer.get("ModelState", {}))
        assert named and all(key.startswith(("changes", "entity")) for key in named), (shown, answer)
    elif response.status_code == 409:
        assert answer["ErrorType"] == "ConflictException", (shown, answer)
    elif response.status_code == 404:  # the second webhook is an application's: not the caller's to see
        assert answer["ErrorType"] == "SoNotFoundException" and which == 1, (shown, answer)
    else:  # thousands of long operations: a body over the limit
        assert response.status_code == 413 and len(body) > LIMIT, (shown, answer)


# -- schemathesis, negative mode ---------------------------------------------------------------------

APP = hostile_app()
schema = schemathesis.openapi.from_wsgi("/openapi.json", APP)
schema.config.generation.update(modes=[schemathesis.GenerationMode.NEGATIVE])
# tests/test_schemathesis.py runs the coverage phase (positive and negative); here the fuzzing phase
# (and the examples), 15 negative cases an operation, each judged by the state of the mock
schema.config.phases.coverage.enabled = False
schema.config.auth.update(basic=("tje0", "Tje0"))  # the seed page's Basic credentials


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_schemathesis_negative_cases_never_fail_the_server_nor_change_state_when_refused(
    case: schemathesis.Case,
) -> None:
    _baseline(APP)
    before = snapshot(APP)
    response = case.call()
    changed = snapshot(APP) != before
    content_type = response.headers.get("Content-Type") or response.headers.get("content-type") or ""
    if isinstance(content_type, list):
        content_type = content_type[0]
    problems = judge(
        response.status_code,
        content_type,
        response.content,
        changed,
        case.as_curl_command(),
        rest=rest_path(case.path),
    )
    assert not problems, "\n".join(problems)
