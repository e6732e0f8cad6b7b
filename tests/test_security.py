"""Authentication and secrets (issue 7): constant-time comparison, no route reachable without the
credentials the profile requires, Online application isolation, no secret in logs or the journal.

Oracles: the credentials each test configures and sends itself, the documented schemes of each
profile (docs/fidelity.md F-020, F-080, F-130), a model dict of which application registered which
webhook (the isolation property test), and plain substring search for secret values the test made
up. The routes come from the app itself (``app.url_map`` and the contract's operations), so a
route added later is covered without touching this file.
"""

from __future__ import annotations

import ast
import base64
import hmac
import inspect
import json
import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given, settings
from hypothesis import strategies as st

import mockserver.auth
from mockserver import Application, MockConfig, User, create_app, state_of
from mockserver.config import Associate, DeliveryConfig

AGENT = "/api/v1/Agents/Webhook/"
DENIED = "Authorization has been denied for this request."
SCHEMES = {"onsite": {"Basic", "SOTicket", "Bearer"}, "online": {"Bearer", "SOTicket"}}
NO_PING = DeliveryConfig(registration_ping=False)


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


# Credentials made up for these tests: distinctive, so that a search for them finds only leaks.
ANN = User(
    "ann",
    Associate(11, "ANN"),
    password="pw-Ann-7c1e9a",
    tickets=("7T:ticket-ann-5d2f",),
    bearer_tokens=("8A:bearer-ann-9b4c",),
    xsrf_tokens=("xsrf-ann-3e8a",),
)
BOB = User(
    "bob",
    Associate(12, "BOB"),
    password="pw-Bob-2a6d40",
    tickets=("7T:ticket-bob-8c1b",),
    bearer_tokens=("8A:bearer-bob-1f7e",),
)
CAROL = User(
    "carol",
    Associate(13, "CAROL"),
    password="pw-Carol-e5b3",
    tickets=("7T:ticket-carol-0a9d",),
    bearer_tokens=("8A:bearer-carol-6c2e",),
)
APP_A = Application("App A", "apptoken-A-4f8e2b", bearer_tokens=("8A:bearer-ann-9b4c",))
APP_B = Application("App B", "apptoken-B-9d1c7a", bearer_tokens=("8A:bearer-bob-1f7e",))
APP_C = Application("App C", "apptoken-C-restricted", webhook_agent=False)


def config(profile: str, **changes: Any) -> MockConfig:
    return MockConfig(
        profile=profile,
        users=(ANN, BOB, CAROL),
        applications=(APP_A, APP_B, APP_C),
        delivery=NO_PING,
        **changes,
    )


AS_A = {"Authorization": "Bearer 8A:bearer-ann-9b4c"}
AS_B = {"Authorization": "Bearer 8A:bearer-bob-1f7e"}
VALID = {
    "onsite": {"Authorization": basic("ann", "pw-Ann-7c1e9a")},
    "online": {"Authorization": "SOTicket 7T:ticket-ann-5d2f", "SO-AppToken": "apptoken-A-4f8e2b"},
}
# What a client may send that the profile must refuse (cookies after the '|').
WRONG = {
    "onsite": [
        {"Authorization": basic("ann", "pw-Ann-7c1e9b")},
        {"Authorization": basic("nobody", "pw-Ann-7c1e9a")},
        {"Authorization": "Basic not*base64"},
        {"Authorization": "SOTicket 7T:ticket-ann-5d2e"},
        {"Authorization": "Bearer 8A:bearer-ann-9b4"},
        {"Authorization": "Negotiate 8A:bearer-ann-9b4c"},
        {"Authorization": "Bearer"},
        {"X-XSRF-TOKEN": "xsrf-ann-3e8a"},
        {"X-XSRF-TOKEN": "xsrf-ann-3e8a", "Cookie": "XSRF-TOKEN=xsrf-ann-3e8b"},
        {"X-XSRF-TOKEN": "xsrf-nobody", "Cookie": "XSRF-TOKEN=xsrf-nobody"},
    ],
    "online": [
        {"Authorization": basic("ann", "pw-Ann-7c1e9a")},  # right password, but Online has no Basic
        {"Authorization": "SOTicket 7T:ticket-ann-5d2f"},  # a ticket without the application's token
        {"Authorization": "SOTicket 7T:ticket-ann-5d2f", "SO-AppToken": "apptoken-A-4f8e2c"},
        {"Authorization": "SOTicket 7T:ticket-ann-5d2e", "SO-AppToken": "apptoken-A-4f8e2b"},
        {"Authorization": "Bearer 8A:bearer-ann-9b4d"},
        {
            "Authorization": "Bearer 8A:bearer-carol-6c2e"
        },  # a user's token bound to no application, no SO-AppToken
        {"SO-AppToken": "apptoken-A-4f8e2b"},
        # a session is a browser's, not an application's: refused in Online (F-130)
        {"X-XSRF-TOKEN": "xsrf-ann-3e8a", "Cookie": "XSRF-TOKEN=xsrf-ann-3e8a"},
    ],
}


def send(client: FlaskClient, method: str, path: str, headers: dict[str, str], data: Any = None) -> Any:
    headers = dict(headers)
    cookie = headers.pop("Cookie", None)
    client.delete_cookie("XSRF-TOKEN")  # each request carries only the cookie it names
    if cookie:
        client.set_cookie(*cookie.split("=", 1))
    if data is not None and not isinstance(data, (str, bytes)):
        data = json.dumps(data)
        headers.setdefault("Content-Type", "application/json")
    return client.open(path, method=method, headers=headers, data=data)


def snapshot(app: Flask) -> Any:
    state = state_of(app)
    return (
        [(r.webhook, r.owner, r.last_error) for r in state.store.all()],
        [f.to_json() for f in state.faults.active()],
        state.agent.generated_seed,
        len(state.deliveries.history()),
    )


# ---------------------------------------------------------------------------------------------
# Constant-time comparison


class Spy:
    """hmac.compare_digest, recording what it compared."""

    def __init__(self, real: Callable[[Any, Any], bool]) -> None:
        self.real = real
        self.calls: list[tuple[bytes, bytes]] = []

    def __call__(self, a: Any, b: Any) -> bool:
        self.calls.append((bytes(a), bytes(b)))
        return self.real(a, b)

    def compared(self, secret: str) -> bool:
        return any(secret.encode() in pair for pair in self.calls)


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> Spy:
    recording = Spy(hmac.compare_digest)
    monkeypatch.setattr(mockserver.auth.hmac, "compare_digest", recording)
    return recording


# (profile, headers sent, every configured secret of that kind, the one the headers carry)
KINDS = {
    "Basic password": (
        "onsite",
        {"Authorization": basic("Ann", "pw-Ann-7c1e9a")},
        ["ann:pw-Ann-7c1e9a", "bob:pw-Bob-2a6d40", "carol:pw-Carol-e5b3"],
        "ann:pw-Ann-7c1e9a",
    ),
    "SOTicket": (
        "onsite",
        {"Authorization": "SOTicket 7T:ticket-bob-8c1b"},
        ["7T:ticket-ann-5d2f", "7T:ticket-bob-8c1b", "7T:ticket-carol-0a9d"],
        "7T:ticket-bob-8c1b",
    ),
    "Bearer": (
        "onsite",
        {"Authorization": "Bearer 8A:bearer-carol-6c2e"},
        ["8A:bearer-ann-9b4c", "8A:bearer-bob-1f7e", "8A:bearer-carol-6c2e"],
        "8A:bearer-carol-6c2e",
    ),
    "X-XSRF-TOKEN": (
        "onsite",
        {"X-XSRF-TOKEN": "xsrf-ann-3e8a", "Cookie": "XSRF-TOKEN=xsrf-ann-3e8a"},
        ["xsrf-ann-3e8a"],
        "xsrf-ann-3e8a",
    ),
    "SO-AppToken": (
        "online",
        {"Authorization": "SOTicket 7T:ticket-ann-5d2f", "SO-AppToken": "apptoken-B-9d1c7a"},
        ["apptoken-A-4f8e2b", "apptoken-B-9d1c7a", "apptoken-C-restricted"],
        "apptoken-B-9d1c7a",
    ),
    "Online Bearer": (
        "online",
        {"Authorization": "Bearer 8A:bearer-bob-1f7e"},
        ["8A:bearer-ann-9b4c", "8A:bearer-bob-1f7e", "8A:bearer-carol-6c2e"],
        "8A:bearer-bob-1f7e",
    ),
}


def wrong_one(kind: str, headers: dict[str, str], sent: str) -> dict[str, str]:
    """``headers`` with the credential's last character changed."""
    if kind == "Basic password":
        return {"Authorization": basic("ann", "pw-Ann-7c1e9#")}
    return {name: value.replace(sent, sent[:-1] + "#") for name, value in headers.items()}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_credential_kind_is_compared_in_constant_time_against_every_configured_secret(
    spy: Spy, kind: str
) -> None:
    """There is no admin credential of its own: /__mock__ takes the agent's (F-081), so the
    admin route is exercised with the same kinds."""
    profile, headers, configured, sent = KINDS[kind]
    client = create_app(config(profile)).test_client()
    for path in (AGENT + "CreateDefaultWebhook", "/__mock__/faults"):
        spy.calls.clear()
        method = "POST" if path.startswith(AGENT) else "GET"
        assert send(client, method, path, headers).status_code == 200
        assert (sent.encode(), sent.encode()) in spy.calls or (
            sent.lower().encode(),
            sent.encode(),
        ) in spy.calls
        assert all(spy.compared(secret) for secret in configured), f"{kind}: a configured secret was skipped"
        # a wrong credential of the same kind is compared against every secret too, then refused
        spy.calls.clear()
        assert send(client, method, path, wrong_one(kind, headers, sent)).status_code == 401
        assert all(spy.compared(secret) for secret in configured)


# Comparisons in the mock's code that involve no secret, or none a caller can vary (with the reason).
ALLOWED_COMPARISONS = {
    ("auth.py", 'config.profile == "online"'): "the profile, not a secret",
    ("auth.py", 'scheme == "basic"'): "the scheme name",
    ("auth.py", 'scheme == "soticket"'): "the scheme name",
    ("auth.py", 'scheme == "bearer"'): "the scheme name",
    ("fastpath.py", "node[int(token)]"): "a JSON pointer's token",
    ("fastpath.py", "node[token]"): "a JSON pointer's token",
    # agent.py compares the owner of a row with the caller's application token: both are the
    # server's own values, the caller's already authenticated in constant time, so a caller cannot
    # vary a candidate against them (report of issue 7: compare application identity instead).
    ("agent.py", "row.owner in (None, principal.owner)"): "two server-side tokens",
    ("agent.py", "row.owner not in (None, principal.owner)"): "two server-side tokens",
}
SECRET_WORDS = re.compile(
    r"token|secret|password|ticket|credential|owner|bearer|xsrf|candidate|authorization", re.IGNORECASE
)


def test_no_secret_is_compared_with_an_operator_or_looked_up_by_value() -> None:
    """Reading the code paths: in every module of the mock, a comparison (==, !=, in, not in) or a
    subscript/``.get`` whose operands name secret material must be on the allowed list."""
    problems = []
    for module in sorted(Path(inspect.getfile(mockserver.auth)).parent.glob("*.py")):
        tree = ast.parse(module.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            text = None
            if isinstance(node, ast.Compare) and any(
                isinstance(op, (ast.Eq, ast.NotEq, ast.In, ast.NotIn)) for op in node.ops
            ):
                operands = [node.left, *node.comparators]
                if any(
                    SECRET_WORDS.search(ast.unparse(o)) and not isinstance(o, ast.Constant) for o in operands
                ):
                    text = ast.unparse(node)
            elif isinstance(node, ast.Subscript) and not isinstance(node.slice, ast.Constant):
                if SECRET_WORDS.search(ast.unparse(node.slice)):
                    text = ast.unparse(node)
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "get"
                and node.args
                and not isinstance(node.args[0], ast.Constant)
                and SECRET_WORDS.search(ast.unparse(node.args[0]))
            ):
                text = ast.unparse(node)
            if text is not None and (module.name, text) not in ALLOWED_COMPARISONS:
                problems.append(f"{module.name}:{node.lineno}: {text}")
    assert problems == []


# ---------------------------------------------------------------------------------------------
# No route without the credentials the profile requires

# Public on purpose (docs/fidelity.md F-132), with what they answer without credentials.
PUBLIC = {
    "/openapi.json": "the contract, which holds no state (as `sowebhook spec`)",
    "/openapi.yaml": "the contract, which holds no state (as `sowebhook spec`)",
    "/": "no operation: routing answers 404/405 before authentication, as ASP.NET Web API does (F-037)",
    "/<path:path>": "no operation: routing answers 404/405 before authentication, as ASP.NET Web API does (F-037)",
}
# A body for each route that would change state, were it ever processed without credentials.
BODIES: dict[str, Any] = {
    "/__mock__/webhooks": [
        {
            "WebhookId": 0,
            "Name": "smuggled",
            "Events": [],
            "TargetUrl": "https://example.invalid/",
            "Secret": None,
            "State": "Active",
            "Type": "webhook",
            "Headers": None,
            "Properties": None,
            "Registered": "2026-01-01T00:00:00",
            "RegisteredAssociate": None,
            "Updated": "0001-01-01T00:00:00",
            "UpdatedAssociate": None,
        }
    ],
    "/__mock__/faults": {"status": 503, "count": 5},
    "/__mock__/responses": {"mode": "generated", "seed": 1},
    "/__mock__/events": {"Event": "contact.created", "PrimaryKey": 1},
    AGENT + "SaveWebhook": {"Name": "smuggled", "Type": "webhook", "TargetUrl": "https://example.invalid/"},
    AGENT + "DeleteWebhook": None,
}


def routes(app: Flask) -> Iterator[tuple[str, str, str]]:
    """``(rule, path, method)`` of every route and method the app serves, the agent's included."""
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:\w+:)?\w+>", "x", rule.rule)
        for method in sorted(rule.methods or ()):
            yield rule.rule, path, method
    for path, operations in state_of(app).seam.operations.items():  # served before Flask's routing
        concrete = path.replace("{eventName}", "contact.created")
        concrete = re.sub(r"\{\w+\}", "1", concrete)  # the ids (the webhook saved first is 1)
        for method in operations:
            yield path, concrete, method


def challenge_schemes(header: str) -> set[str]:
    return {
        part.strip().split(" ")[0]
        for part in header.split(",")
        if part.strip() and "=" not in part.split(" ")[0]
    }


@pytest.mark.parametrize("profile", ["onsite", "online"])
def test_no_route_answers_without_the_credentials_the_profile_requires(profile: str) -> None:
    app = create_app(config(profile))
    client = app.test_client()
    send(
        client,
        "POST",
        AGENT + "SaveWebhook",
        VALID[profile],
        {"Name": "existing", "Type": "crmscript", "TargetUrl": "1"},
    )
    before = snapshot(app)
    problems, checked = [], 0
    for rule, path, method in routes(app):
        if rule in PUBLIC:
            continue
        query = "?webhookId=1&WebhookId=1" if path.startswith(AGENT) else ""
        for headers in [{}, *WRONG[profile]]:
            response = send(client, method, path + query, headers, BODIES.get(path, {}))
            checked += 1
            where = f"{method} {path} with {sorted(headers)}"
            if response.status_code != 401:
                problems.append(f"{where}: {response.status_code}")
                continue
            if challenge_schemes(response.headers.get("WWW-Authenticate", "")) != SCHEMES[profile]:
                problems.append(f"{where}: WWW-Authenticate {response.headers.get('WWW-Authenticate')!r}")
            if method != "HEAD" and response.json.get("Message") != DENIED:
                problems.append(f"{where}: body {response.get_data(as_text=True)[:100]}")
    assert problems == []
    assert snapshot(app) == before  # nothing a refused request sent was acted on
    assert checked > 200


@pytest.mark.parametrize("profile", ["onsite", "online"])
def test_every_guarded_route_is_reachable_with_the_right_credentials(profile: str) -> None:
    """The counterpart of the test above: the routes do not refuse everyone."""
    for rule, path, method in routes(create_app(config(profile))):
        if rule in PUBLIC:
            continue
        client = create_app(config(profile)).test_client()
        # webhook 1 exists, so that the REST routes that read it answer it rather than 404
        send(client, "POST", AGENT + "SaveWebhook", VALID[profile], {"Name": "existing", "Type": "crmscript"})
        query = "?webhookId=1&WebhookId=1" if path.startswith(AGENT) else ""
        response = send(client, method, path + query, VALID[profile], BODIES.get(path, {}))
        assert response.status_code not in (401, 403, 404, 405, 500), (
            f"{method} {path}: {response.status_code}"
        )


@pytest.mark.parametrize("profile", ["onsite", "online"])
def test_the_public_routes_hold_no_state_and_say_so(profile: str) -> None:
    app = create_app(config(profile))
    client = app.test_client()
    before = snapshot(app)
    assert send(client, "GET", "/openapi.json", {}).status_code == 200
    assert send(client, "GET", "/openapi.yaml", {}).status_code == 200
    for path in ["/", "/x", "/__mock__/x", "/__mock__/journal/", "/static/x", "/api/v1/Agents/Webhook/Nope"]:
        for method in ["GET", "POST", "DELETE"]:
            response = send(client, method, path, {}, {"status": 503})
            assert response.status_code == 404, f"{method} {path}"
            assert set(response.json) <= {"Message", "MessageDetail"}
    # an agent path with another method: 405 with Allow, from routing, before authentication
    response = send(client, "GET", AGENT + "GetWebhook?webhookId=1", {})
    assert (response.status_code, response.headers["Allow"]) == (405, "POST")
    assert snapshot(app) == before
    assert set(PUBLIC) >= {r.rule for r in app.url_map.iter_rules() if not r.rule.startswith("/__mock__/")}


def test_an_application_not_granted_the_agent_cannot_reach_the_admin_routes_either() -> None:
    client = create_app(config("online")).test_client()
    headers = {"Authorization": "SOTicket 7T:ticket-carol-0a9d", "SO-AppToken": "apptoken-C-restricted"}
    assert send(client, "POST", AGENT + "CreateDefaultWebhook", headers).status_code == 403
    for method, path in [
        ("GET", "/__mock__/webhooks"),
        ("GET", "/__mock__/journal"),
        ("POST", "/__mock__/reset"),
    ]:
        assert send(client, method, path, headers).status_code == 403


def test_online_refuses_an_xsrf_session_which_would_belong_to_no_application() -> None:
    """Regression (F-130): a valid XSRF session was accepted in Online with no application, and
    so saw, changed and deleted every application's webhooks."""
    app = create_app(config("online"))
    client = app.test_client()
    theirs = send(
        client, "POST", AGENT + "SaveWebhook", AS_B, {"Name": "B's", "Type": "crmscript", "TargetUrl": "1"}
    ).json
    session = {"X-XSRF-TOKEN": "xsrf-ann-3e8a", "Cookie": "XSRF-TOKEN=xsrf-ann-3e8a"}
    for operation, query in [
        ("GetAllWebhooks", ""),
        ("GetWebhook", f"?webhookId={theirs['WebhookId']}"),
        ("DeleteWebhook", f"?WebhookId={theirs['WebhookId']}"),
    ]:
        assert send(client, "POST", AGENT + operation + query, session).status_code == 401
    assert send(client, "GET", "/__mock__/webhooks", session).status_code == 401
    assert [r.webhook_id for r in state_of(app).store.all()] == [theirs["WebhookId"]]


# ---------------------------------------------------------------------------------------------
# Online: an application cannot read, change or delete another application's webhooks (F-077)


def webhook(name: str, kind: str = "crmscript") -> dict[str, Any]:
    return {
        "Name": name,
        "Type": kind,
        "TargetUrl": "17" if kind == "crmscript" else "https://example.invalid/hook",
        "Events": ["contact.created"],
        "Secret": f"secret of {name}",
    }


def op(
    client: FlaskClient, operation: str, headers: dict[str, str], body: Any = None, query: str = ""
) -> Any:
    return send(client, "POST", AGENT + operation + query, headers, body)


def test_online_pings_belong_to_the_application_that_caused_them() -> None:
    """The registration ping and TestWebhook's ping are recorded for the calling application only."""
    client = create_app(config("online").evolve(delivery=DeliveryConfig())).test_client()  # pinging
    target = {
        "Type": "webhook",
        "TargetUrl": "https://192.0.2.1/hook",
        "Name": "pinged by A",
    }  # outside the allow-list
    assert op(client, "TestWebhook", AS_A, {"Webhook": target}).json["Success"] is False
    assert (
        op(
            client,
            "SaveWebhook",
            AS_A,
            webhook("A's, refused", "webhook") | {"TargetUrl": target["TargetUrl"]},
        ).status_code
        == 400
    )
    seen_by_a = client.get("/__mock__/deliveries", headers=AS_A).json
    assert [d["event"] for d in seen_by_a] == ["test", "test"]
    assert client.get("/__mock__/deliveries", headers=AS_B).json == []


def test_online_isolation_of_every_operation_and_admin_route() -> None:
    app = create_app(config("online"))
    client = app.test_client()
    mine = op(client, "SaveWebhook", AS_A, webhook("A's")).json
    theirs = op(client, "SaveWebhook", AS_B, webhook("B's")).json
    shared = client.post(
        "/__mock__/webhooks", headers=AS_B, json=[{**theirs, "Name": "shared", "WebhookId": 0}]
    ).json[0]
    state_of(app).store.set_last_error(theirs["WebhookId"], "B's last error")
    state_of(app).deliveries.signal("contact.created", primary_key=1)  # crmscript: recorded with the owner
    assert state_of(app).deliveries.drain(10)
    before = snapshot(app)
    b_id = theirs["WebhookId"]

    # reading: as if B's webhook did not exist (F-077: null, left out)
    assert op(client, "GetWebhook", AS_A, query=f"?webhookId={b_id}").json is None
    assert op(client, "GetLastError", AS_A, {"WebhookId": b_id}).json is None
    assert {w["WebhookId"] for w in op(client, "GetAllWebhooks", AS_A).json} == {
        mine["WebhookId"],
        shared["WebhookId"],
    }
    # changing or deleting: refused (F-077: 403), nothing changed
    assert op(client, "SaveWebhook", AS_A, {**theirs, "Name": "hijacked"}).status_code == 403
    assert op(client, "DeleteWebhook", AS_A, query=f"?WebhookId={b_id}").status_code == 403
    # TestWebhook tests the definition it is given and reads nothing stored
    tested = op(
        client, "TestWebhook", AS_A, {"Webhook": {"WebhookId": b_id, "Type": "crmscript", "TargetUrl": "1"}}
    ).json
    assert tested["Success"] is False and "B's" not in json.dumps(tested)
    # the admin interface: the same view (F-131)
    listed = client.get("/__mock__/webhooks", headers=AS_A).json
    assert {w["webhook"]["WebhookId"] for w in listed} == {mine["WebhookId"], shared["WebhookId"]}
    assert "apptoken-B" not in json.dumps(listed)
    refused = client.post(
        "/__mock__/webhooks?owner=apptoken-B-9d1c7a", headers=AS_A, json=[{**theirs, "WebhookId": 0}]
    )
    assert refused.status_code == 403
    journal = client.get("/__mock__/journal", headers=AS_A).get_data(as_text=True)
    assert "B's" not in journal and "A's" in journal
    deliveries = client.get("/__mock__/deliveries", headers=AS_A).json
    assert {d["webhook_id"] for d in deliveries} == {mine["WebhookId"], shared["WebhookId"]}
    assert snapshot(app)[0] == before[0]

    assert client.delete("/__mock__/journal", headers=AS_A).status_code == 204
    assert "B's" in client.get("/__mock__/journal", headers=AS_B).get_data(as_text=True)
    assert client.post("/__mock__/reset", headers=AS_A).status_code == 204
    assert [(r.webhook_id, r.owner) for r in state_of(app).store.all()] == [(b_id, "apptoken-B-9d1c7a")]
    assert op(client, "GetWebhook", AS_B, query=f"?webhookId={b_id}").json["Name"] == "B's"


ACTORS = {"A": (AS_A, "apptoken-A-4f8e2b"), "B": (AS_B, "apptoken-B-9d1c7a")}
OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(sorted(ACTORS)),
        st.sampled_from(["save", "update", "delete", "get", "get_all", "last_error", "admin_list"]),
        st.integers(min_value=0, max_value=30),
    ),
    max_size=14,
)


@settings(max_examples=25, deadline=None)
@given(OPERATIONS)
def test_online_isolation_holds_for_any_sequence_of_operations(
    operations: list[tuple[str, str, int]],
) -> None:
    """Oracle: a dict of webhook id -> the application that registered it."""
    app = create_app(config("online"))
    client = app.test_client()
    store = state_of(app).store
    owners: dict[int, str] = {}
    ever: list[int] = []

    def created(actor: str, response: Any) -> None:
        assert response.status_code == 200
        new_id = response.json["WebhookId"]
        assert new_id not in owners
        owners[new_id] = actor
        ever.append(new_id)
        store.set_last_error(new_id, f"error of {new_id}")

    for actor, action, pick in operations:
        headers, _ = ACTORS[actor]
        target = ever[pick % len(ever)] if ever else 999
        if action == "save" or (action == "update" and target not in owners):
            body = (
                webhook(f"{actor}-{len(ever)}")
                if action == "save"
                else {**webhook("again"), "WebhookId": target}
            )
            created(actor, op(client, "SaveWebhook", headers, body))  # an unknown id creates (F-070)
        elif action == "update":
            response = op(
                client, "SaveWebhook", headers, {**webhook(f"{actor} renamed"), "WebhookId": target}
            )
            assert response.status_code == (200 if owners[target] == actor else 403)
            if response.status_code == 200:
                store.set_last_error(target, f"error of {target}")
        elif action == "delete":
            response = op(client, "DeleteWebhook", headers, query=f"?WebhookId={target}")
            expected = 403 if target in owners and owners[target] != actor else 204
            assert response.status_code == expected
            if expected == 204:
                owners.pop(target, None)
        elif action == "get":
            got = op(client, "GetWebhook", headers, query=f"?webhookId={target}").json
            assert (got is not None and got["WebhookId"]) == (owners.get(target) == actor and target)
        elif action == "last_error":
            got = op(client, "GetLastError", headers, {"WebhookId": target}).json
            assert got == (f"error of {target}" if owners.get(target) == actor else None)
        elif action == "get_all":
            listed = {w["WebhookId"] for w in op(client, "GetAllWebhooks", headers).json}
            assert listed == {i for i, owner in owners.items() if owner == actor}
        else:
            listed = {
                w["webhook"]["WebhookId"] for w in client.get("/__mock__/webhooks", headers=headers).json
            }
            assert listed == {i for i, owner in owners.items() if owner == actor}
    assert {r.webhook_id: r.owner for r in store.all()} == {i: ACTORS[o][1] for i, o in owners.items()}


# ---------------------------------------------------------------------------------------------
# Secrets never in logs, the journal or an error body

WEBHOOK_SECRET = "whsec-Q7zK2mP9xR4vN8bT"
LONG_SECRET = "whsecLONG-" + "Zq8Xv3Lm" * 50  # over the 400-character limit: its error quotes it
SECRETS = {
    "password": "pw-Ann-7c1e9a",
    "basic header": base64.b64encode(b"ann:pw-Ann-7c1e9a").decode(),
    "ticket": "ticket-ann-5d2f",
    "bearer": "bearer-ann-9b4c",
    "app token": "apptoken-A-4f8e2b",
    "xsrf": "xsrf-ann-3e8a",
    "webhook secret": WEBHOOK_SECRET,
    "long secret (prefix)": LONG_SECRET[:24],
}


def hostile_requests(profile: str) -> list[tuple[str, str, dict[str, str], Any]]:
    """Valid, refused and invalid requests, every one carrying some secret."""
    good = VALID[profile]
    save = AGENT + "SaveWebhook"
    xml = {**good, "Content-Type": "application/xml"}
    form = {**good, "Content-Type": "application/x-www-form-urlencoded"}
    body = {"Name": "n", "Type": "crmscript", "TargetUrl": "1", "Secret": WEBHOOK_SECRET}
    requests_: list[tuple[str, str, dict[str, str], Any]] = [
        ("POST", save, good, body),
        ("POST", save, {**good, "Content-Type": "application/json"}, json.dumps(body)),
        (
            "POST",
            save,
            xml,
            f"<Webhook><Name>x</Name><Type>crmscript</Type><TargetUrl>1</TargetUrl><Secret>{WEBHOOK_SECRET}</Secret></Webhook>",
        ),
        ("POST", save, form, f"Name=n&Type=crmscript&TargetUrl=1&Secret={WEBHOOK_SECRET}"),
        ("POST", AGENT + "GetWebhook?webhookId=1", good, None),
        ("POST", AGENT + "GetAllWebhooks", good, {}),
        # the secret where it does not belong, or in a body that cannot be read
        ("POST", save, good, {**body, "Secret": LONG_SECRET}),
        ("POST", save, good, {**body, "Secret": [WEBHOOK_SECRET]}),
        ("POST", save, good, {**body, "Secret": {"nested": WEBHOOK_SECRET}}),
        ("POST", save, good, {**body, "WebhookId": "x"}),
        ("POST", AGENT + "TestWebhook", good, {"Webhook": {**body, "State": "Nope"}}),
        ("POST", AGENT + "TestWebhook", good, {"Webhook": {**body, "Secret": LONG_SECRET}}),
        ("POST", AGENT + "GetAllWebhooks", good, {"Secret": WEBHOOK_SECRET}),
        (
            "POST",
            save,
            {**good, "Content-Type": "application/json"},
            '{"Secret": "' + WEBHOOK_SECRET + '", "Name": ',
        ),
        (
            "POST",
            save,
            {**good, "Content-Type": "application/json"},
            '{"Secret": ["' + WEBHOOK_SECRET + '", ',
        ),
        ("POST", save, xml, f"<Webhook><Secret>{WEBHOOK_SECRET}</Secret><Name>"),
        ("POST", save, xml, f"<Webhook><Secret><![CDATA[{WEBHOOK_SECRET}]]></Secret></Webhook"),
        ("POST", save, form, f"Secret={WEBHOOK_SECRET}&WebhookId=x"),
        ("POST", save, form, f"Secret={WEBHOOK_SECRET}&&=%%"),
        (
            "POST",
            AGENT + "TestWebhook",
            form,
            "Webhook=" + json.dumps({"Secret": WEBHOOK_SECRET, "State": "Nope"}),
        ),
        ("POST", save, {**good, "Content-Type": "text/plain"}, f"Secret={WEBHOOK_SECRET}"),
        (
            "POST",
            save,
            {**good, "Content-Type": "application/json"},
            '{"\\u0053ecret": "' + WEBHOOK_SECRET + '"',
        ),
        (
            "POST",
            save,
            {**good, "Content-Type": "application/json"},
            '{"Name": "' + WEBHOOK_SECRET + ' is my secret", ',
        ),
        ("GET", save, good, body),
        ("POST", AGENT + "NoSuchOperation", good, body),
        # refused credentials, each carrying a secret, with a body carrying another
        ("POST", save, {"Authorization": basic("ann", "pw-Ann-7c1e9a")}, body),
        ("POST", save, {"Authorization": "SOTicket 7T:ticket-ann-5d2f"}, body),
        (
            "POST",
            save,
            {"Authorization": "Bearer 8A:bearer-ann-9b4c", "SO-AppToken": "apptoken-A-4f8e2b-no"},
            body,
        ),
        ("POST", save, {"Authorization": "Basic " + base64.b64encode(b"8A:bearer-ann-9b4c").decode()}, body),
        ("POST", save, {"Authorization": "pw-Ann-7c1e9a"}, body),
        ("POST", save, {"X-XSRF-TOKEN": "xsrf-ann-3e8a", "Cookie": "XSRF-TOKEN=xsrf-ann-3e8a"}, body),
        ("POST", save, {"X-XSRF-TOKEN": "xsrf-ann-3e8a", "Cookie": "XSRF-TOKEN=other"}, body),
        (
            "POST",
            save,
            {**good, "SO-AppToken": "apptoken-A-4f8e2b", "X-Api-Key": "8A:bearer-ann-9b4c"},
            {**body, "Secret": LONG_SECRET},
        ),
        ("POST", save + "?access_token=8A:bearer-ann-9b4c", good, body),
        # the admin interface
        ("POST", "/__mock__/webhooks", good, [{**body, "State": "Nope"}]),
        (
            "POST",
            "/__mock__/faults",
            good,
            {"status": 503, "count": 1, "operations": ["GetAllWebhooks"], "Secret": WEBHOOK_SECRET},
        ),
        ("POST", "/__mock__/events", good, {"Event": "contact.created", "Secret": WEBHOOK_SECRET}),
        ("GET", "/__mock__/webhooks", {"Authorization": basic("ann", "pw-Ann-7c1e9b")}, None),
    ]
    return requests_


@pytest.mark.parametrize("profile", ["onsite", "online"])
def test_secrets_never_reach_the_logs_or_the_journal(profile: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, at DEBUG
    app = create_app(config(profile))
    client = app.test_client()
    statuses = []
    for method, path, headers, data in hostile_requests(profile):
        statuses.append(send(client, method, path, headers, data).status_code)
    assert max(statuses) < 500 and statuses.count(200) >= 5 and statuses.count(401) >= 3
    journal = client.get("/__mock__/journal", headers=VALID[profile])
    assert journal.status_code == 200 and len(journal.json) >= 25
    places = {
        "journal": journal.get_data(as_text=True),
        "log": caplog.text + "".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records),
    }
    leaks = [
        (what, where) for what, secret in SECRETS.items() for where, text in places.items() if secret in text
    ]
    assert leaks == []
    # what the journal keeps is still useful: the verdicts and which field broke which rule
    assert any(v.startswith("entity.Secret:") for e in journal.json for v in e["violations"])


@pytest.mark.parametrize("profile", ["onsite", "online"])
def test_secrets_never_reach_an_error_body(profile: str) -> None:
    client = create_app(config(profile)).test_client()
    leaks = []
    for method, path, headers, data in hostile_requests(profile):
        response = send(client, method, path, headers, data)
        if response.status_code >= 400:
            text = response.get_data(as_text=True)
            leaks += [
                (what, method, path, response.status_code)
                for what, secret in SECRETS.items()
                if secret in text
            ]
    assert leaks == []


def test_a_documented_response_may_carry_the_webhooks_secret_but_its_journal_entry_does_not() -> None:
    """GetWebhook and SaveWebhook answer the Secret (documented); the journal records requests only."""
    client = create_app(config("onsite")).test_client()
    saved = op(client, "SaveWebhook", VALID["onsite"], webhook("kept")).json
    assert saved["Secret"] == "secret of kept"
    assert (
        op(client, "GetWebhook", VALID["onsite"], query=f"?webhookId={saved['WebhookId']}").json["Secret"]
        == "secret of kept"
    )
    assert "secret of kept" not in client.get("/__mock__/journal", headers=VALID["onsite"]).get_data(
        as_text=True
    )


@pytest.mark.parametrize("accept", ["application/json", "application/xml"])
@pytest.mark.parametrize("header", ["Authorization", "cookie", "SO-AppToken", "X-XSRF-TOKEN"])
def test_a_webhooks_own_credential_headers_are_answered_but_never_journalled(
    header: str, accept: str
) -> None:
    """A webhook's Headers may carry a credential for its target: the agent answers it as saved
    (documented), the journal shows it masked, in the body sent and in the answer, JSON or XML."""
    client = create_app(config("onsite")).test_client()
    credential = f"credential-of-the-target-{header}"
    body = {**webhook("with headers"), "Headers": {header: credential, "X-Plain": "shown"}}
    saved = op(client, "SaveWebhook", {**VALID["onsite"], "Accept": accept}, body)
    assert saved.status_code == 200 and credential in saved.get_data(as_text=True)
    listed = op(client, "GetAllWebhooks", {**VALID["onsite"], "Accept": accept})
    assert credential in listed.get_data(as_text=True)
    journal = client.get("/__mock__/journal", headers=VALID["onsite"]).get_data(as_text=True)
    assert credential not in journal and "shown" in journal
