"""Bounded retention of the inbox: what the housekeeping pass removes, and what it must keep."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bot.handoff.outbox import Outbox
from services.inbox.app import InboxState, purge_expired
from services.inbox.store import InboxStore
from tests.services.inbox.inbox_helpers import alert_event, lead_event


@pytest.mark.asyncio
async def test_purge_removes_only_closed_items_older_than_the_window(make_settings, database_url):
    settings = make_settings(database_url, inbox_retention_days=30.0, outbox_retention_days=7.0)
    store = InboxStore(settings.database_url)
    store.create_tables()
    outbox = Outbox(settings.database_url)
    now = datetime.now(timezone.utc)

    def received(event: dict, days_ago: float, status: str = "") -> str:
        store.add_event(
            event["id"],
            event["type"],
            event["created_at"],
            event,
            received_at=(now - timedelta(days=days_ago)).timestamp(),
        )
        if status:
            store.change_status(event["id"], status, "staff")
        return event["id"]

    closed_old = received(lead_event(), 31, "closed")
    closed_old_alert = received(alert_event(), 31, "closed")
    closed_recent = received(lead_event(), 29, "closed")  # inside the window
    open_old_lead = received(lead_event(), 400, "scheduled")  # old, but staff have not closed it
    new_old_lead = received(lead_event(), 400)
    open_old_alert = received(alert_event(), 400)
    # The outbox is the deliverer's to purge now: a long-delivered event stays here.
    delivered = lead_event()
    outbox.enqueue(delivered)
    outbox.mark_delivered(delivered["id"], now - timedelta(days=8))
    state = InboxState(settings=settings, store=store, admin_password_hash="x", outbox=outbox)

    await purge_expired(state, now.timestamp())

    assert store.get_event(closed_old) is None and store.get_event(closed_old_alert) is None
    assert store.status_history(closed_old) == []  # its history goes with it
    for kept in (closed_recent, open_old_lead, new_old_lead, open_old_alert):
        assert store.get_event(kept) is not None, kept
    assert [c.to_status for c in store.status_history(closed_recent)] == ["closed"]
    assert outbox.stats()["delivered"] == 1
    outbox.close()
    store.dispose()
