"""The inspector in a real browser: Debian's chromium driven by Playwright, against the mock on a
real socket (``MockServer``), 375 px wide. Requests made behind the page's back appear without a
reload; a fault set through the form makes the next request fail; Redeliver adds an attempt; what
is secret never reaches the screen; polling stops while the tab is hidden (Playwright's clock, no
waiting). Every wait is on a condition of the page (``expect``), never a sleep."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from contracts.receiver import Receiver
from mockserver import MockConfig
from mockserver.config import DeliveryConfig
from mockserver.inspector import INSPECTOR_PATH, POLL_BOUNDS
from mockserver.testing import MockServer

CHROMIUM = os.environ.get("SOWEBHOOK_CHROMIUM", "/usr/bin/chromium")

pytestmark = [
    pytest.mark.slow,  # a browser, a mock and a receiver on real sockets
    pytest.mark.skipif(
        shutil.which(CHROMIUM) is None,
        reason=f"no chromium at {CHROMIUM}: `apt-get install chromium` (.ci/run installs it)",
    ),
]

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is in the test extra: pip install -e '.[test]'"
)
expect = sync_api.expect

AUTH = {"Authorization": "Basic dGplMDpUamUw"}
LOGIN = {"username": "tje0", "password": "Tje0"}
WIDTH = 375
SECRET = "inspector-test-secret-42"
HEADER_CREDENTIAL = "Bearer a-credential-of-the-target-77"  # in the webhook's own Headers


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with Receiver(tls=False) as running:
        yield running


@pytest.fixture(scope="module")
def mock(receiver: Receiver) -> Iterator[MockServer]:
    delivery = DeliveryConfig(allow_http=True, registration_ping=False, attempts=1)
    with MockServer(MockConfig(response_validation="report", delivery=delivery)) as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, mock: MockServer, receiver: Receiver) -> Iterator[Any]:
    mock.reset()
    receiver.clear()
    receiver.respond(200)
    context = browser.new_context(http_credentials=LOGIN, viewport={"width": WIDTH, "height": 900})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    yield opened
    context.close()
    # no script error, no refused resource (CSP), no missing file; a 400 is the mock refusing a fault the test sent
    assert not [e for e in errors if "status of 400" not in e], errors
    mock.check()  # nor did the page make the mock fail (an exception in its thread, a 5xx nobody injected)


def _post(mock: MockServer, path: str, body: Any) -> requests.Response:
    return requests.post(f"{mock.url}{path}", json=body, headers=AUTH, timeout=10)


def _save(mock: MockServer, receiver: Receiver, name: str) -> int:
    webhook = {
        "Name": name,
        "Events": ["contact.created"],
        "TargetUrl": receiver.url,
        "Secret": SECRET,
        "Type": "webhook",
        "Headers": {"Authorization": HEADER_CREDENTIAL},
    }
    answer = _post(mock, "/api/v1/Agents/Webhook/SaveWebhook", webhook)
    assert answer.status_code == 200, answer.text
    webhook_id: int = answer.json()["WebhookId"]
    return webhook_id


def _open(page: Any, mock: MockServer) -> None:
    page.goto(f"{mock.url}{INSPECTOR_PATH}?poll={POLL_BOUNDS[0]}")  # news as fast as the page asks
    expect(page.locator("#live")).to_contain_text("live")


def test_requests_appear_live_newest_first_with_secrets_masked(
    page: Any, mock: MockServer, receiver: Receiver
) -> None:
    _open(page, mock)
    webhook_id = _save(mock, receiver, "first <b>hook</b>")
    entries = page.locator("#journal-list details.entry")
    expect(entries).to_have_count(1)  # appeared without a reload
    requests.get(f"{mock.url}/api/v1/Webhook/{webhook_id}", headers=AUTH, timeout=10)
    expect(entries).to_have_count(2)
    expect(entries.first).to_contain_text("GET /api/v1/Webhook/")  # newest first
    expect(entries.first).to_contain_text("v1Webhook_GetWebhook")
    row = page.locator(f'#webhooks-table tr[data-webhook="{webhook_id}"]')
    expect(row).to_contain_text("first <b>hook</b>")  # text, not HTML
    row.locator(
        "summary"
    ).click()  # the whole webhook, as /__mock__/webhooks holds it (Secret and Headers in clear)
    expect(row.locator("pre")).to_contain_text('"Authorization": "***"')
    expect(row.locator("pre")).to_contain_text('"Secret": "***"')

    saved = entries.nth(1)
    saved.locator("summary").click()
    expect(saved).to_contain_text("SaveWebhook")
    curl = saved.locator("pre.curl")
    expect(curl).to_contain_text("curl -X POST")
    expect(curl).to_contain_text("Authorization: ***")
    body = page.locator("body")
    expect(body).to_contain_text('"Secret": "***"')
    shown = body.inner_text()
    assert SECRET not in shown and HEADER_CREDENTIAL.split()[1] not in shown and "dGplMDpUamUw" not in shown

    # a password in a URL of the body, a Secret in the query: masked in the request, its curl and the answer
    with_password = {
        "Name": "userinfo",
        "Events": ["contact.created"],
        "TargetUrl": "http://someone:url-password-9@127.0.0.1:9/h",
    }
    requests.post(
        f"{mock.url}/api/v1/Agents/Webhook/SaveWebhook?Secret=query-secret-8",
        json=with_password,
        headers=AUTH,
        timeout=10,
    )
    expect(entries).to_have_count(3)
    entries.first.locator("summary").click()
    expect(entries.first.locator("pre.curl")).to_contain_text("http://***@127.0.0.1:9/h")
    shown = body.inner_text()
    assert "url-password-9" not in shown and "query-secret-8" not in shown, shown
    # readable 375 px wide: nothing wider than the window
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH


def test_a_fault_set_through_the_form_fails_the_next_request_and_is_cleared(
    page: Any, mock: MockServer
) -> None:
    _open(page, mock)
    form = page.locator("#fault-form")
    form.locator("input[name=status]").fill("503")
    form.locator("input[name=count]").fill("1")
    form.locator("select[name=operations]").select_option("GetAllWebhooks")
    form.locator("button[type=submit]").click()
    expect(page.locator("#faults-list")).to_contain_text("answer 503 on the next 1 call of GetAllWebhooks")

    failed = _post(mock, "/api/v1/Agents/Webhook/GetAllWebhooks", {})
    assert failed.status_code == 503
    entry = page.locator("#journal-list details.entry").first
    expect(entry).to_contain_text("503")
    expect(entry).to_contain_text("injected")
    expect(page.locator("#faults-list")).to_contain_text("No fault in force")  # used up

    form.locator("input[name=latency_ms]").fill("1")
    form.locator("button[type=submit]").click()
    expect(page.locator("#faults-list")).to_contain_text("wait 1 ms on every call of any operation")
    page.locator("#fault-clear").click()
    expect(page.locator("#faults-list")).to_contain_text("No fault in force")
    assert requests.get(f"{mock.url}/__mock__/faults", headers=AUTH, timeout=10).json() == []

    form.locator("button[type=submit]").click()  # an empty fault: the mock refuses it, the page says why
    expect(page.locator("#fault-message")).to_contain_text("Not set: 400")
    expect(page.locator("#fault-message")).to_contain_text("a fault needs latency_ms or status")


def test_redeliver_adds_an_attempt(page: Any, mock: MockServer, receiver: Receiver) -> None:
    _open(page, mock)
    _save(mock, receiver, "redelivered")
    receiver.fail(500, times=1)
    _post(mock, "/__mock__/events", {"Event": "contact.created", "PrimaryKey": 7})
    delivery = page.locator("#deliveries-list article.delivery").first
    expect(delivery.locator("li.attempt")).to_have_count(1)
    expect(delivery).to_contain_text("failed")

    delivery.locator("button.redeliver").click()
    delivery = page.locator("#deliveries-list article.delivery").first
    expect(delivery.locator("li.attempt")).to_have_count(2)
    expect(delivery.locator("li.attempt").nth(1)).to_contain_text("attempt 1")
    expect(delivery.locator("li.attempt").nth(1)).to_contain_text("delivered")
    assert len(receiver.wait_for(2)) == 2  # the target got it again
    delivery.locator("li.attempt").nth(1).locator("summary").click()  # the attempt's request: its headers
    expect(delivery.locator("li.attempt").nth(1)).to_contain_text("Authorization: ***")
    shown = page.locator("body").inner_text()
    assert SECRET not in shown and HEADER_CREDENTIAL.split()[1] not in shown


def test_coverage_counts_what_was_served(page: Any, mock: MockServer, receiver: Receiver) -> None:
    _open(page, mock)
    _save(mock, receiver, "covered")
    row = page.locator('#coverage-body tr[data-operation="SaveWebhook"]')
    expect(row.locator(".cell.served")).to_have_count(1)
    expect(row.locator(".cell.served")).to_contain_text("200 application/json ×1")
    coverage = requests.get(f"{mock.url}/__mock__/coverage", headers=AUTH, timeout=10).json()
    expect(page.locator("#coverage-summary")).to_contain_text(
        f"{coverage['served']} of {coverage['declared']}"
    )


def _journal_polled(request: Any) -> bool:
    return "/__mock__/journal" in request.url


def test_polling_stops_while_the_tab_is_hidden(page: Any, mock: MockServer) -> None:
    page.clock.install()  # the page's timers run only when the test advances them
    polls: list[str] = []
    page.on("request", lambda request: polls.append(request.url) if _journal_polled(request) else None)
    _open(page, mock)  # the first poll, as the page loads
    with page.expect_response(_journal_polled):
        page.clock.run_for(POLL_BOUNDS[1])  # the next, however long the first took (it backs off)
    expect(page.locator("#live")).to_contain_text("live")
    assert len(polls) >= 2

    page.evaluate("""() => {
        Object.defineProperty(document, "hidden", {configurable: true, get: () => true});
        document.dispatchEvent(new Event("visibilitychange"));
    }""")
    expect(page.locator("#live")).to_contain_text("paused")
    before = len(polls)
    page.clock.run_for(10 * POLL_BOUNDS[1])  # ten minutes of the page's time: no poll
    assert len(polls) == before

    with page.expect_request(_journal_polled):  # shown again: a poll at once
        page.evaluate("""() => {
            Object.defineProperty(document, "hidden", {configurable: true, get: () => false});
            document.dispatchEvent(new Event("visibilitychange"));
        }""")
    expect(page.locator("#live")).to_contain_text("live")
