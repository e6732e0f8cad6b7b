"""Who is calling: the documented authorization alternatives, per profile.

onsite (default)  Basic (configured users), SOTicket, Bearer, or X-XSRF-TOKEN matched with its
                  ``XSRF-TOKEN`` cookie. SO-AppToken is not checked ("ApplicationTokens are not
                  checked for on-site installations", the SOAP SaveWebhook page).
online            Bearer, or SOTicket with SO-AppToken; no Basic and no XSRF session (api/authentication
                  pages; F-130): every caller is an application.
                  The application must have been granted the Webhook agent ("Online
                  Restricted"), else 403.

Every secret is compared in constant time against every configured secret of its kind.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from mockserver.config import Application, MockConfig, User
from mockserver.errors import AgentError

__all__ = ["Authenticator", "Principal"]

_DENIED = "Authorization has been denied for this request."


@dataclass(frozen=True)
class Principal:
    user: User
    scheme: str
    application: Application | None = None

    @property
    def owner(self) -> str | None:
        """The application token that owns what this principal registers (Online only)."""
        return self.application.app_token if self.application else None


_T = TypeVar("_T")


class _Headers(Protocol):
    """Request headers, looked up by name (werkzeug's Headers, or a case-sensitive dict)."""

    def get(self, key: str, /) -> str | None: ...


def _matches(candidate: str, secrets: Sequence[tuple[str, _T]]) -> _T | None:
    """The value of the secret equal to ``candidate``; every secret is compared, none skipped."""
    found: _T | None = None
    encoded = candidate.encode("utf-8", "surrogateescape")
    for secret, value in secrets:
        if hmac.compare_digest(encoded, secret.encode("utf-8")):
            found = value
    return found


class Authenticator:
    def __init__(self, config: MockConfig) -> None:
        self.online = config.profile == "online"
        self._passwords = [
            (f"{u.username.lower()}:{u.password}", u) for u in config.users if u.password is not None
        ]
        self._tickets = [(t, u) for u in config.users for t in u.tickets]
        self._bearers = [(t, u) for u in config.users for t in u.bearer_tokens]
        self._xsrf = [(t, u) for u in config.users for t in u.xsrf_tokens]
        self._apps = [(a.app_token, a) for a in config.applications]
        self._app_bearers = [(t, a) for a in config.applications for t in a.bearer_tokens]
        schemes = "Bearer, SOTicket" if self.online else 'Basic realm="SuperOffice", SOTicket, Bearer'
        self._challenge = {"WWW-Authenticate": schemes}

    def deny(self, detail: str) -> AgentError:
        return AgentError(401, _DENIED, detail, headers=self._challenge)

    def authenticate(self, headers: _Headers, cookies: Mapping[str, str]) -> Principal:
        authorization = headers.get("Authorization")
        if authorization is None:
            return self._session(headers, cookies)
        scheme, _, credentials = authorization.strip().partition(" ")
        scheme, credentials = scheme.lower(), credentials.strip()
        if not credentials:
            raise self.deny("The Authorization header has no credentials.")
        if scheme == "basic":
            if self.online:
                raise self.deny("Basic authentication is not allowed in Online; use Bearer or SOTicket.")
            return Principal(self._basic(credentials), "Basic")
        if scheme == "soticket":
            user = _matches(credentials, self._tickets)
            if not isinstance(user, User):
                raise self.deny("The SOTicket is not valid.")
            return Principal(user, "SOTicket", self._application(headers, required=self.online))
        if scheme == "bearer":
            user = _matches(credentials, self._bearers)
            if not isinstance(user, User):
                raise self.deny("The bearer token is not valid.")
            application = _matches(credentials, self._app_bearers)
            if not isinstance(application, Application):
                application = self._application(headers, required=self.online)
            return Principal(user, "Bearer", application if self.online else None)
        raise self.deny(f"The authorization scheme '{scheme}' is not supported here.")

    def _basic(self, credentials: str) -> User:
        try:
            decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise self.deny("The Basic credentials are not Base64 of 'username:password'.") from None
        username, colon, password = decoded.partition(":")
        if not colon:
            raise self.deny("The Basic credentials are not Base64 of 'username:password'.")
        user = _matches(f"{username.lower()}:{password}", self._passwords)
        if not isinstance(user, User):
            raise self.deny("Unknown user name or wrong password.")
        return user

    def _application(self, headers: _Headers, *, required: bool) -> Application | None:
        if not self.online:
            return None
        token = headers.get("SO-AppToken")
        if not token:
            if required:
                raise self.deny("Online requires the SO-AppToken header that identifies the application.")
            return None
        application = _matches(token, self._apps)
        if not isinstance(application, Application):
            raise self.deny("The SO-AppToken does not identify a registered application.")
        return application

    def _session(self, headers: _Headers, cookies: Mapping[str, str]) -> Principal:
        if self.online:
            # Online knows applications, not browser sessions: a session would belong to no
            # application and so see every application's webhooks (F-130).
            raise self.deny("Online requires an Authorization header: Bearer, or SOTicket with SO-AppToken.")
        token = headers.get("X-XSRF-TOKEN")
        if not token:
            raise self.deny(
                "Send an Authorization header, or X-XSRF-TOKEN with the session's XSRF-TOKEN cookie."
            )
        if not hmac.compare_digest(
            token.encode("utf-8", "surrogateescape"), cookies.get("XSRF-TOKEN", "").encode()
        ):
            raise self.deny(
                "The X-XSRF-TOKEN header does not match the XSRF-TOKEN cookie of a logged-in session."
            )
        user = _matches(token, self._xsrf)
        if not isinstance(user, User):
            raise self.deny("The XSRF token does not belong to a logged-in session.")
        return Principal(user, "XSRF")

    def authorize_agent(self, principal: Principal) -> None:
        """Online Restricted: the Webhook agent only for applications that were granted it."""
        if self.online and principal.application is not None and not principal.application.webhook_agent:
            raise AgentError(
                403,
                "The Webhook agent is not available to this application.",
                "Access to the Webhook agent must be requested when the application is registered.",
            )
