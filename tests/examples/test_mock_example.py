# The mock inside a test, in-process: as many independent apps as you like.
from mockserver import MockConfig, create_app
from mockserver.config import DeliveryConfig


def test_in_process_mock():
    app = create_app(MockConfig(profile="onsite", delivery=DeliveryConfig(registration_ping=False)))
    client = app.test_client()
    auth = {"Authorization": "Basic dGplMDpUamUw"}
    saved = client.post("/api/v1/Agents/Webhook/SaveWebhook", headers=auth,
                        json={"Name": "n", "Type": "webhook", "TargetUrl": "https://example.invalid/hook"}).json
    got = client.post(f"/api/v1/Agents/Webhook/GetWebhook?webhookId={saved['WebhookId']}",
                      headers={**auth, "Accept": "application/xml"})
    assert got.headers["Content-Type"] == "application/xml; charset=utf-8"
    bad = client.post("/api/v1/Agents/Webhook/SaveWebhook", headers=auth, json={"WebhookId": "abc"})
    assert bad.status_code == 400 and "entity.WebhookId" in bad.json["ModelState"]
