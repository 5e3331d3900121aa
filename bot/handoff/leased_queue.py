"""A durable retry queue on one SQLAlchemy Core table, claimed under a lease (SQLAlchemy 1.4 and 2.0).

The building block under the handoff outbox (bot.handoff.outbox) and the staff notifications
(bot.handoff.notification_store): each keeps its own table and columns, and both share this one way of
claiming, retrying and retiring rows.

A queue table has at least these columns: `id` (primary key), `status` (PENDING, DEAD or the queue's own done
status), `priority` (lower is claimed first), `created_at` (the dead horizon counts from here),
`next_attempt_at`, `attempts`, `last_error` and a done time column (when the row reached its done status).
Times are UTC epoch seconds: portable and exact to compare.

- `claim_due` leases due pending rows: their next_attempt_at moves to now + lease_s, so other workers skip them
  until then (a crashed worker's claims come back by themselves). PostgreSQL claims use FOR UPDATE SKIP LOCKED.
- `release` gives claimed rows back untried; `mark_failed` counts an attempt and sets the next one;
  `mark_dead` stops retrying (the row stays for staff); `mark_done` is the success, also from dead.
- Pending and dead rows are never deleted: `purge_done` removes only done rows older than a moment.

SQLite (the default) runs with WAL, a busy timeout and BEGIN IMMEDIATE, so several processes share the file
safely. `last_error` holds only our own short descriptions ("HTTP 503", "timeout"), never a body or an address.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Optional, Sequence

import sqlalchemy as sa
from sqlalchemy import event as sa_event

from bot.handoff.events import format_timestamp

PENDING, DEAD = "pending", "dead"
MAX_ERROR_CHARS = 300
SQLITE_BUSY_TIMEOUT_MS = 15000

_IS_SQLALCHEMY_14 = sa.__version__.startswith("1.")


def epoch(moment: datetime) -> float:
    if moment.tzinfo is None:  # naive datetimes are taken as UTC, like everywhere in the handoff
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def as_datetime(epoch_s: float) -> datetime:
    return datetime.fromtimestamp(epoch_s, tz=timezone.utc)


def short_error(error: str) -> str:
    return " ".join(str(error).split())[:MAX_ERROR_CHARS]


def create_engine(database_url: str) -> sa.engine.Engine:
    """An engine for a queue's database: SQLite made safe for several processes, PostgreSQL with pre-ping."""
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
        cursor.execute("PRAGMA synchronous = FULL")  # a write is durable when it returns
        cursor.close()

    @sa_event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def retry_columns() -> list[sa.Column]:
    """New columns each call (a Column belongs to one table): created_at (the dead horizon counts from here),
    next_attempt_at, attempts, last_error, status, in the order the existing tables were made with."""
    return [
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("next_attempt_at", sa.Float, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, default=0),
        sa.Column("last_error", sa.String(MAX_ERROR_CHARS), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
    ]


def create_tables(create: Callable[[], None]) -> None:
    """Run `create` (a checkfirst create). Two processes starting together may both see "no table" and race;
    the loser retries and finds it."""
    try:
        create()
    except sa.exc.DBAPIError:
        time.sleep(0.2)
        create()


class LeasedQueue:
    """The leased retry operations on one queue table (see the module docstring for the columns it needs)."""

    def __init__(self, engine: sa.engine.Engine, table: sa.Table, done_status: str, done_at: str) -> None:
        self._engine = engine
        self._table = table
        self._done_status = done_status
        self._done_at = done_at
        self._is_postgres = engine.dialect.name == "postgresql"

    def claim_due(self, now: datetime, limit: int, lease_s: float, columns: Sequence[Any]) -> list[Any]:
        """Up to `limit` pending rows due at `now` (their `columns`), lowest priority first, then oldest first,
        each leased until now + lease_s."""
        if limit <= 0:
            return []
        at = epoch(now)
        table = self._table
        query = (
            sa.select(*columns)
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
        return list(rows)

    def release(self, ids: Iterable[str], next_attempt_at: datetime) -> None:
        """Give back claimed rows that were not attempted (shutdown, their receiver already unreachable)."""
        ids = list(ids)
        if not ids:
            return
        self._update_pending(self._table.c.id.in_(ids), next_attempt_at=epoch(next_attempt_at))

    def mark_done(self, row_id: str, now: datetime, **values: Any) -> None:
        """The attempt succeeded; also from dead (it did arrive, which is what staff need to know). `values`
        are the queue's own extra columns to set."""
        table = self._table
        with self._engine.begin() as conn:
            conn.execute(
                table.update()
                .where(table.c.id == row_id, table.c.status != self._done_status)
                .values(
                    {
                        "status": self._done_status,
                        self._done_at: epoch(now),
                        "attempts": table.c.attempts + 1,
                        "last_error": None,
                        **values,
                    }
                )
            )

    def mark_failed(self, row_id: str, error: str, next_attempt_at: datetime) -> None:
        self._update_pending(
            self._table.c.id == row_id,
            attempts=self._table.c.attempts + 1,
            last_error=short_error(error),
            next_attempt_at=epoch(next_attempt_at),
        )

    def mark_dead(self, row_id: str, error: str) -> None:
        """Stop retrying (the last attempt failed past the horizon). The row stays for staff."""
        self._update_pending(
            self._table.c.id == row_id, status=DEAD, attempts=self._table.c.attempts + 1, last_error=short_error(error)
        )

    def _update_pending(self, which: Any, **values: Any) -> None:
        table = self._table
        with self._engine.begin() as conn:
            conn.execute(table.update().where(which, table.c.status == PENDING).values(**values))

    def purge_done(self, conn: sa.engine.Connection, before: datetime) -> int:
        """Delete rows done before `before` (in the caller's transaction). Pending and dead rows stay."""
        table = self._table
        result = conn.execute(
            table.delete().where(table.c.status == self._done_status, table.c[self._done_at] < epoch(before))
        )
        return int(result.rowcount or 0)

    def status_counts(self, conn: sa.engine.Connection) -> Dict[str, int]:
        """How many rows in each status: PENDING, DEAD and the done status (0 for none)."""
        table = self._table
        rows = conn.execute(sa.select(table.c.status, sa.func.count()).group_by(table.c.status)).fetchall()
        counts = {str(status): int(count) for status, count in rows}
        return {status: int(counts.get(status, 0)) for status in (PENDING, DEAD, self._done_status)}

    def oldest_pending_age_s(self, conn: sa.engine.Connection) -> float:
        """Seconds since the oldest pending row was created (0.0 with nothing pending)."""
        table = self._table
        oldest: Optional[float] = conn.execute(
            sa.select(sa.func.min(table.c.created_at)).where(table.c.status == PENDING)
        ).scalar()
        return max(0.0, time.time() - oldest) if oldest is not None else 0.0

    def list_dead(self, columns: Sequence[Any], limit: int) -> list[dict]:
        """Dead rows for staff, oldest first: a dict of `columns` each, created_at as ISO UTC."""
        table = self._table
        query = (
            sa.select(*columns)
            .where(table.c.status == DEAD)
            .order_by(table.c.created_at, table.c.id)
            .limit(max(0, int(limit)))
        )
        with self._engine.begin() as conn:
            rows = conn.execute(query).fetchall()
        return [
            {
                key: format_timestamp(as_datetime(value)) if key == "created_at" else value
                for key, value in row._mapping.items()
            }
            for row in rows
        ]
