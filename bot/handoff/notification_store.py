"""Durable staff notifications beside the outbox (same database, SQLAlchemy Core, SQLite and PostgreSQL).

- `outbox_notification_plans`: one row per outbox event the planner has looked at, with how many notifications
  it made (0 when nobody is to be told). An event is planned once: a restart, a second deliverer or a later
  change of settings never notifies it again, and turning notifications on does not flood staff with the
  events the outbox still keeps from before.
- `outbox_notifications`: one row per event, channel and recipient (its id is `notification_id(...)`), pending
  until sent, retried with backoff under a lease like outbox events (the same bot.handoff.leased_queue), dead
  after the horizon (kept for staff).

The planner reads only the outbox's id, type and priority columns, never an event body: a notification carries
no health information, so it needs none. `last_error` holds our own short descriptions ("SMTP 451",
"HTTP 503", "timeout"), never a server's text or an address.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Iterable, Optional, Sequence

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from bot.handoff.events import CALLBACK_REQUESTED, CRISIS_ALERT, LEAD_CREATED
from bot.handoff.leased_queue import (
    DEAD,
    PENDING,
    LeasedQueue,
    as_datetime,
    create_engine,
    create_tables,
    epoch,
    retry_columns,
)
from bot.handoff.notifications import PlannedNotification
from bot.handoff.outbox import outbox_events, priority_for

PLANS_TABLE = "outbox_notification_plans"
NOTIFICATIONS_TABLE = "outbox_notifications"
SENT = "sent"  # the done status; PENDING and DEAD are the leased queue's
# Every type that can ever be notified (whether it is depends on the settings).
NOTIFIABLE_TYPES = (CRISIS_ALERT, LEAD_CREATED, CALLBACK_REQUESTED)
BASELINE_AGE_S = 3600.0

metadata = sa.MetaData()
notification_plans = sa.Table(
    PLANS_TABLE,
    metadata,
    sa.Column("event_id", sa.String(64), primary_key=True),
    sa.Column("event_type", sa.String(64), nullable=False),
    sa.Column("planned_at", sa.Float, nullable=False),
    sa.Column("notifications", sa.Integer, nullable=False),
)
notifications = sa.Table(
    NOTIFICATIONS_TABLE,
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("event_id", sa.String(64), nullable=False, index=True),
    sa.Column("event_type", sa.String(64), nullable=False),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("recipient", sa.String(320), nullable=False),
    sa.Column("priority", sa.Integer, nullable=False),
    *retry_columns(),  # created_at (when planned), next_attempt_at, attempts, last_error, status
    sa.Column("sent_at", sa.Float, nullable=True),
    sa.Column("provider_id", sa.String(64), nullable=True),  # Twilio's message SID, for tracing with Twilio
    sa.Index("ix_outbox_notifications_due", "status", "priority", "next_attempt_at"),
)


@dataclass(frozen=True)
class NotificationItem:
    id: str
    event_id: str
    event_type: str
    channel: str
    recipient: str
    attempts: int  # attempts completed before this claim
    created_at: datetime


Planner = Callable[[str, str], Sequence[PlannedNotification]]


class NotificationStore:
    def __init__(self, database_url: str) -> None:
        self._engine = create_engine(database_url)
        self._queue = LeasedQueue(self._engine, notifications, SENT, "sent_at")
        self._create_tables()

    def _create_tables(self) -> None:
        first_time = not sa.inspect(self._engine).has_table(PLANS_TABLE)
        # The outbox table too: the planner joins it, and this store may open the database first.
        create_tables(lambda: outbox_events.create(self._engine, checkfirst=True))
        create_tables(lambda: metadata.create_all(self._engine, checkfirst=True))
        if first_time:
            self._baseline(time.time())

    def _baseline(self, now: float) -> None:
        """The first start on a database that already has an outbox (an upgrade): events older than
        BASELINE_AGE_S count as planned with nobody, so staff are not sent the week of old items the outbox
        keeps. Newer ones are planned as usual: an alert from just before the upgrade is still told."""
        older = now - BASELINE_AGE_S
        query = sa.select(outbox_events.c.id, outbox_events.c.type).where(
            outbox_events.c.type.in_(NOTIFIABLE_TYPES), outbox_events.c.created_at < older
        )
        with self._engine.begin() as conn:
            rows = conn.execute(query).fetchall()
        for row in rows:
            self.plan_event(str(row.id), str(row.type), [], now)  # False (already planned) is fine

    def close(self) -> None:
        self._engine.dispose()

    # --- planning -------------------------------------------------------------------------------------------

    def unplanned_events(self, event_types: Iterable[str], limit: int) -> list[tuple[str, str]]:
        """(id, type) of outbox events of these types not planned yet, crisis alerts first, oldest first.
        Any outbox status counts: a notification does not wait for the handoff delivery."""
        types = list(event_types)
        if not types or limit <= 0:
            return []
        query = (
            sa.select(outbox_events.c.id, outbox_events.c.type)
            .select_from(
                outbox_events.outerjoin(notification_plans, notification_plans.c.event_id == outbox_events.c.id)
            )
            .where(outbox_events.c.type.in_(types), notification_plans.c.event_id.is_(None))
            .order_by(outbox_events.c.priority, outbox_events.c.created_at, outbox_events.c.id)
            .limit(limit)
        )
        with self._engine.begin() as conn:
            return [(str(row.id), str(row.type)) for row in conn.execute(query).fetchall()]

    def plan_event(self, event_id: str, event_type: str, planned: Sequence[PlannedNotification], now: float) -> bool:
        """Record an event as planned with its notifications, all or nothing. False when it already was
        (another planner got there first): then nothing is added."""
        rows = [
            {
                "id": item.id,
                "event_id": event_id,
                "event_type": event_type,
                "channel": item.channel,
                "recipient": item.recipient,
                "priority": priority_for(event_type),
                "created_at": now,
                "next_attempt_at": now,
                "attempts": 0,
                "last_error": None,
                "status": PENDING,
                "sent_at": None,
                "provider_id": None,
            }
            for item in planned
        ]
        try:
            with self._engine.begin() as conn:
                conn.execute(
                    notification_plans.insert().values(
                        event_id=event_id, event_type=event_type, planned_at=now, notifications=len(rows)
                    )
                )
                if rows:
                    conn.execute(notifications.insert(), rows)
        except IntegrityError:
            return False
        return True

    def plan_new(self, event_types: Iterable[str], planner: Planner, limit: int = 50) -> int:
        """Plan up to `limit` new events with `planner(event_id, event_type)`; returns how many notifications
        were made."""
        made = 0
        for event_id, event_type in self.unplanned_events(event_types, limit):
            planned = list(planner(event_id, event_type))
            if self.plan_event(event_id, event_type, planned, time.time()):
                made += len(planned)
        return made

    # --- sending --------------------------------------------------------------------------------------------

    def claim_due(self, now: datetime, limit: int = 10, lease_s: float = 60) -> list[NotificationItem]:
        """Pending notifications due at `now`, crisis first, oldest first, each leased for `lease_s` so another
        deliverer skips it (a crashed deliverer's claims come back when the lease ends)."""
        table = notifications
        columns = (
            table.c.id,
            table.c.event_id,
            table.c.event_type,
            table.c.channel,
            table.c.recipient,
            table.c.attempts,
            table.c.created_at,
        )
        return [
            NotificationItem(
                id=row.id,
                event_id=row.event_id,
                event_type=row.event_type,
                channel=row.channel,
                recipient=row.recipient,
                attempts=row.attempts,
                created_at=as_datetime(row.created_at),
            )
            for row in self._queue.claim_due(now, limit, lease_s, columns)
        ]

    def release(self, ids: Iterable[str], next_attempt_at: datetime) -> None:
        """Give back claimed notifications that were not tried (shutdown, their server already unreachable)."""
        self._queue.release(ids, next_attempt_at)

    def mark_sent(self, notification_id: str, now: datetime, provider_id: Optional[str] = None) -> None:
        # Also from dead: it did go out, which is what staff need to know.
        self._queue.mark_done(notification_id, now, provider_id=(provider_id or None) and provider_id[:64])

    def mark_failed(self, notification_id: str, error: str, next_attempt_at: datetime) -> None:
        self._queue.mark_failed(notification_id, error, next_attempt_at)

    def mark_dead(self, notification_id: str, error: str) -> None:
        """Stop retrying (the last attempt failed past the horizon). The row stays for staff."""
        self._queue.mark_dead(notification_id, error)

    # --- staff view and retention ---------------------------------------------------------------------------

    def stats(self) -> dict:
        """{"pending": n, "sent": n, "dead": n, "oldest_pending_age_s": x, "crisis_pending": n}."""
        table = notifications
        with self._engine.begin() as conn:
            counts = self._queue.status_counts(conn)
            oldest_age_s = self._queue.oldest_pending_age_s(conn)
            crisis_pending = conn.execute(
                sa.select(sa.func.count()).where(table.c.status == PENDING, table.c.event_type == CRISIS_ALERT)
            ).scalar()
        return {
            PENDING: counts[PENDING],
            SENT: counts[SENT],
            DEAD: counts[DEAD],
            "crisis_pending": int(crisis_pending or 0),
            "oldest_pending_age_s": oldest_age_s,
        }

    def list_dead(self, limit: int = 100) -> list[dict]:
        """Dead notifications for staff, oldest first: id, event_id, event_type, channel, created_at, attempts,
        last_error (no recipient: the list is for seeing that a channel failed, not who was not told)."""
        table = notifications
        columns = (
            table.c.id,
            table.c.event_id,
            table.c.event_type,
            table.c.channel,
            table.c.created_at,
            table.c.attempts,
            table.c.last_error,
        )
        return self._queue.list_dead(columns, limit)

    def purge(self, before: datetime) -> int:
        """Delete notifications sent before `before`, and the plan records of events the outbox no longer holds
        that have no notification left. Pending and dead notifications stay. Returns the rows removed."""
        with self._engine.begin() as conn:
            sent = self._queue.purge_done(conn, before)
            plans = conn.execute(
                notification_plans.delete().where(
                    notification_plans.c.planned_at < epoch(before),
                    ~sa.exists().where(outbox_events.c.id == notification_plans.c.event_id),
                    ~sa.exists().where(notifications.c.event_id == notification_plans.c.event_id),
                )
            )
        return sent + int(plans.rowcount or 0)
