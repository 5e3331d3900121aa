"""The actions while the store is locked or down: the crisis reply goes out at once, the alert and the lead are
kept and land when the store is back, the visitor is told the truth, and no log line carries what they wrote."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from actions import runtime
from actions.crisis import ActionCrisisResponse
from actions.finish import ActionFinishScreening
from bot.screening.state import ScreeningState
from tests.actions.conftest import make_tracker
from tests.actions.test_crisis_and_finish import complete_answers, slot_events
from tests.bot.handoff.test_spool import hold_exclusive_lock, wait_for
from tests.handoff_fixtures import stored_events

CRISIS_TEXT = "i want to kill myself tonight with the pills in my drawer"


def database_file():
    return runtime.settings().data_dir / "haven.db"


@pytest.mark.asyncio
async def test_crisis_reply_is_at_once_with_the_store_locked_and_the_alert_lands_later(dispatcher, domain, caplog):
    caplog.set_level(logging.DEBUG)
    # A running stack: the database exists, the clinic texts and the detector are loaded (one crisis before).
    await ActionCrisisResponse().run(
        dispatcher, make_tracker("i want to die", intent="crisis", confidence=1.0, sender="warm-1"), domain
    )
    dispatcher.messages.clear()
    url = runtime.settings().database_url
    assert wait_for(lambda: len(stored_events(url)) == 1, 5)
    holder = hold_exclusive_lock(database_file(), 6.0)
    tracker = make_tracker(CRISIS_TEXT, intent="crisis", confidence=1.0, sender="locked-1")
    ticks = 0

    async def count_ticks() -> None:  # proves the event loop keeps running while the store is locked
        nonlocal ticks
        while True:
            await asyncio.sleep(0.05)
            ticks += 1

    ticker = asyncio.ensure_future(count_ticks())
    started = time.monotonic()
    await ActionCrisisResponse().run(dispatcher, tracker, domain)
    took = time.monotonic() - started
    await asyncio.sleep(0.3)
    ticker.cancel()
    assert took < 1.0  # at most the crisis wait (0.5 s), not the lock's 6 s
    assert "988" in dispatcher.messages[0]["text"]
    assert ticks >= 3
    holder.join()
    assert wait_for(lambda: len(stored_events(url)) == 2, 25)
    assert [e["message"] for e in stored_events(url) if e["conversation_id"] == "locked-1"] == [CRISIS_TEXT]
    assert CRISIS_TEXT not in caplog.text


@pytest.mark.asyncio
async def test_a_lead_during_an_outage_is_kept_and_the_visitor_hears_it_may_be_late(
    dispatcher, domain, monkeypatch, caplog
):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:9/test?connect_timeout=2")
    runtime.reset()
    screening = ScreeningState(answers=complete_answers()).to_slot()
    tracker = make_tracker("", slots={"screening": screening}, requested_slot=None, active_loop=None, sender="down-1")
    slots = slot_events(await ActionFinishScreening().run(dispatcher, tracker, domain))
    texts = [m["text"] for m in dispatcher.messages]
    assert slots["lead_id"]
    assert texts[0] == runtime.message("handoff_delayed")
    assert "Maria" in texts[1]
    spool = runtime.settings().data_dir / "spool"
    assert len(list(spool.glob("*.json"))) == 1
    assert wait_for(lambda: "OperationalError" in caplog.text, 10)
    assert "Maria" not in caplog.text and "8185550134" not in caplog.text
    # The store comes back (here: the embedded SQLite one); a restarted action server delivers the lead.
    monkeypatch.delenv("DATABASE_URL")
    runtime.reset()
    runtime.store_writer()
    url = runtime.settings().database_url
    assert wait_for(lambda: [e["id"] for e in stored_events(url)] == [slots["lead_id"]], 15)


@pytest.mark.asyncio
async def test_nothing_kept_at_all_is_said_plainly(dispatcher, domain, monkeypatch):
    monkeypatch.setenv("SPOOL_MAX_EVENTS", "0")  # the spool is full: a very long outage
    runtime.reset()
    screening = ScreeningState(answers=complete_answers()).to_slot()
    tracker = make_tracker("", slots={"screening": screening}, requested_slot=None, active_loop=None, sender="full-1")
    slots = slot_events(await ActionFinishScreening().run(dispatcher, tracker, domain))
    assert "lead_id" not in slots
    assert dispatcher.messages[0]["text"] == runtime.message("handoff_failed")


def test_a_process_with_postgres_unreachable_writes_no_visitor_text_to_stderr(tmp_path):
    """The action server's own stderr (logging at DEBUG), PostgreSQL on a wrong port: type and id only."""
    import os
    import subprocess
    import sys

    from bot.settings import PROJECT_ROOT

    script = (
        "import logging, time\n"
        "logging.basicConfig(level=logging.DEBUG)\n"
        "from actions import runtime\n"
        "from tests.handoff_fixtures import make_crisis_event\n"
        f"assert runtime.publish(make_crisis_event(1, message={CRISIS_TEXT!r}))\n"
        "time.sleep(3)\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(PROJECT_ROOT),
        "DATA_DIR": str(tmp_path / "var"),
        "DATABASE_URL": "postgresql://postgres@127.0.0.1:9/test?connect_timeout=2",
    }
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120, cwd=PROJECT_ROOT
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "OperationalError" in done.stderr  # the failure is reported...
    assert CRISIS_TEXT not in done.stderr and CRISIS_TEXT not in done.stdout  # ...without what the visitor wrote
    assert len(list((tmp_path / "var" / "spool").glob("*.json"))) == 1  # and the alert is kept
