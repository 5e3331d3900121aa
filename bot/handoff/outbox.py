"""A durable outbox for handoff events on SQLAlchemy Core (runs unchanged on SQLAlchemy 1.4 and 2.0).

The action server (writer) enqueues; one or more deliverers (other processes) claim due rows under a lease,
POST them and record the outcome. SQLite is the default (WAL + busy timeout + BEGIN IMMEDIATE so two
processes share the file safely); PostgreSQL is used when DATABASE_URL says so (claims use
FOR UPDATE SKIP LOCKED). Times are stored as UTC epoch seconds: portable and exact to compare.

Pending and dead rows are never deleted: a dead event stays visible to staff through `stats()` and
`list_dead()`. Delivered rows leave after OUTBOX_RETENTION_DAYS (`purge_delivered`, run by the deliverer): the
receiver has them, and event bodies are health information.
`last_error` holds only our own short descriptions ("HTTP 503", "timeout"), never visitor text.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, Iterable, Optional

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.exc import IntegrityError

from bot.handoff.events import CRISIS_ALERT, format_timestamp, validate_event
from bot.handoff.signing import encode_event

TABLE_NAME = "outbox_events"
PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"
CRISIS_PRIORITY = 0  # lower is claimed first
DEFAULT_PRIORITY = 10
MAX_ERROR_CHARS = 300
SQLITE_BUSY_TIMEOUT_MS = 15000

_IS_SQLALCHEMY_14 = sa.__version__.startswith("1.")

metadata = sa.MetaData()
outbox_events = sa.Table(
    TABLE_NAME,
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("priority", sa.Integer, nullable=False),
    sa.Column("body", sa.LargeBinary, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),  # when enqueued; the dead horizon counts from here
    sa.Column("next_attempt_at", sa.Float, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("last_error", sa.String(MAX_ERROR_CHARS), nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
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


def _epoch(moment: datetime) -> float:
    if moment.tzinfo is None:  # naive datetimes are taken as UTC, like everywhere in the handoff
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _datetime(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=timezone.utc)


def _short_error(error: str) -> str:
    text = " ".join(str(error).split())
    return text[:MAX_ERROR_CHARS]


def _create_engine(database_url: str) -> sa.engine.Engine:
    url = sa.engine.make_url(database_url)
    # hide_parameters: a failed statement's exception text would otherwise carry the bound values, i.e. the
    # event body (visitor message, name, phone), into whatever logs it.
    kwargs: dict = {"hide_parameters": True, **({"future": True} if _IS_SQLALCHEMY_14 else {})}
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
        engine = sa.create_engine(url, **kwargs)
        _configure_sqlite(engine)
        return engine
    kwargs["pool_pre_ping"] = True
    return sa.create_engine(url, **kwargs)


def _configure_sqlite(engine: sa.engine.Engine) -> None:
    """WAL lets readers and one writer overlap; BEGIN IMMEDIATE takes the write lock up front so a claim's
    read-then-update never fails half way with SQLITE_BUSY (the SQLAlchemy pysqlite recipe)."""

    @sa_event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")  # enqueue is durable when it returns
        cursor.close()

    @sa_event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


class Outbox:
    def __init__(self, database_url: str) -> None:
        self._engine = _create_engine(database_url)
        self._is_postgres = self._engine.dialect.name == "postgresql"
        self._create_tables()

    def _create_tables(self) -> None:
        # Two processes starting together may both see "no table" and race; the loser retries and finds it.
        try:
            metadata.create_all(self._engine, checkfirst=True)
        except sa.exc.DBAPIError:
            time.sleep(0.2)
            metadata.create_all(self._engine, checkfirst=True)

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
        if limit <= 0:
            return []
        at = _epoch(now)
        table = outbox_events
        query = (
            sa.select(table.c.id, table.c.type, table.c.body, table.c.attempts, table.c.created_at, table.c.priority)
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
            OutboxItem(
                id=row.id,
                type=row.type,
                body=bytes(row.body),
                attempts=row.attempts,
                created_at=_datetime(row.created_at),
                priority=row.priority,
            )
            for row in rows
        ]

    def release(self, event_ids: Iterable[str], next_attempt_at: datetime) -> None:
        """Give back claimed events that were not attempted (shutdown, receiver already unreachable)."""
        ids = list(event_ids)
        if not ids:
            return
        with self._engine.begin() as conn:
            conn.execute(
                outbox_events.update()
                .where(outbox_events.c.id.in_(ids), outbox_events.c.status == PENDING)
                .values(next_attempt_at=_epoch(next_attempt_at))
            )

    def mark_delivered(self, event_id: str, now: datetime) -> None:
        # Also from dead: the receiver has it, which is what staff need to know.
        with self._engine.begin() as conn:
            conn.execute(
                outbox_events.update()
                .where(outbox_events.c.id == event_id, outbox_events.c.status != DELIVERED)
                .values(
                    status=DELIVERED, delivered_at=_epoch(now), attempts=outbox_events.c.attempts + 1, last_error=None
                )
            )

    def mark_failed(self, event_id: str, error: str, next_attempt_at: datetime) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                outbox_events.update()
                .where(outbox_events.c.id == event_id, outbox_events.c.status == PENDING)
                .values(
                    attempts=outbox_events.c.attempts + 1,
                    last_error=_short_error(error),
                    next_attempt_at=_epoch(next_attempt_at),
                )
            )

    def mark_dead(self, event_id: str, error: str) -> None:
        """Stop retrying (the last attempt failed past the horizon). The row stays for staff."""
        with self._engine.begin() as conn:
            conn.execute(
                outbox_events.update()
                .where(outbox_events.c.id == event_id, outbox_events.c.status == PENDING)
                .values(status=DEAD, attempts=outbox_events.c.attempts + 1, last_error=_short_error(error))
            )

    def purge_delivered(self, before: datetime) -> int:
        """Delete events delivered before `before`: the receiver has them, and their bodies are health
        information. Pending and dead events are never purged."""
        with self._engine.begin() as conn:
            result = conn.execute(
                outbox_events.delete().where(
                    outbox_events.c.status == DELIVERED, outbox_events.c.delivered_at < _epoch(before)
                )
            )
        return int(result.rowcount or 0)

    def stats(self) -> dict:
        """{"pending": n, "dead": n, "delivered": n, "oldest_pending_age_s": x} (x is 0.0 with nothing pending)."""
        table = outbox_events
        with self._engine.begin() as conn:
            rows = conn.execute(sa.select(table.c.status, sa.func.count()).group_by(table.c.status)).fetchall()
            counts: Dict[str, int] = {str(status): int(count) for status, count in rows}
            oldest: Optional[float] = conn.execute(
                sa.select(sa.func.min(table.c.created_at)).where(table.c.status == PENDING)
            ).scalar()
        return {
            PENDING: int(counts.get(PENDING, 0)),
            DEAD: int(counts.get(DEAD, 0)),
            DELIVERED: int(counts.get(DELIVERED, 0)),
            "oldest_pending_age_s": max(0.0, time.time() - oldest) if oldest is not None else 0.0,
        }

    def list_dead(self, limit: int = 100) -> list[dict]:
        """Dead events for staff, oldest first: id, type, created_at (ISO UTC), attempts, last_error."""
        table = outbox_events
        query = (
            sa.select(table.c.id, table.c.type, table.c.created_at, table.c.attempts, table.c.last_error)
            .where(table.c.status == DEAD)
            .order_by(table.c.created_at, table.c.id)
            .limit(max(0, int(limit)))
        )
        with self._engine.begin() as conn:
            rows = conn.execute(query).fetchall()
        return [
            {
                "id": row.id,
                "type": row.type,
                "created_at": format_timestamp(_datetime(row.created_at)),
                "attempts": row.attempts,
                "last_error": row.last_error,
            }
            for row in rows
        ]
