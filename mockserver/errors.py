"""The mock's errors, each carrying the status and the SuperOffice-shaped body it is answered with.

::

    MockError                    any answer that is not a success
    ├── AgentError               ASP.NET Web API's HttpError {Message, MessageDetail, ModelState}
    │                            (the agents' error object; docs/fidelity.md F-032)
    └── ResponseContractViolation  a response of the mock itself breaks the contract (a bug in
                                 the mock; raised in tests, reported when standalone)
"""

from __future__ import annotations

from typing import Any

__all__ = ["AgentError", "MockError", "ResponseContractViolation", "bad_request", "refused"]


class MockError(Exception):
    status: int = 400

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        super().__init__(body.get("Message") or body.get("ErrorMessage") or str(status))
        self.status = status
        self.body = body
        self.headers = headers or {}


class AgentError(MockError):
    def __init__(
        self,
        status: int,
        message: str,
        detail: str | None = None,
        *,
        model_state: dict[str, list[str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        body: dict[str, Any] = {"Message": message}
        if detail:
            body["MessageDetail"] = detail
        if model_state:
            body["ModelState"] = model_state
        super().__init__(status, body, headers)


def bad_request(detail: str, model_state: dict[str, list[str]] | None = None) -> AgentError:
    return AgentError(400, "The request is invalid.", detail, model_state=model_state)


def refused(pairs: list[tuple[str, str]], lead: str = "") -> AgentError:
    """The 400 of ``(field, message)`` pairs: ModelState in their order, the detail their summary."""
    model_state: dict[str, list[str]] = {}
    for key, message in pairs:
        model_state.setdefault(key, []).append(message)
    detail = "; ".join(f"{k}: {' '.join(v)}" for k, v in model_state.items())
    return bad_request(lead + detail, model_state)


class ResponseContractViolation(AssertionError):
    """A response the mock was about to send does not conform to the contract."""

    def __init__(self, operation: str, status: int, violations: list[str]) -> None:
        self.operation = operation
        self.status = status
        self.violations = violations
        super().__init__(f"{operation} {status} response breaks the contract: " + "; ".join(violations))
