"""Outage scenario: the receiver answers 503, then is gone (connection refused), then accepts again.

Every event must arrive with a valid signature under its own Idempotency-Key; duplicates under the same key
are allowed (at-least-once) but counted. The figures go to reports/outage-delivery.md.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.handoff.outbox import Outbox
from services.deliverer import Deliverer
from tests.handoff_fixtures import SECRET, make_crisis_event, make_lead_event, wait_for

REPORT = Path(__file__).resolve().parents[3] / "reports" / "outage-delivery.md"
PHASE_503_S = 1.5
PHASE_REFUSED_S = 1.5
LEADS, CRISES = 40, 5
DELIVERERS = 2
OPTIONS = dict(timeout_s=1.0, dead_after_s=600.0, poll_interval_s=0.05, backoff_base_s=0.1, backoff_cap_s=1.0)
RESULTS: dict = {}


def total_attempts(database_url: str) -> int:
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        value = conn.execute(sa.text("SELECT SUM(attempts) FROM outbox_events")).scalar()
    engine.dispose()
    return int(value or 0)


def write_report() -> None:
    lines = [
        "# Handoff delivery through a receiver outage",
        "",
        "Written by `tests/bot/handoff/test_outage.py` (real aiohttp receiver on loopback, real database).",
        f"Scenario: {LEADS} lead.created + {CRISES} crisis.alert events enqueued while the receiver answers 503 for "
        f"{PHASE_503_S:g} s, then refuses connections for {PHASE_REFUSED_S:g} s, then accepts. {DELIVERERS} "
        f"deliverers share the outbox. Test backoff: base {OPTIONS['backoff_base_s']} s, cap "
        f"{OPTIONS['backoff_cap_s']} s, full jitter (production defaults: base 1 s, cap 300 s, so real "
        "recovery after a long outage takes up to about 5 minutes).",
        "",
        "| database | events | delivered keys | duplicate deliveries (same key) | attempts (outbox) | "
        "requests seen by receiver | max enqueue-to-delivery (s) | after recovery (s) | bad signatures |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for backend, r in sorted(RESULTS.items()):
        lines.append(
            f"| {backend} | {r['events']} | {r['keys']} | {r['duplicates']} | {r['attempts']} | "
            f"{r['requests']} | {r['max_delay_s']:.2f} | {r['after_recovery_s']:.2f} | {r['rejected']} |"
        )
    lines.append("")
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text("\n".join(lines))


@pytest.mark.asyncio
async def test_every_event_survives_503_then_refused_then_recovery(database_url, receiver):
    boxes = [Outbox(database_url) for _ in range(DELIVERERS)]
    deliverers = [Deliverer(box, receiver.url, SECRET, **OPTIONS) for box in boxes]
    stop = asyncio.Event()
    receiver.status = 503
    tasks = [asyncio.create_task(d.run_forever(stop)) for d in deliverers]
    enqueued_at: dict = {}
    events = [make_lead_event(n, conversation_id=f"outage-{n}") for n in range(LEADS)]
    events += [make_crisis_event(n, conversation_id=f"outage-c{n}") for n in range(CRISES)]
    try:
        for event in events:
            assert boxes[0].enqueue(event)
            enqueued_at[event["id"]] = time.time()
        await asyncio.sleep(PHASE_503_S)
        assert receiver.received == [] and receiver.requests > 0
        receiver.stop()
        await asyncio.sleep(PHASE_REFUSED_S)
        receiver.status = 200
        receiver.start()
        recovered_at = time.time()
        await wait_for(lambda: len(set(receiver.keys())) == len(events), timeout_s=30)
        await wait_for(lambda: boxes[0].stats()["pending"] == 0, timeout_s=10)
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 10)

    ids = {event["id"] for event in events}
    keys = Counter(receiver.keys())
    assert set(keys) == ids  # everything arrived, under its own key
    assert all(got.key == got.event["id"] and got.signature_ok for got in receiver.received)
    assert receiver.rejected == 0
    stats = boxes[0].stats()
    assert stats["delivered"] == len(events) and stats["dead"] == 0
    first_arrival = {}
    for got in receiver.received:
        first_arrival.setdefault(got.key, got.at)
    backend = database_url.split(":", 1)[0]
    RESULTS[backend] = {
        "events": len(events),
        "keys": len(keys),
        "duplicates": sum(count - 1 for count in keys.values()),
        "attempts": total_attempts(database_url),
        "requests": receiver.requests,
        "max_delay_s": max(first_arrival[i] - enqueued_at[i] for i in ids),
        "after_recovery_s": max(first_arrival.values()) - recovered_at,
        "rejected": receiver.rejected,
    }
    for box in boxes:
        box.close()
    write_report()
    print(f"\noutage delivery ({backend}): {RESULTS[backend]}")
