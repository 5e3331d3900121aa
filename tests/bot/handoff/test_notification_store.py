"""The durable notification rows beside the outbox (bot/handoff/notification_store.py), SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from bot.handoff.events import CALLBACK_REQUESTED, CRISIS_ALERT, LEAD_CREATED
from bot.handoff.notification_store import NotificationStore, notification_plans, notifications
from bot.handoff.notifications import EMAIL, SMS, PlannedNotification, notification_id
from bot.handoff.outbox import Outbox
from tests.handoff_fixtures import make_crisis_event, make_lead_event

TYPES = (CRISIS_ALERT, LEAD_CREATED, CALLBACK_REQUESTED)


def two_each(event_id: str, event_type: str) -> list[PlannedNotification]:
    return [
        PlannedNotification(notification_id(event_id, channel, to), event_id, event_type, channel, to)
        for channel, to in ((EMAIL, "a@h.example"), (SMS, "+18185550100"))
    ]


def crisis_only(event_id: str, event_type: str) -> list[PlannedNotification]:
    return two_each(event_id, event_type) if event_type == CRISIS_ALERT else []


def now() -> datetime:
    return datetime.now(timezone.utc)


def rows(database_url: str, table) -> list:
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.select(table)).fetchall())
    finally:
        engine.dispose()


def test_each_event_is_planned_once_also_when_nobody_is_told(database_url):
    outbox, store = Outbox(database_url), NotificationStore(database_url)
    outbox.enqueue(make_lead_event(1))
    outbox.enqueue(make_crisis_event(1))
    assert store.plan_new(TYPES, crisis_only) == 2
    assert store.plan_new(TYPES, two_each) == 0  # the lead was planned (with nobody): a later setting adds none
    assert len(rows(database_url, notification_plans)) == 2
    assert {(r.event_type, r.channel) for r in rows(database_url, notifications)} == {
        (CRISIS_ALERT, EMAIL),
        (CRISIS_ALERT, SMS),
    }
    store.close()
    outbox.close()


def test_the_store_can_open_the_database_before_the_outbox(database_url):
    store = NotificationStore(database_url)
    assert store.plan_new(TYPES, two_each) == 0
    outbox = Outbox(database_url)
    outbox.enqueue(make_crisis_event(2))
    assert store.plan_new(TYPES, two_each) == 2
    store.close()
    outbox.close()


def test_concurrent_planners_plan_an_event_once(database_url):
    outbox = Outbox(database_url)
    for n in range(20):
        outbox.enqueue(make_crisis_event(n, conversation_id=f"race-{n}"))
    stores = [NotificationStore(database_url) for _ in range(3)]
    made: list[int] = []
    threads = [threading.Thread(target=lambda s=s: made.append(s.plan_new(TYPES, two_each))) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sum(made) == 40 and len(rows(database_url, notifications)) == 40
    for store in stores:
        store.close()
    outbox.close()


def test_claims_are_crisis_first_and_leased(database_url):
    outbox, store = Outbox(database_url), NotificationStore(database_url)
    outbox.enqueue(make_lead_event(1))
    outbox.enqueue(make_crisis_event(1))
    store.plan_new(TYPES, two_each)
    claimed = store.claim_due(now(), limit=2, lease_s=60)
    assert [item.event_type for item in claimed] == [CRISIS_ALERT, CRISIS_ALERT]
    others = store.claim_due(now(), limit=10, lease_s=60)
    assert [item.event_type for item in others] == [LEAD_CREATED, LEAD_CREATED]  # the crisis ones are leased
    assert store.claim_due(now(), limit=10) == []
    assert len(store.claim_due(now() + timedelta(seconds=61), limit=10)) == 4  # leases end by themselves
    store.close()
    outbox.close()


def test_sent_is_final_failed_is_retried_dead_is_kept(database_url):
    outbox, store = Outbox(database_url), NotificationStore(database_url)
    outbox.enqueue(make_crisis_event(1))
    store.plan_new(TYPES, two_each)
    first, second = store.claim_due(now(), limit=10, lease_s=0.01)
    store.mark_sent(first.id, now(), "SM123")
    store.mark_failed(second.id, "HTTP 503", now() + timedelta(seconds=0.05))
    time.sleep(0.1)
    [again] = store.claim_due(now(), limit=10, lease_s=0.01)
    assert again.id == second.id and again.attempts == 1
    store.mark_dead(again.id, "HTTP 503")
    time.sleep(0.05)
    assert store.claim_due(now(), limit=10) == []
    stats = store.stats()
    assert (stats["sent"], stats["pending"], stats["dead"]) == (1, 0, 1)
    [dead] = store.list_dead()
    assert dead["channel"] == second.channel and dead["attempts"] == 2 and dead["last_error"] == "HTTP 503"
    assert "recipient" not in dead
    [sent_row] = [r for r in rows(database_url, notifications) if r.id == first.id]
    assert sent_row.provider_id == "SM123"
    store.close()
    outbox.close()


def test_purge_drops_old_sent_rows_and_spent_plans_but_keeps_pending_and_dead(database_url):
    outbox, store = Outbox(database_url), NotificationStore(database_url)
    outbox.enqueue(make_crisis_event(1))
    outbox.enqueue(make_crisis_event(2))
    store.plan_new(TYPES, two_each)
    claimed = store.claim_due(now(), limit=10, lease_s=60)
    event_one = claimed[0].event_id
    for item in claimed:
        if item.event_id == event_one:
            store.mark_sent(item.id, now() - timedelta(days=8))
        elif item.channel == EMAIL:
            store.mark_dead(item.id, "SMTP 550")
    # The outbox's own retention removed event one (delivered long ago).
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM outbox_events WHERE id = :id"), {"id": event_one})
    engine.dispose()
    removed = store.purge(before=now() + timedelta(seconds=1))
    assert removed == 3  # two sent rows and event one's plan
    left = rows(database_url, notifications)
    assert sorted(r.status for r in left) == ["dead", "pending"]
    assert [r.event_id for r in rows(database_url, notification_plans)] == [left[0].event_id]
    assert store.plan_new(TYPES, two_each) == 0  # nothing comes back
    store.close()
    outbox.close()


def test_the_first_start_on_an_existing_outbox_plans_old_events_with_nobody_and_new_ones_as_usual(database_url):
    """An upgrade: the outbox already keeps a week of events. Staff are told of the recent ones only."""
    outbox = Outbox(database_url)
    old, recent = make_crisis_event(1, conversation_id="old"), make_crisis_event(2, conversation_id="recent")
    outbox.enqueue(old)
    outbox.enqueue(recent)
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE outbox_events SET created_at = :at WHERE id = :id"),
            {"at": time.time() - 2 * 86400, "id": old["id"]},
        )
    engine.dispose()
    store = NotificationStore(database_url)
    assert store.plan_new(TYPES, two_each) == 2
    assert {r.event_id for r in rows(database_url, notifications)} == {recent["id"]}
    assert {r.event_id for r in rows(database_url, notification_plans)} == {old["id"], recent["id"]}
    again = NotificationStore(database_url)  # later starts baseline nothing more
    outbox.enqueue(make_crisis_event(3, conversation_id="later"))
    assert again.plan_new(TYPES, two_each) == 2
    again.close()
    store.close()
    outbox.close()
