"""Bounded retention: what the housekeeping pass removes, with the configured windows."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bot.handoff.outbox import Outbox
from services.inbox.app import InboxState, purge_expired
from services.inbox.store import InboxStore
from tests.services.inbox.inbox_helpers import lead_event


@pytest.mark.asyncio
async def test_purge_uses_the_configured_windows(make_settings, sqlite_url):
    settings = make_settings(sqlite_url, inbox_retention_days=30.0, outbox_retention_days=7.0)
    store = InboxStore(settings.database_url)
    store.create_tables()
    outbox = Outbox(settings.database_url)
    now = datetime.now(timezone.utc)
    closed = lead_event()
    store.add_event(closed["id"], "lead.created", closed["created_at"], closed,
                    received_at=(now - timedelta(days=31)).timestamp())
    store.change_status(closed["id"], "closed", "staff")
    sent = lead_event()
    outbox.enqueue(sent)
    outbox.mark_delivered(sent["id"], now - timedelta(days=8))
    state = InboxState(settings=settings, store=store, admin_password_hash="x", outbox=outbox)
    await purge_expired(state, now.timestamp())
    assert store.get_event(closed["id"]) is None
    assert outbox.stats()["delivered"] == 0
    outbox.close()
    store.dispose()
