"""Staff see the deliverer's email/SMS notifications that wait or failed for good, beside the outbox backlog."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from bot.handoff.notification_store import NotificationStore
from bot.handoff.notifications import EMAIL, SMS, PlannedNotification, notification_id
from bot.handoff.outbox import Outbox
from tests.handoff_fixtures import make_crisis_event
from tests.services.inbox.inbox_helpers import running_inbox, sign_in


@pytest.mark.asyncio
async def test_dead_and_waiting_notifications_are_shown_to_staff_with_a_link_to_the_item(
    make_settings, database_url
) -> None:
    outbox, store = Outbox(database_url), NotificationStore(database_url)
    event = make_crisis_event(1)
    outbox.enqueue(event)

    def planner(event_id: str, event_type: str) -> list:
        return [
            PlannedNotification(notification_id(event_id, channel, to), event_id, event_type, channel, to)
            for channel, to in ((EMAIL, "oncall@haven.example"), (SMS, "+18185550100"))
        ]

    store.plan_new(["crisis.alert"], planner)
    [email] = [n for n in store.claim_due(datetime.now(timezone.utc), 10) if n.channel == EMAIL]
    store.mark_dead(email.id, "SMTP login refused (535)")
    try:
        async with running_inbox(make_settings(database_url), real_outbox=True) as client:
            await sign_in(client)
            text = await (await client.get("/")).text()
        assert "Staff notifications" in text and 'class="backlog problem"' in text
        assert "Waiting to be sent: 1; could not be sent (dead): 1" in text
        assert f'href="/alerts/{event["id"]}"' in text and "SMTP login refused (535)" in text
        assert "oncall@haven.example" not in text and "+18185550100" not in text
    finally:
        store.close()
        outbox.close()
