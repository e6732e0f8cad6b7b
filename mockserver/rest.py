"""What the REST Webhook endpoints (/api/v1/Webhook...) do: the agent's operations, by path.

The REST pages say which agent service each endpoint calls ("Calls the Webhook agent service
SaveWebhook"), and so does this module: every endpoint is the agent's handler on the same store,
deliveries and journal, with REST's own semantics around it (docs/fidelity.md F-200 to F-206):

- a webhook that does not exist, or that another application registered, is ``404`` with the REST
  error object (``SoNotFoundException``), where the agent answers ``200`` with null;
- POST, GET, PUT and PATCH answer the webhook with its ``_Links`` (``Self``, ``Archive``: absolute
  URLs of the request's host); the list and ``default`` answer plain webhooks;
- PUT saves the whole webhook under the path's id (the body's ``WebhookId`` is ignored); PATCH
  applies a JSON Patch or merge patch (``contracts.patch``) to the stored webhook and saves the
  result the same way, validated as a body of SaveWebhook would be, or changes nothing;
- Test takes the bare webhook, SignalEvent its event and key from the path and its Data as the body,
  LastError its id from the path.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from contracts.patch import PatchError, apply, unmodified_since
from mockserver.agent import Agent, Call, Changed
from mockserver.errors import MockError, bad_request, refused
from mockserver.seam import Seam

__all__ = ["Rest", "RestError"]

_SOURCE = "SuperOffice.Services.Implementation"  # ErrorSource of api/webapi/rest/index.md's example
_ATTEMPTS = 5  # a PATCH raced by another change of the same webhook is applied again, this often


class RestError(MockError):
    """The REST error object of api/webapi/rest/index.md: ``{Error, ErrorType, ErrorMessage, ErrorSource}``."""

    def __init__(self, status: int, error_type: str, message: str) -> None:
        body = {"Error": True, "ErrorType": error_type, "ErrorMessage": message, "ErrorSource": _SOURCE}
        super().__init__(status, body)


def not_found(webhook_id: int) -> RestError:
    return RestError(404, "SoNotFoundException", f"Webhook id {webhook_id} not found")


class Rest:
    def __init__(self, agent: Agent, seam: Seam) -> None:
        self.agent = agent
        self.seam = seam
        self.save_operation = agent.contract.operation("SaveWebhook")
        self.handlers: dict[str, Callable[[Call], tuple[int, Any]]] = {
            "v1Webhook_GetAllWebhooks": self.get_all,
            "v1Webhook_PostWebhook": self.post,
            "v1Webhook_DefaultWebhook": self.default,
            "v1Webhook_GetWebhook": self.get,
            "v1Webhook_PutWebhook": self.put,
            "v1Webhook_PatchWebhook": self.patch,
            "v1Webhook_DeleteWebhook": self.delete,
            "v1Webhook_TestWebhook": self.test,
            "v1Webhook_SignalEvent": self.signal,
            "v1Webhook_GetLastError": self.last_error,
        }

    # -- the endpoints ----------------------------------------------------------------------------

    def get_all(self, call: Call) -> tuple[int, Any]:
        query = call.request.query
        filters = {
            "NameFilter": query.get("nameFilter"),
            "EventFilter": query.get("eventFilter"),
            "StatusFilter": query.get("statusFilter"),
        }
        return self.agent.get_all_webhooks(_with(call, body=filters, query={}))

    def post(self, call: Call) -> tuple[int, Any]:
        sent = call.request.body or {}
        saved = self.agent.save(sent, call.principal, sent.get("WebhookId") or 0)
        assert saved is not None  # existing_only=False: created when there is none
        return 200, self._linked(call, saved)

    def default(self, call: Call) -> tuple[int, Any]:
        return self.agent.create_default_webhook(call)

    def get(self, call: Call) -> tuple[int, Any]:
        webhook_id = call.request.path["id"]
        row = self.agent.store.get(webhook_id)
        if not self.agent.visible(row, call.principal):
            raise not_found(webhook_id)
        assert row is not None
        return 200, self._linked(call, self.agent.answer(row))

    def put(self, call: Call) -> tuple[int, Any]:
        webhook_id = call.request.path["id"]
        self._existing(webhook_id, call)
        sent = call.request.body or {}
        saved = self.agent.save(sent, call.principal, webhook_id, existing_only=True)
        if saved is None:
            raise not_found(webhook_id)
        return 200, self._linked(call, saved)

    def patch(self, call: Call) -> tuple[int, Any]:
        webhook_id = call.request.path["id"]
        for _ in range(_ATTEMPTS):
            current = self._existing(webhook_id, call)
            if not unmodified_since(call.headers.get("If-Unmodified-Since"), current):
                raise RestError(
                    412,
                    "PreconditionFailedException",
                    f"Update aborted because Webhook {webhook_id} has changed since the requested "
                    "If-Unmodified-Since timestamp.",
                )
            try:
                patched = apply(current, call.request.body, self.agent.fields)
            except PatchError as error:
                if error.status == 409:
                    raise RestError(
                        409,
                        "ConflictException",
                        f"Update blocked because a 'test' operation has detected a conflict with the entity value: {error}",
                    ) from None
                raise bad_request(f"{error.field}: {error.message}", {error.field: [error.message]}) from None
            self._validate(patched, call)
            try:
                saved = self.agent.save(
                    patched, call.principal, webhook_id, existing_only=True, expected=current
                )
            except Changed:
                continue  # another request changed the webhook meanwhile: patch what it is now
            if saved is None:
                raise not_found(webhook_id)
            return 200, self._linked(call, saved)
        raise RestError(
            409, "ConflictException", f"Webhook {webhook_id} kept changing while it was patched; try again."
        )

    def delete(self, call: Call) -> tuple[int, Any]:
        return self.agent.delete_webhook(_with(call, query={"WebhookId": call.request.path["id"]}))

    def test(self, call: Call) -> tuple[int, Any]:
        return self.agent.test_webhook(_with(call, body={"Webhook": call.request.body}))

    def signal(self, call: Call) -> tuple[int, Any]:
        path = call.request.path
        body = {"EventName": path["eventName"], "PrimaryKey": path["primaryKey"], "Data": call.request.body}
        return self.agent.signal_event(_with(call, body=body))

    def last_error(self, call: Call) -> tuple[int, Any]:
        return self.agent.get_last_error(_with(call, body={"WebhookId": call.request.path["webhookId"]}))

    # -- helpers ----------------------------------------------------------------------------------

    def _existing(self, webhook_id: int, call: Call) -> dict[str, Any]:
        """The webhook as answered now; 404 when there is none the caller may see."""
        row = self.agent.store.get(webhook_id)
        if not self.agent.visible(row, call.principal):
            raise not_found(webhook_id)
        assert row is not None
        return self.agent.answer(row)

    def _validate(self, patched: dict[str, Any], call: Call) -> None:
        """The patched webhook validated as SaveWebhook's body (by the validator the mock was
        configured with, given the request's headers): 400 naming the field, else nothing."""
        errors, _ = self.seam.checker.check_request(
            self.save_operation,
            path=self.save_operation.path,
            query=[],
            headers=call.headers,
            cookies={},
            body=patched,
            media_type="application/json",
        )
        if errors:
            raise refused(errors, "The patched webhook is not valid: ")

    def _linked(self, call: Call, webhook: dict[str, Any]) -> dict[str, Any]:
        """The webhook with its ``_Links`` (F-206), narrowed by ``$select`` as the agent narrows it."""
        selected = self.agent.select(webhook, call.request.query.get("$select"))
        archive = f"{call.base_url()}/api/v1/Webhook"
        return {**selected, "_Links": {"Self": f"{archive}/{webhook['WebhookId']}", "Archive": archive}}


def _with(call: Call, **changes: Any) -> Call:
    """The call as the agent's handler reads it: the same caller, another body or query."""
    return dataclasses.replace(call, request=dataclasses.replace(call.request, **changes))
