"""Contract coverage (contracts/coverage.py), what the mock records into it and ``GET /__mock__/coverage``.

Oracles: the declared cells come from an independent walk of the raw YAML document (yaml and
its own ``$ref`` following here, not ``Contract.operations``); counts from a ``Counter`` of what
the test recorded; what the mock served from the status and ``Content-Type`` the test client
itself received.
"""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts import Contract
from contracts.coverage import Coverage
from mockserver import MockConfig, create_app, state_of
from mockserver.config import DeliveryConfig, Limits
from mockserver.testing import MockServer

DOCUMENT = Path(__file__).resolve().parents[1] / "openapi" / "webhook-agent.yaml"
AUTH = {"Authorization": "Basic dGplMDpUamUw"}
AGENT = "/api/v1/Agents/Webhook/"


def _follow(document: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def declared_cells() -> dict[tuple[str, str, str | None], tuple[str, str]]:
    """(operationId, status, media type or None) -> (METHOD, path), from the raw YAML."""
    document = yaml.safe_load(DOCUMENT.read_text(encoding="utf-8"))
    cells = {}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "operationId" not in operation:
                continue
            for status, response in operation["responses"].items():
                content = _follow(document, response).get("content") or {}
                for media in content or [None]:
                    cells[(operation["operationId"], str(status), media)] = (method.upper(), path)
    return cells


CELLS = declared_cells()


def test_the_declared_cells_are_the_documents(contract: Contract) -> None:
    shown = Coverage(contract).to_json()
    got = {
        (o["operation"], c["status"], c["media_type"]): (o["method"], o["path"])
        for o in shown["operations"]
        for c in o["cells"]
    }
    assert got == CELLS
    assert shown["declared"] == len(CELLS) and shown["served"] == 0 and shown["ratio"] == 0.0
    assert len(shown["operations"]) == len({op for op, _, _ in CELLS})  # one entry per operation


served_answer = st.one_of(
    st.sampled_from(sorted(CELLS, key=str)).map(
        lambda c: (c[0], int(c[1]), None if c[2] is None else f"{c[2]}; charset=utf-8")
    ),
    st.tuples(
        st.sampled_from(sorted({op for op, _, _ in CELLS}) + ["NoSuchOperation"]),
        st.sampled_from([200, 204, 404, 418, 503]),
        st.sampled_from([None, "application/json", "TEXT/XML; charset=utf-8", "text/html"]),
    ),
)


def expected(answers: list[tuple[str, int, str | None]]) -> tuple[Counter[Any], Counter[Any]]:
    """What the oracle says: answers per declared cell, and the rest."""
    cells: Counter[Any] = Counter()
    undeclared: Counter[Any] = Counter()
    for operation, status, content_type in answers:
        media = content_type.split(";")[0].strip().lower() if content_type else None
        key = (operation, str(status), media)
        (cells if key in CELLS else undeclared)[key] += 1
    return cells, undeclared


@settings(max_examples=150)
@given(st.lists(served_answer, max_size=40), st.lists(served_answer, max_size=10))
def test_the_counts_are_what_was_recorded(contract: Contract, first: list[Any], second: list[Any]) -> None:
    coverage, other = Coverage(contract), Coverage(contract)
    for answer in first:
        coverage.record(*answer)
    for answer in second:
        other.record(*answer)
    coverage.merge(other)
    cells, undeclared = expected(first + second)
    shown = coverage.to_json()
    got = {
        (o["operation"], c["status"], c["media_type"]): c["count"]
        for o in shown["operations"]
        for c in o["cells"]
    }
    assert got == {cell: cells.get(cell, 0) for cell in CELLS}
    assert {(u["operation"], u["status"], u["media_type"]): u["count"] for u in shown["undeclared"]} == dict(
        undeclared
    )
    assert shown["served"] == len(cells)
    assert shown["ratio"] == round(len(cells) / len(CELLS), 4)
    assert sorted(
        f"{op} {s} {m or '(no body)'}"
        for op, names in coverage.missing_by_operation().items()
        for s, m in (n.split(" ", 1) for n in names)
    ) == sorted(f"{op} {s} {m or '(no body)'}" for op, s, m in CELLS if (op, s, m) not in cells)
    assert Coverage.from_json(contract, shown).to_json() == shown


def test_recording_from_many_threads_loses_nothing(contract: Contract) -> None:
    coverage = Coverage(contract)
    start = threading.Barrier(8)

    def work() -> None:
        start.wait()
        for _ in range(2000):
            coverage.record("SaveWebhook", 200, "application/json; charset=utf-8")

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cells = {
        (o["operation"], c["status"], c["media_type"]): c["count"]
        for o in coverage.to_json()["operations"]
        for c in o["cells"]
    }
    assert cells[("SaveWebhook", "200", "application/json")] == 16000


# ---------------------------------------------------------------------------------------------
# The mock records every answer to an operation


def served_by_mock(client: Any) -> tuple[dict[tuple[str, str, str | None], int], list[dict[str, Any]]]:
    shown = client.get("/__mock__/coverage", headers=AUTH).json
    cells = {
        (o["operation"], c["status"], c["media_type"]): c["count"]
        for o in shown["operations"]
        for c in o["cells"]
        if c["count"]
    }
    return cells, shown["undeclared"]


def test_the_mock_records_each_answer_by_status_and_media_type() -> None:
    app = create_app(
        MockConfig(delivery=DeliveryConfig(registration_ping=False), limits=Limits(max_body_bytes=2048))
    )
    client = app.test_client()
    sent: list[tuple[str, Any]] = [
        (
            "SaveWebhook",
            client.post(
                AGENT + "SaveWebhook", headers=AUTH, json={"Name": "n", "Type": "crmscript", "TargetUrl": "1"}
            ),
        ),
        ("GetWebhook", client.post(AGENT + "GetWebhook?webhookId=1", headers={**AUTH, "Accept": "text/xml"})),
        (
            "SaveWebhook",
            client.post(
                AGENT + "SaveWebhook", headers={**AUTH, "Accept": "application/xml"}, json={"WebhookId": "x"}
            ),
        ),
        ("DeleteWebhook", client.post(AGENT + "DeleteWebhook?webhookId=1", headers=AUTH)),
        ("v1Webhook_GetWebhook", client.get("/api/v1/Webhook/1", headers=AUTH)),
        ("GetAllWebhooks", client.post(AGENT + "GetAllWebhooks")),
        (
            "SaveWebhook",
            client.post(
                AGENT + "SaveWebhook",
                headers=AUTH,
                data=b"{" + b" " * 4096 + b"}",
                content_type="application/json",
            ),
        ),
    ]
    client.post("/api/v1/NoSuchThing", headers=AUTH)  # no operation: not recorded
    client.get(AGENT + "SaveWebhook", headers=AUTH)  # 405: no operation serves GET there
    oracle: Counter[Any] = Counter()
    for operation, response in sent:
        content_type = response.headers.get("Content-Type")
        oracle[
            (operation, str(response.status_code), content_type.split(";")[0] if content_type else None)
        ] += 1
    assert {status for (_, status, _) in oracle} == {"200", "400", "204", "404", "401", "413"}
    cells, undeclared = served_by_mock(client)
    assert cells == dict(oracle) and undeclared == []

    assert client.get("/__mock__/coverage").status_code == 401
    assert client.post("/__mock__/reset", headers=AUTH).status_code == 204
    assert served_by_mock(client) == ({}, [])
    state_of(app).deliveries.close()


def test_an_injected_status_the_contract_does_not_declare_is_listed_as_undeclared() -> None:
    client = create_app(MockConfig()).test_client()
    assert client.post("/__mock__/faults", headers=AUTH, json={"status": 503, "count": 1}).status_code == 200
    assert client.post(AGENT + "GetAllWebhooks", headers=AUTH).status_code == 503
    cells, undeclared = served_by_mock(client)
    assert cells == {} and undeclared == [
        {"operation": "GetAllWebhooks", "status": "503", "media_type": "application/json", "count": 1}
    ]


def test_a_mock_server_keeps_its_coverage_across_resets() -> None:
    with MockServer() as mock:
        client = mock.app.test_client()
        client.post(AGENT + "GetAllWebhooks", headers=AUTH)
        mock.reset()
        client.post(AGENT + "GetAllWebhooks", headers=AUTH)
        client.post(AGENT + "GetAllWebhooks", headers={**AUTH, "Accept": "text/xml"})
        cells, _ = served_by_mock(client)
        assert cells == {
            ("GetAllWebhooks", "200", "application/json"): 1,
            ("GetAllWebhooks", "200", "text/xml"): 1,
        }
        total = mock.coverage().to_json()
    counted = {
        (o["operation"], c["status"], c["media_type"]): c["count"]
        for o in total["operations"]
        for c in o["cells"]
        if c["count"]
    }
    assert counted == {
        ("GetAllWebhooks", "200", "application/json"): 2,
        ("GetAllWebhooks", "200", "text/xml"): 1,
    }


@pytest.mark.parametrize("status", [500, 200])
def test_from_json_keeps_counts_of_another_process(contract: Contract, status: int) -> None:
    coverage = Coverage(contract)
    coverage.record("SignalEvent", 204, None)
    coverage.record("SignalEvent", status, "text/json; charset=utf-8")
    again = Coverage.from_json(contract, coverage.to_json())
    assert again.to_json() == coverage.to_json()
