"""The deliverer owns the outbox's retention: delivered events leave OUTBOX_RETENTION_DAYS after delivery;
pending, dead and recently delivered events stay."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.handoff.outbox import Outbox
from services.deliverer import purge_delivered, run_retention
from tests.handoff_fixtures import SECRET, make_crisis_event, make_lead_event, stored_rows

PROJECT_ROOT = Path(__file__).resolve().parents[3]
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)


def fill(outbox: Outbox, now: datetime) -> dict:
    """One event of each kind the purge must tell apart; returns their ids by name."""
    ids = {}

    def add(name: str, event: dict) -> dict:
        assert outbox.enqueue(event)
        ids[name] = event["id"]
        return event

    add("delivered_8_days_ago", make_lead_event(1, "ret-old"))
    outbox.mark_delivered(ids["delivered_8_days_ago"], now - timedelta(days=8))
    add("delivered_6_days_ago", make_lead_event(2, "ret-recent"))
    outbox.mark_delivered(ids["delivered_6_days_ago"], now - timedelta(days=6))
    add("pending", make_lead_event(3, "ret-pending"))  # however old: not delivered yet
    add("dead", make_crisis_event(4, "ret-dead"))  # staff must still see it
    outbox.mark_dead(ids["dead"], "HTTP 500")
    return ids


def statuses(database_url: str) -> dict:
    return {row.id: row.status for row in stored_rows(database_url)}


def test_purge_removes_only_events_delivered_before_the_window(database_url):
    outbox = Outbox(database_url)
    ids = fill(outbox, NOW)
    assert purge_delivered(outbox, 7.0, NOW) == 1
    assert statuses(database_url) == {
        ids["delivered_6_days_ago"]: "delivered",
        ids["pending"]: "pending",
        ids["dead"]: "dead",
    }
    # A year on, pending and dead events are old too: they are still never purged.
    assert purge_delivered(outbox, 7.0, NOW + timedelta(days=400)) == 1
    assert statuses(database_url) == {ids["pending"]: "pending", ids["dead"]: "dead"}
    outbox.close()


@pytest.mark.asyncio
async def test_retention_loop_purges_at_once_and_stops_when_asked(database_url):
    outbox = Outbox(database_url)
    ids = fill(outbox, NOW)
    stop = asyncio.Event()
    task = asyncio.create_task(run_retention(outbox, 7.0, stop, interval_s=3600.0, clock=lambda: NOW))
    deadline = time.monotonic() + 15
    while ids["delivered_8_days_ago"] in statuses(database_url) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(task, timeout=15)  # an hour-long pause ends with the stop, not the hour
    assert set(statuses(database_url)) == {ids["delivered_6_days_ago"], ids["pending"], ids["dead"]}
    outbox.close()


def test_the_deliverer_process_applies_outbox_retention_days(database_url, tmp_path):
    outbox = Outbox(database_url)
    now = datetime.now(timezone.utc)
    ids = fill(outbox, now)
    # Nothing listens on this port: the pending event stays pending, whatever the deliverer tries.
    env = dict(
        os.environ,
        DATABASE_URL=database_url,
        HANDOFF_URL="http://127.0.0.1:9/events",
        HANDOFF_SECRET=SECRET,
        DATA_DIR=str(tmp_path),
        OUTBOX_RETENTION_DAYS="7",
        PYTHONUNBUFFERED="1",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "services.deliverer"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while ids["delivered_8_days_ago"] in statuses(database_url):
            assert process.poll() is None, process.stdout.read().decode(errors="replace")
            assert time.monotonic() < deadline, "the deliverer did not purge the outbox"
            time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(15)
    output = process.stdout.read().decode(errors="replace")
    assert code == 0, output
    assert "retention: purged 0 conversations (0 tracker events) and 1 delivered outbox events" in output
    assert statuses(database_url) == {
        ids["delivered_6_days_ago"]: "delivered",
        ids["pending"]: "pending",
        ids["dead"]: "dead",
    }
    outbox.close()
