"""The embedded profile's tracker store: Rasa's in-memory store, with transcripts forgotten once idle.

Chat transcripts are health information. The stock InMemoryTrackerStore keeps every conversation until the
process stops; this one drops a conversation `retention_minutes` after its last message (default 24 h, from
TRANSCRIPT_RETENTION_MINUTES). Leads and alerts live on in the outbox and inbox, not here.

Memory is bounded: at most `max_conversations` conversations (TRACKER_MAX_CONVERSATIONS, default 10,000) are
kept, the least recently active leaving first, and the expiry check looks only at the oldest entries (the
conversations are kept in order of last activity), not at every key on every message.

"Delete my data" erases a conversation at once (rasa_ext/erasure.py, mixed in here).

endpoints.yml passes `retention_minutes: ${TRANSCRIPT_RETENTION_MINUTES}`; Rasa's substitution yields a string.
"""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from typing import Any, Callable, Dict, Iterable, Optional, Union

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker

from rasa_ext.erasure import ErasureMixin

DEFAULT_RETENTION_MINUTES = 24 * 60
DEFAULT_MAX_CONVERSATIONS = 10_000


def max_conversations_setting(configured: Union[int, str, None]) -> int:
    raw = configured if configured not in (None, "") else os.environ.get("TRACKER_MAX_CONVERSATIONS", "")
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return DEFAULT_MAX_CONVERSATIONS
    try:
        value = int(raw)
    except ValueError as exc:
        raise ValueError(f"max_conversations must be a whole number, got {raw!r}") from exc
    if value < 1:
        raise ValueError("max_conversations must be at least 1")
    return value


def retention_seconds(retention_minutes: Union[float, int, str, None]) -> float:
    """Minutes as configured (a number, or the string endpoints.yml's substitution gives) to seconds.
    Empty means the default, as everywhere in the settings; anything else unusable stops start-up."""
    if retention_minutes is None or (isinstance(retention_minutes, str) and not retention_minutes.strip()):
        return DEFAULT_RETENTION_MINUTES * 60.0
    try:
        return float(retention_minutes) * 60.0
    except ValueError as exc:
        raise ValueError(f"retention_minutes must be a number of minutes, got {retention_minutes!r}") from exc


class _ExpiringInMemoryTrackerStore(InMemoryTrackerStore):
    def __init__(
        self,
        domain: Domain,
        event_broker: Optional[EventBroker] = None,
        retention_minutes: Union[float, int, str, None] = DEFAULT_RETENTION_MINUTES,
        clock: Callable[[], float] = time.monotonic,
        max_conversations: Union[int, str, None] = None,
        **kwargs: Dict[str, Any],
    ) -> None:
        kwargs.pop("host", None)
        super().__init__(domain, event_broker, **kwargs)
        self.retention_s = retention_seconds(retention_minutes)
        self.max_conversations = max_conversations_setting(max_conversations)
        self.clock = clock
        # sender id -> last activity, least recently active first (a save moves its conversation to the end).
        self.last_seen: OrderedDict[str, float] = OrderedDict()

    def _forget(self, sender_id: str) -> None:
        self.store.pop(sender_id, None)
        self.last_seen.pop(sender_id, None)

    def _forget_idle(self) -> None:
        """Drop idle conversations from the front: stops at the first one still in use (O(expired), not O(n))."""
        now = self.clock()
        while self.last_seen:
            sender_id, seen = next(iter(self.last_seen.items()))
            if now - seen <= self.retention_s:
                break
            self._forget(sender_id)

    async def save(self, tracker: DialogueStateTracker) -> None:
        self._forget_idle()
        await super().save(tracker)
        self.last_seen[tracker.sender_id] = self.clock()
        self.last_seen.move_to_end(tracker.sender_id)
        while len(self.last_seen) > self.max_conversations:
            self._forget(next(iter(self.last_seen)))  # the least recently active conversation

    async def retrieve(self, sender_id: str) -> Optional[DialogueStateTracker]:
        self._forget_idle()
        return await super().retrieve(sender_id)

    async def retrieve_full_tracker(self, sender_id: str) -> Optional[DialogueStateTracker]:
        self._forget_idle()
        return await super().retrieve_full_tracker(sender_id)

    async def keys(self) -> Iterable[str]:
        self._forget_idle()
        return await super().keys()


class ExpiringInMemoryTrackerStore(ErasureMixin, _ExpiringInMemoryTrackerStore):
    """The in-memory store with expiry and "delete my data" (the name endpoints.yml uses)."""

    async def erase(self, sender_id: str) -> None:
        self._forget(sender_id)
