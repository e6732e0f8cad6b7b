"""SuperOffice's own TypeScript client, unmodified, against ``sowebhook mock`` on a real socket.

What it proves: an app that registers webhooks through SuperOffice's published WebAPI client
(``@superoffice/webapi`` 12.4.1514, pinned in ``tests/tsclient/package-lock.json``) gets from the
mock what it gets from SuperOffice. The client sends camelCase bodies (``{"name": ...}``,
``{"nameFilter": ...}``), ``null`` as the body of the id-in-query calls, enums by name
(``"Active"``) and flags as numbers (``"notifyVia": 3``) when it re-saves an object it received,
and it reads PascalCase answers (``WebhookId``, flags as ``"Email, InApp"``). ASP.NET binds
request properties case-insensitively; so must the mock. ``tests/tsclient/drive.cjs`` calls every
WebhookAgent method in the order of the package's README, one test here judges each call by the
value the client returned, and the mock's own journal is a second oracle that every request
the client sent was accepted.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contracts.receiver import Delivery, Receiver
from harness.process import start_mock

pytestmark = pytest.mark.slow  # node, npm, a mock process and an HTTPS receiver on real sockets

DRIVER_DIR = Path(__file__).parent / "tsclient"
USERNAME, PASSWORD = "tje0", "Tje0"
AUTH = {"Authorization": "Basic " + base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()}
SECRET = "tsclient-secret-0123456789"
TAG = "tsclient"
NAME = f"{TAG} hook"
SEED_NAME = f"{TAG} seed"
RENAMED = f"{NAME} renamed"
AGENT = "/api/v1/Agents/Webhook/"
# Every property of the Webhook carrier of 12.4 (Carriers.ts), as the client names it once its
# converter has read a server's PascalCase answer; ErrorsEmail is obsolete ("use ErrorEmails").
CARRIER_FIELDS = {
    "webhookId",
    "name",
    "events",
    "targetUrl",
    "secret",
    "state",
    "type",
    "headers",
    "properties",
    "registered",
    "registeredAssociate",
    "updated",
    "updatedAssociate",
    "errorsEmail",
    "errorEmails",
    "errorAssociates",
    "description",
    "notifyVia",
    "notifyWhen",
    "totalCalls",
    "totalErrors",
    "consecutiveErrors",
    "lastError",
}
STEPS = (
    "CreateDefaultWebhook",
    "SaveWebhook:create",
    "GetWebhook",
    "SaveWebhook:update",
    "GetAllWebhooks:byName",
    "GetAllWebhooks:byEvent",
    "GetAllWebhooks:stopped",
    "GetAllWebhooks:options",
    "TestWebhook",
    "SignalEvent",
    "GetLastError",
    "DeleteWebhook",
    "GetWebhook:afterDelete",
)


# -- installing the client ------------------------------------------------------------------------


def _cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sowebhook" / "tsclient"


def _npm_ci(lock_digest: str) -> Path:
    """``npm ci`` of the pinned lock file into a cache outside the tree, once per lock file.

    Installed into a fresh directory and renamed into place, so that a half-finished install is
    never used and two sessions installing at once both end up with one complete copy.
    """
    target = _cache_root() / lock_digest[:16]
    if (target / "node_modules" / "@superoffice" / "webapi" / "package.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".install-", dir=target.parent))
    for name in ("package.json", "package-lock.json"):
        shutil.copyfile(DRIVER_DIR / name, staging / name)
    done = subprocess.run(
        ["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
        cwd=staging,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        pytest.fail(f"npm ci failed ({done.returncode}):\n{done.stdout}\n{done.stderr}", pytrace=False)
    try:
        staging.rename(target)
    except OSError:  # another session finished first: use its copy
        shutil.rmtree(staging, ignore_errors=True)
    return target


@pytest.fixture(scope="module")
def tsclient() -> Path:
    """The directory whose node_modules holds the pinned client (skip only without node/npm)."""
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not on PATH: cannot install or run @superoffice/webapi")
    digest = hashlib.sha256((DRIVER_DIR / "package-lock.json").read_bytes()).hexdigest()
    return _npm_ci(digest)


# -- the mock, its receiver, and one run of the driver ---------------------------------------------


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with Receiver(secret=SECRET) as running:
        yield running


@pytest.fixture(scope="module")
def mock_url(receiver: Receiver) -> Iterator[str]:
    assert receiver.ca_file is not None
    process, url = start_mock("--quiet", "--ca-file", receiver.ca_file)
    yield url
    # SIGTERM, not SIGKILL: the server stops its worker processes, which hold the output pipes.
    process.send_signal(signal.SIGTERM)
    try:
        process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate(timeout=60)


def _call(url: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    headers = {**AUTH, "Accept": "application/json", **({"Content-Type": "application/json"} if data else {})}
    request = urllib.request.Request(url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            raw = answer.read()
            return answer.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        with error:
            raw = error.read()
            return error.code, json.loads(raw) if raw else None


def _seed(url: str, target_url: str) -> int | None:
    """A webhook saved with the documented PascalCase request: the id the driver falls back to
    when the client's own SaveWebhook fails, so that every other call is still exercised."""
    seed = {"Name": SEED_NAME, "Events": ["contact.created"], "Type": "webhook"}
    seed |= {"TargetUrl": target_url, "Secret": SECRET}
    status, saved = _call(url, "POST", AGENT + "SaveWebhook", seed)
    return saved["WebhookId"] if status == 200 and isinstance(saved, dict) else None


@pytest.fixture(scope="module")
def run(tsclient: Path, mock_url: str, receiver: Receiver) -> dict[str, Any]:
    """One run of tests/tsclient/drive.cjs: its report, the seed's id and the mock's journal."""
    fallback = _seed(mock_url, receiver.url)
    _call(mock_url, "DELETE", "/__mock__/journal")
    settings = {
        "modules": str(tsclient),
        "baseUrl": mock_url + "/",
        "username": USERNAME,
        "password": PASSWORD,
        "targetUrl": receiver.url,
        "secret": SECRET,
        "tag": TAG,
        "fallbackId": fallback,
    }
    env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
    done = subprocess.run(
        ["node", str(DRIVER_DIR / "drive.cjs"), json.dumps(settings)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert done.returncode == 0, f"the driver failed ({done.returncode}):\n{done.stderr}"
    report = json.loads(done.stdout)
    status, journal = _call(mock_url, "GET", "/__mock__/journal")
    assert status == 200, journal
    entries = [entry for entry in journal if entry["path"].startswith(AGENT)]
    return {
        "steps": {step["step"]: step for step in report["steps"]},
        "order": report["steps"],
        "journal": entries,
        "fallback": fallback,
        "webhookId": report["webhookId"],
    }


def _value(run: dict[str, Any], name: str) -> Any:
    """What the client returned from one call; fails with the server's answer when it threw."""
    step = run["steps"][name]
    threw, sent = json.dumps(step.get("error"), indent=1), json.dumps(step["request"], indent=1)
    assert step["ok"], f"{name}: the client threw {threw}\nit sent {sent}"
    return step["value"]


def _webhook_id(run: dict[str, Any]) -> int:
    """The id the driver used after SaveWebhook: its own webhook's, or the seed's when the client's
    SaveWebhook failed (so that each later call is judged on its own)."""
    return run["webhookId"]


def _saved_name(run: dict[str, Any]) -> str:
    return NAME if run["steps"]["SaveWebhook:create"]["ok"] else SEED_NAME


# -- the calls, one by one --------------------------------------------------------------------------


def test_create_default_webhook_gives_a_blank_webhook(run: dict[str, Any]) -> None:
    default = _value(run, "CreateDefaultWebhook")
    assert default["webhookId"] == 0
    assert default["type"] == "webhook" and default["state"] == "Active"


def test_save_webhook_creates_from_the_filled_in_default(run: dict[str, Any], receiver: Receiver) -> None:
    saved = _value(run, "SaveWebhook:create")
    assert saved["webhookId"] > 0 and saved["webhookId"] != run["fallback"]
    assert saved["name"] == NAME and saved["events"] == ["contact.created"]
    assert saved["targetUrl"] == receiver.url and saved["type"] == "webhook" and saved["state"] == "Active"
    assert saved["registered"] is not None and not saved["registered"].startswith("0001-")


def test_get_webhook_reads_back_what_was_saved(run: dict[str, Any], receiver: Receiver) -> None:
    got = _value(run, "GetWebhook")
    assert got["webhookId"] == _webhook_id(run) and got["name"] == _saved_name(run)
    assert got["events"] == ["contact.created"] and got["targetUrl"] == receiver.url
    assert got["state"] == "Active"


def test_the_client_receives_every_field_of_the_12_4_carrier(run: dict[str, Any]) -> None:
    # The converter copies a property only when the server sent it (JSON drops the rest).
    got = _value(run, "GetWebhook")
    assert sorted(CARRIER_FIELDS - set(got)) == []


def test_save_webhook_updates_the_object_the_client_received(run: dict[str, Any]) -> None:
    updated = _value(run, "SaveWebhook:update")
    assert updated["webhookId"] == _webhook_id(run)
    assert updated["name"] == RENAMED and updated["events"] == ["contact.created", "contact.changed"]
    assert updated["state"] == "Active"


def test_get_all_webhooks_filters_by_name_event_and_state(run: dict[str, Any]) -> None:
    by_name = _value(run, "GetAllWebhooks:byName")
    assert [(hook["webhookId"], hook["name"]) for hook in by_name] == [(_webhook_id(run), RENAMED)]


def test_get_all_webhooks_with_a_request_object_and_status_unknown(run: dict[str, Any]) -> None:
    by_event = _value(run, "GetAllWebhooks:byEvent")  # Unknown does not filter; only ours has contact.changed
    assert [hook["webhookId"] for hook in by_event] == [_webhook_id(run)]
    assert _value(run, "GetAllWebhooks:stopped") == []


def test_per_call_options_send_empty_language_headers_and_a_time_zone(run: dict[str, Any]) -> None:
    # WebApiRequestOptions: languageCode/cultureCode '' "to disable language parsing"
    sent = run["steps"]["GetAllWebhooks:options"]["request"]["headers"]
    assert (sent["Accept-Language"], sent["SO-Language"], sent["SO-Culture"]) == ("", "", "")
    assert sent["SO-Timezone"] == "UTC,includeTZOffset"
    found = _value(run, "GetAllWebhooks:options")
    assert [hook["webhookId"] for hook in found] == [_webhook_id(run)]


def test_test_webhook_pings_the_target(run: dict[str, Any]) -> None:
    result = _value(run, "TestWebhook")
    assert result["success"] is True


def test_signal_event_reaches_the_receiver_signed(run: dict[str, Any], receiver: Receiver) -> None:
    _value(run, "SignalEvent")
    delivery = _delivery(receiver, "contact.created", deadline=time.monotonic() + 15)
    assert delivery.signature_valid and not delivery.violations
    assert delivery.json["PrimaryKey"] == 7


def test_get_last_error_is_empty_after_successful_calls(run: dict[str, Any]) -> None:
    assert _value(run, "GetLastError") in ("", None)


def test_delete_webhook_then_get_webhook_gives_null(run: dict[str, Any]) -> None:
    assert _value(run, "DeleteWebhook") in ("", None)
    assert _value(run, "GetWebhook:afterDelete") is None


def test_the_journal_accepted_every_request_the_client_sent(run: dict[str, Any]) -> None:
    steps = run["order"]
    assert [step["step"] for step in steps] == list(STEPS)
    journal = run["journal"]
    called = [AGENT + step["request"]["url"].split("?")[0] for step in steps]
    assert [entry["path"] for entry in journal] == called
    refused = [
        (step["step"], entry["status"], entry["verdict"], entry["violations"], entry["response_violations"])
        for step, entry in zip(steps, journal, strict=False)
        if entry["status"] >= 400 or entry["verdict"] != "valid" or entry["response_violations"]
    ]
    assert refused == []


def _delivery(receiver: Receiver, event: str, *, deadline: float) -> Delivery:
    """The first delivery of ``event``, waiting on the receiver's arrivals (no sleeping)."""
    seen = 0
    while True:
        remaining = deadline - time.monotonic()
        arrived = receiver.wait_for(seen + 1, timeout=max(remaining, 0.0))  # raises at the deadline
        for delivery in arrived[seen:]:
            if delivery.event == event:
                return delivery
        seen = len(arrived)
