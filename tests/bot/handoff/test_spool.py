"""The event spool and its writer thread against a real locked SQLite file and a PostgreSQL that is not there:
a crisis alert is never lost, the caller never waits long, and no log line carries the event's text."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.handoff.outbox import Outbox
from bot.handoff.spool import QUEUED, STORED, EventSpool, SpoolFull, StoreWriter
from tests.handoff_fixtures import make_crisis_event, make_lead_event, postgres_reason, stored_events

VISITOR_TEXT = "i want to end it all tonight with my pills"
UNREACHABLE_POSTGRES = "postgresql://postgres@127.0.0.1:9/test?connect_timeout=2"


def hold_exclusive_lock(db_path: Path, seconds: float) -> threading.Thread:
    """Another connection holds BEGIN EXCLUSIVE on the file for `seconds` (what a backup or a stuck writer does)."""
    locked = threading.Event()

    def hold() -> None:
        conn = sqlite3.connect(db_path, isolation_level=None)
        conn.execute("BEGIN EXCLUSIVE")
        locked.set()
        time.sleep(seconds)
        conn.execute("ROLLBACK")
        conn.close()

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    assert locked.wait(5)
    return thread


def wait_for(condition, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return bool(condition())


@pytest.fixture
def sqlite_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'haven.db'}"
    Outbox(url).close()  # the tables exist, as on a running stack
    return url


def test_a_healthy_store_answers_stored_and_the_spool_empties(tmp_path, sqlite_url):
    writer = StoreWriter(lambda: Outbox(sqlite_url), EventSpool(tmp_path / "spool"))
    try:
        assert writer.submit(make_lead_event(1), wait_s=5) == STORED
        assert [event["id"] for event in stored_events(sqlite_url)] == [make_lead_event(1)["id"]]
        assert writer.spool.count() == 0
    finally:
        writer.stop()


def test_a_locked_sqlite_file_queues_at_once_and_the_alert_lands_when_the_lock_goes(tmp_path, sqlite_url, caplog):
    caplog.set_level(logging.DEBUG)
    outbox = Outbox(sqlite_url)
    writer = StoreWriter(lambda: outbox, EventSpool(tmp_path / "spool"), retry_base_s=0.2)
    event = make_crisis_event(1, message=VISITOR_TEXT)
    holder = hold_exclusive_lock(tmp_path / "haven.db", 4.0)
    try:
        started = time.monotonic()
        assert writer.submit(event, wait_s=0.5) == QUEUED
        assert time.monotonic() - started < 1.5  # the caller (the event loop) is not held by the lock
        assert writer.spool.count() == 1  # on disk meanwhile
        # A second event while the store is known to be busy does not wait at all.
        started = time.monotonic()
        assert writer.submit(make_lead_event(2), wait_s=5) == QUEUED
        assert time.monotonic() - started < 0.5
        holder.join()
        assert wait_for(lambda: len(stored_events(sqlite_url)) == 2, 20)
        ids = [stored["id"] for stored in stored_events(sqlite_url)]
        assert event["id"] in ids
        assert wait_for(lambda: writer.spool.count() == 0, 5)
    finally:
        writer.stop()
        outbox.close()
    assert VISITOR_TEXT not in caplog.text


def test_postgres_down_keeps_events_in_the_spool_until_it_is_back(tmp_path, sqlite_url, caplog):
    """The store is an unreachable PostgreSQL first (a wrong port), then a working database: the same events,
    with the same ids, arrive once; a restarted writer (a restarted action server) finds them on disk."""
    caplog.set_level(logging.DEBUG)
    target = {"url": UNREACHABLE_POSTGRES}
    writer = StoreWriter(lambda: Outbox(target["url"]), EventSpool(tmp_path / "spool"), retry_base_s=0.1)
    crisis = make_crisis_event(1, message=VISITOR_TEXT)
    try:
        assert writer.submit(crisis, wait_s=3) == QUEUED
        assert writer.submit(make_lead_event(1), wait_s=3) == QUEUED
        assert wait_for(lambda: "OperationalError" in caplog.text, 10)
    finally:
        writer.stop()
    assert writer.spool.count() == 2
    # The action server restarts while the store is still down, then the store comes back.
    target["url"] = sqlite_url
    again = StoreWriter(lambda: Outbox(target["url"]), EventSpool(tmp_path / "spool"))
    again.start()
    try:
        assert wait_for(lambda: again.spool.count() == 0, 10)
    finally:
        again.stop()
    stored = stored_events(sqlite_url)
    assert sorted(e["id"] for e in stored) == sorted([crisis["id"], make_lead_event(1)["id"]])
    assert next(e for e in stored if e["id"] == crisis["id"])["message"] == VISITOR_TEXT
    assert VISITOR_TEXT not in caplog.text
    assert "Jordan" not in caplog.text and "5550" not in caplog.text  # the sample lead's name and phone


def test_crisis_alerts_leave_the_spool_first(tmp_path):
    spool = EventSpool(tmp_path / "spool")
    spool.add(make_lead_event(1))
    spool.add(make_crisis_event(1))
    assert [spool.load(path)["type"] for path in spool.pending()] == ["crisis.alert", "lead.created"]
    assert all(make_crisis_event(1)["id"] not in path.name for path in spool.pending())
    assert all(oct(path.stat().st_mode & 0o777) == "0o600" for path in spool.pending())


def test_a_full_spool_refuses_instead_of_growing_without_bound(tmp_path):
    spool = EventSpool(tmp_path / "spool", max_events=1)
    spool.add(make_lead_event(1))
    with pytest.raises(SpoolFull):
        spool.add(make_lead_event(2))


def test_an_event_that_breaks_the_contract_is_refused_before_it_is_spooled(tmp_path, sqlite_url):
    writer = StoreWriter(lambda: Outbox(sqlite_url), EventSpool(tmp_path / "spool"))
    event = make_lead_event(1)
    event["lead"]["contact"]["phone"] = "call me maybe"
    with pytest.raises(ValueError):
        writer.submit(event, wait_s=1)
    assert writer.spool.count() == 0


def test_a_failed_statement_never_carries_the_event_body_in_its_text(tmp_path, sqlite_url):
    """hide_parameters: SQLAlchemy would put the bound values (the event body) into the exception text."""
    outbox = Outbox(sqlite_url)
    engine = sa.create_engine(sqlite_url)
    with engine.begin() as conn:  # the INSERT fails at the statement itself, after its values are bound
        conn.execute(
            sa.text("CREATE TRIGGER refuse BEFORE INSERT ON outbox_events BEGIN INSERT INTO gone VALUES (1); END")
        )
    engine.dispose()
    try:
        with pytest.raises(sa.exc.DBAPIError) as info:
            outbox.enqueue(make_crisis_event(1, message=VISITOR_TEXT))
    finally:
        outbox.close()
    assert VISITOR_TEXT not in str(info.value)
    assert "hidden" in str(info.value)


@pytest.mark.skipif(postgres_reason() is not None, reason="PostgreSQL unavailable")
def test_postgres_engine_hides_parameters_but_its_server_message_may_echo_them():
    """Why the writer logs only the exception's type: PostgreSQL's own message can quote a bound value."""
    from bot.handoff.leased_queue import create_engine

    engine = create_engine("postgresql://postgres@127.0.0.1:5432/test")
    try:
        with pytest.raises(sa.exc.DBAPIError) as info, engine.connect() as conn:
            conn.execute(sa.text("SELECT CAST(:value AS integer)"), {"value": VISITOR_TEXT})
    finally:
        engine.dispose()
    assert "parameters hidden" in str(info.value)


# --- one spool shared by several action servers (RASA_INSTANCES > 1) ------------------------------------------


class DownStore:
    """A store whose every write fails, as from an action server whose database connection is broken."""

    def enqueue(self, event: dict) -> bool:
        raise sa.exc.OperationalError("INSERT", {}, Exception("connection lost"))


def test_writers_sharing_a_spool_store_every_event_exactly_once(tmp_path, sqlite_url):
    """Two writers (two action servers) over one directory and one outbox, submitting at the same time from
    several threads: every event lands once, every caller hears STORED, nothing is left or set aside."""
    writers = [StoreWriter(lambda: Outbox(sqlite_url), EventSpool(tmp_path / "spool")) for _ in range(2)]
    outcomes: list[str] = []
    guard = threading.Lock()

    def submit_many(writer: StoreWriter, first: int) -> None:
        for n in range(first, first + 15):
            outcome = writer.submit(make_lead_event(n), wait_s=30)
            with guard:
                outcomes.append(outcome)

    threads = [threading.Thread(target=submit_many, args=(writers[k % 2], 100 * k)) for k in range(4)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert wait_for(lambda: writers[0].spool.count() == 0, 30)
        ids = [event["id"] for event in stored_events(sqlite_url)]
        expected = {make_lead_event(100 * k + n)["id"] for k in range(4) for n in range(15)}
        assert len(ids) == len(expected) == 60 and set(ids) == expected  # none lost, none twice
        assert outcomes.count(STORED) == 60
        assert all(w._thread is not None and w._thread.is_alive() for w in writers)  # no writer crashed
        assert not list((tmp_path / "spool").glob("*.unreadable"))
    finally:
        for writer in writers:
            writer.stop()


def test_a_submit_whose_event_another_writer_stored_hears_stored(tmp_path, sqlite_url):
    """This action server's own database connection fails, the other instance's works and drains the shared
    spool: the visitor is told the truth (stored), not "may be late"."""
    spool_dir = tmp_path / "spool"
    broken = StoreWriter(DownStore, EventSpool(spool_dir), retry_base_s=30)
    healthy = StoreWriter(lambda: Outbox(sqlite_url), EventSpool(spool_dir), idle_check_s=0.2)
    healthy.start()
    try:
        event = make_crisis_event(7, message=VISITOR_TEXT)
        assert broken.submit(event, wait_s=20) == STORED
        assert [e["id"] for e in stored_events(sqlite_url)] == [event["id"]]
    finally:
        broken.stop()
        healthy.stop()


def test_a_file_another_writer_already_moved_is_skipped_without_error(tmp_path, sqlite_url):
    spool = EventSpool(tmp_path / "spool")
    path = spool.add(make_lead_event(3))
    unreadable = spool.add(make_lead_event(4))
    unreadable.write_text("{not json")
    writer = StoreWriter(lambda: Outbox(sqlite_url), spool)
    spool.set_aside(unreadable)  # another writer set it aside...
    spool.set_aside(unreadable)  # ...and this one finds it gone: no error
    path.unlink()  # another writer stored and removed it between this one's listing and its read
    assert writer._write(path) is True
    assert writer._write(unreadable) is True
    assert stored_events(sqlite_url) == []  # nothing stored twice, nothing invented
    assert [p.name for p in (tmp_path / "spool").glob("*.unreadable")] == [unreadable.with_suffix(".unreadable").name]
