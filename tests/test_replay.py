"""Replaying saved deliveries to a WSGI app and to a URL, and the ``sowebhook_replay`` fixture as users run it.

Oracles: an HMAC computed here with the standard library over the bytes the app received, and the
fixture files' own bytes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest
from werkzeug.wrappers import Request, Response

from contracts.delivery_fixture import SavedDelivery, load_many, save
from contracts.listen import Listener
from contracts.replay import replay

EXAMPLES = Path(__file__).with_name("examples") / "deliveries"


def recording_app(status: int = 200) -> tuple[Any, list[tuple[str, bytes, dict[str, str]]]]:
    seen: list[tuple[str, bytes, dict[str, str]]] = []

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        seen.append((request.path, request.get_data(), dict(request.headers)))
        return Response(f"got {len(seen)}", status=status)(environ, start_response)

    return app, seen


def test_a_folder_replays_in_the_order_received_re_signed_with_fresh_eventids() -> None:
    app, seen = recording_app()
    answers = replay(EXAMPLES, app, "test secret")
    saved = load_many(EXAMPLES)
    assert [a.event for a in answers] == [d.event for d in saved] == ["contact.created", "contact.changed"]
    for answer, delivery, (path, body, headers) in zip(answers, saved, seen, strict=True):
        assert path == delivery.path and answer.status == 200 and answer.body == body
        assert (
            headers["X-Superoffice-Signature"]
            == base64.b64encode(hmac.new(b"test secret", body, hashlib.sha256).digest()).decode()
        )
        old = delivery.header("X-SuperOffice-EventId") or ""
        assert json.loads(body)["EventId"] == answer.event_id == headers["X-Superoffice-Eventid"] != old
        assert body == delivery.body.replace(old.encode(), str(answer.event_id).encode())


def test_one_delivery_with_its_own_eventid_to_a_path_and_the_apps_answer(tmp_path: Path) -> None:
    app, seen = recording_app(status=409)
    (delivery,) = load_many(sorted(EXAMPLES.glob("*.json"))[0])
    (answer,) = replay(delivery, app, "s", path="/other", same_event_id=True)
    assert (answer.status, answer.text) == (409, "got 1")
    assert seen[0][0] == "/other" and seen[0][1] == delivery.body


def test_replay_to_a_url(tmp_path: Path) -> None:
    path = save(
        tmp_path,
        SavedDelivery(
            [("X-SuperOffice-Event", "test"), ("X-Hook-Test", "true")], b'{"EventId":"x","Event":"test"}'
        ),
    )
    with Listener(secret="s") as listener:
        (answer,) = replay(path, listener.url, "s")
        assert answer.status == 200 and listener.wait_for(1)[0].signature == "valid"


@pytest.mark.slow  # pytester runs pytest in a subprocess
def test_the_replay_fixture_as_users_run_it(pytester: pytest.Pytester) -> None:
    for fixture in EXAMPLES.glob("*.json"):
        pytester.path.joinpath("deliveries").mkdir(exist_ok=True)
        pytester.path.joinpath("deliveries", fixture.name).write_bytes(fixture.read_bytes())
    pytester.makepyfile(
        test_user="""
        from werkzeug.wrappers import Request, Response
        from contracts.signatures import verify_signature

        def make(secret):
            def app(environ, start_response):
                request = Request(environ)
                ok = verify_signature(secret, request.get_data(), request.headers.get("X-SuperOffice-Signature"))
                return Response("OK" if ok else "no", status=200 if ok else 401)(environ, start_response)
            return app

        def test_default_secret(sowebhook_replay):
            assert [a.status for a in sowebhook_replay("deliveries", make("cli secret"))] == [200, 200]

        def test_own_secret(sowebhook_replay):
            assert [a.status for a in sowebhook_replay("deliveries", make("mine"), secret="mine")] == [200, 200]

        def test_wrong_secret_is_refused(sowebhook_replay):
            assert [a.status for a in sowebhook_replay("deliveries", make("other"))] == [401, 401]
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--sowebhook-secret", "cli secret")
    result.assert_outcomes(passed=3)
