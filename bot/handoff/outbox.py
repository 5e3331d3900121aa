"""A durable outbox for handoff events on SQLAlchemy Core (runs unchanged on SQLAlchemy 1.4 and 2.0).

The action server (writer) enqueues; one or more deliverers (other processes) claim due rows under a lease,
POST them and record the outcome. SQLite is the default (WAL + busy timeout + BEGIN IMMEDIATE so two
processes share the file safely); PostgreSQL is used when DATABASE_URL says so (claims use
FOR UPDATE SKIP LOCKED). Times are stored as UTC epoch seconds: portable and exact to compare.

Pending and dead rows are never deleted: a dead event stays visible to staff through `stats()` and
`list_dead()`. Delivered rows leave after OUTBOX_RETENTION_DAYS (`purge_delivered`, run by the deliverer): the
receiver has them, and event bodies are health information.
`last_error` holds only our own short descriptions ("HTTP 503", "timeout"), never visitor text.
Claiming, leases, retries and retirement are bot.handoff.leased_queue's, shared with the staff notifications.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from bot.handoff.events import CRISIS_ALERT, validate_event
from bot.handoff.leased_queue import (
    DEAD,
    PENDING,
    LeasedQueue,
    as_datetime,
    create_engine,
    create_tables,
    retry_columns,
)
from bot.handoff.signing import encode_event

TABLE_NAME = "outbox_events"
DELIVERED = "delivered"  # the done status; PENDING and DEAD are the leased queue's
CRISIS_PRIORITY = 0  # lower is claimed first
DEFAULT_PRIORITY = 10

metadata = sa.MetaData()
outbox_events = sa.Table(
    TABLE_NAME,
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("priority", sa.Integer, nullable=False),
    sa.Column("body", sa.LargeBinary, nullable=False),
    *retry_columns(),  # created_at (when enqueued), next_attempt_at, attempts, last_error, status
    sa.Column("delivered_at", sa.Float, nullable=True),
    sa.Index("ix_outbox_events_due", "status", "priority", "next_attempt_at"),
)


@dataclass(frozen=True)
class OutboxItem:
    id: str
    type: str
    body: bytes
    attempts: int  # attempts completed before this claim
    created_at: datetime
    priority: int


def priority_for(event_type: str) -> int:
    return CRISIS_PRIORITY if event_type == CRISIS_ALERT else DEFAULT_PRIORITY


class Outbox:
    def __init__(self, database_url: str) -> None:
        self._engine = create_engine(database_url)
        self._queue = LeasedQueue(self._engine, outbox_events, DELIVERED, "delivered_at")
        create_tables(lambda: metadata.create_all(self._engine, checkfirst=True))

    def close(self) -> None:
        self._engine.dispose()

    def enqueue(self, event: dict) -> bool:
        """Store an event; durable when this returns. The same id twice keeps the first and returns False.

        Raises ValueError (naming fields, not values) when the event breaks the contract, so the caller
        hears about it now instead of the receiver rejecting it for days.
        """
        problems = validate_event(event)
        if problems:
            raise ValueError("event does not match the handoff contract: " + "; ".join(problems))
        now = time.time()
        row = {
            "id": event["id"],
            "type": event["type"],
            "priority": priority_for(event["type"]),
            "body": encode_event(event),  # the exact bytes every retry sends and signs
            "created_at": now,
            "next_attempt_at": now,
            "attempts": 0,
            "last_error": None,
            "status": PENDING,
            "delivered_at": None,
        }
        if self._exists(event["id"]):
            return False
        try:
            with self._engine.begin() as conn:
                conn.execute(outbox_events.insert().values(**row))
        except IntegrityError:
            return False  # another writer stored the same id between our check and insert
        return True

    def _exists(self, event_id: str) -> bool:
        with self._engine.begin() as conn:
            found = conn.execute(sa.select(outbox_events.c.id).where(outbox_events.c.id == event_id)).first()
        return found is not None

    def claim_due(self, now: datetime, limit: int = 20, lease_s: float = 60) -> list[OutboxItem]:
        """Pending events due at `now`, crisis alerts first, then oldest first. Each is leased: its
        next_attempt_at moves to now + lease_s so other deliverers skip it until then (a crashed deliverer's
        claims come back by themselves)."""
        table = outbox_events
        columns = (table.c.id, table.c.type, table.c.body, table.c.attempts, table.c.created_at, table.c.priority)
        return [
            OutboxItem(
                id=row.id,
                type=row.type,
                body=bytes(row.body),
                attempts=row.attempts,
                created_at=as_datetime(row.created_at),
                priority=row.priority,
            )
            for row in self._queue.claim_due(now, limit, lease_s, columns)
        ]

    def release(self, event_ids: Iterable[str], next_attempt_at: datetime) -> None:
        """Give back claimed events that were not attempted (shutdown, receiver already unreachable)."""
        self._queue.release(event_ids, next_attempt_at)

    def mark_delivered(self, event_id: str, now: datetime) -> None:
        # Also from dead: the receiver has it, which is what staff need to know.
        self._queue.mark_done(event_id, now)

    def mark_failed(self, event_id: str, error: str, next_attempt_at: datetime) -> None:
        self._queue.mark_failed(event_id, error, next_attempt_at)

    def mark_dead(self, event_id: str, error: str) -> None:
        """Stop retrying (the last attempt failed past the horizon). The row stays for staff."""
        self._queue.mark_dead(event_id, error)

    def purge_delivered(self, before: datetime) -> int:
        """Delete events delivered before `before`: the receiver has them, and their bodies are health
        information. Pending and dead events are never purged."""
        with self._engine.begin() as conn:
            return self._queue.purge_done(conn, before)

    def stats(self) -> dict:
        """{"pending": n, "dead": n, "delivered": n, "oldest_pending_age_s": x} (x is 0.0 with nothing pending)."""
        with self._engine.begin() as conn:
            counts = self._queue.status_counts(conn)
            oldest_age_s = self._queue.oldest_pending_age_s(conn)
        return {
            PENDING: counts[PENDING],
            DEAD: counts[DEAD],
            DELIVERED: counts[DELIVERED],
            "oldest_pending_age_s": oldest_age_s,
        }

    def list_dead(self, limit: int = 100) -> list[dict]:
        """Dead events for staff, oldest first: id, type, created_at (ISO UTC), attempts, last_error."""
        table = outbox_events
        columns = (table.c.id, table.c.type, table.c.created_at, table.c.attempts, table.c.last_error)
        return self._queue.list_dead(columns, limit)
