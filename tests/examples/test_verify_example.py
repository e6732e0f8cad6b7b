# Verify a server against the contract: a real SuperOffice by URL, or (here) the mock in-process.
from contracts.runner import verify
from contracts.strategies import Credentials
from mockserver import MockConfig, create_app
from mockserver.config import DeliveryConfig


def test_verify_a_server():
    server = create_app(MockConfig(delivery=DeliveryConfig(registration_ping=False)))  # or "https://sod.superoffice.com/Cust12345"
    report = verify(server, credentials=Credentials("basic", username="tje0", password="Tje0"), max_examples=5)
    print(report.render())
    assert report.ok
