"""Outbound HTTP: one hardened POST to a webhook's target, and the check that the target may be called.

Targets must resolve only to allowed networks (loopback by default); the connection goes to the
address that was checked, and redirects are not followed, so neither DNS nor a redirect can send a
delivery elsewhere. Every attempt has one deadline (``timeout_seconds``) for connecting, the TLS
handshake, sending and the whole answer, which a target that drips bytes cannot stretch, and at most
``max_response_bytes`` of an answer's body (and of its head, status line and headers, at least 64 KiB)
are read. What is sent, when and how often is ``mockserver.delivery``'s business.
"""

from __future__ import annotations

import functools
import http.client
import ipaddress
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import urllib3
import urllib3.connection

from contracts.spec import load
from mockserver.config import DeliveryConfig

__all__ = ["Outbound", "Outcome", "TargetRefused", "resolve"]


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


def resolve(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to (the system resolver); ``Outbound.resolve`` by default.
    A name under ``.invalid`` never resolves (RFC 6761 6.4): refused without asking DNS (F-195)."""
    if host.rstrip(".").rsplit(".", 1)[-1].lower() == "invalid":
        raise OSError(f"{host} is under .invalid, which never resolves (RFC 6761)")
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)]


class Outbound:
    """The HTTP client of deliveries, built from the DeliveryConfig: ``check_target(url)`` and
    ``post(url, body, headers) -> Outcome``, one attempt each."""

    def __init__(self, settings: DeliveryConfig, resolver: Callable[[str, int], list[str]] = resolve) -> None:
        self.settings = settings
        self._networks = [ipaddress.ip_network(n) for n in settings.allowed_networks]
        # host, port -> addresses; replaceable, so that tests can make a name resolve anywhere
        self.resolve: Callable[[str, int], list[str]] = resolver

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
                raise TargetRefused(
                    f"TargetUrl's host {parts.hostname} resolves to {address!r}, not an address."
                ) from None
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
                address,
                port,
                timeout=timeout,
                retries=False,
                maxsize=1,
                cert_reqs="CERT_REQUIRED",
                ca_certs=self.settings.ca_file,
                server_hostname=host,
                assert_hostname=host,
                deadline=deadline,
                head_limit=head_limit,
            )
        else:
            pool = _HTTPPool(
                address,
                port,
                timeout=timeout,
                retries=False,
                maxsize=1,
                deadline=deadline,
                head_limit=head_limit,
            )
        started = time.monotonic()
        deadline.start()
        try:
            response = pool.urlopen(
                "POST",
                path,
                body=body,
                headers={**headers, "Host": host_header},
                redirect=False,
                retries=False,
                preload_content=False,
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
                return Outcome(
                    None, f"The request cannot be sent: {type(error).__name__}: {error}"[:_MESSAGE_LIMIT]
                )
            return Outcome(
                None, f"{type(error).__name__}: {_reason(error)} (after {waited:.1f}s)"[:_MESSAGE_LIMIT]
            )
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
            return Outcome(response.status, (note + answer)[:_MESSAGE_LIMIT], complete=False)
        return Outcome(response.status, answer[:_MESSAGE_LIMIT])


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


# what GetLastError and WebhookResult carry of an answer: the contract's LastError (String(4000))
_MESSAGE_LIMIT: int = load().document["components"]["schemas"]["LastError"]["maxLength"]
_HEAD_BYTES = (
    65536  # of an answer's status line and headers, at least (a smaller body cap does not shrink it)
)


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
            raise http.client.HTTPException(
                f"the answer's status line and headers are over {self._limit} bytes"
            )
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

    response_class: Any  # urllib3's HTTPConnection sets the class; here a partial of it

    def _guard(self, deadline: _Deadline, head_limit: int) -> None:
        self._deadline = deadline
        self.response_class = functools.partial(_CappedHTTPResponse, head_limit=head_limit)

    def _new_conn(self) -> socket.socket:
        sock: socket.socket = super()._new_conn()  # type: ignore[misc, unused-ignore]
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
