# Regression tests from real traffic: deliveries `sowebhook listen --save tests/examples/deliveries` kept.
from pathlib import Path

from flask import Flask, request

from contracts import verify_signature

SECRET = "sowebhook-test-secret"  # the plugin's --sowebhook-secret; the fixtures are re-signed with it
DELIVERIES = Path(__file__).with_name("deliveries")

app = Flask(__name__)
processed: list[str] = []  # your app's side effect: here, the EventIds it acted on


@app.post("/webhook")
def webhook():
    if not verify_signature(SECRET, request.get_data(), request.headers.get("X-SuperOffice-Signature")):
        return "bad signature", 401
    event_id = request.get_json()["EventId"]
    if event_id not in processed:  # a retry carries the same EventId: act once, answer 200 again
        processed.append(event_id)
    return "OK", 200


def test_saved_deliveries_are_still_accepted(sowebhook_replay):
    answers = sowebhook_replay(DELIVERIES, app)  # a folder (in the order received) or one file; or a URL
    assert [(a.event, a.status) for a in answers] == [("contact.created", 200), ("contact.changed", 200)]
    assert processed[-2:] == [a.event_id for a in answers]  # each replay got a fresh EventId


def test_a_retry_is_processed_once(sowebhook_receiver_check):
    sowebhook_receiver_check(app, SECRET, path="/webhook", side_effects=lambda: len(processed))
