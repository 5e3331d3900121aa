from __future__ import annotations

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.retention import expired
from rasa_ext.tracker_store import ExpiringInMemoryTrackerStore, retention_seconds


def test_expired_keys():
    assert expired({"a": 0.0, "b": 50.0}, now=100.0, retention_s=60.0) == ["a"]


@pytest.mark.asyncio
async def test_idle_transcripts_are_forgotten():
    now = [0.0]
    store = ExpiringInMemoryTrackerStore(Domain.empty(), retention_minutes=1, clock=lambda: now[0])
    for sender in ("old", "new"):
        tracker = DialogueStateTracker(sender, [])
        tracker.update(UserUttered("my private answer"))
        await store.save(tracker)
        now[0] += 45.0
    assert await store.retrieve("old") is None  # idle 90 s > 60 s
    assert await store.retrieve("new") is not None  # idle 45 s
    assert list(await store.keys()) == ["new"]


@pytest.mark.parametrize(
    "configured, seconds",
    [
        ("90", 5400.0),
        ("1.5", 90.0),
        (" 60 ", 3600.0),
        (30, 1800.0),
        (2.5, 150.0),
        ("", 24 * 3600.0),
        (None, 24 * 3600.0),
    ],
)
def test_retention_may_come_as_a_string_from_endpoints_yml(configured, seconds):
    assert retention_seconds(configured) == seconds
    assert ExpiringInMemoryTrackerStore(Domain.empty(), retention_minutes=configured).retention_s == seconds


def test_a_retention_that_is_not_a_number_stops_start_up():
    with pytest.raises(ValueError, match="retention_minutes must be a number"):
        ExpiringInMemoryTrackerStore(Domain.empty(), retention_minutes="a day")
