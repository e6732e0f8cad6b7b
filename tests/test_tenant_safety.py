"""A run against a real tenant touches only what it created (issue 11).

The mock plays the tenant: it holds 30 webhooks of "the tenant's" (both types, several events,
different owners, the ids the contract's own examples use among them). The real
``schemathesis run`` CLI then runs against it with the adapter as hooks, every phase, as the README
says to run it against a real SuperOffice. The oracle is the mock's own record, not the adapter:
its store (the tenant's webhooks byte for byte, nothing of the run left), its deliveries (none to
a tenant webhook) and its journal (no request names an id the run did not create).
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
from typing import Any
from urllib.parse import parse_qsl

import pytest
import trustme
from werkzeug.serving import make_server

from contracts import load
from contracts.receiver import Receiver
from mockserver import MockConfig, create_app, state_of
from mockserver.config import DeliveryConfig, Limits

pytestmark = pytest.mark.slow
logging.getLogger("werkzeug").setLevel(logging.ERROR)

AUTH = "Authorization: Basic dGplMDpUamUw"
EXAMPLE_IDS = (95, 419, 825)  # the ids of the contract's examples (GetWebhook, SaveWebhook, DeleteWebhook)
TENANT_IDS = frozenset(range(1, 28)) | frozenset(EXAMPLE_IDS)
EVENTS = ["contact.created", "contact.changed", "person.created", "sale.sold", "ticket.created", "foo.bar", "test"]
ID_KEY = re.compile(r"webhookid", re.IGNORECASE)


def _tenant_webhook(webhook_id: int) -> dict[str, Any]:
    crmscript = webhook_id % 3 == 0
    return {
        "WebhookId": webhook_id,
        "Name": f"Tenant hook {webhook_id}",
        "Events": [EVENTS[webhook_id % len(EVENTS)], EVENTS[(webhook_id + 3) % len(EVENTS)], "webhook1.stopped"],
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


def _schemathesis(spec: str, tenant: Tenant, receiver: Receiver, tag: str, *options: str) -> list[str]:
    command = [
        str(Path(sys.executable).with_name("schemathesis")), "run", spec, "--url", tenant.url, "--header", AUTH,
        "--max-examples", "8", "--request-timeout", "20", *options,
    ]
    return command


def _environment(receiver: Receiver, tag: str) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SOWEBHOOK_")}
    environment.update(
        SCHEMATHESIS_HOOKS="contracts.schemathesis_adapter", SOWEBHOOK_TARGET_URL=receiver.url, SOWEBHOOK_RUN_TAG=tag,
    )
    return environment


def _ids_named(entry: Any) -> set[int]:
    """Every number a request offers as a webhook id, wherever and however it is spelt: the
    query, the decoded body at any depth, or (a body the mock could not read) its raw text."""
    found: set[int] = set()
    for key, value in entry.query.items():
        if ID_KEY.fullmatch(key):
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


def _assert_tenant_untouched(tenant: Tenant, tag: str, *, must_create: bool = True) -> dict[str, int]:
    last = tenant.last_run_id()
    run_ids = set(range(tenant.first_run_id, last + 1))
    after = {row.webhook_id: (row.webhook, row.owner) for row in tenant.state.store.all()}
    assert after == tenant.before, "the tenant's webhooks changed, or the run left webhooks behind"
    delivered = [d for d in tenant.state.deliveries.history() if d.webhook_id in TENANT_IDS]
    assert not delivered, f"deliveries set off on the tenant's webhooks: {[(d.webhook_id, d.event) for d in delivered][:5]}"
    entries = tenant.state.journal.entries()
    foreign = {}
    for entry in entries:
        stray = {n for n in _ids_named(entry) if n != 0 and n not in run_ids}
        if stray:
            foreign[entry.id] = (entry.operation, sorted(stray), entry.query, entry.raw[:200])
    assert not foreign, f"requests named ids the run did not create: {list(foreign.items())[:5]}"
    saves = [e for e in entries if e.operation == "SaveWebhook" and e.status == 200]
    assert not must_create or (run_ids and saves), "the run created nothing: it did not exercise its own ids"
    return {"requests": len(entries), "created": len(run_ids), "saves": len(saves)}


# The coverage phase barely depends on the seed and sends most of the requests, so it runs once.
@pytest.mark.parametrize(
    ("seed", "workers", "phases"),
    [(1, 2, "examples,coverage,fuzzing,stateful"), (2, 1, "examples,fuzzing,stateful")],
)
def test_a_schemathesis_run_touches_only_what_it_created(
    spec: str, tenant: Tenant, receiver: Receiver, seed: int, workers: int, phases: str
) -> None:
    tag = f"sowebhook-st-test{seed}"
    finished = subprocess.run(
        _schemathesis(spec, tenant, receiver, tag, "--seed", str(seed), "--workers", str(workers), "--phases", phases),
        env=_environment(receiver, tag), capture_output=True, text=True, timeout=600, check=False,
    )
    output = finished.stdout + finished.stderr
    assert finished.returncode in (0, 1) and "Error in `" not in output, output[-3000:]  # 1: the run found failures
    summary = [line for line in finished.stderr.splitlines() if line.startswith(f"sowebhook: run {tag}")]
    assert summary, output[-3000:]
    assert int(re.search(r"(\d+) rewritten", summary[0]).group(1)) > 0, summary[0]
    figures = _assert_tenant_untouched(tenant, tag, must_create="coverage" in phases)
    assert "could NOT delete" not in finished.stderr
    print(figures, summary[0])


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
        env=_environment(receiver, tag), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
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


def test_verify_touches_only_what_it_created(tenant: Tenant, receiver: Receiver) -> None:
    """``sowebhook verify`` is safe today (it saves with WebhookId 0 and uses only the ids it got
    back); this keeps it so, by the same oracle as the schemathesis runs."""
    from contracts.runner import verify

    report = verify(tenant.app, target_url=receiver.url, max_examples=5, stateful_steps=10)
    assert report.requests > 0 and report.created == report.cleaned_up
    _assert_tenant_untouched(tenant, report.tag, must_create=True)
