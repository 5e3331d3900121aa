"""Rasa's tracker stores as this project runs them.

`UrlSQLTrackerStore` (named in endpoints.yml, `url: ${TRACKER_STORE_URL}`) is Rasa's SQL tracker store built from
one SQLAlchemy URL: PostgreSQL in production (several Rasa instances share it), SQLite in DATA_DIR by default (so
a conversation survives a restart). Rasa's store is kept as it is (its `events` table, its save and retrieve);
only the engine differs: it is created with `hide_parameters=True` and keeps only the first line of a database
error's message, so a failed statement's error text (which Rasa's fail-safe wrapper logs) never carries the
bound values or the row PostgreSQL refused, i.e. the event JSON with what the visitor typed.

`ExpiringInMemoryTrackerStore` below is the former embedded default, still usable (name it in endpoints.yml):

Chat transcripts are health information. The stock InMemoryTrackerStore keeps every conversation until the
process stops; this one drops a conversation `retention_minutes` after its last message (default 24 h, from
TRANSCRIPT_RETENTION_MINUTES). Leads and alerts live on in the outbox and inbox, not here.

Memory is bounded: at most `max_conversations` conversations (TRACKER_MAX_CONVERSATIONS, default 10,000) are
kept, the least recently active leaving first, and the expiry check looks only at the oldest entries (the
conversations are kept in order of last activity), not at every key on every message.

"Delete my data" erases a conversation at once (rasa_ext/erasure.py, mixed in here).

Named in endpoints.yml, it would take `retention_minutes: ${TRANSCRIPT_RETENTION_MINUTES}`; Rasa's substitution
yields a string.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, Optional, Union

import sqlalchemy as sa
import sqlalchemy.orm
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import InMemoryTrackerStore, SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.dialects.postgresql import aggregate_order_by

from rasa_ext.erasure import ErasureMixin

DEFAULT_RETENTION_MINUTES = 24 * 60
DEFAULT_MAX_CONVERSATIONS = 10_000


# A server message's value in quotes, as in `invalid input syntax for type integer: "<value>"`.
_QUOTED_VALUE = re.compile(r'(:\s*)"[^"]*"\s*$')


def _primary_line(text: str) -> str:
    first = text.splitlines()[0] if text else text
    return _QUOTED_VALUE.sub(r'\1"..."', first)


def _keep_values_out_of_server_messages(context: Any) -> None:
    """SQLAlchemy's handle_error hook: PostgreSQL's message can quote the row it refused (`DETAIL:  Failing row
    contains (...)`, after a constraint violation) or a value it could not read; hide_parameters cannot hide
    those. Only the message's first line stays (the error's class and SQLSTATE are untouched), so neither the
    raised exception nor Rasa's fail-safe wrapper, which logs it, carries what a visitor typed."""
    for error in (context.sqlalchemy_exception, context.original_exception):
        if error is not None and error.args and isinstance(error.args[0], str):
            error.args = (_primary_line(error.args[0]), *error.args[1:])


def sql_engine(url: str) -> sa.engine.Engine:
    """The engine Rasa's SQLTrackerStore would make for `url` (its PostgreSQL pool sizes and POSTGRESQL_SCHEMA
    search path), with bound parameters and the server's quotes of them kept out of every error message."""
    engine = sa.create_engine(url, hide_parameters=True, **create_engine_kwargs(url))
    sa.event.listen(engine, "handle_error", _keep_values_out_of_server_messages)
    return engine


def _private_sqlite_file(url: str) -> None:
    """An SQLite file of conversations is health information: made 0600 (in a 0700 directory) before SQLite
    would create it under whatever umask this process has."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return
    path = Path(parsed.database)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))


class UrlSQLTrackerStore(ErasureMixin, SQLTrackerStore):
    """Rasa's SQLTrackerStore from one SQLAlchemy URL (`postgresql://user@host:5432/db`, `sqlite:////path.db`).

    Rasa passes endpoints.yml's `url` as `host`, and Rasa's own __init__ takes a URL there as it is: it connects
    (waiting for a database still starting) and creates the `events` table, tolerating another instance doing
    so at the same moment. Its engine is then swapped, before any conversation goes through it, for one made
    with hide_parameters=True that keeps values out of error messages (`sql_engine`). Saving and retrieving
    are SQLTrackerStore's own, and __init__ goes through super(), so rasa_ext.erasure.ErasureMixin composes:
    a save after "delete my data" deletes the conversation's rows instead.

    Cost: Rasa's retrieve reads every event of the conversation's current session on every turn (and save
    counts them again), so a turn's store work grows with the session's length. On PostgreSQL `retrieve` keeps,
    per process, the rows it read (`_RowCache`) and then reads only the rows written since, in one statement
    that also proves nothing else changed (see `_retrieve_cached`), and save counts the stored rows from the
    same proven rows (`_additional_events`); the tracker is still rebuilt from fresh JSON by Rasa's own
    `from_dict`, so it is the tracker the stock read would give (docs/performance.md, "The SQL tracker store"). SQLite reuses a deleted
    conversation's row ids, which would defeat the proof: there the stock read runs every time.
    """

    engine: sa.engine.Engine
    row_cache: Optional[_RowCache] = None

    def __init__(
        self,
        domain: Optional[Domain] = None,
        url: Optional[str] = None,
        host: Optional[str] = None,
        event_broker: Optional[EventBroker] = None,
        cache_conversations: Union[int, str, None] = None,
        **kwargs: Any,
    ) -> None:
        engine_url = (url or host or "").strip()
        if "://" not in engine_url:
            raise ValueError("the tracker store needs a url: postgresql://... or sqlite:///... (TRACKER_STORE_URL)")
        _private_sqlite_file(engine_url)
        super().__init__(domain, host=engine_url, event_broker=event_broker, **kwargs)
        self.engine.dispose()  # Rasa's, made without hide_parameters: only its table creation went through it
        self.engine = sql_engine(engine_url)
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
        if self.engine.dialect.name == "postgresql":
            self.row_cache = _RowCache(cache_size(cache_conversations))

    async def retrieve(self, sender_id: str) -> Optional[DialogueStateTracker]:
        if self.row_cache is None:
            return await super().retrieve(sender_id)
        rows = self._current_session_rows(sender_id, self.row_cache)
        if not rows or not self.domain:
            return None  # what Rasa's _retrieve gives for no rows (or no domain)
        events = [json.loads(data) for data in rows]
        return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)

    def _additional_events(self, session: Any, tracker: DialogueStateTracker) -> Iterator:
        """The tracker's events not stored yet: Rasa counts the current session's rows (a slow query, by
        timestamp); with the cache the count is that of the same rows, proven current as in retrieve."""
        if self.row_cache is None:
            return super()._additional_events(session, tracker)
        stored = len(self._current_session_rows(tracker.sender_id, self.row_cache))
        return itertools.islice(tracker.events, stored, len(tracker.events))

    async def erase(self, sender_id: str) -> None:
        if self.row_cache is not None:
            self.row_cache.forget(sender_id)
        await super().erase(sender_id)

    def _current_session_rows(self, sender_id: str, cache: _RowCache) -> list[str]:
        """The `data` of the rows Rasa's `_event_query` (current session, by id) gives now, from the cache when
        it can be proven current, else read in full (and cached)."""
        cached = cache.get(sender_id)
        if cached is not None:
            rows = self._retrieve_cached(sender_id, cached, cache)
            if rows is not None:
                return rows
            cache.forget(sender_id)
        return self._retrieve_full(sender_id, cache)

    def _all_ids(self, sender_id: str, up_to: Optional[int] = None) -> Any:
        """A scalar subquery: the ids of all the sender's rows (every session's; up to `up_to`), ascending."""
        event = self.SQLEvent
        where = [event.sender_id == sender_id] + ([event.id <= up_to] if up_to is not None else [])
        return sa.select(sa.func.array_agg(aggregate_order_by(event.id, event.id))).where(*where).scalar_subquery()

    def _retrieve_full(self, sender_id: str, cache: _RowCache) -> list[str]:
        """Rasa's own query (`_event_query`: the current session's rows, by id) with, in the same statement (one
        snapshot), the ids of all the sender's rows, every session's, and the session's start (the latest
        SessionStarted's timestamp, by which Rasa's query filters)."""
        event = self.SQLEvent
        start = (
            sa.select(sa.func.max(event.timestamp))
            .where(event.sender_id == sender_id, event.type_name == SessionStarted.type_name)
            .scalar_subquery()
        )
        with self.session_scope() as session:
            query = self._event_query(session, sender_id, fetch_events_from_all_sessions=False)
            result = query.with_entities(event.data, self._all_ids(sender_id), start).all()
        if not result:
            return []
        data = [row[0] for row in result]
        _, ids, session_start = result[0]
        cache.put(sender_id, _Cached(data, tuple(ids), session_start))
        return data

    def _retrieve_cached(self, sender_id: str, cached: _Cached, cache: _RowCache) -> Optional[list[str]]:
        """The current session's rows as the cache plus the rows written since, or None (read in full).

        One statement (one snapshot): the ids of all the sender's rows up to the highest id cached, left-joined
        to the sender's rows above it. Rasa only inserts rows, never updates one (nor does this project), and a
        PostgreSQL sequence never hands out an id again: the same ids are the same rows, so the cache is current
        exactly when those ids are the ones cached (a purge, an erase, a row committed late: anything else
        changes them). New rows then follow the cached ones (ids order events, as in Rasa's query) when Rasa's
        session filter (by timestamp) keeps them and the session start stays: not when one starts a session,
        or is older than the session's start or has no timestamp (another instance's clock): then the full
        read decides.
        """
        new = self.SQLEvent.__table__.alias("new_rows")
        known = sa.select(self._all_ids(sender_id, up_to=cached.ids[-1]).label("ids")).subquery()
        statement = (
            sa.select(known.c.ids, new.c.id, new.c.type_name, new.c.timestamp, new.c.data)
            .select_from(known.outerjoin(new, sa.and_(new.c.sender_id == sender_id, new.c.id > cached.ids[-1])))
            .order_by(new.c.id)
        )
        with self.session_scope() as session:
            result = session.execute(statement).all()
        if tuple(result[0][0] or ()) != cached.ids:
            return None
        added = [row for row in result if row[1] is not None]
        if any(not cached.follows(type_name, timestamp) for _, _, type_name, timestamp, _ in added):
            return None
        if added:
            ids = cached.ids + tuple(row[1] for row in added)
            cached = _Cached(cached.data + [row[4] for row in added], ids, cached.start)
            cache.put(sender_id, cached)
        return list(cached.data)


# The conversations whose rows one process keeps (least recently read leave first). A finished screening is
# about 390 rows, ~200 kB of JSON text: 1,000 conversations bound the cache near 200 MB, and hold every
# conversation active at once at the loads measured (docs/performance.md); a conversation not held is read in
# full, as Rasa does.
DEFAULT_CACHE_CONVERSATIONS = 1_000


def positive_count(name: str, configured: Union[int, str, None], default: int) -> int:
    """An endpoints.yml count (a number, or the string a substitution gives; empty: `default`), at least 1."""
    if configured is None or (isinstance(configured, str) and not configured.strip()):
        return default
    try:
        value = int(configured)
    except ValueError as exc:
        raise ValueError(f"{name} must be a whole number, got {configured!r}") from exc
    if value < 1:
        raise ValueError(f"{name} must be at least 1")
    return value


def cache_size(configured: Union[int, str, None]) -> int:
    """endpoints.yml's `cache_conversations`."""
    return positive_count("cache_conversations", configured, DEFAULT_CACHE_CONVERSATIONS)


class _Cached:
    """A conversation's current-session rows (`data`, by id); the ids of all its rows then (every session's,
    ascending); the session's start (the latest SessionStarted's timestamp, None when there is none)."""

    __slots__ = ("data", "ids", "start")

    def __init__(self, data: list[str], ids: tuple[int, ...], start: Optional[float]) -> None:
        self.data = data
        self.ids = ids
        self.start = start

    def follows(self, type_name: str, timestamp: Optional[float]) -> bool:
        """Whether a new row joins this session as Rasa's query would have it (`timestamp >= session start`, or
        no session start at all), the session start unchanged."""
        if type_name == SessionStarted.type_name:
            return False
        if self.start is None:
            return True
        return timestamp is not None and timestamp >= self.start


class _RowCache:
    """sender id -> _Cached, at most `size` conversations, the least recently used leaving first."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("cache_conversations must be at least 1")
        self.size = size
        self.entries: OrderedDict[str, _Cached] = OrderedDict()

    def get(self, sender_id: str) -> Optional[_Cached]:
        cached = self.entries.get(sender_id)
        if cached is not None:
            self.entries.move_to_end(sender_id)
        return cached

    def put(self, sender_id: str, cached: _Cached) -> None:
        self.entries[sender_id] = cached
        self.entries.move_to_end(sender_id)
        while len(self.entries) > self.size:
            self.entries.popitem(last=False)

    def forget(self, sender_id: str) -> None:
        self.entries.pop(sender_id, None)


def max_conversations_setting(configured: Union[int, str, None]) -> int:
    raw = configured if configured not in (None, "") else os.environ.get("TRACKER_MAX_CONVERSATIONS", "")
    return positive_count("max_conversations", raw, DEFAULT_MAX_CONVERSATIONS)


def retention_seconds(retention_minutes: Union[float, int, str, None]) -> float:
    """Minutes as configured (a number, or the string endpoints.yml's substitution gives) to seconds.
    Empty means the default, as everywhere in the settings; anything else unusable stops start-up."""
    if retention_minutes is None or (isinstance(retention_minutes, str) and not retention_minutes.strip()):
        return DEFAULT_RETENTION_MINUTES * 60.0
    try:
        return float(retention_minutes) * 60.0
    except ValueError as exc:
        raise ValueError(f"retention_minutes must be a number of minutes, got {retention_minutes!r}") from exc


class _ExpiringInMemoryTrackerStore(InMemoryTrackerStore):
    def __init__(
        self,
        domain: Domain,
        event_broker: Optional[EventBroker] = None,
        retention_minutes: Union[float, int, str, None] = DEFAULT_RETENTION_MINUTES,
        clock: Callable[[], float] = time.monotonic,
        max_conversations: Union[int, str, None] = None,
        **kwargs: Dict[str, Any],
    ) -> None:
        kwargs.pop("host", None)
        super().__init__(domain, event_broker, **kwargs)
        self.retention_s = retention_seconds(retention_minutes)
        self.max_conversations = max_conversations_setting(max_conversations)
        self.clock = clock
        # sender id -> last activity, least recently active first (a save moves its conversation to the end).
        self.last_seen: OrderedDict[str, float] = OrderedDict()

    def _forget(self, sender_id: str) -> None:
        self.store.pop(sender_id, None)
        self.last_seen.pop(sender_id, None)

    def _forget_idle(self) -> None:
        """Drop idle conversations from the front: stops at the first one still in use (O(expired), not O(n))."""
        now = self.clock()
        while self.last_seen:
            sender_id, seen = next(iter(self.last_seen.items()))
            if now - seen <= self.retention_s:
                break
            self._forget(sender_id)

    async def save(self, tracker: DialogueStateTracker) -> None:
        self._forget_idle()
        await super().save(tracker)
        self.last_seen[tracker.sender_id] = self.clock()
        self.last_seen.move_to_end(tracker.sender_id)
        while len(self.last_seen) > self.max_conversations:
            self._forget(next(iter(self.last_seen)))  # the least recently active conversation

    async def retrieve(self, sender_id: str) -> Optional[DialogueStateTracker]:
        self._forget_idle()
        return await super().retrieve(sender_id)

    async def retrieve_full_tracker(self, sender_id: str) -> Optional[DialogueStateTracker]:
        self._forget_idle()
        return await super().retrieve_full_tracker(sender_id)

    async def keys(self) -> Iterable[str]:
        self._forget_idle()
        return await super().keys()


class ExpiringInMemoryTrackerStore(ErasureMixin, _ExpiringInMemoryTrackerStore):
    """The in-memory store with expiry and "delete my data" (the name endpoints.yml uses)."""

    async def erase(self, sender_id: str) -> None:
        self._forget(sender_id)
