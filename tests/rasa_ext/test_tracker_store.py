from __future__ import annotations

from collections import OrderedDict

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


class CountingOrder(OrderedDict):
    """Counts how many entries the expiry scan reads."""

    reads = 0

    def items(self):  # type: ignore[override]
        for item in super().items():
            CountingOrder.reads += 1
            yield item


@pytest.mark.asyncio
async def test_the_store_keeps_at_most_max_conversations_dropping_the_least_recently_active():
    now = [0.0]
    store = ExpiringInMemoryTrackerStore(Domain.empty(), clock=lambda: now[0], max_conversations=3)
    for sender in ("a", "b", "c"):
        await store.save(DialogueStateTracker(sender, []))
        now[0] += 1
    await store.save(DialogueStateTracker("a", []))  # a is active again: b is now the oldest
    await store.save(DialogueStateTracker("d", []))
    assert sorted(await store.keys()) == ["a", "c", "d"]
    assert len(store.store) == 3


@pytest.mark.asyncio
async def test_the_expiry_scan_reads_only_the_oldest_entries_not_every_key():
    now = [0.0]
    store = ExpiringInMemoryTrackerStore(Domain.empty(), retention_minutes=1, clock=lambda: now[0])
    store.last_seen = CountingOrder()
    for n in range(2000):
        await store.save(DialogueStateTracker(f"s{n}", []))
    CountingOrder.reads = 0
    await store.save(DialogueStateTracker("one-more", []))
    assert CountingOrder.reads <= 1  # the oldest is still fresh: the scan stops there
    now[0] += 120  # everything is idle now: the next message drops them all, once
    await store.save(DialogueStateTracker("late", []))
    assert list(await store.keys()) == ["late"]


def test_max_conversations_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("TRACKER_MAX_CONVERSATIONS", "25")
    assert ExpiringInMemoryTrackerStore(Domain.empty()).max_conversations == 25
    monkeypatch.delenv("TRACKER_MAX_CONVERSATIONS")
    assert ExpiringInMemoryTrackerStore(Domain.empty()).max_conversations == 10_000
