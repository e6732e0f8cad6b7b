"""Screenshots of the inspector and of a verify report for the README: ``python tests/screenshots.py``
(Debian's chromium and Playwright, as tests/test_inspector_browser.py; the mock on a loopback
socket, a receiver, a few requests of both faces, one breaking the contract, a failed delivery
redelivered, a fault in force). Writes docs/images/inspector.png and inspector-deliveries.png (1280
px wide) and docs/images/inspector-narrow.png (375 px); and docs/images/report.png, the HTML report
of a ``verify`` run of four checks against the in-process mock with one defect (an update
re-stamps Registered: one failing check, its curl).
Not run by CI: run it again when the page changes, and commit the images."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

import requests
from playwright.sync_api import expect, sync_playwright

from contracts.receiver import Receiver
from contracts.report_html import verify_html
from contracts.runner import verify
from harness.versions import mock_app
from mockserver import MockConfig, masking, state_of
from mockserver.config import DeliveryConfig
from mockserver.inspector import INSPECTOR_PATH
from mockserver.testing import MockServer

ROOT = Path(__file__).resolve().parents[1]
AUTH = {"Authorization": "Basic dGplMDpUamUw"}
# the report's run: a few checks (``--check``), so that the summary and the failure fit one screen
REPORT_CHECKS = [
    "status_code_conformance",
    "response_schema_conformance",
    "save_update_keeps_registered",
    "get_returns_saved",
]


def _activity(url: str, receiver: Receiver) -> None:
    """What a client under test might have done: both faces, a typo, an event, a failing target."""
    agent = f"{url}/api/v1/Agents/Webhook"
    hook = {
        "Name": "Contact handler",
        "Events": ["contact.created"],
        "TargetUrl": receiver.url,
        "Secret": "shh-1234",
        "Type": "webhook",
    }
    saved = requests.post(f"{agent}/SaveWebhook", json=hook, headers=AUTH, timeout=10).json()
    requests.post(
        f"{url}/api/v1/Webhook",
        json={**hook, "Name": "Sale sync", "Events": ["sale.changed"]},
        headers=AUTH,
        timeout=10,
    )
    requests.get(f"{url}/api/v1/Webhook/{saved['WebhookId']}", headers=AUTH, timeout=10)
    requests.post(
        f"{agent}/SaveWebhook", json={**hook, "Nmae": "typo", "WebhookId": "abc"}, headers=AUTH, timeout=10
    )
    receiver.fail(500, times=1)
    requests.post(
        f"{url}/__mock__/events", json={"Event": "contact.created", "PrimaryKey": 7}, headers=AUTH, timeout=10
    )
    requests.post(f"{url}/__mock__/deliveries/drain", headers=AUTH, timeout=10)
    failed = requests.get(f"{url}/__mock__/deliveries", headers=AUTH, timeout=10).json()[-1]
    requests.post(f"{url}/__mock__/deliveries/{failed['id']}/redeliver", headers=AUTH, timeout=10)
    requests.post(
        f"{url}/__mock__/faults",
        json={"status": 503, "count": 2, "operations": ["GetAllWebhooks"]},
        headers=AUTH,
        timeout=10,
    )
    requests.post(f"{agent}/GetAllWebhooks", json={}, headers=AUTH, timeout=10)


def _shoot(browser: Any, url: str, width: int, height: int, out: Path, section: str = "journal") -> None:
    context = browser.new_context(
        http_credentials={"username": "tje0", "password": "Tje0"}, viewport={"width": width, "height": height}
    )
    page = context.new_page()
    page.goto(f"{url}{INSPECTOR_PATH}")
    expect(page.locator("#coverage-summary")).not_to_be_empty()
    expect(page.locator("#deliveries-list li.attempt")).to_have_count(2)
    page.locator("#journal-list details.entry").nth(1).locator(
        "summary"
    ).click()  # the request that broke the contract
    page.locator(f"#{section}").evaluate("section => section.scrollIntoView()")
    page.screenshot(path=str(out))
    context.close()
    print(f"{out.relative_to(ROOT)}: {out.stat().st_size // 1024} KiB")


def _stale_registered() -> Any:
    """The mock with one defect: an update through the agent re-stamps Registered (the run's one
    failing check, save_update_keeps_registered)."""
    app = mock_app()
    state = state_of(app)
    original = state.agent.handlers["SaveWebhook"]

    def save(call: Any) -> tuple[int, Any]:
        status, webhook = original(call)
        if status == 200 and (call.request.body or {}).get("WebhookId"):
            webhook = {**webhook, "Registered": webhook["Updated"]}
            state.store.update(webhook["WebhookId"], lambda current: webhook)
        return status, webhook

    state.agent.handlers["SaveWebhook"] = save
    return app


def _shoot_report(browser: Any, out: Path) -> None:
    report = verify(_stale_registered(), max_examples=5, stateful_steps=5, checks=REPORT_CHECKS)
    assert [name for name, o in report.outcomes.items() if o.status == "failed"] == [
        "save_update_keeps_registered"
    ], report.render()
    with tempfile.TemporaryDirectory() as folder:
        page_file = Path(folder) / "report.html"
        page_file.write_text(verify_html(report, masking), encoding="utf-8")
        context = browser.new_context(viewport={"width": 1100, "height": 900})
        page = context.new_page()
        page.goto(page_file.as_uri())
        expect(page.locator('tr.check[data-status="failed"] pre.curl')).to_have_count(
            2
        )  # its step and the failing request
        page.screenshot(path=str(out))  # the summary, the checks, the failure and its curl
        context.close()
    print(f"{out.relative_to(ROOT)}: {out.stat().st_size // 1024} KiB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    parser.add_argument("--only", choices=["inspector", "report"], help="Take only these screenshots.")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    delivery = DeliveryConfig(allow_http=True, registration_ping=False, attempts=1)
    with (
        Receiver(tls=False) as receiver,
        MockServer(MockConfig(delivery=delivery)) as mock,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=args.chromium)
        if args.only != "report":
            _activity(mock.url, receiver)
            _shoot(browser, mock.url, 1280, 1000, args.out / "inspector.png")
            _shoot(browser, mock.url, 1280, 1000, args.out / "inspector-deliveries.png", "deliveries")
            _shoot(browser, mock.url, 375, 1100, args.out / "inspector-narrow.png")
        if args.only != "inspector":
            _shoot_report(browser, args.out / "report.png")
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
