"""The ``X-SuperOffice-Signature`` of a webhook delivery (en/automation/webhook/dev/security.md).

SuperOffice keys HMAC-SHA256 with the webhook's Secret (UTF-8) over the exact bytes of the body
it sends and writes the digest in Base64. A receiver must compute it over the raw body it
received: a body parsed and serialised again (other key order, whitespace or escapes) has another
signature, and so does a hex digest.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

__all__ = ["SIGNATURE_HEADER", "sign", "verify_signature"]

SIGNATURE_HEADER = "X-SuperOffice-Signature"


def _key(secret: str | bytes) -> bytes:
    return secret.encode("utf-8") if isinstance(secret, str) else secret


def sign(secret: str | bytes, body: bytes) -> str:
    """The header value SuperOffice sends: Base64 of HMAC-SHA256(secret, body)."""
    if not isinstance(body, (bytes, bytearray)):
        raise TypeError("sign the exact body bytes, not a parsed or re-encoded value")
    return base64.b64encode(hmac.new(_key(secret), bytes(body), hashlib.sha256).digest()).decode("ascii")


def verify_signature(secret: str | bytes, body: bytes, header: str | None) -> bool:
    """Whether ``header`` is the signature of ``body`` under ``secret``; compared in constant time.

    Only the Base64 form SuperOffice sends is accepted: a hex digest of the same HMAC is not."""
    if not header or not isinstance(body, (bytes, bytearray)):
        return False
    try:
        received = base64.b64decode(header.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    expected = hmac.new(_key(secret), bytes(body), hashlib.sha256).digest()
    return hmac.compare_digest(received, expected)
