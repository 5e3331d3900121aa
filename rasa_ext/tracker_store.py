"""The embedded profile's tracker store: Rasa's in-memory store, with transcripts forgotten once idle.

Chat transcripts are health information. The stock InMemoryTrackerStore keeps every conversation until the
process stops; this one drops a conversation `retention_minutes` after its last message (default 24 h, from
TRANSCRIPT_RETENTION_MINUTES). Leads and alerts live on in the outbox and inbox, not here.

endpoints.yml passes `retention_minutes: ${TRANSCRIPT_RETENTION_MINUTES}`; Rasa's substitution yields a string.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Dict, Iterable, Optional, Union

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker

from bot.retention import expired

DEFAULT_RETENTION_MINUTES = 24 * 60


def retention_seconds(retention_minutes: Union[float, int, str, None]) -> float:
    """Minutes as configured (a number, or the string endpoints.yml's substitution gives) to seconds.
    Empty means the default, as everywhere in the settings; anything else unusable stops start-up."""
    if retention_minutes is None or (isinstance(retention_minutes, str) and not retention_minutes.strip()):
        return DEFAULT_RETENTION_MINUTES * 60.0
    try:
        return float(retention_minutes) * 60.0
    except ValueError as exc:
        raise ValueError(f"retention_minutes must be a number of minutes, got {retention_minutes!r}") from exc


class ExpiringInMemoryTrackerStore(InMemoryTrackerStore):
    def __init__(
        self,
        domain: Domain,
        event_broker: Optional[EventBroker] = None,
        retention_minutes: Union[float, int, str, None] = DEFAULT_RETENTION_MINUTES,
        clock: Callable[[], float] = time.monotonic,
        **kwargs: Dict[str, Any],
    ) -> None:
        kwargs.pop("host", None)
        super().__init__(domain, event_broker, **kwargs)
        self.retention_s = retention_seconds(retention_minutes)
        self.clock = clock
        self.last_seen: Dict[str, float] = {}

    def _forget_idle(self) -> None:
        for sender_id in expired(self.last_seen, self.clock(), self.retention_s):
            self.store.pop(sender_id, None)
            self.last_seen.pop(sender_id, None)

    async def save(self, tracker: DialogueStateTracker) -> None:
        self._forget_idle()
        await super().save(tracker)
        self.last_seen[tracker.sender_id] = self.clock()

    async def retrieve(self, sender_id: str) -> Optional[DialogueStateTracker]:
        self._forget_idle()
        return await super().retrieve(sender_id)

    async def retrieve_full_tracker(self, sender_id: str) -> Optional[DialogueStateTracker]:
        self._forget_idle()
        return await super().retrieve_full_tracker(sender_id)

    async def keys(self) -> Iterable[str]:
        self._forget_idle()
        return await super().keys()
