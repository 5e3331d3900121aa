"""`python -m services.deliverer` as a real process: SIGKILL mid-backlog, restart, SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Mapping, Optional

from bot.handoff.outbox import Outbox
from tests.handoff_fixtures import SECRET, make_crisis_event, make_lead_event

PROJECT_ROOT = Path(__file__).resolve().parents[3]
DUPLICATES: dict = {}


def start_deliverer(
    database_url: str,
    url: str,
    data_dir: Path,
    timeout_s: float = 0.3,
    base_env: Optional[Mapping[str, str]] = None,
    **extra_env: str,
) -> subprocess.Popen:
    """`python -m services.deliverer` on this database and receiver, in `base_env` (os.environ by default) with
    `extra_env` on top; output piped."""
    # a short timeout keeps the lease (timeout x (batch + 2)) short, so the restart needn't wait long
    env = {
        **(os.environ if base_env is None else base_env),
        "DATABASE_URL": database_url,
        "HANDOFF_URL": url,
        "HANDOFF_SECRET": SECRET,
        "DATA_DIR": str(data_dir),
        "HANDOFF_TIMEOUT_S": str(timeout_s),
        "PYTHONUNBUFFERED": "1",
        **extra_env,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "services.deliverer"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def wait_until(condition, timeout_s: float, process: subprocess.Popen = None) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if process is not None and process.poll() is not None:
            raise AssertionError("deliverer exited early:\n" + process.stdout.read().decode(errors="replace"))
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.02)


def test_sigkill_mid_backlog_then_restart_delivers_everything(database_url, receiver, tmp_path):
    receiver.delay_s = 0.03  # slow enough that the kill lands mid-backlog
    outbox = Outbox(database_url)
    events = [make_lead_event(n, conversation_id=f"kill-{n}") for n in range(60)]
    events += [make_crisis_event(n, conversation_id=f"kill-c{n}") for n in range(3)]
    for event in events:
        outbox.enqueue(event)
    first = start_deliverer(database_url, receiver.url, tmp_path)
    try:
        wait_until(lambda: len(receiver.received) >= 15, 30, first)
        first.kill()  # SIGKILL: no cleanup, claims stay leased
        first.wait(10)
        delivered_before_kill = len(receiver.received)
        assert delivered_before_kill < len(events), "the kill came too late to test a backlog"
        assert {got.event["type"] for got in receiver.received[:3]} == {"crisis.alert"}
        second = start_deliverer(database_url, receiver.url, tmp_path)
        try:
            wait_until(lambda: len(set(receiver.keys())) == len(events), 60, second)
            wait_until(lambda: outbox.stats()["pending"] == 0, 10, second)
        finally:
            second.send_signal(signal.SIGTERM)
            assert second.wait(15) == 0
    finally:
        if first.poll() is None:
            first.kill()
    keys = Counter(receiver.keys())
    assert set(keys) == {event["id"] for event in events}  # nothing lost, nothing under a new key
    assert all(got.key == got.event["id"] for got in receiver.received)
    duplicates = sum(count - 1 for count in keys.values())
    DUPLICATES[database_url.split(":", 1)[0]] = duplicates
    print(
        f"\nSIGKILL restart: {len(events)} events, {delivered_before_kill} before the kill, "
        f"{duplicates} duplicate deliveries under the same key"
    )
    assert duplicates <= 1  # at most the POST in flight when the process died
    assert outbox.stats()["delivered"] == len(events)
    outbox.close()


def test_sigterm_finishes_the_in_flight_post_and_exits_zero(database_url, receiver, tmp_path):
    receiver.delay_s = 1.0  # each POST takes a second; the signal arrives during the first
    outbox = Outbox(database_url)
    for n in range(3):
        outbox.enqueue(make_lead_event(n, conversation_id=f"term-{n}"))
    process = start_deliverer(database_url, receiver.url, tmp_path, timeout_s=5.0)
    try:
        wait_until(lambda: receiver.requests >= 1, 30, process)
    finally:
        process.send_signal(signal.SIGTERM)
    assert process.wait(15) == 0
    output = process.stdout.read().decode(errors="replace")
    assert "stopped" in output
    assert "Sam" not in output and "sam@example.org" not in output  # no bodies in the logs
    assert len(receiver.received) == 1  # the in-flight POST was finished ...
    stats = outbox.stats()
    assert stats["delivered"] == 1 and stats["pending"] == 2 and stats["dead"] == 0  # ... and recorded
    # the rest were released, not left leased: they are due right away
    assert len(outbox.claim_due(datetime.now(timezone.utc))) == 2
    outbox.close()
