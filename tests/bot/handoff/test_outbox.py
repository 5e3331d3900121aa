"""The outbox on SQLite and PostgreSQL (each test runs on both; PostgreSQL skips only when unreachable)."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from bot.handoff.outbox import Outbox
from bot.handoff.signing import encode_event
from tests.handoff_fixtures import make_crisis_event, make_lead_event, stored_rows


def now() -> datetime:
    return datetime.now(timezone.utc)


@pytest.fixture
def outbox(database_url):
    box = Outbox(database_url)
    yield box
    box.close()


def test_enqueue_is_idempotent_by_event_id(outbox, database_url):
    event = make_lead_event(1)
    assert outbox.enqueue(event) is True
    assert outbox.enqueue(event) is False
    changed = dict(event, channel="sms")  # same id, different content: the first one stays
    assert outbox.enqueue(changed) is False
    rows = stored_rows(database_url)  # read-only: nothing is leased by looking
    assert [row.id for row in rows] == [event["id"]]
    assert rows[0].body == encode_event(event)
    assert outbox.stats()["pending"] == 1


def test_enqueued_events_survive_a_new_outbox_on_the_same_database(database_url):
    first = Outbox(database_url)
    first.enqueue(make_lead_event(1))
    first.close()
    second = Outbox(database_url)  # also: creating the tables again is harmless
    try:
        assert second.stats()["pending"] == 1
        assert [row.type for row in stored_rows(database_url)] == ["lead.created"]
    finally:
        second.close()


def test_invalid_events_are_refused_with_the_fields_named(outbox):
    event = make_lead_event(1)
    event["lead"]["contact"]["phone"] = "call me maybe"
    with pytest.raises(ValueError, match="lead.contact.phone") as info:
        outbox.enqueue(event)
    assert "call me maybe" not in str(info.value)
    assert outbox.stats()["pending"] == 0


def test_crisis_alerts_are_claimed_before_older_leads(outbox):
    leads = [make_lead_event(n) for n in range(3)]
    for event in leads:
        outbox.enqueue(event)
    crisis = make_crisis_event(1)
    outbox.enqueue(crisis)
    ids = [item.id for item in outbox.claim_due(now())]
    assert ids == [crisis["id"]] + [event["id"] for event in leads]


def test_claims_are_leased_and_come_back_when_the_lease_ends(outbox):
    outbox.enqueue(make_lead_event(1))
    start = now()
    assert len(outbox.claim_due(start, lease_s=30)) == 1
    assert outbox.claim_due(start + timedelta(seconds=29)) == []
    again = outbox.claim_due(start + timedelta(seconds=31))
    assert len(again) == 1 and again[0].attempts == 0


def test_claim_respects_the_limit(outbox):
    for n in range(5):
        outbox.enqueue(make_lead_event(n))
    assert len(outbox.claim_due(now(), limit=2)) == 2
    assert len(outbox.claim_due(now(), limit=10)) == 3
    assert outbox.claim_due(now(), limit=0) == []


def test_failed_then_delivered_lifecycle_and_stats(outbox):
    event = make_lead_event(1)
    outbox.enqueue(event)
    start = now()
    outbox.claim_due(start)
    outbox.mark_failed(event["id"], "HTTP 503", start + timedelta(seconds=10))
    assert outbox.claim_due(start + timedelta(seconds=9), lease_s=1) == []
    item = outbox.claim_due(start + timedelta(seconds=10))[0]
    assert item.attempts == 1
    outbox.mark_delivered(event["id"], start + timedelta(seconds=11))
    stats = outbox.stats()
    assert stats == {"pending": 0, "dead": 0, "delivered": 1, "oldest_pending_age_s": 0.0}
    assert outbox.claim_due(start + timedelta(days=1)) == []
    # a late failure report from a slow deliverer must not resurrect a delivered event
    outbox.mark_failed(event["id"], "timeout", start)
    assert outbox.stats()["delivered"] == 1


def test_dead_events_are_kept_and_listed_for_staff(outbox):
    event = make_crisis_event(1)
    outbox.enqueue(event)
    outbox.claim_due(now())
    outbox.mark_dead(event["id"], "HTTP 500\n" + "x" * 1000)
    dead = outbox.list_dead()
    assert len(dead) == 1
    row = dead[0]
    assert row["id"] == event["id"] and row["type"] == "crisis.alert" and row["attempts"] == 1
    assert row["last_error"].startswith("HTTP 500 x") and len(row["last_error"]) <= 300
    assert row["created_at"].endswith("Z")
    assert outbox.stats()["dead"] == 1 and outbox.stats()["pending"] == 0
    assert outbox.claim_due(now() + timedelta(days=30)) == []
    assert outbox.list_dead(limit=0) == []


def test_oldest_pending_age(outbox):
    outbox.enqueue(make_lead_event(1))
    time.sleep(0.3)
    assert 0.25 <= outbox.stats()["oldest_pending_age_s"] < 10


def test_release_returns_claims_without_counting_an_attempt(outbox):
    event = make_lead_event(1)
    outbox.enqueue(event)
    start = now()
    outbox.claim_due(start, lease_s=600)
    outbox.release([event["id"]], start)
    item = outbox.claim_due(start)[0]
    assert item.attempts == 0


def test_concurrent_claimers_never_share_an_event(database_url):
    writer = Outbox(database_url)
    ids = set()
    for n in range(60):
        event = make_lead_event(n)
        writer.enqueue(event)
        ids.add(event["id"])
    claimers = [Outbox(database_url) for _ in range(4)]
    claimed: list = []
    lock = threading.Lock()
    errors: list = []

    def claim(box: Outbox) -> None:
        try:
            while True:
                batch = box.claim_due(now(), limit=3, lease_s=600)
                if not batch:
                    return
                with lock:
                    claimed.extend(item.id for item in batch)
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=claim, args=(box,)) for box in claimers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for box in claimers + [writer]:
        box.close()
    assert errors == []
    assert sorted(claimed) == sorted(ids)  # each exactly once


def test_sqlite_uses_wal_and_creates_its_directory(tmp_path):
    path = tmp_path / "nested" / "dir" / "haven.db"
    box = Outbox(f"sqlite:///{path}")
    box.enqueue(make_lead_event(1))
    box.close()
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        assert conn.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
    engine.dispose()


def test_delivered_events_past_retention_are_purged_pending_and_dead_never(database_url):
    from datetime import datetime, timedelta, timezone

    from bot.handoff.outbox import Outbox

    outbox = Outbox(database_url)
    now = datetime.now(timezone.utc)
    delivered_old, delivered_new, pending, dead = (make_lead_event(n) for n in range(4))
    for event in (delivered_old, delivered_new, pending, dead):
        outbox.enqueue(event)
    outbox.mark_delivered(delivered_old["id"], now - timedelta(days=10))
    outbox.mark_delivered(delivered_new["id"], now)
    outbox.mark_dead(dead["id"], "gave up")
    assert outbox.purge_delivered(before=now - timedelta(days=7)) == 1
    stats = outbox.stats()
    assert (stats["delivered"], stats["pending"], stats["dead"]) == (1, 1, 1)
    outbox.close()
