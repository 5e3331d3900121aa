"""Durable staff notifications beside the outbox (same database, SQLAlchemy Core, SQLite and PostgreSQL).

- `outbox_notification_plans`: one row per outbox event the planner has looked at, with how many notifications
  it made (0 when nobody is to be told). An event is planned once: a restart, a second deliverer or a later
  change of settings never notifies it again, and turning notifications on does not flood staff with the
  events the outbox still keeps from before.
- `outbox_notifications`: one row per event, channel and recipient (its id is `notification_id(...)`), pending
  until sent, retried with backoff under a lease like outbox events, dead after the horizon (kept for staff).

The planner reads only the outbox's id, type and priority columns, never an event body: a notification carries
no health information, so it needs none. `last_error` holds our own short descriptions ("SMTP 451",
"HTTP 503", "timeout"), never a server's text or an address.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Dict, Iterable, Optional, Sequence

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from bot.handoff.events import CALLBACK_REQUESTED, CRISIS_ALERT, LEAD_CREATED, format_timestamp
from bot.handoff.notifications import PlannedNotification
from bot.handoff.outbox import _create_engine, outbox_events, priority_for

PLANS_TABLE = "outbox_notification_plans"
NOTIFICATIONS_TABLE = "outbox_notifications"
PENDING, SENT, DEAD = "pending", "sent", "dead"
# Every type that can ever be notified (whether it is depends on the settings).
NOTIFIABLE_TYPES = (CRISIS_ALERT, LEAD_CREATED, CALLBACK_REQUESTED)
BASELINE_AGE_S = 3600.0
MAX_ERROR_CHARS = 300

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
    sa.Column("created_at", sa.Float, nullable=False),  # when planned; the dead horizon counts from here
    sa.Column("next_attempt_at", sa.Float, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("last_error", sa.String(MAX_ERROR_CHARS), nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
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


def _epoch(moment: datetime) -> float:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _datetime(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=timezone.utc)


def _short_error(error: str) -> str:
    return " ".join(str(error).split())[:MAX_ERROR_CHARS]


Planner = Callable[[str, str], Sequence[PlannedNotification]]


class NotificationStore:
    def __init__(self, database_url: str) -> None:
        self._engine = _create_engine(database_url)
        self._is_postgres = self._engine.dialect.name == "postgresql"
        self._create_tables()

    def _create_tables(self) -> None:
        first_time = not sa.inspect(self._engine).has_table(PLANS_TABLE)
        # The outbox table too: the planner joins it, and this store may open the database first.
        for create in (lambda: outbox_events.create(self._engine, checkfirst=True), self._create_own_tables):
            try:
                create()
            except sa.exc.DBAPIError:  # two processes starting together: the loser retries and finds them
                time.sleep(0.2)
                create()
        if first_time:
            self._baseline(time.time())

    def _create_own_tables(self) -> None:
        metadata.create_all(self._engine, checkfirst=True)

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
        if limit <= 0:
            return []
        at = _epoch(now)
        table = notifications
        query = (
            sa.select(
                table.c.id,
                table.c.event_id,
                table.c.event_type,
                table.c.channel,
                table.c.recipient,
                table.c.attempts,
                table.c.created_at,
            )
            .where(table.c.status == PENDING, table.c.next_attempt_at <= at)
            .order_by(table.c.priority, table.c.created_at, table.c.id)
            .limit(limit)
        )
        if self._is_postgres:
            query = query.with_for_update(skip_locked=True)
        with self._engine.begin() as conn:
            rows = conn.execute(query).fetchall()
            if rows:
                conn.execute(
                    table.update().where(table.c.id.in_([row.id for row in rows])).values(next_attempt_at=at + lease_s)
                )
        return [
            NotificationItem(
                id=row.id,
                event_id=row.event_id,
                event_type=row.event_type,
                channel=row.channel,
                recipient=row.recipient,
                attempts=row.attempts,
                created_at=_datetime(row.created_at),
            )
            for row in rows
        ]

    def release(self, ids: Iterable[str], next_attempt_at: datetime) -> None:
        """Give back claimed notifications that were not tried (shutdown, their server already unreachable)."""
        ids = list(ids)
        if not ids:
            return
        with self._engine.begin() as conn:
            conn.execute(
                notifications.update()
                .where(notifications.c.id.in_(ids), notifications.c.status == PENDING)
                .values(next_attempt_at=_epoch(next_attempt_at))
            )

    def mark_sent(self, notification_id: str, now: datetime, provider_id: Optional[str] = None) -> None:
        # Also from dead: it did go out, which is what staff need to know.
        with self._engine.begin() as conn:
            conn.execute(
                notifications.update()
                .where(notifications.c.id == notification_id, notifications.c.status != SENT)
                .values(
                    status=SENT,
                    sent_at=_epoch(now),
                    attempts=notifications.c.attempts + 1,
                    last_error=None,
                    provider_id=(provider_id or None) and provider_id[:64],
                )
            )

    def mark_failed(self, notification_id: str, error: str, next_attempt_at: datetime) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                notifications.update()
                .where(notifications.c.id == notification_id, notifications.c.status == PENDING)
                .values(
                    attempts=notifications.c.attempts + 1,
                    last_error=_short_error(error),
                    next_attempt_at=_epoch(next_attempt_at),
                )
            )

    def mark_dead(self, notification_id: str, error: str) -> None:
        """Stop retrying (the last attempt failed past the horizon). The row stays for staff."""
        with self._engine.begin() as conn:
            conn.execute(
                notifications.update()
                .where(notifications.c.id == notification_id, notifications.c.status == PENDING)
                .values(status=DEAD, attempts=notifications.c.attempts + 1, last_error=_short_error(error))
            )

    # --- staff view and retention ---------------------------------------------------------------------------

    def stats(self) -> dict:
        """{"pending": n, "sent": n, "dead": n, "oldest_pending_age_s": x, "crisis_pending": n}."""
        table = notifications
        with self._engine.begin() as conn:
            rows = conn.execute(sa.select(table.c.status, sa.func.count()).group_by(table.c.status)).fetchall()
            counts: Dict[str, int] = {str(status): int(count) for status, count in rows}
            oldest: Optional[float] = conn.execute(
                sa.select(sa.func.min(table.c.created_at)).where(table.c.status == PENDING)
            ).scalar()
            crisis_pending = conn.execute(
                sa.select(sa.func.count()).where(table.c.status == PENDING, table.c.event_type == CRISIS_ALERT)
            ).scalar()
        return {
            PENDING: int(counts.get(PENDING, 0)),
            SENT: int(counts.get(SENT, 0)),
            DEAD: int(counts.get(DEAD, 0)),
            "crisis_pending": int(crisis_pending or 0),
            "oldest_pending_age_s": max(0.0, time.time() - oldest) if oldest is not None else 0.0,
        }

    def list_dead(self, limit: int = 100) -> list[dict]:
        """Dead notifications for staff, oldest first: id, event_id, event_type, channel, created_at, attempts,
        last_error (no recipient: the list is for seeing that a channel failed, not who was not told)."""
        table = notifications
        query = (
            sa.select(
                table.c.id,
                table.c.event_id,
                table.c.event_type,
                table.c.channel,
                table.c.created_at,
                table.c.attempts,
                table.c.last_error,
            )
            .where(table.c.status == DEAD)
            .order_by(table.c.created_at, table.c.id)
            .limit(max(0, int(limit)))
        )
        with self._engine.begin() as conn:
            rows = conn.execute(query).fetchall()
        return [
            {
                "id": row.id,
                "event_id": row.event_id,
                "event_type": row.event_type,
                "channel": row.channel,
                "created_at": format_timestamp(_datetime(row.created_at)),
                "attempts": row.attempts,
                "last_error": row.last_error,
            }
            for row in rows
        ]

    def purge(self, before: datetime) -> int:
        """Delete notifications sent before `before`, and the plan records of events the outbox no longer holds
        that have no notification left. Pending and dead notifications stay. Returns the rows removed."""
        with self._engine.begin() as conn:
            sent = conn.execute(
                notifications.delete().where(notifications.c.status == SENT, notifications.c.sent_at < _epoch(before))
            )
            plans = conn.execute(
                notification_plans.delete().where(
                    notification_plans.c.planned_at < _epoch(before),
                    ~sa.exists().where(outbox_events.c.id == notification_plans.c.event_id),
                    ~sa.exists().where(notifications.c.event_id == notification_plans.c.event_id),
                )
            )
        return int(sent.rowcount or 0) + int(plans.rowcount or 0)
