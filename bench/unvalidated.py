"""The mock with request and response validation off: the same routing, authentication, wire
formats, state, journal and logging, configured like ``mockserver.wsgi`` (``SOWEBHOOK_MOCK_CONFIG``).
What validation costs is the difference to ``mockserver.wsgi:app``. Not part of the mock."""

from __future__ import annotations

from typing import Any

from contracts.spec import Operation
from mockserver.app import create_app, state_of
from mockserver.config import MockConfig
from mockserver.reference import Reference
from mockserver.seam import Seam, ValidatedRequest, _items


class Unvalidated(Seam):
    """A seam that routes and reads bodies but validates nothing."""

    def validate_request(
        self, operation: Operation, *, query: Any, body: Any, media_type: str | None, **_: Any
    ) -> ValidatedRequest:
        assert isinstance(self.checker, Reference)
        return ValidatedRequest(
            operation, body, media_type, query=self.checker.cast_query(operation, _items(query))
        )


app = create_app(MockConfig.from_environment().evolve(response_validation="off"))
state_of(app).seam = Unvalidated(state_of(app).contract, state_of(app).wire, "openapi-core")
