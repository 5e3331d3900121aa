"""The SQL tracker store's row cache (rasa_ext/tracker_store.py UrlSQLTrackerStore on PostgreSQL): the tracker
it gives is, after every change, the one Rasa's own SQLTrackerStore reads from the same database: with turns
alternating between two stores (two instances), a new session, a visitor's erasure, the retention purge run
from another process, a restart, another instance's clock behind, a row committed late with a lower id, an
evicted conversation. Real PostgreSQL (a throwaway database) and SQLite (where the cache is off)."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity

from rasa_ext.erasure import ERASE_ACTION
from rasa_ext.tracker_store import UrlSQLTrackerStore
from tests.pg_databases import fresh_database, postgres_unavailable

ROOT = Path(__file__).resolve().parents[2]
SERVICES_PYTHON = ROOT / ".venv-services" / "bin" / "python"
DOMAIN = Domain.load(str(ROOT / "domain.yml"))


@pytest.fixture
def pg_url():
    if postgres_unavailable():
        pytest.skip(postgres_unavailable() or "")
    with fresh_database("haven_cache") as url:
        yield url


class Stores:
    """Two cached stores (two instances) and Rasa's own store on one database; counts the cache's full reads."""

    def __init__(self, url: str, **kwargs) -> None:
        self.url = url
        self.a = UrlSQLTrackerStore(DOMAIN, url=url, **kwargs)
        self.b = UrlSQLTrackerStore(DOMAIN, url=url, **kwargs)
        self.stock = SQLTrackerStore(DOMAIN, host=url)
        self.full_reads = 0
        for store in (self.a, self.b):
            full = store._retrieve_full

            def counted(sender_id, cache, full=full):
                self.full_reads += 1
                return full(sender_id, cache)

            store._retrieve_full = counted  # type: ignore[method-assign]

    async def assert_same(self, sender: str) -> None:
        """Both cached stores give the tracker Rasa's store gives (or None like it)."""
        expected = await self.stock.retrieve(sender)
        for store in (self.a, self.b):
            got = await store.retrieve(sender)
            if expected is None:
                assert got is None
                continue
            assert got is not None
            assert [e.as_dict() for e in got.events] == [e.as_dict() for e in expected.events]
            assert got.current_state(EventVerbosity.ALL) == expected.current_state(EventVerbosity.ALL)

    def dispose(self) -> None:
        for store in (self.a, self.b, self.stock):
            store.engine.dispose()


def a_turn(tracker: DialogueStateTracker, n: int) -> None:
    tracker.update(UserUttered(f"answer {n}", intent={"name": "inform", "confidence": 0.9}))
    tracker.update(ActionExecuted("screening_form"))
    tracker.update(SlotSet("answer", f"answer {n}"))
    tracker.update(SlotSet("screening", {"step": n, "answers": list(range(n))}))
    tracker.update(BotUttered(f"question {n + 1}", {"buttons": [{"title": "yes", "payload": "/affirm"}]}))
    tracker.update(ActionExecuted("action_listen"))


def session_start(tracker: DialogueStateTracker) -> None:
    tracker.update(ActionExecuted("action_session_start"))
    tracker.update(SessionStarted())
    tracker.update(ActionExecuted("action_listen"))


async def next_turn(store: UrlSQLTrackerStore, sender: str, n: int) -> None:
    tracker = await store.retrieve(sender)
    if tracker is None:
        tracker = DialogueStateTracker.from_events(sender, [], DOMAIN.slots)
        session_start(tracker)
    a_turn(tracker, n)
    await store.save(tracker)


@pytest.mark.asyncio
async def test_turns_alternating_between_two_instances_give_rasas_tracker_from_new_rows_only(pg_url):
    stores = Stores(pg_url)
    for n in range(30):
        await next_turn(stores.a if n % 2 else stores.b, "visitor", n)
        await stores.assert_same("visitor")
    # b's first retrieve and its first save's count found nothing (full reads: nothing cached), then each store
    # read the conversation in full once, then only the new rows (to retrieve, and to count on save).
    assert stores.full_reads == 4
    # Rasa's session filter: from SessionStarted on (action_session_start is stamped just before it).
    assert len((await stores.a.retrieve("visitor")).events) == 2 + 30 * 6
    stores.dispose()


@pytest.mark.asyncio
async def test_a_new_session_erasure_purge_and_restart_each_give_rasas_tracker(pg_url):
    stores = Stores(pg_url)
    for n in range(4):
        await next_turn(stores.a, "visitor", n)
    await stores.assert_same("visitor")
    reads = stores.full_reads

    # A new session, started by the other instance: only its events are the tracker now.
    tracker = await stores.b.retrieve("visitor")
    session_start(tracker)
    a_turn(tracker, 10)
    await stores.b.save(tracker)
    await stores.assert_same("visitor")
    assert len((await stores.a.retrieve("visitor")).events) == 2 + 6  # the new session only
    assert stores.full_reads > reads

    # "Delete my data" on instance b: a's cache must not bring the conversation back.
    tracker = await stores.b.retrieve("visitor")
    tracker.update(UserUttered("delete my data", intent={"name": "delete_my_data", "confidence": 1.0}))
    tracker.update(ActionExecuted(ERASE_ACTION))
    await stores.b.save(tracker)
    await stores.assert_same("visitor")
    assert await stores.a.retrieve("visitor") is None

    # A new conversation of the same sender, as long as the erased one was: still Rasa's tracker.
    for n in range(4):
        await next_turn(stores.a, "visitor", 100 + n)
    await stores.assert_same("visitor")

    # The retention purge, run from the services' environment (another process, SQLAlchemy 2).
    purged = subprocess.run(
        [
            str(SERVICES_PYTHON),
            "-c",
            "import sys; from services.purge import purge_conversations; "
            "print(purge_conversations(sys.argv[1], float(sys.argv[2])))",
            pg_url,
            str(time.time() + 60),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert purged.stdout.strip().startswith("(1, ")
    await stores.assert_same("visitor")
    assert await stores.b.retrieve("visitor") is None
    for n in range(4):
        await next_turn(stores.b, "visitor", 200 + n)
    await stores.assert_same("visitor")

    # A restart: a new store object reads in full and carries on.
    restarted = Stores(pg_url)
    await restarted.assert_same("visitor")
    await next_turn(restarted.a, "visitor", 300)
    await stores.assert_same("visitor")
    await restarted.assert_same("visitor")
    restarted.dispose()
    stores.dispose()


def insert_row(url: str, sender: str, event, row_id=None) -> None:
    engine = sa.create_engine(url)
    events = sa.Table("events", sa.MetaData(), autoload_with=engine)
    data = event.as_dict()
    values = {
        "sender_id": sender,
        "type_name": event.type_name,
        "timestamp": data.get("timestamp"),
        "intent_name": None,
        "action_name": data.get("name"),
        "data": json.dumps(data),
    }
    if row_id is not None:
        values["id"] = row_id
    with engine.begin() as conn:
        conn.execute(events.insert().values(**values))
    engine.dispose()


@pytest.mark.asyncio
async def test_another_instances_clock_behind_the_session_start_and_a_late_row_give_rasas_tracker(pg_url):
    stores = Stores(pg_url)
    for n in range(3):
        await next_turn(stores.a, "visitor", n)
    await stores.assert_same("visitor")
    # A row stamped before the session's start (another machine's clock): Rasa's query leaves it out.
    tracker = await stores.a.retrieve("visitor")
    start = next(e.timestamp for e in tracker.events if isinstance(e, SessionStarted))
    insert_row(pg_url, "visitor", UserUttered("early", timestamp=start - 5))
    await stores.assert_same("visitor")
    assert "early" not in [e.text for e in (await stores.a.retrieve("visitor")).events if isinstance(e, UserUttered)]
    # A row with no timestamp: Rasa's query leaves it out too once there is a session start.
    insert_row(pg_url, "visitor", BotUttered("no time", timestamp=None))
    await stores.assert_same("visitor")

    # A row committed late, with an id below the highest cached (taken from another conversation's gap).
    await next_turn(stores.a, "other", 0)
    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        gap = conn.execute(sa.text("SELECT min(id) FROM events WHERE sender_id = 'other'")).scalar()
        conn.execute(sa.text("DELETE FROM events WHERE id = :id"), {"id": gap})
    engine.dispose()
    await next_turn(stores.b, "visitor", 50)
    await stores.assert_same("visitor")
    insert_row(pg_url, "visitor", UserUttered("late", timestamp=time.time()), row_id=gap)
    await stores.assert_same("visitor")
    assert "late" in [e.text for e in (await stores.a.retrieve("visitor")).events if isinstance(e, UserUttered)]
    stores.dispose()


@pytest.mark.asyncio
async def test_a_save_after_the_rows_went_meanwhile_stores_what_rasas_save_stores(pg_url):
    stores = Stores(pg_url)
    for n in range(3):
        await next_turn(stores.a, "visitor", n)
    tracker = await stores.a.retrieve("visitor")
    a_turn(tracker, 3)
    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:  # purged between this turn's retrieve and its save
        conn.execute(sa.text("DELETE FROM events WHERE sender_id = 'visitor'"))
    await stores.a.save(tracker)  # Rasa's save counts no stored row: it writes the whole tracker again
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT count(*) FROM events WHERE sender_id = 'visitor'")).scalar()
    engine.dispose()
    assert rows == len(tracker.events)
    await stores.assert_same("visitor")
    # And a plain save writes only the turn's new events.
    await next_turn(stores.b, "visitor", 4)
    await stores.assert_same("visitor")
    assert len((await stores.a.retrieve("visitor")).events) == len(tracker.events) + 6
    stores.dispose()


@pytest.mark.asyncio
async def test_the_cache_keeps_at_most_its_size_and_an_evicted_conversation_is_read_in_full(pg_url):
    stores = Stores(pg_url, cache_conversations=2)
    for n in range(3):
        for sender in ("one", "two", "three"):
            await next_turn(stores.a, sender, n)
            await stores.assert_same(sender)
            assert len(stores.a.row_cache.entries) <= 2
    assert list(stores.a.row_cache.entries) == ["two", "three"]
    stores.dispose()


@pytest.mark.asyncio
async def test_on_sqlite_the_store_reads_as_rasa_does(tmp_path):
    url = f"sqlite:///{tmp_path / 'conversations.db'}"
    a, b = UrlSQLTrackerStore(DOMAIN, url=url), UrlSQLTrackerStore(DOMAIN, url=url)
    assert a.row_cache is None and b.row_cache is None  # a deleted conversation's row ids come back in SQLite
    stock = SQLTrackerStore(DOMAIN, host=url)
    for n in range(6):
        await next_turn(a if n % 2 else b, "visitor", n)
        expected = await stock.retrieve("visitor")
        for store in (a, b):
            got = await store.retrieve("visitor")
            assert got.current_state(EventVerbosity.ALL) == expected.current_state(EventVerbosity.ALL)
    for store in (a, b, stock):
        store.engine.dispose()


def test_a_cache_of_no_conversations_is_refused():
    with pytest.raises(ValueError):
        UrlSQLTrackerStore(DOMAIN, url="postgresql://postgres@127.0.0.1:5432/test", cache_conversations=0)
