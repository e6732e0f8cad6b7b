"""Credentials out of what a report shows, for the reports of ``contracts`` (which do not import
``mockserver.masking``): the ``user:password@`` of a URL, and the value of every credential header
(``contracts.credentials.CREDENTIAL_HEADERS``) in a request shown as curl
(``WireRequest.as_curl``), and wherever a message quotes that value."""

from __future__ import annotations

import re

from contracts.credentials import CREDENTIAL_HEADERS

__all__ = ["MASK", "mask_curl", "mask_values", "without_userinfo"]

MASK = "***"
_USERINFO = re.compile(r"(?<=://)[^/?#@\s'\"<>]+@")  # the user:password@ of a URL
_HEADER_LINE = re.compile(
    r"^(\s*-H ')([^:'\n]+)(: ?)(.*)'(\s*\\)?$", re.MULTILINE
)  # as_curl's -H 'Name: value'


def without_userinfo(text: str) -> str:
    """``text`` with the ``user:password@`` of every URL in it masked."""
    return _USERINFO.sub(f"{MASK}@", text)


def mask_curl(curl: str) -> tuple[str, list[str]]:
    """``curl`` (one or more ``as_curl`` commands) with every credential header's value and every
    URL's userinfo masked; and the values masked (a scheme's token too), to mask them elsewhere."""
    found: list[str] = []

    def hide(line: re.Match[str]) -> str:
        if line[2].strip().lower() not in CREDENTIAL_HEADERS:
            return line[0]
        found.extend([line[4], *line[4].split()[1:]])
        return f"{line[1]}{line[2]}{line[3]}{MASK}'{line[5] or ''}"

    masked = without_userinfo(_HEADER_LINE.sub(hide, curl))
    return masked, sorted({value for value in found if len(value) >= 4}, key=len, reverse=True)


def mask_values(text: str, values: list[str]) -> str:
    """``text`` with every one of ``values`` and every URL's userinfo masked."""
    for value in values:
        text = text.replace(value, MASK)
    return without_userinfo(text)
