"""One bounded POST, for ``sowebhook send``, ``listen --forward`` and the replay fixture.

The contract side may not import ``mockserver.outbound`` (ARCHITECTURE.md: dependencies point one
way), so this is its small sibling for a developer's own machine: one deadline for the whole
exchange (connecting, TLS, sending, the answer's head and body; a target that drips bytes cannot
stretch it, because the socket is shut when the deadline passes), at most ``max_bytes`` of the
answer's body read, http.client's own caps on the head (100 header lines of 64 KiB), redirects
never followed. Unlike the mock's client it checks no allowed networks: the user names the URL.

Errors::

    PostError      the POST came to no answer (refused, timed out, TLS, a malformed answer)
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
from dataclasses import dataclass, field
from urllib.parse import urlsplit

__all__ = ["MAX_ANSWER_BYTES", "Answer", "PostError", "post", "shown"]

MAX_ANSWER_BYTES = 65536  # of an answer's body; what is read beyond is dropped and `truncated` set
_HOP_BY_HOP = frozenset(
    {
        "host",
        "content-length",
        "connection",
        "transfer-encoding",
        "keep-alive",
        "te",
        "upgrade",
        "proxy-connection",
        "trailer",
    }
)


class PostError(Exception):
    """The POST came to no answer; the message is one line."""


@dataclass(frozen=True)
class Answer:
    status: int
    reason: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    truncated: bool = False

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def summary(self, limit: int = 200) -> str:
        """``200 OK: <the body's start>`` on one line."""
        text = " ".join(self.text.split())
        text = text[:limit] + ("..." if len(text) > limit or self.truncated else "")
        location = self.header("Location")
        where = f" (Location: {location}; not followed)" if 300 <= self.status < 400 and location else ""
        return f"{self.status} {self.reason}{where}" + (f": {text}" if text else "")


def shown(url: str) -> str:
    """``url`` as it may be shown: a password in it masked (``user:***@host``)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return parts._replace(netloc=f"{parts.username}:***@{host}").geturl()


def post(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    timeout: float = 10.0,
    max_bytes: int = MAX_ANSWER_BYTES,
    ca_file: str | None = None,
    verify: bool = True,
) -> Answer:
    """POST ``body`` to ``url`` with ``headers`` (hop-by-hop ones dropped): one attempt, one deadline."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise PostError(f"not an http(s) URL: {shown(url)!r}")
    try:
        port = parts.port
    except ValueError:
        raise PostError(f"invalid port in {shown(url)!r}") from None
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection: http.client.HTTPConnection
    if scheme == "https":
        context = ssl.create_default_context(cafile=ca_file)
        if not verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        connection = http.client.HTTPSConnection(parts.hostname, port, timeout=timeout, context=context)
    else:
        connection = http.client.HTTPConnection(parts.hostname, port, timeout=timeout)
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        sock = connection.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    timer = threading.Timer(timeout, expire)
    timer.daemon = True
    timer.start()
    try:
        connection.putrequest("POST", path, skip_accept_encoding=True)
        for name, value in headers.items():
            if name.lower() not in _HOP_BY_HOP:
                connection.putheader(name, value)
        connection.putheader("Content-Length", str(len(body)))
        connection.putheader("Connection", "close")
        try:
            connection.endheaders(body)
        except OSError as sending:
            # a target may answer (a 413) and close before the whole body is in: that answer, if it came
            if expired.is_set() or connection.sock is None:  # the deadline, or never connected
                raise
            try:
                response = connection.getresponse()
            except (OSError, http.client.HTTPException):
                raise sending from None
        else:
            response = connection.getresponse()
        data = response.read(max_bytes + 1)
    except (OSError, http.client.HTTPException, ValueError) as error:
        if expired.is_set() or isinstance(error, TimeoutError):  # the deadline, or one socket operation's
            raise PostError(f"no complete answer from {shown(url)} within {timeout:g}s") from None
        reason = getattr(error, "reason", None) or error
        raise PostError(
            f"POST {shown(url)} failed: {type(error).__name__}: {reason}".splitlines()[0]
        ) from None
    finally:
        timer.cancel()
        connection.close()
    if expired.is_set():
        raise PostError(f"no complete answer from {shown(url)} within {timeout:g}s")
    return Answer(
        response.status, response.reason, list(response.getheaders()), data[:max_bytes], len(data) > max_bytes
    )
