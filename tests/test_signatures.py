"""Signatures, checked against two oracles that are not this code: RFC 4231's published HMAC-SHA256
test vectors and the ``openssl`` command line (where installed)."""

from __future__ import annotations

import base64
import shutil
import subprocess

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.signatures import sign, verify_signature

# RFC 4231, section 4: (key, data, HMAC-SHA256 as hex).
RFC4231 = [
    (
        bytes.fromhex("0b" * 20),
        b"Hi There",
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
    ),
    (
        b"Jefe",
        b"what do ya want for nothing?",
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    ),
    (
        bytes.fromhex("aa" * 20),
        bytes.fromhex("dd" * 50),
        "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
    ),
    (
        bytes.fromhex("aa" * 131),
        b"Test Using Larger Than Block-Size Key - Hash Key First",
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
    ),
]


@pytest.mark.parametrize(("key", "data", "hex_digest"), RFC4231)
def test_rfc4231_vectors(key: bytes, data: bytes, hex_digest: str) -> None:
    expected = base64.b64encode(bytes.fromhex(hex_digest)).decode()
    assert sign(key, data) == expected
    assert verify_signature(key, data, expected)
    assert not verify_signature(key, data, hex_digest)  # a hex digest is not what SuperOffice sends


@pytest.mark.slow  # an openssl process per example
@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
@given(
    secret=st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=40),
    body=st.binary(max_size=300),
)
def test_sign_agrees_with_openssl(secret: str, body: bytes) -> None:
    result = subprocess.run(
        ["openssl", "dgst", "-sha256", "-hmac", secret, "-binary"],
        input=body,
        capture_output=True,
        check=True,
    )
    assert sign(secret, body) == base64.b64encode(result.stdout).decode()


def test_a_tampered_body_a_wrong_secret_and_a_missing_header_fail() -> None:
    body = b'{"EventId":"4b5ce038-50f2-4796-bdb2-f96908cf31c2","Event":"test"}'
    signature = sign("Something Super Secret", body)
    assert verify_signature("Something Super Secret", body, signature)
    assert not verify_signature("Something Super Secret", body.replace(b"test", b"tesT"), signature)
    assert not verify_signature("another secret", body, signature)
    assert not verify_signature("Something Super Secret", body, None)
    assert not verify_signature("Something Super Secret", body, "not base64!")


def test_a_reserialised_body_does_not_verify() -> None:
    import json

    body = b'{"b": 1,  "a": "\\u00e6"}'
    signature = sign("s", body)
    reserialised = json.dumps(json.loads(body)).encode()
    assert reserialised != body
    assert not verify_signature("s", reserialised, signature)


def test_sign_refuses_a_parsed_value() -> None:
    with pytest.raises(TypeError):
        sign("s", {"Event": "test"})  # type: ignore[arg-type]
