"""The inbox's tables (SQLAlchemy Core, works on 1.4 and 2.0, SQLite and PostgreSQL).

- `inbox_events`: every delivered event once, keyed by its Idempotency-Key, with the staff-facing status.
- `inbox_received_ids`: the id of every event ever stored, kept after retention purges the event, so a replay of
  a purged event is still a duplicate (an id and a time only: no health information).
- `inbox_status_changes`: who moved an event from which status to which, and when.
- `inbox_sessions`: server-side staff sessions (only a hash of the cookie token is stored), with when each was
  last used (idle timeout) and which password it was opened with (a new password hash revokes it).

All methods are synchronous; the web app calls them in a worker thread.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import StaticPool

from services.inbox.events import initial_status, statuses_for

metadata = sa.MetaData()

inbox_events = sa.Table(
    "inbox_events",
    metadata,
    sa.Column("id", sa.String(200), primary_key=True),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("received_at", sa.Float, nullable=False),
    sa.Column("created_at", sa.String(64), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Index("ix_inbox_events_type_received", "type", "received_at"),
)

inbox_received_ids = sa.Table(
    "inbox_received_ids",
    metadata,
    sa.Column("id", sa.String(200), primary_key=True),
    sa.Column("received_at", sa.Float, nullable=False),
)

inbox_status_changes = sa.Table(
    "inbox_status_changes",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(200), sa.ForeignKey("inbox_events.id"), nullable=False, index=True),
    sa.Column("from_status", sa.String(32), nullable=False),
    sa.Column("to_status", sa.String(32), nullable=False),
    sa.Column("changed_by", sa.String(200), nullable=False),
    sa.Column("changed_at", sa.Float, nullable=False),
)

inbox_sessions = sa.Table(
    "inbox_sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("username", sa.String(200), nullable=False),
    sa.Column("csrf_token", sa.String(128), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False, index=True),
    sa.Column("last_seen_at", sa.Float, nullable=False, server_default="0"),
    sa.Column("credential", sa.String(64), nullable=False, server_default=""),
)
# Added to inbox_sessions after it first shipped; create_tables adds them to an older table (old rows get the
# defaults, so their sessions count as idle and opened with no known password: signed out once).
_SESSION_COLUMNS_ADDED = ("last_seen_at", "credential")


@dataclass(frozen=True)
class StoredEvent:
    id: str
    type: str
    received_at: float
    created_at: str
    status: str
    body: dict


@dataclass(frozen=True)
class StatusChange:
    event_id: str
    from_status: str
    to_status: str
    changed_by: str
    changed_at: float


@dataclass(frozen=True)
class StaffSession:
    username: str
    csrf_token: str
    expires_at: float
    last_seen_at: float = 0.0
    credential: str = ""


class UnknownStatus(ValueError):
    """The requested status does not exist for this kind of event."""


def make_engine(database_url: str) -> sa.engine.Engine:
    if database_url.startswith("sqlite"):
        # Handlers run store calls in worker threads; SQLite must allow that, and wait for other writers
        # (the outbox in the action server shares the file) instead of failing at once.
        connect_args = {"check_same_thread": False, "timeout": 15}
        if database_url in ("sqlite://", "sqlite:///:memory:"):
            return sa.create_engine(database_url, connect_args=connect_args, poolclass=StaticPool, hide_parameters=True)
        return sa.create_engine(database_url, connect_args=connect_args, hide_parameters=True)
    # hide_parameters: a failed write's exception text never carries an event body (health information).
    return sa.create_engine(database_url, pool_pre_ping=True, hide_parameters=True)


def _to_event(row: Any) -> StoredEvent:
    m = row._mapping
    try:
        body = json.loads(m["body"])
    except ValueError:
        body = {}
    return StoredEvent(
        id=m["id"],
        type=m["type"],
        received_at=float(m["received_at"]),
        created_at=m["created_at"],
        status=m["status"],
        body=body if isinstance(body, dict) else {},
    )


class InboxStore:
    def __init__(self, database_url: str, *, engine: Optional[sa.engine.Engine] = None) -> None:
        self.engine = engine or make_engine(database_url)

    def create_tables(self) -> None:
        metadata.create_all(self.engine)
        self._add_missing_session_columns()
        self._backfill_received_ids()

    def _add_missing_session_columns(self) -> None:
        present = {column["name"] for column in sa.inspect(self.engine).get_columns("inbox_sessions")}
        with self.engine.begin() as conn:
            for name in _SESSION_COLUMNS_ADDED:
                if name not in present:
                    column = inbox_sessions.c[name]
                    ddl = sa.schema.CreateColumn(column).compile(dialect=self.engine.dialect)
                    conn.execute(sa.text(f"ALTER TABLE inbox_sessions ADD COLUMN {ddl}"))

    def _backfill_received_ids(self) -> None:
        """Events stored before the tombstone table existed get their tombstone (once; then a no-op)."""
        missing = sa.select(inbox_events.c.id, inbox_events.c.received_at).where(
            ~sa.exists().where(inbox_received_ids.c.id == inbox_events.c.id)
        )
        with self.engine.begin() as conn:
            conn.execute(inbox_received_ids.insert().from_select(["id", "received_at"], missing))

    def dispose(self) -> None:
        self.engine.dispose()

    # events -------------------------------------------------------------------------------------------------
    def add_event(
        self, event_id: str, event_type: str, created_at: str, body: dict, received_at: Optional[float] = None
    ) -> bool:
        """Store an event once; False when this id was ever stored before, even if retention purged it since
        (its tombstone in inbox_received_ids stays)."""
        received = time.time() if received_at is None else received_at
        values = {
            "id": event_id,
            "type": event_type,
            "received_at": received,
            "created_at": created_at,
            "body": json.dumps(body, ensure_ascii=False, sort_keys=True),
            "status": initial_status(event_type),
        }
        try:
            with self.engine.begin() as conn:
                conn.execute(inbox_received_ids.insert().values(id=event_id, received_at=received))
                conn.execute(inbox_events.insert().values(**values))
        except IntegrityError:
            return False
        return True

    def get_event(self, event_id: str) -> Optional[StoredEvent]:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(inbox_events).where(inbox_events.c.id == event_id)).first()
        return _to_event(row) if row is not None else None

    def list_events(self, types: Sequence[str], status: Optional[str] = None, limit: int = 1000) -> list[StoredEvent]:
        """Events of these types, newest first."""
        query = sa.select(inbox_events).where(inbox_events.c.type.in_(list(types)))
        if status:
            query = query.where(inbox_events.c.status == status)
        query = query.order_by(inbox_events.c.received_at.desc(), inbox_events.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [_to_event(row) for row in conn.execute(query)]

    def change_status(
        self, event_id: str, to_status: str, changed_by: str, at: Optional[float] = None
    ) -> Optional[StatusChange]:
        """Move an event to a new status and record who did it; None when the event does not exist."""
        changed_at = time.time() if at is None else at
        with self.engine.begin() as conn:
            row = conn.execute(
                sa.select(inbox_events.c.type, inbox_events.c.status)
                .where(inbox_events.c.id == event_id)
                .with_for_update()
            ).first()
            if row is None:
                return None
            event_type, from_status = row._mapping["type"], row._mapping["status"]
            if to_status not in statuses_for(event_type):
                raise UnknownStatus(to_status)
            conn.execute(inbox_events.update().where(inbox_events.c.id == event_id).values(status=to_status))
            change = StatusChange(event_id, from_status, to_status, changed_by, changed_at)
            conn.execute(
                inbox_status_changes.insert().values(
                    event_id=event_id,
                    from_status=from_status,
                    to_status=to_status,
                    changed_by=changed_by,
                    changed_at=changed_at,
                )
            )
        return change

    def status_history(self, event_id: str) -> list[StatusChange]:
        query = (
            sa.select(inbox_status_changes)
            .where(inbox_status_changes.c.event_id == event_id)
            .order_by(inbox_status_changes.c.seq)
        )
        with self.engine.connect() as conn:
            return [
                StatusChange(
                    event_id=m["event_id"],
                    from_status=m["from_status"],
                    to_status=m["to_status"],
                    changed_by=m["changed_by"],
                    changed_at=float(m["changed_at"]),
                )
                for m in (row._mapping for row in conn.execute(query))
            ]

    # sessions -----------------------------------------------------------------------------------------------
    def create_session(
        self,
        token_hash: str,
        username: str,
        csrf_token: str,
        expires_at: float,
        credential: str = "",
        now: Optional[float] = None,
    ) -> None:
        current = time.time() if now is None else now
        with self.engine.begin() as conn:
            conn.execute(inbox_sessions.delete().where(inbox_sessions.c.expires_at < current))
            conn.execute(
                inbox_sessions.insert().values(
                    token_hash=token_hash,
                    username=username,
                    csrf_token=csrf_token,
                    created_at=current,
                    expires_at=expires_at,
                    last_seen_at=current,
                    credential=credential,
                )
            )

    def get_session(self, token_hash: str, now: Optional[float] = None) -> Optional[StaffSession]:
        """The session as stored, or None when unknown or past its absolute expiry (the caller checks idleness
        and the credential: auth.session_is_live)."""
        current = time.time() if now is None else now
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(inbox_sessions).where(inbox_sessions.c.token_hash == token_hash)).first()
        if row is None or float(row._mapping["expires_at"]) <= current:
            return None
        m = row._mapping
        return StaffSession(
            username=m["username"],
            csrf_token=m["csrf_token"],
            expires_at=float(m["expires_at"]),
            last_seen_at=float(m["last_seen_at"]),
            credential=m["credential"],
        )

    def touch_session(self, token_hash: str, now: Optional[float] = None) -> None:
        current = time.time() if now is None else now
        with self.engine.begin() as conn:
            conn.execute(
                inbox_sessions.update().where(inbox_sessions.c.token_hash == token_hash).values(last_seen_at=current)
            )

    def rebind_sessions(self, old_credential: str, new_credential: str) -> None:
        """The same password re-hashed (a cost upgrade): its sessions stay signed in."""
        with self.engine.begin() as conn:
            conn.execute(
                inbox_sessions.update()
                .where(inbox_sessions.c.credential == old_credential)
                .values(credential=new_credential)
            )

    def delete_sessions_not_opened_with(self, credential: str) -> int:
        """Revoke every session opened with another password (at start, after the hash changed)."""
        with self.engine.begin() as conn:
            result = conn.execute(inbox_sessions.delete().where(inbox_sessions.c.credential != credential))
        return int(result.rowcount or 0)

    def purge_closed(self, before: float) -> int:
        """Delete closed leads and alerts received before `before` (epoch seconds), with their history. Their
        ids stay in inbox_received_ids, so a replay of one is still a duplicate."""
        closed_old = sa.select(inbox_events.c.id).where(
            inbox_events.c.status == "closed", inbox_events.c.received_at < before
        )
        with self.engine.begin() as conn:
            ids = [row[0] for row in conn.execute(closed_old)]
            if not ids:
                return 0
            conn.execute(inbox_status_changes.delete().where(inbox_status_changes.c.event_id.in_(ids)))
            conn.execute(inbox_events.delete().where(inbox_events.c.id.in_(ids)))
        return len(ids)

    def delete_session(self, token_hash: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(inbox_sessions.delete().where(inbox_sessions.c.token_hash == token_hash))
