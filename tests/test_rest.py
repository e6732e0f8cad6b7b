"""The REST Webhook endpoints (/api/v1/Webhook...) of the mock, in process.

Oracles: the agent's own answers for the same webhook (the two faces share one store), RFC 6902
applied by python-json-patch to the webhook with the paths spelt as the contract spells them (the
mock adds case-insensitive paths and saving), an RFC 7396 merge written here from the RFC's
pseudo-code, and the statuses and shapes of the REST pages and api/webapi/rest/index.md. The
register.md flow over real sockets is in ``test_rest_flow.py``.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonpatch
import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.oracle import rfc7396
from mockserver import Application, MockConfig, User, create_app, state_of
from mockserver.config import Associate, DeliveryConfig

AGENT = "/api/v1/Agents/Webhook/"
REST = "/api/v1/Webhook"
AUTH = {"Authorization": "Basic dGplMDpUamUw"}
NOT_FOUND_TYPE = "SoNotFoundException"
# what a client sets (not the server's fields): what a PATCH may change and a reader may compare
CLIENT_FIELDS = [
    "Name",
    "Events",
    "TargetUrl",
    "Secret",
    "State",
    "Type",
    "Headers",
    "Properties",
    "Description",
]


@pytest.fixture
def app() -> Flask:
    return create_app(MockConfig(delivery=DeliveryConfig(registration_ping=False)))


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def webhook(**changes: Any) -> dict[str, Any]:
    return {
        "Name": "Tonys Contact Handler",
        "Events": ["contact.created", "contact.changed"],
        "TargetUrl": "https://hooks.example/superoffice",
        "Secret": "Something Super Secret",
        "State": "Active",
        "Type": "webhook",
        "Headers": {"X-Key": "1"},
        "Properties": {"a": 1},
        **changes,
    }


def created(client: FlaskClient, **changes: Any) -> dict[str, Any]:
    response = client.post(REST, json=webhook(**changes), headers=AUTH)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def agent_get(client: FlaskClient, webhook_id: int) -> Any:
    response = client.post(f"{AGENT}GetWebhook?webhookId={webhook_id}", headers=AUTH)
    assert response.status_code == 200
    return response.json


def stored(app: Flask) -> list[dict[str, Any]]:
    return [copy.deepcopy(row.webhook) for row in state_of(app).store.all()]


def client_fields(value: dict[str, Any]) -> dict[str, Any]:
    return {name: value[name] for name in CLIENT_FIELDS}


# ---------------------------------------------------------------------------------------------
# One store, two faces


def test_a_webhook_registered_by_rest_is_the_agents_and_the_other_way_round(client: FlaskClient) -> None:
    posted = created(client)
    assert agent_get(client, posted["WebhookId"]) == {k: v for k, v in posted.items() if k != "_Links"}
    saved = client.post(AGENT + "SaveWebhook", json=webhook(Name="by the agent"), headers=AUTH).json
    got = client.get(f"{REST}/{saved['WebhookId']}", headers=AUTH)
    assert got.status_code == 200
    assert {k: v for k, v in got.json.items() if k != "_Links"} == saved
    listed = client.get(REST, headers=AUTH).json
    assert listed == client.post(AGENT + "GetAllWebhooks", headers=AUTH).json
    assert all("_Links" not in item for item in listed)


def test_links_are_absolute_urls_of_the_request_host(client: FlaskClient) -> None:
    posted = created(client)
    got = client.get(f"{REST}/{posted['WebhookId']}", headers=AUTH, base_url="https://crm.example:8443/Cust1")
    assert got.json["_Links"] == {
        "Self": f"https://crm.example:8443/Cust1/api/v1/Webhook/{posted['WebhookId']}",
        "Archive": "https://crm.example:8443/Cust1/api/v1/Webhook",
    }


def test_links_sent_back_are_ignored_not_refused(client: FlaskClient, app: Flask) -> None:
    posted = created(client)
    put = client.put(f"{REST}/{posted['WebhookId']}", json={**posted, "Name": "renamed"}, headers=AUTH)
    assert put.status_code == 200
    assert put.json["Name"] == "renamed"
    assert state_of(app).journal.entries()[-1].violations == []


def test_a_missing_webhook_is_404_with_the_rest_error_object_where_the_agent_answers_null(
    client: FlaskClient, app: Flask
) -> None:
    before = stored(app)
    for method, body in [
        ("GET", None),
        ("PUT", webhook()),
        ("PATCH", [{"op": "replace", "path": "Name", "value": "x"}]),
    ]:
        response = client.open(f"{REST}/77", method=method, json=body, headers=AUTH)
        assert response.status_code == 404, method
        assert response.json == {
            "Error": True,
            "ErrorType": NOT_FOUND_TYPE,
            "ErrorMessage": "Webhook id 77 not found",
            "ErrorSource": "SuperOffice.Services.Implementation",
        }
    assert agent_get(client, 77) is None
    assert client.delete(f"{REST}/77", headers=AUTH).status_code == 204
    assert client.get(f"{REST}/77/LastError", headers=AUTH).json is None
    assert stored(app) == before  # PUT created nothing


def test_another_applications_webhook_is_not_found_over_rest() -> None:
    users = (
        User("ann", Associate(11, "ANN"), bearer_tokens=("8A:ann",)),
        User("bob", Associate(12, "BOB"), bearer_tokens=("8A:bob",)),
    )
    apps = (
        Application("App A", "token-a", bearer_tokens=("8A:ann",)),
        Application("App B", "token-b", bearer_tokens=("8A:bob",)),
    )
    config = MockConfig(
        profile="online", users=users, applications=apps, delivery=DeliveryConfig(registration_ping=False)
    )
    client = create_app(config).test_client()
    posted = client.post(REST, json=webhook(), headers={"Authorization": "Bearer 8A:ann"})
    assert posted.status_code == 200, posted.get_data(as_text=True)
    other = {"Authorization": "Bearer 8A:bob"}
    assert client.get(f"{REST}/{posted.json['WebhookId']}", headers=other).json["ErrorType"] == NOT_FOUND_TYPE
    patch = [{"op": "replace", "path": "Name", "value": "stolen"}]
    assert client.patch(f"{REST}/{posted.json['WebhookId']}", json=patch, headers=other).status_code == 404
    assert client.delete(f"{REST}/{posted.json['WebhookId']}", headers=other).status_code == 403


def test_put_saves_under_the_path_id_whatever_the_body_says(client: FlaskClient) -> None:
    first, second = created(client), created(client, Name="second")
    put = client.put(
        f"{REST}/{first['WebhookId']}", json=webhook(WebhookId=second["WebhookId"], Name="put"), headers=AUTH
    )
    assert put.status_code == 200
    assert put.json["WebhookId"] == first["WebhookId"]
    assert agent_get(client, first["WebhookId"])["Name"] == "put"
    assert agent_get(client, second["WebhookId"])["Name"] == "second"


def test_signal_and_test_and_default_are_the_agents_services(client: FlaskClient, app: Flask) -> None:
    assert (
        client.get(f"{REST}/default", headers=AUTH).json
        == client.post(AGENT + "CreateDefaultWebhook", headers=AUTH).json
    )
    crmscript = webhook(Type="crmscript")
    assert (
        client.post(f"{REST}/Test", json=crmscript, headers=AUTH).json
        == client.post(AGENT + "TestWebhook", json={"Webhook": crmscript}, headers=AUTH).json
    )
    signalled = client.post(f"{REST}/contact.created/42", json={"Name": "Acme"}, headers=AUTH)
    assert (signalled.status_code, signalled.data) == (204, b"")
    assert client.post(f"{REST}/contact.created/42", headers=AUTH).status_code == 204  # no body: no Data
    assert [e.operation for e in state_of(app).journal.entries()][-2:] == ["v1Webhook_SignalEvent"] * 2


# ---------------------------------------------------------------------------------------------
# Routing (F-200)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/v1/webhook/", 200),
        ("GET", "/API/V1/WEBHOOK/DEFAULT", 200),
        ("POST", "/api/v1/Webhook/", 200),
        ("GET", "/api/v1/Webhook/abc", 404),
        ("GET", "/api/v1/Webhook/99999999999", 404),
        ("GET", "/api/v1/Webhook/1/2/3", 404),
        ("GET", "/api/v1/Webhook/-1", 400),
        ("POST", "/api/v1/Webhook/1", 405),
        ("GET", "/api/v1/Webhook/Test", 405),  # Test is served with POST; "Test" is no int32 id
        ("GET", "/api/v1/Webhook/contact.created/1", 405),
        ("POST", "/api/v1/Webhook/contact.created/abc", 404),
    ],
)
def test_routes_as_asp_net_routes_them(client: FlaskClient, method: str, path: str, status: int) -> None:
    body = webhook() if method == "POST" and path.rstrip("/").endswith("Webhook") else None
    response = client.open(path, method=method, json=body, headers=AUTH)
    assert response.status_code == status, response.get_data(as_text=True)
    if status == 405:
        assert response.headers["Allow"] in ("DELETE, GET, PATCH, PUT", "POST")
    if status in (400, 404, 405) and response.json:
        assert set(response.json) & {"Message", "ErrorMessage"}


def test_an_xml_answer_is_a_webhook_with_links(client: FlaskClient) -> None:
    posted = created(client)
    got = client.get(f"{REST}/{posted['WebhookId']}", headers={**AUTH, "Accept": "application/xml"})
    assert got.status_code == 200
    assert got.data.split(b"?>", 1)[1].startswith(b"<WebhookWithLinks ")
    assert b"<_Links>" in got.data


# ---------------------------------------------------------------------------------------------
# PATCH (F-203, F-205)


def test_the_pages_own_patch_shapes(client: FlaskClient) -> None:
    posted = created(client)
    at = f"{REST}/{posted['WebhookId']}"
    patched = client.patch(at, json=[{"op": "replace", "path": "name", "value": "foo"}], headers=AUTH)
    assert (patched.status_code, patched.json["Name"]) == (200, "foo")
    merged = client.patch(
        at, json={"Name": "bar"}, headers={**AUTH, "Content-Type": "application/merge-patch+json"}
    )
    assert (merged.status_code, merged.json["Name"]) == (200, "bar")
    appended = client.patch(
        at, json=[{"op": "add", "path": "/Events/-", "value": "contact.deleted"}], headers=AUTH
    )
    assert appended.json["Events"] == ["contact.created", "contact.changed", "contact.deleted"]
    assert agent_get(client, posted["WebhookId"])["Events"] == appended.json["Events"]
    assert appended.json["Updated"] != posted["Updated"] and appended.json["UpdatedAssociate"] is not None


@pytest.mark.parametrize(
    ("changes", "status", "field"),
    [
        ([{"op": "move", "from": "/Name", "path": "/Secret"}], 400, "changes.0.op"),
        ([{"op": "copy", "from": "/Name", "path": "/Secret"}], 400, "changes.0.op"),
        (
            [
                {"op": "replace", "path": "Name", "value": "ok"},
                {"op": "replace", "path": "/Nope", "value": 1},
            ],
            400,
            "changes.1.path",
        ),
        ([{"op": "replace", "path": "/Name"}], 400, "changes.0.value"),
        ([{"op": "remove", "path": "/Headers/absent"}], 400, "changes.0"),
        ([{"op": "replace", "path": "/Events/9", "value": "x.y"}], 400, "changes.0"),
        ([{"op": "replace", "path": "/State", "value": "Paused"}], 400, "entity.State"),
        ([{"op": "replace", "path": "/Name", "value": 5}], 400, "entity.Name"),
        ({"Nope": 1}, 400, "changes.Nope"),
        ("replace Name", 400, "changes"),
        (
            [
                {"op": "test", "path": "/Name", "value": "someone else"},
                {"op": "replace", "path": "/Name", "value": "x"},
            ],
            409,
            None,
        ),
    ],
)
def test_a_patch_that_cannot_apply_is_refused_naming_the_member_and_changes_nothing(
    client: FlaskClient, app: Flask, changes: Any, status: int, field: str | None
) -> None:
    posted = created(client)
    before = stored(app)
    response = client.patch(
        f"{REST}/{posted['WebhookId']}",
        data=json.dumps(changes),
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert response.status_code == status, response.get_data(as_text=True)
    if field is not None:
        assert field in response.json["ModelState"], response.json
    else:
        assert response.json["Error"] is True and response.json["ErrorType"] == "ConflictException"
    assert stored(app) == before


def test_patch_is_not_offered_in_xml_or_forms(client: FlaskClient) -> None:
    posted = created(client)
    for media_type in ("application/xml", "application/x-www-form-urlencoded"):
        response = client.patch(
            f"{REST}/{posted['WebhookId']}", data="Name=x", headers={**AUTH, "Content-Type": media_type}
        )
        assert response.status_code == 415, media_type


@pytest.mark.parametrize(
    ("since", "status"),
    [
        ("Wed, 21 Oct 2015 07:28:00 GMT", 412),  # before the webhook was registered
        ("Fri, 31 Dec 9999 23:59:59 GMT", 200),
        ("not a date", 200),  # not an HTTP-date: ignored (RFC 9110 13.1.4)
    ],
)
def test_if_unmodified_since(client: FlaskClient, app: Flask, since: str, status: int) -> None:
    posted = created(client)
    before = stored(app)
    response = client.patch(
        f"{REST}/{posted['WebhookId']}", json={"Name": "x"}, headers={**AUTH, "If-Unmodified-Since": since}
    )
    assert response.status_code == status
    if status == 412:
        assert response.json["Error"] is True
        assert stored(app) == before


names = st.text(alphabet="abcXYZ-", min_size=1, max_size=4)
values = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=3))
events = st.sampled_from(["contact.created", "contact.changed", "person.deleted", "sale.created"])


@st.composite
def json_patches(draw: st.DrawFn, current: dict[str, Any]) -> list[dict[str, Any]]:
    """Operations that apply to ``current`` (paths spelt as the contract spells them)."""
    doc = copy.deepcopy(current)
    ops: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["name", "event", "header", "remove-header", "test", "description"]))
        if kind == "name":
            op = {"op": "replace", "path": "/Name", "value": draw(st.text(min_size=1, max_size=8))}
        elif kind == "description":
            op = {"op": draw(st.sampled_from(["add", "replace", "remove"])), "path": "/Description"}
            if op["op"] != "remove":
                op["value"] = draw(st.text(max_size=8))
        elif kind == "event":
            op = {
                "op": "add",
                "path": draw(st.sampled_from(["/Events/-", "/Events/0"])),
                "value": draw(events),
            }
        elif kind == "header":
            op = {"op": "add", "path": f"/Headers/{draw(names)}", "value": draw(st.text(max_size=4))}
        elif kind == "remove-header" and doc["Headers"]:
            op = {"op": "remove", "path": f"/Headers/{draw(st.sampled_from(sorted(doc['Headers'])))}"}
        else:
            field = draw(st.sampled_from(["Name", "Events", "Headers", "State"]))
            op = {"op": "test", "path": f"/{field}", "value": doc[field]}
        canonical = {**op, "op": "replace"} if op["op"] == "remove" and op["path"] == "/Description" else op
        if canonical is not op:
            canonical["value"] = None
        doc = jsonpatch.apply_patch(doc, [canonical])
        ops.append(op)
    return ops


def recased(ops: list[dict[str, Any]], data: st.DataObject) -> list[dict[str, Any]]:
    """The same operations with the property named in another casing, with or without the slash."""
    out = []
    for op in ops:
        first, *rest = op["path"].lstrip("/").split("/")
        first = data.draw(st.sampled_from([first, first.lower(), first.upper()]))
        slash = data.draw(st.sampled_from(["/", ""]))
        out.append({**op, "path": slash + "/".join([first, *rest])})
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_json_patch_in_any_casing_is_rfc_6902_applied_to_the_stored_webhook(
    client: FlaskClient, data: st.DataObject
) -> None:
    posted = created(client)
    current = {k: v for k, v in posted.items() if k != "_Links"}
    ops = data.draw(json_patches(current))
    # the oracle: RFC 6902 by python-json-patch on the canonical paths ("remove" of a property: null)
    canonical = [
        {"op": "replace", "path": op["path"], "value": None}
        if op["op"] == "remove" and op["path"].count("/") == 1
        else op
        for op in ops
    ]
    expected = jsonpatch.apply_patch(current, canonical)
    response = client.patch(f"{REST}/{posted['WebhookId']}", json=recased(ops, data), headers=AUTH)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert client_fields(response.json) == client_fields(expected)
    assert client_fields(agent_get(client, posted["WebhookId"])) == client_fields(expected)


merge_members = st.fixed_dictionaries(
    {},
    optional={
        "Name": st.text(min_size=1, max_size=8),
        "Description": st.one_of(st.none(), st.text(max_size=8)),
        "Headers": st.one_of(
            st.none(), st.dictionaries(names, st.one_of(st.none(), st.text(max_size=3)), max_size=3)
        ),
        "Properties": st.dictionaries(
            names, st.one_of(values, st.dictionaries(names, values, max_size=2)), max_size=3
        ),
        "Events": st.lists(events, max_size=3),
    },
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(patch=merge_members)
def test_a_merge_patch_is_rfc_7396_applied_then_null_properties_kept(
    client: FlaskClient, patch: dict[str, Any]
) -> None:
    posted = created(client, Properties={"a": 1, "nested": {"x": 1, "y": 2}})
    current = {k: v for k, v in posted.items() if k != "_Links"}
    expected = rfc7396(current, patch)
    for name in CLIENT_FIELDS:  # a webhook has every property: one the patch removed is null
        expected.setdefault(name, None)
    response = client.patch(
        f"{REST}/{posted['WebhookId']}",
        json=patch,
        headers={**AUTH, "Content-Type": "application/merge-patch+json"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert client_fields(response.json) == client_fields(expected)
