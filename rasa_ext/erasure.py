""" "Delete my data": a tracker store that erases a conversation instead of saving it once the visitor asked.

The rule for the `delete_my_data` intent runs `action_delete_my_data`, which tells the visitor what is erased.
When Rasa then saves the tracker (after the turn's reply is collected or sent), `ErasureMixin.save` finds that
action among the events of the latest turn (the events since the last user message) and deletes the whole
conversation from the store, every session of it, instead of saving it. The next message from the same sender
finds no tracker and starts a fresh conversation. A second save in the same turn erases again (nothing is kept).

Mixed in before the store class: `class UrlSQLTrackerStore(ErasureMixin, SQLTrackerStore)` (rasa_ext/
tracker_store.py), `ExpiringInMemoryTrackerStore(ErasureMixin, ...)`. `erase(sender_id)` deletes the rows of
Rasa's SQL tracker store (its `events` table, inside its own session_scope); any other store overrides it.
What the clinic already has (a lead, a crisis alert in the outbox or inbox) is not touched: the reply says so.
"""

from __future__ import annotations

import logging
from typing import Any, Iterable

from rasa.shared.core.events import ActionExecuted, Event, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

logger = logging.getLogger(__name__)

ERASE_ACTION = "action_delete_my_data"


def latest_turn(events: Iterable[Event]) -> list[Event]:
    """The events after the last user message (all of them when there is none)."""
    turn: list[Event] = []
    for event in reversed(list(events)):
        if isinstance(event, UserUttered):
            break
        turn.append(event)
    turn.reverse()
    return turn


def erasure_requested(tracker: DialogueStateTracker) -> bool:
    """True when the latest turn ran `action_delete_my_data`."""
    return any(isinstance(e, ActionExecuted) and e.action_name == ERASE_ACTION for e in latest_turn(tracker.events))


class ErasureMixin:
    """Put first in the bases of a Rasa tracker store class; see the module docstring."""

    async def save(self, tracker: DialogueStateTracker) -> None:
        if erasure_requested(tracker):
            await self.erase(tracker.sender_id)
            logger.info("conversation erased at the visitor's request")  # no sender id: it can be a phone's hash
            return
        await super().save(tracker)  # type: ignore[misc]

    async def erase(self, sender_id: str) -> None:
        """Delete every stored event of `sender_id` (Rasa's SQLTrackerStore); other stores override this."""
        store: Any = self
        if not hasattr(store, "session_scope") or not hasattr(store, "SQLEvent"):
            raise NotImplementedError(f"{type(self).__name__} must implement erase(sender_id)")
        with store.session_scope() as session:
            session.query(store.SQLEvent).filter(store.SQLEvent.sender_id == sender_id).delete(
                synchronize_session=False
            )
            session.commit()
