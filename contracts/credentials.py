"""How a client authenticates, and the one parser of the ``--auth`` text the CLI and the pytest
plugin take (``basic:USER:PASSWORD``, ``soticket:TICKET[:APPTOKEN]``, ``bearer:TOKEN[:APPTOKEN]``).

The default is the seed page's own user (``Authorization: Basic dGplMDpUamUw`` is ``tje0`` with
password ``Tje0``), which the mock's default configuration also accepts (``mockserver.config``).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

__all__ = [
    "AUTH_FORMS",
    "CREDENTIAL_HEADERS",
    "DEFAULT_AUTH",
    "DEFAULT_PASSWORD",
    "DEFAULT_USER",
    "Credentials",
]

AUTH_FORMS = "basic:USER:PASSWORD, soticket:TICKET[:APPTOKEN] or bearer:TOKEN[:APPTOKEN]"
DEFAULT_USER, DEFAULT_PASSWORD = "tje0", "Tje0"  # the seed page's Basic credentials
DEFAULT_AUTH = f"basic:{DEFAULT_USER}:{DEFAULT_PASSWORD}"
# The headers that carry a credential (lower case): the ones SuperOffice's pages name (F-020,
# F-021, the Online app token) and a proxy's. Masked wherever a request is shown or stored
# (mockserver.masking, saved delivery fixtures), carried over where a run must act as its caller.
CREDENTIAL_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "x-xsrf-token", "so-apptoken"}
)


@dataclass(frozen=True)
class Credentials:
    """How a request authenticates: ``scheme`` is basic, soticket, bearer or xsrf."""

    scheme: str = "basic"
    username: str = DEFAULT_USER
    password: str = DEFAULT_PASSWORD
    token: str = ""
    app_token: str | None = None

    @classmethod
    def parse(cls, text: str) -> Credentials:
        """Credentials from ``--auth`` text; ValueError naming the accepted forms otherwise."""
        scheme, _, rest = text.partition(":")
        parts = rest.split(":")
        if scheme == "basic" and len(parts) == 2 and parts[0]:
            return cls("basic", username=parts[0], password=parts[1])
        if scheme in ("soticket", "bearer") and 1 <= len(parts) <= 2 and parts[0]:
            return cls(scheme, token=parts[0], app_token=parts[1] if len(parts) == 2 else None)
        raise ValueError(f"--auth is {AUTH_FORMS}")

    def headers(self) -> dict[str, str]:
        if self.scheme == "basic":
            return {
                "Authorization": "Basic "
                + base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
            }
        if self.scheme == "soticket":
            headers = {"Authorization": f"SOTicket {self.token}"}
        elif self.scheme == "bearer":
            headers = {"Authorization": f"Bearer {self.token}"}
        elif self.scheme == "xsrf":
            return {"X-XSRF-TOKEN": self.token, "Cookie": f"XSRF-TOKEN={self.token}"}
        else:
            raise ValueError(f"unknown scheme {self.scheme!r}")
        if self.app_token:
            headers["SO-AppToken"] = self.app_token
        return headers
