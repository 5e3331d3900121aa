"""The retention job: conversations idle for RETENTION_DAYS leave the tracker store, delivered events the outbox.

`make purge` (`python -m services.purge`) runs it once and prints the counts (never an identifier). `make run`
runs it every PURGE_INTERVAL_MINUTES inside the deliverer (services/deliverer.py `_serve` -> `run_forever`).

- Tracker store (TRACKER_STORE_URL; unset: sqlite:///$DATA_DIR/conversations.db): Rasa's SQL tracker store
  keeps one row per event in its `events` table (sender_id, timestamp as epoch seconds, ...). A conversation's
  last activity is its newest event; every row of a conversation whose newest event is older than the cutoff
  is deleted (all its sessions). A SQLite file that does not exist yet, or a database without that table, has
  nothing to purge (the in-memory store forgets conversations by itself, rasa_ext/tracker_store.py).
- Outbox (DATABASE_URL): events delivered before the cutoff (bot/handoff/outbox.py `purge_delivered`); pending
  and dead events stay.

On a schedule the cutoff is moved one interval earlier, so that nothing outlives its period between two runs:
the privacy note's "we delete this chat 24 hours after your last message" is then an upper bound. `make purge`
uses the periods as configured. Services environment (SQLAlchemy 2).
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Optional

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bot.handoff.outbox import Outbox
from bot.settings import Settings

logger = logging.getLogger(__name__)

EVENTS_TABLE = "events"  # Rasa's SQLTrackerStore


@dataclass(frozen=True)
class PurgeCounts:
    conversations: int
    tracker_events: int
    outbox_events: int

    def line(self) -> str:
        return (
            f"purged {self.conversations} conversations ({self.tracker_events} tracker events) "
            f"and {self.outbox_events} delivered outbox events"
        )


def _sqlite_file_missing(url: str) -> bool:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return False
    database = parsed.database or ""
    return database in ("", ":memory:") or not Path(database).exists()


def purge_conversations(tracker_store_url: str, before_epoch: float) -> tuple[int, int]:
    """Delete every conversation whose newest event is older than `before_epoch`: (conversations, rows)."""
    if _sqlite_file_missing(tracker_store_url):
        return 0, 0  # never creates an empty database file
    engine = sa.create_engine(tracker_store_url)
    try:
        if not sa.inspect(engine).has_table(EVENTS_TABLE):
            return 0, 0
        events = sa.Table(EVENTS_TABLE, sa.MetaData(), autoload_with=engine)
        idle = (
            sa.select(events.c.sender_id)
            .group_by(events.c.sender_id)
            .having(sa.func.max(events.c.timestamp) < before_epoch)
        )
        with engine.begin() as conn:
            # One statement, in one transaction: a conversation that gets a new message meanwhile is not idle.
            senders = conn.execute(sa.select(sa.func.count()).select_from(idle.subquery())).scalar_one()
            rows = conn.execute(events.delete().where(events.c.sender_id.in_(idle))).rowcount
        return int(senders), int(rows or 0)
    finally:
        engine.dispose()


def purge_once(settings: Settings, now: Optional[float] = None, lead_s: float = 0.0) -> PurgeCounts:
    """Both purges; `lead_s` moves the cutoffs earlier (the schedule's interval, see the module docstring)."""
    now = time.time() if now is None else now
    conversation_cutoff = now - settings.transcript_retention_minutes * 60.0 + lead_s
    conversations, rows = purge_conversations(settings.tracker_store_url, conversation_cutoff)
    outbox_cutoff = now - settings.outbox_retention_days * 86400.0 + lead_s
    outbox = Outbox(settings.database_url)
    try:
        delivered = outbox.purge_delivered(before=datetime.fromtimestamp(outbox_cutoff, tz=timezone.utc))
    finally:
        outbox.close()
    return PurgeCounts(conversations, rows, delivered)


def schedule_lead_s(settings: Settings) -> float:
    """One interval, but never more than half of the shortest period (a short retention keeps active chats)."""
    shortest = min(settings.transcript_retention_minutes * 60.0, settings.outbox_retention_days * 86400.0)
    return min(settings.purge_interval_minutes * 60.0, shortest / 2.0)


async def run_forever(
    settings: Settings, stop: asyncio.Event, clock: Callable[[], float] = time.time, purge=purge_once
) -> None:
    """Purge now, then every PURGE_INTERVAL_MINUTES until `stop` is set. Counts only in the log; a failure is
    one line naming the error's type (a URL can carry a password) and the next round tries again."""
    lead_s = schedule_lead_s(settings)
    while not stop.is_set():
        try:
            counts = await asyncio.to_thread(purge, settings, clock(), lead_s)
            if counts.conversations or counts.outbox_events:
                logger.info("retention: %s", counts.line())
        except Exception as exc:  # noqa: BLE001 - keep delivering; try again next round
            logger.warning("retention purge failed (%s)", type(exc).__name__)
        try:
            await asyncio.wait_for(stop.wait(), timeout=settings.purge_interval_minutes * 60.0)
        except asyncio.TimeoutError:
            pass


def main() -> int:
    from bot.settings import load_settings

    settings = load_settings()
    try:
        counts = purge_once(settings)
    except Exception as exc:  # noqa: BLE001 - one line, no URL (it can carry a password)
        print(f"purge failed: {type(exc).__name__}", file=sys.stderr)
        return 1
    print(counts.line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
