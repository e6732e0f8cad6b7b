"""The inspector page in-process (Flask's test client): its route and its files need the admin's
credentials, a browser is challenged for Basic ones, nothing it loads comes from elsewhere (the HTML
parsed, every src and href checked), what it hands the script comes from the contract, and no secret
or credential is in anything it serves. tests/test_inspector_browser.py runs the page in chromium."""

from __future__ import annotations

import base64
import json
import re
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient

from contracts import Contract
from mockserver import MockConfig, create_app
from mockserver.config import Application, Associate, DeliveryConfig, User
from mockserver.inspector import ASSETS, INSPECTOR_PATH, POLL_BOUNDS, POLL_MS
from mockserver.masking import MASK, SENSITIVE_HEADERS
from mockserver.server import ready_line

BASIC = "Basic dGplMDpUamUw"  # the seed page's own header (tje0/Tje0)
AUTH = {"Authorization": BASIC}
SECRET = "a-secret-the-page-never-shows"


class _Page(HTMLParser):
    """Every src and href of a page, and the text of each script element by its id."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.scripts: dict[str, str] = {}
        self._script: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self.links += [
            value
            for name, value in attrs
            if name in ("src", "href", "action", "srcset") and value is not None
        ]
        if tag == "script":
            self._script = values.get("id") or values.get("src") or ""
            self.scripts[self._script] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._script = None

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self.scripts[self._script] += data


def _parsed(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


@pytest.fixture
def client() -> FlaskClient:
    return create_app(MockConfig(delivery=DeliveryConfig(registration_ping=False))).test_client()


def _config(client: FlaskClient, query: str = "") -> dict[str, Any]:
    answer = client.get(INSPECTOR_PATH + query, headers=AUTH)
    assert answer.status_code == 200, answer.data
    config: dict[str, Any] = json.loads(_parsed(answer.get_data(as_text=True)).scripts["inspector-config"])
    return config


# -- credentials ----------------------------------------------------------------------------------


def test_the_page_and_its_files_need_the_admin_credentials(client: FlaskClient) -> None:
    page = client.get(INSPECTOR_PATH, headers=AUTH)
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert "<title>sowebhook mock: inspector</title>" in page.get_data(as_text=True)
    links = [link for link in _parsed(page.get_data(as_text=True)).links if link.startswith("/")]
    assert len(links) == 2  # the style sheet and the script
    for path in [INSPECTOR_PATH, *links]:
        refused = client.get(path)
        assert refused.status_code == 401, path
        assert (
            refused.json is not None
            and refused.json["Message"] == "Authorization has been denied for this request."
        )
        assert (
            client.get(
                path, headers={"Authorization": "Basic " + base64.b64encode(b"tje0:wrong").decode()}
            ).status_code
            == 401
        )
        assert client.get(path, headers=AUTH).status_code == 200
    assert (
        client.get(INSPECTOR_PATH, headers={"Authorization": "SOTicket 7T:dGplMA=="}).status_code == 200
    )  # any admin credential


def test_a_browser_is_challenged_for_basic_credentials_in_the_admin_realm(client: FlaskClient) -> None:
    admin = client.get("/__mock__/faults").headers.getlist("WWW-Authenticate")
    assert len(admin) == 1 and admin[0].startswith("Basic realm=") and "," in admin[0]  # Basic among others
    basic = admin[0].split(",")[0]
    # the admin's header as it is, then the Basic challenge alone: chromium reads that one and asks
    assert client.get(INSPECTOR_PATH).headers.getlist("WWW-Authenticate") == [admin[0], basic]


def test_online_the_page_needs_an_application_granted_the_agent() -> None:
    online = MockConfig(
        profile="online",
        users=(
            User("ann", Associate(11, "ANN"), password="pw", tickets=("7T:ann",), bearer_tokens=("8A:ann",)),
        ),
        applications=(
            Application("App A", "token-a", bearer_tokens=("8A:ann",)),
            Application("App C", "token-c", webhook_agent=False),
        ),
    )
    client = create_app(online).test_client()
    refused = client.get(
        INSPECTOR_PATH, headers={"Authorization": "Basic " + base64.b64encode(b"ann:pw").decode()}
    )
    assert refused.status_code == 401
    assert refused.headers.getlist("WWW-Authenticate") == client.get("/__mock__/faults").headers.getlist(
        "WWW-Authenticate"
    )
    assert client.get(INSPECTOR_PATH, headers={"Authorization": "Bearer 8A:ann"}).status_code == 200
    restricted = client.get(
        INSPECTOR_PATH, headers={"Authorization": "SOTicket 7T:ann", "SO-AppToken": "token-c"}
    )
    assert restricted.status_code == 403 and restricted.json is not None and "Message" in restricted.json


def test_the_ready_line_prints_the_page(client: FlaskClient) -> None:
    line = ready_line("http://127.0.0.1:8080", MockConfig())
    page = next(
        word for word in line.split() if word.startswith("http://") and urlsplit(word).path.startswith("/__")
    )
    assert page == f"http://127.0.0.1:8080{INSPECTOR_PATH}"
    assert client.get(urlsplit(page).path, headers=AUTH).status_code == 200
    assert line.split()[4] == "http://127.0.0.1:8080"  # where the harness reads the mock's URL
    no_slash = client.get(INSPECTOR_PATH.rstrip("/"), headers=AUTH)  # no redirect, no werkzeug HTML
    assert no_slash.status_code == 200 and no_slash.mimetype == "text/html"


# -- nothing from elsewhere -------------------------------------------------------------------------


def test_the_page_loads_nothing_from_anywhere_but_the_mock(client: FlaskClient) -> None:
    page = client.get(INSPECTOR_PATH, headers=AUTH)
    parsed = _parsed(page.get_data(as_text=True))
    assert parsed.links
    for link in parsed.links:
        parts = urlsplit(link)
        # a path on the mock itself, or inline data: no scheme, no host, no protocol-relative //host
        assert (not parts.scheme and not parts.netloc and link.startswith("/")) or link.startswith(
            ("data:", "#")
        ), link
        if link.startswith("/"):
            asset = client.get(link, headers=AUTH)
            assert asset.status_code == 200, link
            text = asset.get_data(as_text=True)
            assert "://" not in text, f"{link} names a URL"
            assert "@import" not in text, link
            assert all(u.strip("'\" ").startswith("data:") for u in re.findall(r"url\(([^)]*)\)", text)), link
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "connect-src 'self'" in policy and "script-src 'self'" in policy
    assert page.headers["X-Content-Type-Options"] == "nosniff"


def test_only_the_pages_own_files_are_served(client: FlaskClient) -> None:
    for name in ASSETS:
        assert client.get(f"{INSPECTOR_PATH}inspector/{name}", headers=AUTH).status_code == 200
    for path in [
        "inspector/nothing.js",
        "inspector/../inspector.py",
        "inspector/static/inspector.js",
        "inspector.py",
    ]:
        missing = client.get(INSPECTOR_PATH + path, headers=AUTH)
        assert missing.status_code == 404 and missing.json is not None and "Message" in missing.json, path


# -- what the script is given -----------------------------------------------------------------------


def test_the_script_is_given_the_contracts_operations_and_statuses(
    client: FlaskClient, contract: Contract
) -> None:
    config = _config(client)
    methods = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
    operations = [
        op for item in contract.document["paths"].values() for m, op in item.items() if m in methods
    ]
    assert sorted(config["operations"]) == sorted(op["operationId"] for op in operations)
    assert config["statuses"] == sorted({int(s) for op in operations for s in op["responses"] if s.isdigit()})
    assert config["faces"] == {op["operationId"]: op["tags"][0] for op in operations}
    assert set(config["faces"].values()) == {tag["name"] for tag in contract.document["tags"]}
    assert config["mask"] == MASK and set(config["sensitive_headers"]) == SENSITIVE_HEADERS
    assert config["poll_ms"] == POLL_MS and config["max_poll_ms"] == POLL_BOUNDS[1]


def test_every_url_the_script_polls_answers_json(client: FlaskClient) -> None:
    urls = _config(client)["urls"]
    for name, url in urls.items():
        if "{id}" in url:
            continue
        answer = client.get(url, headers=AUTH)
        assert answer.status_code == 200 and answer.is_json, name
    assert urls["deliveries"] == "/__mock__/deliveries"
    missing = client.post(urls["redeliver"].replace("{id}", "99"), headers=AUTH)
    assert missing.status_code == 404 and missing.json is not None  # the admin's route, named by the template


@pytest.mark.parametrize(
    ("asked", "polls"), [("250", 250), ("5", POLL_BOUNDS[0]), ("99999999", POLL_BOUNDS[1])]
)
def test_the_poll_interval_is_bounded(client: FlaskClient, asked: str, polls: int) -> None:
    assert _config(client, f"?poll={asked}")["poll_ms"] == polls


@pytest.mark.parametrize("asked", ["fast", "-5", "1e3", "١٠٠"])
def test_a_poll_interval_that_is_no_number_is_a_400(client: FlaskClient, asked: str) -> None:
    answer = client.get(f"{INSPECTOR_PATH}?poll={asked}", headers=AUTH)
    assert answer.status_code == 400
    assert answer.json is not None and answer.json["Message"] == "The request is invalid."


# -- secrets ----------------------------------------------------------------------------------------


def test_nothing_the_page_serves_or_polls_holds_a_secret_or_credential(client: FlaskClient) -> None:
    webhook = {
        "Name": "w",
        "Events": ["contact.created"],
        "TargetUrl": "https://example.invalid/hook",
        "Secret": SECRET,
        "Type": "crmscript",
    }
    saved = client.post("/api/v1/Agents/Webhook/SaveWebhook", json=webhook, headers={**AUTH, "X-Note": BASIC})
    assert saved.status_code == 200
    page = client.get(INSPECTOR_PATH, headers=AUTH)
    served = [page.get_data(as_text=True)] + [
        client.get(link, headers=AUTH).get_data(as_text=True)
        for link in _parsed(page.get_data(as_text=True)).links
        if link.startswith("/")
    ]
    journal = client.get(_config(client)["urls"]["journal"], headers=AUTH).get_data(as_text=True)
    for text in [*served, journal]:
        assert SECRET not in text
        assert BASIC.split()[1] not in text and "Tje0" not in text
    assert MASK in journal  # the journal the page renders is masked at the source


def test_the_inspector_adds_no_work_to_other_requests(client: FlaskClient) -> None:
    """Only its own blueprint's hooks: an agent call, an admin call or a 404 runs none of its code."""
    app = client.application
    for hooks in (
        app.before_request_funcs,
        app.after_request_funcs,
        app.teardown_request_funcs,
        app.url_value_preprocessors,
        app.url_default_functions,
        app.template_context_processors,
    ):
        assert set(hooks) - {None, "sowebhook_admin"} <= {"sowebhook_inspector"}
        assert not any(getattr(f, "__module__", "") == "mockserver.inspector" for f in hooks.get(None, []))
    app_wide = [
        handler for by_class in app.error_handler_spec.get(None, {}).values() for handler in by_class.values()
    ]
    assert not any(handler.__module__ == "mockserver.inspector" for handler in app_wide)


# every admin route that changes something, with a body a browser could send without asking (text/plain)
_CHANGING = [
    ("POST", "/__mock__/faults", '{"status": 503}'),
    ("DELETE", "/__mock__/faults", ""),
    ("POST", "/__mock__/reset", ""),
    ("DELETE", "/__mock__/journal", ""),
    ("POST", "/__mock__/events", '{"Event": "contact.created", "PrimaryKey": 1}'),
    ("POST", "/__mock__/responses", '{"mode": "generated", "seed": 1}'),
    ("POST", "/__mock__/webhooks", '[{"Name": "planted", "Type": "crmscript"}]'),
    ("POST", "/__mock__/deliveries/1/redeliver", ""),
    ("POST", "/__mock__/deliveries/drain", ""),
]


@pytest.mark.parametrize(("method", "path", "body"), _CHANGING, ids=[f"{m} {p}" for m, p, _ in _CHANGING])
@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://localhost:1", "file://"])
def test_another_pages_request_to_change_the_mock_is_refused(
    client: FlaskClient, method: str, path: str, body: str, origin: str
) -> None:
    """A browser that remembers the mock's login sends it with a request another page makes (F-237)."""
    client.post("/api/v1/Agents/Webhook/GetAllWebhooks", headers=AUTH)  # something in the journal
    before = (
        client.get("/__mock__/journal", headers=AUTH).json,
        client.get("/__mock__/faults", headers=AUTH).json,
    )
    answer = client.open(
        path, method=method, data=body, headers={**AUTH, "Origin": origin, "Content-Type": "text/plain"}
    )
    assert answer.status_code == 403 and origin[:20] in answer.json["MessageDetail"]
    assert (
        client.get("/__mock__/journal", headers=AUTH).json,
        client.get("/__mock__/faults", headers=AUTH).json,
    ) == before


def test_the_mocks_own_page_and_clients_without_an_origin_may_change_it(client: FlaskClient) -> None:
    for headers in ({"Origin": "http://localhost"}, {"Origin": "HTTP://LOCALHOST"}, {}):
        answer = client.post(
            "/__mock__/faults", json={"status": 503, "count": 1}, headers={**AUTH, **headers}
        )
        assert answer.status_code == 200, (headers, answer.json)
    assert (
        client.get("/__mock__/journal", headers={**AUTH, "Origin": "http://evil.example"}).status_code == 200
    )  # reads: not changes
