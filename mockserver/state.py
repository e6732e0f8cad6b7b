"""What one mock app owns (``MockState``, ``app.extensions['sowebhook']``), who may see which part
of it, and the one ``reset`` that the admin endpoint ``/__mock__/reset`` and ``mockserver.testing``
share.

In the Online profile an application sees only what it reaches through the agent (F-131): its own
webhooks and the shared ones (registered without an application), the journal entries its
credentials made, and the requests no application can be told from; ``reset`` forgets only those.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

from flask import Flask

from contracts.coverage import Coverage
from contracts.spec import Contract
from contracts.wire import WireFormats
from mockserver.agent import Agent
from mockserver.auth import Authenticator, Principal
from mockserver.config import MockConfig
from mockserver.delivery import Deliveries
from mockserver.faults import Faults
from mockserver.journal import Journal, JournalEntry, attribute
from mockserver.seam import Seam
from mockserver.store import Store

__all__ = ["EXTENSION", "MockState", "entry_visible", "reset", "same_owner", "state_of"]

EXTENSION = "sowebhook"


@dataclass
class MockState:
    """Everything one mock app owns; ``app.extensions['sowebhook']``."""

    config: MockConfig
    contract: Contract
    wire: WireFormats
    seam: Seam
    store: Store
    journal: Journal
    faults: Faults
    auth: Authenticator
    deliveries: Deliveries
    agent: Agent
    coverage: Coverage  # every answer to an operation, by status and media type (contracts.coverage)


def state_of(app: Flask) -> MockState:
    state: MockState = app.extensions[EXTENSION]
    return state


def same_owner(owner: str | None, principal: Principal) -> bool:
    """Whether ``owner`` (an application token, or None: shared) is visible to ``principal``."""
    if principal.application is None or owner is None:
        return True
    return hmac.compare_digest(
        owner.encode("utf-8", "surrogateescape"), principal.application.app_token.encode("utf-8")
    )


_NOBODY = object()


def _entry_owner(state: MockState, entry: JournalEntry) -> Any:
    """The application whose credentials the entry's request carried; ``_NOBODY`` if none did (an
    entry of a SQL store's journal carries its attribution, made where its request was answered)."""
    credited, owner = attribute(state.auth, entry)
    return owner if credited else _NOBODY


def entry_visible(state: MockState, entry: JournalEntry, principal: Principal) -> bool:
    if principal.application is None:
        return True
    owner = _entry_owner(state, entry)
    return owner is _NOBODY or same_owner(owner, principal)


def reset(state: MockState, principal: Principal | None = None) -> None:
    """Forget every webhook, the journal, the faults and the coverage, and answer statefully again.
    With the principal of an application (Online), its webhooks, the shared ones and the journal
    entries it sees, never another application's; the coverage, like the faults, is the whole mock's."""
    if principal is None or principal.application is None:
        state.store.reset()
        state.journal.clear()
    else:  # Online: the caller's webhooks and the shared ones, never another application's
        for row in state.store.all():
            if same_owner(row.owner, principal):
                state.store.delete(row.webhook_id)
        state.journal.clear(lambda e: entry_visible(state, e, principal))
    state.faults.clear()
    state.coverage.clear()
    state.agent.generate_responses(None)
