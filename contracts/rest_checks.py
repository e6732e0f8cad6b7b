"""The REST face's own checks (/api/v1/Webhook...), registered in the one ``CHECKS`` when
``contracts.checks`` is imported. What REST shares with the agent (saves, reads, the schemas) the
agent's checks judge on both faces; these judge what REST does differently (docs/fidelity.md
F-200..F-206):

- ``rest_missing_is_404``: GET, PUT and PATCH of a webhook that does not exist are 404, where the
  agent's GetWebhook answers 200 with null (F-202: documented for GET and PATCH, assumed for PUT);
- ``rest_error_object``: the answers the contract declares as the REST error object are one, a 404
  with the ErrorType the contract names (api/webapi/rest/index.md);
- ``rest_links``: POST, GET, PUT and PATCH answer the webhook with ``_Links`` (documented: the
  Swagger's WebhookWithLinks, the pages' samples) whose ``Self`` is the webhook's absolute URL and
  ``Archive`` the list's (assumed, F-206);
- ``rest_patch_semantics``: PATCH answers the webhook the run knew with the patch applied as
  ``contracts.patch`` applies it; a failed ``test`` is 409, a stale If-Unmodified-Since 412, and
  nothing changes (F-203, F-205). The outcome of a document that relies on what the pages leave
  open (``remove`` of a whole property, a merge patch's null) only warns.
"""

from __future__ import annotations

import functools
import re
from typing import Any
from urllib.parse import urlsplit

from contracts.check_registry import (
    REST,
    CheckContext,
    bound_body,
    check,
    client_fields,
    echo_problems,
    fail,
    narrowed,
    rule_holds,
    saving_operations,
    webhook_id_of,
)
from contracts.exchange import Exchange
from contracts.patch import PatchError, apply, unmodified_since
from contracts.spec import Contract
from contracts.wire import WireError

__all__ = ["rest_error_object", "rest_links", "rest_missing_is_404", "rest_patch_semantics"]

_BY_ID = (REST.get, REST.put, REST.patch)


def _ref_name(schema: Any) -> str:
    return str((schema or {}).get("$ref", "")).rsplit("/", 1)[-1]


@check(
    basis="documented",
    title="GET, PUT and PATCH of a webhook that does not exist are 404, where GetWebhook answers null (F-202)",
)
def rest_missing_is_404(ctx: CheckContext, exchange: Exchange) -> None:
    """A webhook the run deleted does not exist; one it saved and did not delete does."""
    if exchange.operation not in _BY_ID:
        return
    webhook_id = webhook_id_of(ctx, exchange)
    basis = "assumed" if exchange.operation == REST.put else None  # PUT's page lists no 404 (F-202)
    if webhook_id in ctx.deleted and webhook_id not in ctx.model:
        if exchange.status >= 400:
            return  # 404, or refused before the webhook was looked up: another check judges the status
        answered = (
            "200 with null, as the agent's GetWebhook answers"
            if exchange.body.strip() == b"null"
            else f"{exchange.status}"
        )
        raise fail(
            rest_missing_is_404,
            exchange,
            f"webhook {webhook_id} was deleted: expected 404 with the REST error object, got {answered}: {exchange.body[:120]!r}",
            basis=basis,
        )
    if webhook_id in ctx.model and exchange.status == 404:
        raise fail(
            rest_missing_is_404,
            exchange,
            f"webhook {webhook_id} exists (saved, not deleted), yet the answer is 404",
            basis=basis,
        )


@functools.cache
def _not_found_type(contract: Contract) -> str | None:
    """The ErrorType the contract names for REST's 404 (its description: ``SoNotFoundException``)."""
    named = re.search(
        r"`(\w+Exception)`", str(contract.operation(REST.get).responses.get("404", {}).get("description", ""))
    )
    return named.group(1) if named else None


@check(
    basis="documented",
    title="a REST error is the REST error object {Error, ErrorType, ErrorMessage} (api/webapi/rest/index.md)",
)
def rest_error_object(ctx: CheckContext, exchange: Exchange) -> None:
    schema = ctx.contract.operation(exchange.operation).response_schema(exchange.status, exchange.media_type)
    if _ref_name(schema) != "ErrorObject":
        return  # not an answer the contract declares as the REST error object (or not its media type)
    try:
        value = ctx.value(exchange, schema)
    except (WireError, ValueError):
        raise fail(
            rest_error_object,
            exchange,
            f"the {exchange.status} body is not JSON or XML: {exchange.body[:120]!r}",
        ) from None
    problems = [
        f"{'.'.join(map(str, e.absolute_path)) or '(body)'}: {e.message}"
        for e in ctx.contract.validator("ErrorObject").iter_errors(value)
    ]
    expected = _not_found_type(ctx.contract)
    if exchange.status == 404 and not problems and expected and value.get("ErrorType") != expected:
        problems.append(f"ErrorType is {value.get('ErrorType')!r}, not {expected!r}")
    if problems:
        raise fail(rest_error_object, exchange, "; ".join(problems)[:600])


def _links_answer(ctx: CheckContext, exchange: Exchange) -> bool:
    """Whether the contract declares this answer a webhook with its ``_Links``."""
    schema = ctx.contract.operation(exchange.operation).response_schema(exchange.status, exchange.media_type)
    return "_Links" in ctx.contract.resolve(schema or {}).get("required", [])


@check(
    basis="documented",
    title="POST, GET, PUT and PATCH answer _Links: Self the webhook's URL, Archive the list's (F-206)",
)
def rest_links(ctx: CheckContext, exchange: Exchange) -> None:
    if exchange.status != 200 or not _links_answer(ctx, exchange):
        return
    value = ctx.answer(exchange)
    if not isinstance(value, dict):
        raise fail(rest_links, exchange, f"the answer is not a webhook: {exchange.body[:120]!r}")
    links = value.get("_Links")
    if not isinstance(links, dict):
        raise fail(rest_links, exchange, f"no _Links: {links!r:.200}")
    missing = [name for name in ("Self", "Archive") if not links.get(name)]
    if missing:
        raise fail(rest_links, exchange, f"_Links without {' and '.join(missing)}: {links!r:.200}")
    self_path = ctx.contract.operation(REST.get).path.replace("{id}", str(value.get("WebhookId")))
    problems = [
        f"{name} {links[name]!r} is not an absolute URL ending in {path}"
        for name, path in (("Self", self_path), ("Archive", ctx.contract.operation(REST.list).path))
        if not _absolute_url_of(str(links[name]), path)
    ]
    if problems:
        raise fail(rest_links, exchange, "; ".join(problems), basis="assumed")


def _absolute_url_of(url: str, path: str) -> bool:
    parts = urlsplit(url)
    return bool(parts.scheme in ("http", "https") and parts.netloc) and parts.path.rstrip(
        "/"
    ).casefold().endswith(path.casefold())


# -- PATCH ----------------------------------------------------------------------------------------

_JUDGED = (200, 400, 409, 412)  # the outcomes of a patch; others are another check's


@check(
    basis="documented",
    title="PATCH applies the patch to the webhook as it was; a failed test is 409, a stale If-Unmodified-Since 412 (F-203, F-205)",
)
def rest_patch_semantics(ctx: CheckContext, exchange: Exchange) -> None:
    """The model holds the webhook before this exchange: the answer must be ``contracts.patch.apply``
    of the patch to it (on the client's fields), or the status of the reason it cannot be. That a
    refused patch changed nothing, the reads after it judge (``get_returns_saved``)."""
    if saving_operations(ctx.contract).get(exchange.operation) != "patch" or exchange.status not in _JUDGED:
        return
    webhook_id = webhook_id_of(ctx, exchange)
    previous = ctx.model.get(webhook_id) if webhook_id is not None else None
    if previous is None:
        return  # a webhook the run does not hold: rest_missing_is_404's
    changes = bound_body(ctx, exchange.operation, exchange.request.value)
    allowed, patched = _outcomes(ctx, exchange, previous, changes)
    basis = (
        None
        if (409 in allowed or 412 in allowed or allowed == {200}) and not _leans_on_assumptions(changes)
        else "assumed"
    )
    if exchange.status not in allowed:
        raise fail(
            rest_patch_semantics,
            exchange,
            f"expected {' or '.join(map(str, sorted(allowed)))}, got {exchange.status}: {exchange.body[:160]!r}",
            basis=basis,
        )
    if exchange.status == 200 and patched is not None and not narrowed(exchange):
        answered = ctx.answer(exchange)
        wrong = echo_problems(ctx, patched, answered if isinstance(answered, dict) else {})
        if wrong:
            raise fail(
                rest_patch_semantics,
                exchange,
                "the answer is not the patched webhook: " + "; ".join(wrong),
                basis=basis,
            )


def _outcomes(
    ctx: CheckContext, exchange: Exchange, previous: dict[str, Any], changes: Any
) -> tuple[set[int], dict[str, Any] | None]:
    """The statuses a server may answer (any of the reasons that apply, in whichever order it
    looks), and the patched webhook when the patch applies."""
    allowed: set[int] = set()
    since = next(
        (v for k, v in exchange.request.headers.items() if k.casefold() == "if-unmodified-since"), None
    )
    if not unmodified_since(since, previous):
        allowed.add(412)
    fields = list(ctx.contract.document["components"]["schemas"]["Webhook"]["properties"])
    try:
        patched: dict[str, Any] | None = apply(previous, changes, fields)
    except PatchError as error:
        allowed.add(error.status)
        patched = None
    if patched is not None and _invalid(ctx, patched):
        allowed.add(400)
    return allowed or {200}, (patched if not allowed else None)


def _invalid(ctx: CheckContext, patched: dict[str, Any]) -> bool:
    """Whether SaveWebhook would refuse the patched webhook: its schema, or a documented x-rule."""
    save = ctx.contract.operation("SaveWebhook")
    sent = {name: patched[name] for name in client_fields(ctx.contract) if name in patched}
    if not ctx.contract.validator(_ref_name(save.body_content["application/json"]["schema"])).is_valid(sent):
        return True
    return not all(rule_holds(rule["id"], sent, ctx.contract) for rule in save.rules)


def _leans_on_assumptions(changes: Any) -> bool:
    """Whether the outcome rests on what v1Webhook_PatchWebhook.md leaves open (F-203): ``remove``
    of a whole property (set to null here), or a merge patch's null (RFC 7396 removes a member)."""
    if isinstance(changes, dict):
        return _has_null(changes)
    if isinstance(changes, list):
        return any(
            isinstance(op, dict)
            and op.get("op") == "remove"
            and len(str(op.get("path", "")).strip("/").split("/")) == 1
            for op in changes
        )
    return True


def _has_null(value: Any) -> bool:
    if isinstance(value, dict):
        return any(item is None or _has_null(item) for item in value.values())
    return False
