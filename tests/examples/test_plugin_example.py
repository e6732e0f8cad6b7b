# Your webhook client, tested in CI against the mock (the pytest plugin is installed with the package).
import requests

AUTH = {"Authorization": "Basic dGplMDpUamUw"}


def register_webhook(base_url: str, target_url: str, secret: str) -> int:
    """The code under test: what your app does to subscribe to contact events."""
    webhook = {"Name": "My app", "Events": ["contact.created"], "TargetUrl": target_url, "Secret": secret, "Type": "webhook"}
    answer = requests.post(f"{base_url}/api/v1/Agents/Webhook/SaveWebhook", json=webhook, headers=AUTH, timeout=10)
    answer.raise_for_status()
    return answer.json()["WebhookId"]


def test_registration_and_first_event(sowebhook_mock, sowebhook_receiver):
    sowebhook_mock.expect("SaveWebhook", times=1)
    webhook_id = register_webhook(sowebhook_mock.url, sowebhook_receiver.url, sowebhook_receiver.secret)
    assert webhook_id > 0
    requests.post(f"{sowebhook_mock.url}/api/v1/Agents/Webhook/SignalEvent",
                  json={"EventName": "contact.created", "PrimaryKey": 7}, headers=AUTH, timeout=10)
    ping, event = sowebhook_receiver.wait_for(2)       # the registration ping, then the event
    assert event.signature_valid and not event.violations
    # at teardown the fixture fails the test if any request broke the contract
