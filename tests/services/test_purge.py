"""The retention job (services/purge.py) against a tracker store Rasa itself wrote, on SQLite and PostgreSQL.

Rasa's SQLTrackerStore fills the store (in the Rasa environment, tests/rasa_tracker_fill.py), so the purge is
checked against the table Rasa really makes; the outbox is ours (bot/handoff/outbox.py).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.handoff.outbox import Outbox
from bot.settings import load_settings
from services import purge
from tests.handoff_fixtures import POSTGRES_URL, make_lead_event, postgres_reason

PROJECT_ROOT = Path(__file__).resolve().parents[2]
RASA_PYTHON = PROJECT_ROOT / ".venv" / "bin" / "python"
DAY = 86400.0
NOW = time.time()


def rasa_fill(store_kwargs: dict, conversations: list) -> None:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "RASA_TELEMETRY_ENABLED": "false"}
    subprocess.run(
        [str(RASA_PYTHON), "-m", "tests.rasa_tracker_fill", json.dumps(store_kwargs), json.dumps(conversations)],
        check=True,
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        timeout=300,
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def tracker_store(request, tmp_path):
    """(TRACKER_STORE_URL, the SQLTrackerStore arguments for the same database)."""
    if request.param == "sqlite":
        path = tmp_path / "conversations.db"
        yield f"sqlite:///{path}", {"dialect": "sqlite", "db": str(path)}
        return
    reason = postgres_reason()
    if reason:
        pytest.skip(reason)
    name = "purge_test_" + uuid.uuid4().hex[:12]
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    kwargs = {"dialect": "postgresql", "host": "127.0.0.1", "port": 5432, "db": name, "username": "postgres"}
    yield f"postgresql://postgres@127.0.0.1:5432/{name}", kwargs
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def settings_for(monkeypatch, tmp_path, tracker_url: str, **env: str):
    for name in ("RETENTION_DAYS", "TRANSCRIPT_RETENTION_MINUTES", "OUTBOX_RETENTION_DAYS", "PURGE_INTERVAL_MINUTES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'outbox.db'}")
    monkeypatch.setenv("TRACKER_STORE_URL", tracker_url)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return load_settings(env_file=tmp_path / "no.env")


def senders(url: str) -> set:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        found = {row[0] for row in conn.execute(sa.text("SELECT DISTINCT sender_id FROM events"))}
    engine.dispose()
    return found


CONVERSATIONS = [
    ["idle-2-days", NOW - 3 * DAY, NOW - 2 * DAY],
    ["started-3-days-ago-active-now", NOW - 3 * DAY, NOW - 600],  # by last activity, not by its start
    ["idle-23.5-hours", NOW - DAY, NOW - 23.5 * 3600],
    ["recent", NOW - 60, NOW - 30],
]


def fill_outbox(url: str) -> None:
    outbox = Outbox(url)
    now = datetime.fromtimestamp(NOW, tz=timezone.utc)
    for number, (name, delivered_ago) in enumerate(
        [("delivered-2-days", timedelta(days=2)), ("delivered-1-hour", timedelta(hours=1)), ("pending", None)]
    ):
        event = make_lead_event(number + 1, name)
        assert outbox.enqueue(event)
        if delivered_ago is not None:
            outbox.mark_delivered(event["id"], now - delivered_ago)
    outbox.close()


def test_purge_once_deletes_conversations_idle_past_retention_and_old_delivered_events(
    tracker_store, monkeypatch, tmp_path
):
    url, kwargs = tracker_store
    rasa_fill(kwargs, CONVERSATIONS)
    settings = settings_for(monkeypatch, tmp_path, url)  # RETENTION_DAYS unset: 1 day for both
    fill_outbox(settings.database_url)
    counts = purge.purge_once(settings, now=NOW)
    assert (counts.conversations, counts.tracker_events, counts.outbox_events) == (1, 4, 1)
    assert senders(url) == {"started-3-days-ago-active-now", "idle-23.5-hours", "recent"}
    outbox = Outbox(settings.database_url)
    assert outbox.stats()["delivered"] == 1 and outbox.stats()["pending"] == 1
    outbox.close()
    assert purge.purge_once(settings, now=NOW) == purge.PurgeCounts(0, 0, 0)  # nothing twice


def test_the_old_names_override_retention_days(tracker_store, monkeypatch, tmp_path):
    url, kwargs = tracker_store
    rasa_fill(kwargs, CONVERSATIONS)
    settings = settings_for(monkeypatch, tmp_path, url, RETENTION_DAYS="5", TRANSCRIPT_RETENTION_MINUTES="60")
    assert (settings.transcript_retention_minutes, settings.outbox_retention_days) == (60.0, 5.0)
    fill_outbox(settings.database_url)
    counts = purge.purge_once(settings, now=NOW)
    assert (counts.conversations, counts.outbox_events) == (2, 0)
    assert senders(url) == {"started-3-days-ago-active-now", "recent"}


def test_the_schedule_deletes_what_would_outlive_its_period_before_the_next_run(tracker_store, monkeypatch, tmp_path):
    url, kwargs = tracker_store
    rasa_fill(kwargs, CONVERSATIONS)
    settings = settings_for(monkeypatch, tmp_path, url, PURGE_INTERVAL_MINUTES="60")
    stop = asyncio.Event()
    runs = []

    def purge_then_stop(*args):
        runs.append(purge.purge_once(*args))
        stop.set()
        return runs[-1]

    asyncio.run(purge.run_forever(settings, stop, clock=lambda: NOW, purge=purge_then_stop))
    # Idle 23.5 h would pass 24 h before the next run in 60 minutes: gone now, so the note's "24 hours" holds.
    assert runs[0].conversations == 2
    assert senders(url) == {"started-3-days-ago-active-now", "recent"}


def test_nothing_to_purge_creates_no_database_file(monkeypatch, tmp_path):
    path = tmp_path / "data" / "conversations.db"
    settings = settings_for(monkeypatch, tmp_path, f"sqlite:///{path}")
    assert purge.purge_once(settings, now=NOW) == purge.PurgeCounts(0, 0, 0)
    assert not path.exists()


def test_retention_settings(monkeypatch, tmp_path):
    s = settings_for(monkeypatch, tmp_path, "sqlite:///x.db")
    assert (s.retention_days, s.transcript_retention_minutes, s.outbox_retention_days) == (1.0, 1440.0, 1.0)
    assert s.purge_interval_minutes == 60.0
    s = settings_for(monkeypatch, tmp_path, "sqlite:///x.db", RETENTION_DAYS="3", OUTBOX_RETENTION_DAYS="7")
    assert (s.transcript_retention_minutes, s.outbox_retention_days) == (3 * 1440.0, 7.0)
    monkeypatch.delenv("TRACKER_STORE_URL")
    assert (
        settings_for(monkeypatch, tmp_path, "").tracker_store_url
        == f"sqlite:///{tmp_path / 'data' / 'conversations.db'}"
    )
    for name in ("RETENTION_DAYS", "PURGE_INTERVAL_MINUTES"):
        with pytest.raises(SystemExit, match=f"{name} must be more than 0"):
            settings_for(monkeypatch, tmp_path, "sqlite:///x.db", **{name: "0"})


def test_make_purge_prints_counts_and_no_identifier(tracker_store, tmp_path):
    url, kwargs = tracker_store
    rasa_fill(kwargs, CONVERSATIONS)
    env = {
        **os.environ,
        "PYTHONPATH": str(PROJECT_ROOT),
        "DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'outbox.db'}",
        "TRACKER_STORE_URL": url,
        "RETENTION_DAYS": "1",
    }
    for name in ("TRANSCRIPT_RETENTION_MINUTES", "OUTBOX_RETENTION_DAYS"):
        env.pop(name, None)
    done = subprocess.run(
        [sys.executable, "-m", "services.purge"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "purged 1 conversations (4 tracker events) and 0 delivered outbox events"
    assert "idle-2-days" not in done.stdout + done.stderr
