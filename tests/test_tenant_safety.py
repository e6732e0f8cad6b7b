"""A run against a real tenant touches only what it created (issue 11; the REST face too).

The mock plays the tenant: it holds 30 webhooks of "the tenant's" (both types, several events,
different owners, the ids the contract's own examples use among them). The real
``schemathesis run`` CLI then runs against it with the adapter as hooks, every phase, as the README
says to run it against a real SuperOffice. The oracle is the mock's own record, not the adapter:
its store (the tenant's webhooks byte for byte, nothing of the run left), its deliveries (none to
a tenant webhook) and its journal (no request names an id the run did not create, in its query,
its body or its REST path).

The guard's rewriting of single requests is tested on its own below, with the mock's router and
the mock's patch semantics (``contracts.patch``) as the oracles: a path the router takes names
only the run's ids, and a guarded PATCH, bound as the server binds it and applied, leaves the
webhook tagged, of Type ``webhook`` and aimed at the receiver (or is refused).
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qsl, unquote

import pytest
import trustme
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.serving import make_server

from contracts import load
from contracts.binding import binder_for
from contracts.patch import PatchError, apply
from contracts.receiver import Receiver
from contracts.tenant_guard import Guard
from mockserver import MockConfig, create_app, state_of
from mockserver.config import DeliveryConfig, Limits
from mockserver.routing import Router

logging.getLogger("werkzeug").setLevel(logging.ERROR)

AUTH = "Authorization: Basic dGplMDpUamUw"
EXAMPLE_IDS = (95, 419, 825)  # the ids of the contract's examples (GetWebhook, SaveWebhook, DeleteWebhook)
TENANT_IDS = frozenset(range(1, 28)) | frozenset(EXAMPLE_IDS)
EVENTS = [
    "contact.created",
    "contact.changed",
    "person.created",
    "sale.sold",
    "ticket.created",
    "foo.bar",
    "test",
]
ID_KEY = re.compile(r"webhookid", re.IGNORECASE)
QUERY_ID_KEY = re.compile(r"(webhook)?id", re.IGNORECASE)  # ASP.NET reads a route's {id} from the query too
# the REST routes (F-200: any casing, a trailing slash): a webhook's id, or SignalEvent's event
_REST_ID = re.compile(r"/api/v1/webhook/(?P<id>[^/]+)(/lasterror)?/?", re.IGNORECASE)
_REST_SIGNAL = re.compile(r"/api/v1/webhook/(?P<event>[^/]+)/(?!lasterror/?$)[^/]+/?", re.IGNORECASE)
_LITERALS = ("default", "test")


def _tenant_webhook(webhook_id: int) -> dict[str, Any]:
    crmscript = webhook_id % 3 == 0
    return {
        "WebhookId": webhook_id,
        "Name": f"Tenant hook {webhook_id}",
        "Events": [
            EVENTS[webhook_id % len(EVENTS)],
            EVENTS[(webhook_id + 3) % len(EVENTS)],
            "webhook1.stopped",
        ],
        "TargetUrl": str(1000 + webhook_id) if crmscript else f"https://127.0.0.1:9/tenant/{webhook_id}",
        "Secret": f"tenant-secret-{webhook_id}",
        "State": "Active",
        "Type": "crmscript" if crmscript else "webhook",
        "Headers": {"X-Tenant": str(webhook_id)},
        "Properties": {"tenant": True},
        "Registered": "2024-01-02T03:04:05Z",
        "RegisteredAssociate": {"AssociateId": 10 + webhook_id % 4, "Name": f"OWNER{webhook_id % 4}"},
        "Updated": "0001-01-01T00:00:00",
        "UpdatedAssociate": None,
        "ErrorsEmail": None,
    }


class Tenant:
    """The mock, on a real socket, holding the tenant's webhooks."""

    def __init__(self, ca_file: str) -> None:
        config = MockConfig(delivery=DeliveryConfig(ca_file=ca_file), limits=Limits(journal_entries=200_000))
        self.app = create_app(config)
        self.state = state_of(self.app)
        store = self.state.store
        for webhook_id in range(1, max(TENANT_IDS) + 1):  # the store allocates ids; keep the tenant's
            store.create(_tenant_webhook, None if webhook_id % 2 else "other-app-token")
        for row in store.all():
            if row.webhook_id not in TENANT_IDS:
                store.delete(row.webhook_id)
        self.first_run_id = max(TENANT_IDS) + 1
        self.before = {row.webhook_id: (row.webhook, row.owner) for row in store.all()}
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.state.deliveries.close()

    def last_run_id(self) -> int:
        """The highest id the run can have been given: the store's next id, less one."""
        probe = self.state.store.create(lambda new_id: {**_tenant_webhook(new_id), "WebhookId": new_id}, None)
        self.state.store.delete(probe.webhook_id)
        return probe.webhook_id - 1


@pytest.fixture(scope="module")
def ca_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[trustme.CA, str]:
    ca = trustme.CA()
    path = tmp_path_factory.mktemp("tenant-ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return ca, str(path)


@pytest.fixture
def tenant(ca_file: tuple[trustme.CA, str]) -> Iterator[Tenant]:
    mock = Tenant(ca_file[1])
    try:
        yield mock
    finally:
        mock.stop()


@pytest.fixture
def receiver(ca_file: tuple[trustme.CA, str]) -> Iterator[Receiver]:
    with Receiver(ca=ca_file[0]) as running:
        yield running


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("spec") / "agent.json"
    path.write_text(json.dumps(load().document), encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def twins_config(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A schemathesis.toml with the coverage phase only for the operations that save, read and
    delete a webhook by id on the agent (SaveWebhook, GetWebhook, DeleteWebhook: where the old
    adapter deleted the tenant's webhooks). The others' bodies and ids go through the same code of
    the guard (the same seven media types; path ids rewritten by the code that rewrites query ids);
    walking all of them took the run past the suite's time budget. Every operation still runs the
    other phases (examples, fuzzing, stateful), and the unit tests below walk the REST path ids and
    patches one by one."""
    covered = {"SaveWebhook", "GetWebhook", "DeleteWebhook"}
    twins = [operation_id for operation_id in load().operations if operation_id not in covered]
    path = tmp_path_factory.mktemp("config") / "schemathesis.toml"
    path.write_text(
        f"[[operations]]\ninclude-operation-id = {json.dumps(twins)}\nphases.coverage.enabled = false\n",
        encoding="utf-8",
    )
    return str(path)


def _schemathesis(
    spec: str, tenant: Tenant, receiver: Receiver, tag: str, *options: str, config: str | None = None
) -> list[str]:
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        *(["--config-file", config] if config else []),
        "run",
        spec,
        "--url",
        tenant.url,
        "--header",
        AUTH,
        "--max-examples",
        "8",
        "--request-timeout",
        "20",
        *options,
    ]
    return command


def _environment(receiver: Receiver, tag: str) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SOWEBHOOK_")}
    environment.update(
        SCHEMATHESIS_HOOKS="contracts.schemathesis_adapter",
        SOWEBHOOK_TARGET_URL=receiver.url,
        SOWEBHOOK_RUN_TAG=tag,
    )
    return environment


def _ids_named(entry: Any, tag: str) -> set[int]:
    """Every number a request offers as a webhook id, wherever and however it is spelt: the path
    (the REST routes' id segments), the query (``id`` or ``webhookId``), the decoded body at any
    depth (a property, a JSON Patch operation on WebhookId), or (a body the mock could not read)
    its raw text."""
    found: set[int] = set()
    route = _REST_ID.fullmatch(entry.path)
    if route is not None and route["id"].casefold() not in (*_LITERALS, f"{tag}.signal"):
        found |= _numbers(route["id"])
    for key, value in entry.query.items():
        if QUERY_ID_KEY.fullmatch(key):
            found |= _numbers(value)
    body = entry.body  # its value once the mock read it, else its text
    if isinstance(body, str):
        found |= {int(n) for n in re.findall(r"(?i)webhookid\W{0,12}?(-?\d+)", body)}
        try:
            body = json.loads(body)
        except ValueError:
            body = dict(parse_qsl(body))
    stack = [body]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(key, str) and ID_KEY.fullmatch(key):
                    found |= _numbers(value)
                patches_id = isinstance(value, str) and ID_KEY.fullmatch(value.strip().lstrip("/"))
                if (
                    isinstance(key, str) and key.casefold() == "path" and patches_id
                ):  # a JSON Patch operation on WebhookId
                    found |= {n for k, v in node.items() if k.casefold() == "value" for n in _numbers(v)}
                stack.append(value)
        elif isinstance(node, list):
            stack.extend(node)
    return found


def _numbers(value: Any) -> set[int]:
    if isinstance(value, bool):
        return {int(value)}
    if isinstance(value, (int, float)):
        return {int(value)}
    if isinstance(value, str):
        return {int(n) for n in re.findall(r"-?\d+", value)}
    if isinstance(value, list):
        return {n for item in value for n in _numbers(item)}
    return set()


def _assert_tenant_untouched(
    tenant: Tenant, tag: str, *, receiver: str | None = None, must_create: bool = True
) -> dict[str, int]:
    last = tenant.last_run_id()
    run_ids = set(range(tenant.first_run_id, last + 1))
    after = {row.webhook_id: (row.webhook, row.owner) for row in tenant.state.store.all()}
    assert after == tenant.before, "the tenant's webhooks changed, or the run left webhooks behind"
    deliveries = tenant.state.deliveries.history()
    delivered = [d for d in deliveries if d.webhook_id in TENANT_IDS]
    assert not delivered, (
        f"deliveries set off on the tenant's webhooks: {[(d.webhook_id, d.event) for d in delivered][:5]}"
    )
    elsewhere = [d for d in deliveries if receiver is not None and d.target not in (None, receiver)]
    assert not elsewhere, (
        f"deliveries to another URL than the receiver: {[(d.webhook_id, d.target) for d in elsewhere][:5]}"
    )
    entries = tenant.state.journal.entries()
    foreign = {}
    for entry in entries:
        stray = {n for n in _ids_named(entry, tag) if n != 0 and n not in run_ids}
        if stray:
            foreign[entry.id] = (
                entry.method,
                entry.path,
                entry.operation,
                sorted(stray),
                entry.query,
                entry.raw[:200],
            )
    assert not foreign, f"requests named ids the run did not create: {list(foreign.items())[:5]}"
    signals = [
        (e.method, e.path)
        for e in entries
        if (found := _REST_SIGNAL.fullmatch(e.path)) and found["event"] != f"{tag}.signal"
    ]
    assert not signals, f"REST SignalEvent of another event than the run's: {signals[:5]}"
    saves = [
        e for e in entries if e.operation in ("SaveWebhook", "v1Webhook_PostWebhook") and e.status == 200
    ]
    assert not must_create or (run_ids and saves), "the run created nothing: it did not exercise its own ids"
    rest = [e for e in entries if e.path.casefold().startswith("/api/v1/webhook")]
    own = {
        "v1Webhook_GetWebhook",
        "v1Webhook_PutWebhook",
        "v1Webhook_PatchWebhook",
        "v1Webhook_DeleteWebhook",
    }
    return {
        "requests": len(entries),
        "created": len(run_ids),
        "saves": len(saves),
        "rest": len(rest),
        "rest_on_own": sum(
            1 for e in rest if e.operation in own and e.status in (200, 204) and _ids_named(e, tag) <= run_ids
        ),
    }


# The coverage phase barely depends on the seed and sends most of the requests, so it runs once.
@pytest.mark.slow  # the schemathesis CLI against the mock on a socket
@pytest.mark.parametrize(
    ("seed", "workers", "phases"),
    [(1, 2, "examples,coverage,fuzzing,stateful")],  # one run of every phase: the suite's time budget
)
def test_a_schemathesis_run_touches_only_what_it_created(
    spec: str, twins_config: str, tenant: Tenant, receiver: Receiver, seed: int, workers: int, phases: str
) -> None:
    tag = f"sowebhook-st-test{seed}"
    options = ("--seed", str(seed), "--workers", str(workers), "--phases", phases)
    finished = subprocess.run(
        _schemathesis(spec, tenant, receiver, tag, *options, config=twins_config),
        env=_environment(receiver, tag),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = finished.stdout + finished.stderr
    assert finished.returncode in (0, 1) and "Error in `" not in output, output[
        -3000:
    ]  # 1: the run found failures
    summary = [line for line in finished.stderr.splitlines() if line.startswith(f"sowebhook: run {tag}")]
    assert summary, output[-3000:]
    assert int(re.search(r"(\d+) rewritten", summary[0]).group(1)) > 0, summary[0]
    figures = _assert_tenant_untouched(tenant, tag, receiver=receiver.url, must_create="coverage" in phases)
    assert "could NOT delete" not in finished.stderr
    assert figures["rest"] and figures["rest_on_own"], figures  # the REST face, on the run's own webhooks too
    print(figures, summary[0])


@pytest.mark.slow  # a real server on a socket
def test_an_interrupted_run_still_cleans_up(spec: str, tenant: Tenant, receiver: Receiver) -> None:
    tag = "sowebhook-st-interrupted"
    created = threading.Event()
    app = tenant.server.app

    def watching(environ: dict[str, Any], start_response: Any) -> Any:
        def start(status: str, headers: Any, exc_info: Any = None) -> Any:
            if environ.get("PATH_INFO", "").endswith("/SaveWebhook") and status.startswith("200"):
                created.set()
            return start_response(status, headers, exc_info)

        return app(environ, start)

    tenant.server.app = watching
    process = subprocess.Popen(
        # the examples phase creates at once (the seed example); the long coverage phase is cut short
        _schemathesis(spec, tenant, receiver, tag, "--seed", "4", "--phases", "examples,coverage"),
        env=_environment(receiver, tag),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert created.wait(timeout=120), "the run never created a webhook"
        assert process.poll() is None, "the run ended before it could be interrupted"
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert f"sowebhook: run {tag}" in stderr, stderr[-3000:]
    assert "could NOT delete" not in stderr
    _assert_tenant_untouched(tenant, tag, must_create=True)


@pytest.mark.slow  # a real server on a socket
def test_verify_touches_only_what_it_created(tenant: Tenant, receiver: Receiver) -> None:
    """``sowebhook verify`` is safe today (it saves with WebhookId 0 and uses only the ids it got
    back); this keeps it so, by the same oracle as the schemathesis runs."""
    from contracts.runner import verify

    report = verify(tenant.app, target_url=receiver.url, max_examples=5, stateful_steps=10)
    assert report.requests > 0 and report.created == report.cleaned_up
    _assert_tenant_untouched(tenant, report.tag, must_create=True)


# -- the guard's rewriting, one request at a time ------------------------------------------------

TAG = "sowebhook-st-unit"
RECEIVER = "https://receiver.example/hook"
OWN = (900, 901)
_router = Router(load())
_fields = list(load().document["components"]["schemas"]["Webhook"]["properties"])
_patch_binder = binder_for(load()).request_body("v1Webhook_PatchWebhook", "application/json")
assert _patch_binder is not None


def _case(
    path: str,
    method: str,
    *,
    path_parameters: dict[str, Any] | None = None,
    query: dict[str, Any] | None = None,
    body: Any = None,
    media_type: str | None = None,
) -> Any:
    """A request as schemathesis' Case carries it: the attributes the guard reads and writes."""
    operation = SimpleNamespace(path=path, method=method, label=f"{method} {path}", app=None)
    return SimpleNamespace(
        operation=operation,
        method=method,
        path=path,
        path_parameters=dict(path_parameters or {}),
        query=dict(query or {}),
        body=body,
        media_type=media_type,
        meta=None,
    )


def _guard(*own: int) -> Guard:
    guard = Guard(TAG, RECEIVER)
    for webhook_id in own:
        guard.created[webhook_id] = None  # where to delete it from: not needed here
        guard.live.append(webhook_id)
    return guard


def _routed_ids(case: Any) -> set[int]:
    """The webhook ids the mock's router reads from the case's path, as it would go out."""
    path = unquote(case.path.format(**{name: str(value) for name, value in case.path_parameters.items()}))
    found = _router.find(path)
    if found is None:
        return set()
    by_method, values = found
    operation = by_method.get(case.method)
    assert operation is None or operation.path == case.path, f"{path} routes to {operation.operation_id}"
    return {int(value) for name, value in values.items() if name.casefold() in ("id", "webhookid")}


ID_ROUTES = [("/api/v1/Webhook/{id}", method, "id") for method in ("GET", "PUT", "PATCH", "DELETE")]
ID_ROUTES.append(("/api/v1/Webhook/{webhookId}/LastError", "GET", "webhookId"))
SENT_IDS = [
    419,
    "419",
    "+419",
    " 419",
    "%34%31%39",
    "%2534%2531%2539",
    -5,
    2147483648,
    419.0,
    "abc419",
    "..",
    "%2E%2E",
    "a/../../../Agents/Webhook/DeleteWebhook",
    "x?WebhookId=419",
    "x#y",
    "",
]


@pytest.mark.parametrize(("path", "method", "name"), ID_ROUTES)
@pytest.mark.parametrize("sent", SENT_IDS)
def test_a_rest_path_names_only_the_runs_ids(path: str, method: str, name: str, sent: Any) -> None:
    for own in ((), OWN):
        case = _case(path, method, path_parameters={name: sent})
        _guard(*own).before(case, {})
        assert _routed_ids(case) <= {0, *own}, case.path_parameters
        value = case.path_parameters[name]
        assert value in (0, *own) or not any(c.isdigit() for c in str(value)), value


@pytest.mark.parametrize(("path", "method", "name"), ID_ROUTES)
def test_the_runs_own_ids_and_text_without_digits_go_out_as_they_are(
    path: str, method: str, name: str
) -> None:
    guard = _guard(*OWN)
    for sent in (0, *OWN, "abc", "True"):
        case = _case(path, method, path_parameters={name: sent})
        guard.before(case, {})
        assert case.path_parameters[name] == sent
    assert guard.rewritten == 0


def test_a_query_id_on_a_rest_operation_is_rewritten_too() -> None:
    """ASP.NET Web API's value providers read the query before the route: ``?id=419`` could win."""
    case = _case(
        "/api/v1/Webhook/{id}",
        "PUT",
        path_parameters={"id": 900},
        query={"ID": "419", "webhookid": [419, "5"], "$select": "Name,TargetUrl"},
    )
    _guard(*OWN).before(case, {})
    assert case.query["$select"] == "Name,TargetUrl"
    assert case.query["ID"] in OWN and all(item in OWN for item in case.query["webhookid"])


def test_signal_event_by_path_signals_only_the_runs_event() -> None:
    guard = _guard()
    case = _case(
        "/api/v1/Webhook/{eventName}/{primaryKey}",
        "POST",
        path_parameters={"eventName": "contact.created", "primaryKey": 419},
        body={"EventName": "contact.created", "WebhookId": "not rewritten: Data"},
        media_type="application/json",
    )
    guard.before(case, {})
    assert case.path_parameters == {
        "eventName": f"{TAG}.signal",
        "primaryKey": 419,
    }  # an entity's id, not a webhook's
    assert case.body == {
        "EventName": "contact.created",
        "WebhookId": "not rewritten: Data",
    }  # the body is Data
    for climbing in ("..", "%2e%2E", "x/../..", "%2F"):
        case = _case(
            "/api/v1/Webhook/{eventName}/{primaryKey}",
            "POST",
            path_parameters={"eventName": "a.b", "primaryKey": climbing},
        )
        guard.before(case, {})
        assert case.path_parameters == {"eventName": f"{TAG}.signal", "primaryKey": 0}


@pytest.mark.parametrize("path", ["/api/v1/Webhook", "/api/v1/Webhook/{id}", "/api/v1/Webhook/Test"])
@pytest.mark.parametrize("media_type", ["application/json", "text/xml", "application/x-www-form-urlencoded"])
def test_rest_webhook_bodies_are_guarded(path: str, media_type: str) -> None:
    sent: Any = {
        "webhookID": 419,
        "NAME": "mine",
        "type": "crmscript",
        "targetUrl": "https://127.0.0.1:9/tenant/5",
        "_Links": {"Self": "x"},
        "Events": ["contact.created"],
    }
    if media_type.endswith("form-urlencoded"):
        sent = "webhookID=419&NAME=mine&type=crmscript&targetUrl=https%3A%2F%2F127.0.0.1%3A9%2Ftenant%2F5"
    method = "PUT" if "{id}" in path else "POST"
    case = _case(
        path,
        method,
        path_parameters={"id": 900} if "{id}" in path else None,
        body=sent,
        media_type=media_type,
    )
    _guard(*OWN).before(case, {})
    body = case.body
    assert body["webhookID"] in OWN
    assert body["Name"] == f"{TAG} mine" and body["Type"] == "webhook" and body["TargetUrl"] == RECEIVER
    assert not {"NAME", "type", "targetUrl"} & set(body)
    if isinstance(sent, dict):
        assert body["_Links"] == {"Self": "x"} and body["Events"] == ["contact.created"]


# PATCH: every shape and spelling the server reads (JSON Patch or merge patch, names in any casing,
# the leading slash optional), checked by applying the guarded patch as the mock applies it.

_GUARDED_WEBHOOK = {name: None for name in _fields} | {
    "WebhookId": 900,
    "Name": f"{TAG} mine",
    "Type": "webhook",
    "TargetUrl": RECEIVER,
    "Events": ["a.b"],
    "Headers": {"X-Key": "1"},
    "Properties": {"p": 1},
    "State": "Active",
}


def _spelled(name: str) -> st.SearchStrategy[str]:
    return st.sampled_from(sorted({name, name.lower(), name.upper(), name.swapcase()}))


@st.composite
def _patch_paths(draw: st.DrawFn) -> str:
    name = draw(st.sampled_from(["Name", "Type", "TargetUrl", "WebhookId", "Events", "Headers", "State", ""]))
    below = draw(st.sampled_from(["", "", "/-", "/0", "/X-Key"]))
    return draw(st.sampled_from(["", "/", "//", " /"])) + draw(_spelled(name)) + below


_VALUES = st.one_of(
    st.none(),
    st.integers(-5, 1000),
    st.sampled_from(["crmscript", "https://127.0.0.1:9/tenant/5", "Tenant hook 5", ""]),
    st.lists(st.sampled_from(["x", "contact.created"]), max_size=2),
    st.dictionaries(
        st.sampled_from(["WebhookId", "name", "TYPE", "TargetUrl", "X-Key"]),
        st.one_of(st.integers(0, 1000), st.sampled_from(["crmscript", "x"])),
        max_size=4,
    ),
)


@st.composite
def _operations(draw: st.DrawFn) -> dict[str, Any]:
    op: dict[str, Any] = {
        draw(_spelled("op")): draw(
            st.sampled_from(["add", "replace", "remove", "test", "move", "copy", "Replace", "ADD"])
        )
    }
    op[draw(_spelled("path"))] = draw(_patch_paths())
    if draw(st.booleans()):
        op[draw(_spelled("value"))] = draw(_VALUES)
    if draw(st.booleans()):
        op[draw(_spelled("from"))] = draw(_patch_paths())
    return op


_MERGE = st.dictionaries(
    st.sampled_from(
        [
            "Name",
            "name",
            "NAME",
            "Type",
            "type",
            "TargetUrl",
            "targeturl",
            "WebhookId",
            "webhookID",
            "State",
            "Headers",
        ]
    ),
    _VALUES,
    max_size=5,
)


def _applied(changes: Any) -> dict[str, Any] | None:
    """The guarded webhook with the patch applied as the mock applies it (None: refused)."""
    try:
        return apply(_GUARDED_WEBHOOK, _patch_binder.bind(changes).value, _fields)
    except PatchError:
        return None


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.lists(_operations(), min_size=1, max_size=4), _MERGE))
def test_a_guarded_patch_leaves_the_webhook_guarded(changes: Any) -> None:
    guard = _guard(*OWN)
    guarded = guard.guard_patch(changes)
    patched = _applied(guarded)
    if patched is not None:
        name = patched["Name"]
        assert isinstance(name, (list, dict)) or (isinstance(name, str) and name.startswith(TAG)), (
            guarded,
            name,
        )
        assert patched["Type"] == "webhook" and patched["TargetUrl"] == RECEIVER, guarded
        assert patched["WebhookId"] == 900, guarded
    numbers = {
        v
        for v in _patched_ids(guarded)
        if v is not None and not (isinstance(v, str) and not re.search(r"\d", v))
    }
    assert numbers <= {0, *OWN}, guarded  # text without a digit names no id


def _patched_ids(changes: Any) -> set[Any]:
    """The webhook ids a patch names: the values of operations on WebhookId, the WebhookId of a
    whole webhook (the root path), a merge patch's WebhookId."""
    if isinstance(changes, dict):
        return {value for key, value in changes.items() if key.casefold() == "webhookid"}
    found = set()
    for op in changes:
        members = {key.casefold(): value for key, value in op.items()}
        target = (
            members.get("path", "").strip().lstrip("/").casefold()
            if isinstance(members.get("path"), str)
            else None
        )
        value = members.get("value")
        if target == "webhookid":
            found.add(json.dumps(value) if isinstance(value, (list, dict)) else value)
        elif target == "" and isinstance(value, dict):
            found |= {v for k, v in value.items() if k.casefold() == "webhookid"}
    return found


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            [{"op": "replace", "path": "name", "value": "x"}],
            [{"op": "replace", "path": "/Name", "value": f"{TAG} x"}],
        ),
        (
            [{"OP": "Add", "PATH": "/TYPE", "VALUE": "crmscript"}],
            [{"op": "replace", "path": "/Type", "value": "webhook"}],
        ),
        (
            [{"op": "remove", "path": "/targetUrl"}],
            [{"op": "replace", "path": "/TargetUrl", "value": RECEIVER}],
        ),
        ([{"op": "remove", "path": "Name"}], [{"op": "replace", "path": "/Name", "value": f"{TAG} "}]),
        (
            [
                {"op": "replace", "path": "/WebhookId", "value": 419},
                {"op": "add", "path": "/Events/-", "value": "a.b"},
            ],
            [{"op": "add", "path": "/Events/-", "value": "a.b"}],
        ),
        (
            [{"op": "test", "path": "/webhookid", "value": 419}],
            [{"op": "test", "path": "/webhookid", "value": 0}],
        ),
        (
            [{"op": "move", "from": "/Name", "path": "/Description"}],
            [{"from": "/Name", "path": "/Description", "op": "copy"}],
        ),
        (
            [{"op": "replace", "path": "", "value": {"WebhookId": 419, "Type": "crmscript"}}],
            [
                {
                    "op": "replace",
                    "path": "",
                    "value": {"WebhookId": 0, "Type": "webhook", "TargetUrl": RECEIVER, "Name": f"{TAG} "},
                }
            ],
        ),
        (
            {
                "name": None,
                "TYPE": "crmscript",
                "targetURL": "https://x",
                "WebhookID": 419,
                "State": "Stopped",
            },
            {"name": f"{TAG} ", "TYPE": "webhook", "targetURL": RECEIVER, "State": "Stopped"},
        ),
        (
            [{"op": "add", "path": "/Headers/X-Key", "value": "2"}],
            [{"op": "add", "path": "/Headers/X-Key", "value": "2"}],
        ),
        ({"State": "Stopped", "Events": ["a.b"]}, {"State": "Stopped", "Events": ["a.b"]}),
    ],
)
def test_patch_rewriting_by_example(changes: Any, expected: Any) -> None:
    case = _case(
        "/api/v1/Webhook/{id}",
        "PATCH",
        path_parameters={"id": 419},
        body=changes,
        media_type="application/json",
    )
    _guard().before(case, {})
    assert case.path_parameters == {"id": 0}
    assert case.body == expected


def _answer(status: int, value: Any, url: str) -> Any:
    return SimpleNamespace(
        status_code=status,
        headers={"Content-Type": "application/json; charset=utf-8"},
        content=json.dumps(value).encode() if value is not None else b"",
        request=SimpleNamespace(url=url, headers={"Authorization": "Basic x", "Accept": "*/*"}),
    )


def test_the_guard_records_rest_creations_and_deletions() -> None:
    guard = _guard()
    post = _case("/api/v1/Webhook", "POST", body={"Name": "x"}, media_type="application/json")
    guard.before(post, {})
    guard.after(
        post, _answer(200, {"WebhookId": 950, "_Links": {}}, "https://tenant.example/Cust1/api/v1/Webhook")
    )
    assert guard.live == [950] and guard.created[950].base_url == "https://tenant.example/Cust1"
    assert guard.created[950].headers == {"Authorization": "Basic x"}
    # a PUT or PATCH of the run's own webhook creates nothing, whatever it answers
    put = _case(
        "/api/v1/Webhook/{id}",
        "PUT",
        path_parameters={"id": 950},
        body={"Name": "x"},
        media_type="application/json",
    )
    guard.before(put, {})
    guard.after(put, _answer(200, {"WebhookId": 951}, "https://tenant.example/Cust1/api/v1/Webhook/950"))
    assert guard.live == [950]
    delete = _case("/api/v1/Webhook/{id}", "DELETE", path_parameters={"id": "950"})
    guard.before(delete, {})
    assert delete.path_parameters == {"id": 950}
    guard.after(delete, _answer(204, None, "https://tenant.example/Cust1/api/v1/Webhook/950"))
    assert guard.live == [] and guard.deleted_by_run == {950}
