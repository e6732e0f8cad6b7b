"""A webhook receiver for tests: HTTPS on loopback with a throw-away CA, recording every delivery,
validating it against the contract's ``webhooks`` entry and verifying its signature.

It can be told to answer 200 (the default), any other status, 410 Gone, or to hang, so that a
test can drive SuperOffice's (or the mock's) retry and TooManyErrors rules end to end::

    with Receiver(secret="s3cret") as receiver:
        ...register receiver.url, with receiver.ca_file as the CA the sender trusts...
        delivery = receiver.wait_for(1)[0]
        assert delivery.signature_valid and not delivery.violations
"""

from __future__ import annotations

import json
import ssl
import tempfile
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from contracts.background import Background
from contracts.signatures import SIGNATURE_HEADER, verify_signature
from contracts.spec import load

__all__ = ["Delivery", "Receiver", "delivery_violations"]


class _DeliveryRequest:
    """A delivery as openapi-core's webhook validator reads it."""

    def __init__(self, headers: Iterable[tuple[str, str]], body: bytes, content_type: str) -> None:
        self.name = "webhookDelivery"
        self.method = "post"
        self.body = body
        self.content_type = content_type.split(";")[0].strip().lower() or "application/json"
        self.parameters = RequestParameters(
            header=Headers(list(headers)), query=ImmutableMultiDict(), cookie=ImmutableMultiDict(), path={}
        )


def delivery_violations(headers: Mapping[str, str] | Iterable[tuple[str, str]], body: bytes) -> list[str]:
    """Every way a delivery (headers and raw body) breaks the contract's ``webhooks`` entry."""
    pairs = list(headers.items()) if isinstance(headers, Mapping) else list(headers)
    content_type = next((v for k, v in pairs if k.lower() == "content-type"), "")
    problems = []
    for error in load().openapi.iter_webhook_request_errors(_DeliveryRequest(pairs, body, content_type)):
        schema_errors = getattr(error.__cause__, "schema_errors", None) or ()
        name = getattr(error, "name", None)
        if schema_errors:
            problems += [
                f"{'.'.join(map(str, e.absolute_path)) or name or 'body'}: {e.message}" for e in schema_errors
            ]
        else:
            problems.append(f"{type(error).__name__}: {error}")
    return problems


@dataclass
class Delivery:
    """One request the receiver got (headers are case-insensitive)."""

    headers: Headers
    body: bytes
    status: int
    signature_valid: bool | None
    violations: list[str] = field(default_factory=list)

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def event(self) -> str | None:
        return self.headers.get("X-SuperOffice-Event")

    @property
    def is_test(self) -> bool:
        return self.headers.get("X-Hook-Test") == "true"


class Receiver(Background[Delivery]):
    """An HTTPS (or, with ``tls=False``, plain HTTP) receiver on 127.0.0.1, in a thread."""

    def __init__(
        self, *, secret: str | None = None, tls: bool = True, path: str = "/webhook", ca: Any = None
    ) -> None:
        """``ca`` (a ``trustme.CA``) issues the certificate; by default a new CA per receiver."""
        self.secret = secret
        self.tls = tls
        self._ca = ca
        self.path = path
        super().__init__()
        self._plan: list[tuple[int, bytes]] = []
        self._default = (200, b"OK")
        self._hang = False
        self._release = threading.Event()
        self._tmp = tempfile.TemporaryDirectory(prefix="sowebhook-receiver-")
        self.ca_file: str | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> Receiver:
        context = None
        if self.tls:
            import trustme

            ca = self._ca or trustme.CA()
            cert = ca.issue_cert("127.0.0.1", "localhost")
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            cert.configure_cert(context)
            self.ca_file = str(Path(self._tmp.name) / "ca.pem")
            ca.cert_pem.write_to_path(self.ca_file)
        self._run(
            make_server("127.0.0.1", 0, self._wsgi, threaded=True, ssl_context=context), "sowebhook-receiver"
        )
        return self

    def stop(self) -> None:
        self._release.set()
        super().stop()
        self._tmp.cleanup()

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self._server.server_port}{self.path}"

    # -- behaviour ----------------------------------------------------------------------------

    def respond(self, status: int = 200, body: bytes | str = b"OK", *, times: int | None = None) -> None:
        """Answer ``status`` to the next ``times`` deliveries (or from now on, when ``times`` is None)."""
        data = body.encode() if isinstance(body, str) else body
        with self._lock:
            self._hang = False
            self._release.set()
            if times is None:
                self._plan.clear()
                self._default = (status, data)
            else:
                self._plan.extend([(status, data)] * times)

    def fail(self, status: int = 500, *, times: int | None = None) -> None:
        self.respond(status, f"receiver told to fail with {status}", times=times)

    def gone(self) -> None:
        self.respond(410, "Gone")

    def hang(self) -> None:
        """Never answer (until ``stop`` or ``respond``): the sender's timeout must save it."""
        with self._lock:
            self._hang = True
            self._release.clear()

    def clear(self) -> None:
        with self._lock:
            self.deliveries.clear()

    # -- the server ---------------------------------------------------------------------------

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        body = request.get_data(cache=False)
        with self._lock:
            hang = self._hang
            status, answer = self._plan.pop(0) if self._plan else self._default
        headers = Headers(list(request.headers.items()))
        if hang:
            self._record(Delivery(headers, body, 0, None, []))
            self._release.wait(timeout=120)
            return Response(b"", status=503)(environ, start_response)
        signature = request.headers.get(SIGNATURE_HEADER)
        valid = None if self.secret is None else verify_signature(self.secret, body, signature)
        delivery = Delivery(headers, body, status, valid, delivery_violations(request.headers.items(), body))
        self._record(delivery)
        return Response(answer, status=status, content_type="text/plain")(environ, start_response)
