"""Webhook deliveries: the registration ping, TestWebhook, events, retries and TooManyErrors.

Sources: en/automation/webhook/dev/notification.md (payload, headers, three attempts with waits
of 1 s and 4 s, 9 consecutive failed attempts before TooManyErrors), security.md (signature),
register.md and dev/index.md (HTTPS, a valid certificate, 200 OK to the test POST),
reference/state-events.md (``webhook{id}.started/.stopped/.errors``; 410 Gone disables at once).

Events are delivered by worker threads, never in the API call that caused them; the ping and
TestWebhook are synchronous by nature. Waits go through the configured ``sleep`` and timestamps
through the configured clock, so tests of the retry schedule take milliseconds. Targets must
resolve only to allowed networks (loopback by default); the connection goes to the address that
was checked, and redirects are not followed, so neither DNS nor a redirect can send a delivery
elsewhere. Every attempt has one deadline (``timeout_seconds``) for connecting, the TLS handshake,
sending and the whole answer, which a target that drips bytes cannot stretch, and at most
``max_response_bytes`` of an answer's body (and of its head, status line and headers, at least 64 KiB)
are read.
"""

from __future__ import annotations

import functools
import http.client
import ipaddress
import json
import logging
import queue
import re
import socket
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import urlsplit

import urllib3
import urllib3.connection

from contracts.signatures import SIGNATURE_HEADER, sign
from contracts.spec import load
from contracts.wire import format_datetime
from mockserver.config import DeliveryConfig, MockConfig
from mockserver.store import Store

__all__ = ["Deliveries", "Outcome", "TargetRefused", "resolve", "state_event"]

log = logging.getLogger("sowebhook.delivery")

_STATE_EVENTS = {"Active": "started", "Stopped": "stopped", "TooManyErrors": "errors"}


@functools.lru_cache(maxsize=1)
def _state_numbers() -> dict[str, int]:
    """The webhook table's WebhookState numbers (webhookstate.md; the contract's ``x-enum-numbers``);
    state-events.md numbers them otherwise (F-096)."""
    return dict(load().document["components"]["schemas"]["WebhookState"]["x-enum-numbers"])


class TargetRefused(ValueError):
    """A TargetUrl the mock will not call: not HTTPS, not resolvable, or not an allowed host."""


@dataclass(frozen=True)
class Outcome:
    """What one POST to a target came to: its status (None when no answer) and the message
    GetLastError and WebhookResult report (the response's headers and body, or the error)."""

    status: int | None
    message: str
    complete: bool = True  # False: the answer broke off, ran out of time or was over the size cap

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.complete


@dataclass
class DeliveryRecord:
    webhook_id: int | None
    event: str
    event_id: str
    attempt: int
    target: str | None
    status: int | None
    message: str
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    posted: bool = True
    owner: str | None = field(default=None, repr=False)  # the application the webhook belongs to (Online)

    def to_json(self) -> dict[str, Any]:
        return {name: value for name, value in self.__dict__.items() if name != "owner"}


# Set by the mock on every delivery: a webhook's own Headers cannot replace them, whatever their case
# (F-092), nor the framing of the request (F-134).
_RESERVED_HEADERS = frozenset(
    {
        "content-type", "user-agent", "x-superoffice-event", "x-superoffice-eventid", "x-superoffice-retry",
        "x-hook-test", SIGNATURE_HEADER.lower(), "host", "content-length", "transfer-encoding", "connection",
    }
)


def resolve(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to (the system resolver); ``Deliveries.resolve`` by default.
    A name under ``.invalid`` never resolves (RFC 6761 6.4): refused without asking DNS (F-195)."""
    if host.rstrip(".").rsplit(".", 1)[-1].lower() == "invalid":
        raise OSError(f"{host} is under .invalid, which never resolves (RFC 6761)")
    return [info[4][0] for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)]


def state_event(webhook_id: int, state: str) -> str | None:
    suffix = _STATE_EVENTS.get(state)
    return f"webhook{webhook_id}.{suffix}" if suffix else None


class Deliveries:
    def __init__(self, config: MockConfig, store: Store, sleep: Callable[[float], None]) -> None:
        self.config = config
        self.settings: DeliveryConfig = config.delivery
        self.store = store
        self.sleep = sleep
        self._networks = [ipaddress.ip_network(n) for n in self.settings.allowed_networks]
        # host, port -> addresses; replaceable, so that tests can make a name resolve anywhere
        self.resolve: Callable[[str, int], list[str]] = resolve
        self._queue: queue.Queue[tuple[int, dict[str, Any], str] | None] = queue.Queue()
        self._pending = 0
        self._idle = threading.Condition()
        self._workers: list[threading.Thread] = []
        self._started = threading.Lock()
        self.records: deque[DeliveryRecord] = deque(maxlen=self.settings.log_entries)
        self._records_lock = threading.Lock()

    # -- payloads -----------------------------------------------------------------------------

    def payload(
        self,
        webhook: dict[str, Any],
        event: str,
        *,
        primary_key: int = 0,
        entity: str | None = None,
        changes: list[str] | None = None,
        field_values: dict[str, Any] | None = None,
        changed_by: int = 0,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "EventId": str(uuid.uuid4()),
            "Timestamp": format_datetime(self.config.clock()),
            "Changes": list(changes or []),
            "Event": event,
            "PrimaryKey": primary_key,
            "Entity": entity if entity is not None else event.split(".", 1)[0],
            "ContextIdentifier": self.config.context_identifier if self.config.profile == "online" else "Default",
            "ChangedByAssociateId": changed_by,
            "WebhookName": webhook.get("Name"),
        }
        if field_values is not None:
            # delete events carry the deleted row's ids as Values (reference/index.md)
            body["Values" if event.endswith(".deleted") else "FieldValues"] = field_values
        for name, value in (webhook.get("Properties") or {}).items():
            body.setdefault(name, value)  # injected into the body; the documented fields win (F-091)
        return body

    def request_for(
        self, webhook: dict[str, Any], payload: dict[str, Any], attempt: int, *, event: str, test: bool = False
    ) -> tuple[bytes, dict[str, str]]:
        """The exact body bytes and the headers of one attempt; the signature is over those bytes."""
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        headers = {
            name: str(value)
            for name, value in (webhook.get("Headers") or {}).items()
            if name.lower() not in _RESERVED_HEADERS
        }
        headers.update(
            {
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": self.settings.user_agent,
                "X-SuperOffice-Event": event,
                "X-SuperOffice-EventId": payload["EventId"],
                "X-SuperOffice-Retry": str(attempt),
            }
        )
        if test:
            headers["X-Hook-Test"] = "true"
        if webhook.get("Secret"):
            headers[SIGNATURE_HEADER] = sign(webhook["Secret"], body)
        return body, headers

    # -- the ping (synchronous) ---------------------------------------------------------------

    def ping(self, webhook: dict[str, Any], changed_by: int = 0, owner: str | None = None) -> Outcome:
        """POST the ``test`` event to the webhook's TargetUrl (registration and TestWebhook);
        ``owner``, the calling application (Online), owns the record of it."""
        payload = self.payload(webhook, "test", entity="test", changed_by=changed_by)
        body, headers = self.request_for(webhook, payload, 0, event="test", test=True)
        outcome = self.post(webhook.get("TargetUrl"), body, headers)
        self._record(DeliveryRecord(webhook.get("WebhookId"), "test", payload["EventId"], 0, webhook.get("TargetUrl"), outcome.status, outcome.message, headers, body.decode("utf-8", "replace"), owner=owner))
        return outcome

    # -- events (in the background) -----------------------------------------------------------

    def signal(
        self,
        event: str,
        *,
        primary_key: int = 0,
        entity: str | None = None,
        changes: list[str] | None = None,
        field_values: dict[str, Any] | None = None,
        changed_by: int = 0,
    ) -> int:
        """Queue ``event`` for every Active webhook listening for it; the number queued."""
        wanted = event.casefold()
        queued = 0
        for row in self.store.all():
            webhook = row.webhook
            if webhook.get("State") != "Active":
                continue
            if wanted not in {e.casefold() for e in webhook.get("Events") or []}:
                continue
            body_event = event
            if event.startswith("webhook") and "." in event and event.split(".", 1)[0][7:].isdigit():
                body_event = "webhook." + event.split(".", 1)[1]  # the body names the kind, the header the hook
            payload = self.payload(
                webhook, body_event, primary_key=primary_key, entity=entity, changes=changes,
                field_values=field_values, changed_by=changed_by,
            )
            self._enqueue(row.webhook_id, payload, event)
            queued += 1
        return queued

    def state_changed(self, webhook_id: int, old: str | None, new: str, changed_by: int = 0) -> None:
        """Fire ``webhook{id}.started/.stopped/.errors`` when a webhook's State changes."""
        if old == new:
            return
        event = state_event(webhook_id, new)
        row = self.store.get(webhook_id)
        if event is None or row is None:
            return
        webhook = row.webhook
        self.signal(
            event,
            primary_key=webhook_id,
            entity="webhook",
            field_values={
                "events": len(webhook.get("Events") or []),
                "registered": webhook.get("Registered"),
                "registered_associate_id": (webhook.get("RegisteredAssociate") or {}).get("AssociateId", 0),
                "state": _state_numbers().get(new, 0),
                "updated": webhook.get("Updated"),
                "updated_associate_id": (webhook.get("UpdatedAssociate") or {}).get("AssociateId", 0),
            },
            changed_by=changed_by,
        )

    def _enqueue(self, webhook_id: int, payload: dict[str, Any], header_event: str) -> None:
        self._start_workers()
        with self._idle:
            self._pending += 1
        self._queue.put((webhook_id, payload, header_event))

    def _start_workers(self) -> None:
        with self._started:
            if self._workers:
                return
            for n in range(self.settings.workers):
                worker = threading.Thread(target=self._work, name=f"sowebhook-delivery-{n}", daemon=True)
                worker.start()
                self._workers.append(worker)

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            try:
                self._deliver(*job)
            except Exception:  # noqa: BLE001 - a delivery bug must not kill the worker
                log.exception("delivery failed unexpectedly")
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    def _deliver(self, webhook_id: int, payload: dict[str, Any], header_event: str) -> None:
        for attempt in range(self.settings.attempts):
            if attempt:
                self.sleep(self.settings.retry_waits[attempt - 1])
            row = self.store.get(webhook_id)
            if row is None or row.webhook.get("State") != "Active":
                return  # deleted or switched off meanwhile
            webhook = row.webhook
            body, headers = self.request_for(webhook, payload, attempt, event=header_event)
            if (webhook.get("Type") or "").casefold() != "webhook":
                self._record(DeliveryRecord(webhook_id, header_event, payload["EventId"], attempt, webhook.get("TargetUrl"), None, f"{webhook.get('Type')} webhooks are recorded, not posted", headers, body.decode("utf-8", "replace"), posted=False, owner=row.owner))
                return
            outcome = self.post(webhook.get("TargetUrl"), body, headers)
            self._record(DeliveryRecord(webhook_id, header_event, payload["EventId"], attempt, webhook.get("TargetUrl"), outcome.status, outcome.message, headers, body.decode("utf-8", "replace"), owner=row.owner))
            # every POSTed attempt is one call; not the ping, TestWebhook or unposted types (F-146)
            counted = self.store.record_call(webhook_id, None if outcome.ok else outcome.message)
            if outcome.ok:
                return
            if outcome.status == 410 or (counted and counted.consecutive_errors >= self.settings.too_many_errors_after):
                changed = self.store.set_state(webhook_id, "TooManyErrors")
                if changed:
                    self.state_changed(webhook_id, changed[0], "TooManyErrors")
                return
        # three failed attempts: the event is discarded; the next event gets a new EventId

    def drain(self, timeout: float = 30.0) -> bool:
        """Wait until every queued delivery (retries included) is done; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout=timeout)

    def close(self) -> None:
        for _ in self._workers:
            self._queue.put(None)
        for worker in self._workers:
            worker.join(timeout=self.settings.timeout_seconds + 1)
        self._workers.clear()

    def _record(self, record: DeliveryRecord) -> None:
        with self._records_lock:
            self.records.append(record)

    def history(self) -> list[DeliveryRecord]:
        with self._records_lock:
            return list(self.records)

    # -- the HTTP client ----------------------------------------------------------------------

    def check_target(self, url: str | None) -> tuple[str, str, int, str, str]:
        """``(scheme, host, port, address, path)`` of an allowed target, or TargetRefused."""
        if not url:
            raise TargetRefused("The webhook has no TargetUrl.")
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme != "https" and not (scheme == "http" and self.settings.allow_http):
            raise TargetRefused(f"TargetUrl must be HTTPS (got '{parts.scheme or url}').")
        if not parts.hostname:
            raise TargetRefused("TargetUrl has no host.")
        try:
            port = parts.port if parts.port is not None else (443 if scheme == "https" else 80)
        except ValueError:
            raise TargetRefused("TargetUrl has an invalid port.") from None
        if not 0 < port < 65536:
            raise TargetRefused("TargetUrl has an invalid port.")
        try:
            resolved = self.resolve(parts.hostname, port)
        except (OSError, UnicodeError, ValueError) as error:
            raise TargetRefused(f"The host of TargetUrl does not resolve: {error}.") from None
        if not resolved:
            raise TargetRefused("The host of TargetUrl does not resolve to any address.")
        addresses = []
        for address in sorted(set(resolved)):
            try:
                ip = ipaddress.ip_address(address.split("%")[0])
            except ValueError:
                raise TargetRefused(f"TargetUrl's host {parts.hostname} resolves to {address!r}, not an address.") from None
            # an IPv4-mapped IPv6 address (::ffff:10.0.0.1) reaches the IPv4 address: judge and call that
            mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
            if not any((mapped or ip) in network for network in self._networks):
                raise TargetRefused(
                    f"TargetUrl's host {parts.hostname} resolves to {address}, outside the networks the mock may call "
                    f"({', '.join(self.settings.allowed_networks)})."
                )
            addresses.append(str(mapped) if mapped else address)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return scheme, parts.hostname, port, addresses[0], path

    def post(self, url: str | None, body: bytes, headers: dict[str, str]) -> Outcome:
        """POST ``body`` to ``url``: one attempt, within one deadline, never redirected."""
        try:
            scheme, host, port, address, path = self.check_target(url)
        except TargetRefused as refused:
            return Outcome(None, str(refused))
        unsendable = _unsendable(headers)
        if unsendable:  # found before connecting: the target sees nothing of a request that cannot be sent
            return Outcome(None, f"The request cannot be sent: {unsendable}")
        seconds = self.settings.timeout_seconds
        limit = self.settings.max_response_bytes
        head_limit = max(limit, _HEAD_BYTES)
        timeout = urllib3.Timeout(connect=seconds, read=seconds)
        name = f"[{host}]" if ":" in host else host
        host_header = name if port == (443 if scheme == "https" else 80) else f"{name}:{port}"
        deadline = _Deadline(seconds)
        pool: Any
        if scheme == "https":
            pool = _HTTPSPool(
                address, port, timeout=timeout, retries=False, maxsize=1,
                cert_reqs="CERT_REQUIRED", ca_certs=self.settings.ca_file,
                server_hostname=host, assert_hostname=host, deadline=deadline, head_limit=head_limit,
            )
        else:
            pool = _HTTPPool(address, port, timeout=timeout, retries=False, maxsize=1, deadline=deadline, head_limit=head_limit)
        started = time.monotonic()
        deadline.start()
        try:
            response = pool.urlopen(
                "POST", path, body=body, headers={**headers, "Host": host_header},
                redirect=False, retries=False, preload_content=False,
            )
            try:
                data = response.read(limit + 1, decode_content=False) or b""
            finally:
                response.release_conn()
                response.close()
        except (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError, ValueError) as error:
            # ValueError: a header value http.client refuses (a line break, a character beyond Latin-1)
            deadline.stop()
            waited = time.monotonic() - started
            if deadline.expired:
                return Outcome(None, _timed_out(seconds, waited))
            if isinstance(error, ValueError):
                return Outcome(None, f"The request cannot be sent: {type(error).__name__}: {error}"[:4000])
            return Outcome(None, f"{type(error).__name__}: {_reason(error)} (after {waited:.1f}s)"[:4000])
        finally:
            deadline.stop()
            pool.close()
        if deadline.expired:  # the socket was shut: what was read may be cut short
            return Outcome(None, _timed_out(seconds, time.monotonic() - started))
        head = f"HTTP/1.1 {response.status} {response.reason or ''}".rstrip()
        lines = [head] + [f"{k}: {v}" for k, v in response.headers.items()]
        text = data[:limit].decode("utf-8", "replace")
        answer = "\r\n".join(lines) + "\r\n\r\n" + text
        if len(data) > limit:
            note = f"ResponseTooLarge: the answer's body is over {limit} bytes; the mock read no further.\r\n"
            return Outcome(response.status, (note + answer)[:4000], complete=False)
        return Outcome(response.status, answer[:4000])


class _Deadline:
    """One deadline for a whole attempt. When it passes, the attempt's socket is shut down, which
    ends whatever the attempt is blocked in (the TLS handshake, sending, reading the status line,
    the headers or the body): a per-read timeout alone lets a target that drips one byte at a
    time hold a worker for ever."""

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self._lock = threading.Lock()
        self._socket: socket.socket | None = None
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.name = "sowebhook-deadline"
        self._timer.daemon = True

    def start(self) -> None:
        self._timer.start()

    def watch(self, sock: socket.socket) -> None:
        """Guard ``sock`` (through a duplicate: TLS wrapping detaches the original object)."""
        with self._lock:
            self._socket = sock.dup()
            if self.expired:
                self._shut()

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            self._shut()

    def _shut(self) -> None:
        if self._socket is not None:
            try:
                self._socket.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def stop(self) -> None:
        self._timer.cancel()
        if self._timer.is_alive():
            self._timer.join()
        with self._lock:
            if self._socket is not None:
                self._socket.close()
                self._socket = None


_HEAD_BYTES = 65536  # of an answer's status line and headers, at least (a smaller body cap does not shrink it)


class _CappedHead:
    """The answer's file while its head (status lines and headers) is read: at most ``limit``
    bytes of it. http.client alone takes 100 header lines of 64 KiB each."""

    def __init__(self, fp: Any, limit: int) -> None:
        self._fp = fp
        self._limit = limit
        self._left = limit

    def readline(self, size: int = -1) -> bytes:
        line: bytes = self._fp.readline(self._left + 1 if size < 0 else min(size, self._left + 1))
        self._left -= len(line)
        if self._left < 0:
            raise http.client.HTTPException(f"the answer's status line and headers are over {self._limit} bytes")
        return line

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fp, name)


class _CappedHTTPResponse(http.client.HTTPResponse):
    def __init__(self, sock: socket.socket, *args: Any, head_limit: int, **kwargs: Any) -> None:
        super().__init__(sock, *args, **kwargs)
        self._head_limit = head_limit

    def begin(self) -> None:
        fp = self.fp
        self.fp = _CappedHead(fp, self._head_limit)  # type: ignore[assignment]
        try:
            super().begin()
        finally:
            if isinstance(self.fp, _CappedHead):
                self.fp = fp


class _Guarded:
    """A connection whose socket the attempt's deadline watches and whose answer's head is capped."""

    def _guard(self, deadline: _Deadline, head_limit: int) -> None:
        self._deadline = deadline
        self.response_class = functools.partial(_CappedHTTPResponse, head_limit=head_limit)

    def _new_conn(self) -> socket.socket:
        sock: socket.socket = super()._new_conn()  # type: ignore[misc]
        self._deadline.watch(sock)
        return sock


class _GuardedHTTPConnection(_Guarded, urllib3.connection.HTTPConnection):
    def __init__(self, *args: Any, deadline: _Deadline, head_limit: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._guard(deadline, head_limit)


class _GuardedHTTPSConnection(_Guarded, urllib3.connection.HTTPSConnection):
    def __init__(self, *args: Any, deadline: _Deadline, head_limit: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._guard(deadline, head_limit)


# urllib3's messages name the connection's class: "HTTPSConnection(host=..., port=...): ..."
_GuardedHTTPConnection.__name__ = "HTTPConnection"
_GuardedHTTPSConnection.__name__ = "HTTPSConnection"


class _HTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _HTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # a header name (RFC 9110 5.1)


def _unsendable(headers: dict[str, str]) -> str | None:
    """Why these headers cannot go on the wire (a webhook's Headers may hold anything), or None."""
    for name, value in headers.items():
        if not _TOKEN.fullmatch(name):
            return f"the header name {name!r} is not a valid HTTP header name."
        if any(char in value for char in "\r\n\0"):
            return f"the value of the header {name!r} has a line break or a NUL."
        try:
            value.encode("latin-1")
        except UnicodeEncodeError:
            return f"the value of the header {name!r} has characters beyond Latin-1 (HTTP header values are bytes)."
    return None


def _timed_out(seconds: float, waited: float) -> str:
    return f"TimeoutError: timed out: no complete answer within {seconds:g}s (after {waited:.1f}s)"


def _reason(error: Exception) -> str:
    inner = getattr(error, "reason", None)
    return str(inner or error)


