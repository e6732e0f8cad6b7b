"""Contract testing for SuperOffice's Webhook agent: the contract and what is true of any client or server."""

from contracts.signatures import sign, verify_signature
from contracts.spec import Contract, load

__all__ = ["Contract", "load", "sign", "verify_signature"]
