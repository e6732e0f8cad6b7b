"""Fuzzing the mock, in-process: arbitrary requests against every operation of the contract, the
admin endpoints and paths that are neither, then schemathesis in negative mode.

Every answer is judged by what holds for any request a client can send, not by the mock's code:
no 5xx, no traceback in a body, SuperOffice's error shape on every 4xx (docs/fidelity.md
F-032, checked key by key), and no change of state from a request that was not answered 2xx
(the store, the faults, the response mode and the deliveries read directly before and after).
Every example starts from the same state: two stored webhooks, no faults.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings

import contracts.schemathesis_adapter  # noqa: F401  (the agent's XML and form wire formats)
from harness.arbitrary import requests
from harness.hostile import error_shape_problems, hostile_app, no_traceback, snapshot
from mockserver import state_of

pytestmark = pytest.mark.slow  # long Hypothesis and schemathesis runs (hundreds of requests)


def _baseline(app: Flask) -> None:
    """The state every example starts from: two webhooks (one owned by an application), no faults."""
    state = state_of(app)
    state.store.reset()
    state.faults.clear()
    state.agent.generate_responses(None)
    for name, owner in (("first", None), ("second", "default-app-token")):
        webhook = {"Name": name, "Events": ["contact.created"], "TargetUrl": "https://192.0.2.1/hook", "Secret": "s", "State": "Active",
                   "Type": "crmscript", "Headers": None, "Properties": None, "Registered": "2026-01-02T03:04:05.0000000Z",
                   "RegisteredAssociate": None, "Updated": "0001-01-01T00:00:00", "UpdatedAssociate": None, "ErrorsEmail": None}
        state.store.create(lambda new_id, w=webhook: {**w, "WebhookId": new_id}, owner)


def judge(status: int, content_type: str, body: bytes, changed: bool, request: str) -> list[str]:
    """What is wrong with an answer, whatever the request was (empty when nothing is)."""
    problems = []
    if status >= 500:
        problems.append(f"{status} answered")
    if not no_traceback(body):
        problems.append("a traceback in the body")
    if 400 <= status < 500:
        problems += error_shape_problems(content_type, body)
    if changed and not 200 <= status < 300:
        problems.append(f"state changed by a request answered {status}")
    return [f"{problem}: {request}" for problem in problems]


def _run(app: Flask, request: dict[str, Any]) -> list[str]:
    _baseline(app)
    client = app.test_client()
    before = snapshot(app)
    headers = dict(request["headers"])
    if request["media_type"] is not None:
        headers["Content-Type"] = request["media_type"]
    url = request["path"] + (f"?{request['query']}" if request["query"] else "")
    response = client.open(url, method=request["method"], headers=headers, data=request["body"])
    changed = snapshot(app) != before
    shown = f"{request['method']} {url} {headers} {request['body'][:200]!r}"
    return judge(response.status_code, response.headers.get("Content-Type", ""), response.get_data(), changed, shown)


@pytest.mark.parametrize(("store", "examples"), [("memory", 400), ("sqlite", 150)])
def test_arbitrary_requests_never_fail_the_server_nor_change_state_when_refused(store: str, examples: int, tmp_path: Path) -> None:
    app = hostile_app(str(tmp_path / "fuzz.sqlite3") if store == "sqlite" else None)

    @settings(max_examples=examples, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(requests())
    def fuzz(request: dict[str, Any]) -> None:
        problems = _run(app, request)
        assert not problems, "\n".join(problems)

    try:
        fuzz()
    finally:
        state_of(app).deliveries.close()
        state_of(app).store.close()


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
def test_schemathesis_negative_cases_never_fail_the_server_nor_change_state_when_refused(case: schemathesis.Case) -> None:
    _baseline(APP)
    before = snapshot(APP)
    response = case.call()
    changed = snapshot(APP) != before
    content_type = response.headers.get("Content-Type") or response.headers.get("content-type") or ""
    if isinstance(content_type, list):
        content_type = content_type[0]
    problems = judge(response.status_code, content_type, response.content, changed, case.as_curl_command())
    assert not problems, "\n".join(problems)
