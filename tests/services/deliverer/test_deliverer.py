"""The deliverer against a real aiohttp receiver on loopback (no mocked HTTP)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.handoff.outbox import Outbox
from bot.handoff.signing import encode_event, sign
from services.deliverer import USER_AGENT, Deliverer
from tests.handoff_fixtures import SECRET, make_crisis_event, make_lead_event, wait_for


@pytest.fixture
def sqlite_outbox(tmp_path):
    box = Outbox(f"sqlite:///{tmp_path / 'outbox.db'}")
    yield box
    box.close()


def make_deliverer(outbox, url, **overrides) -> Deliverer:
    options = dict(timeout_s=2.0, dead_after_s=60.0, poll_interval_s=0.05, backoff_base_s=0.05, backoff_cap_s=0.2)
    options.update(overrides)
    return Deliverer(outbox, url, SECRET, **options)


@pytest.mark.asyncio
async def test_delivers_signed_body_with_the_contract_headers(sqlite_outbox, receiver):
    event = make_lead_event(1)
    sqlite_outbox.enqueue(event)
    assert await make_deliverer(sqlite_outbox, receiver.url).run_once() == 1
    [got] = receiver.received
    assert got.event == event and got.key == event["id"]
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["User-Agent"] == USER_AGENT
    assert got.headers["X-Signature-256"] == sign(encode_event(event), SECRET)
    assert sqlite_outbox.stats()["delivered"] == 1
    assert await make_deliverer(sqlite_outbox, receiver.url).run_once() == 0  # nothing left


@pytest.mark.asyncio
async def test_a_wrong_secret_is_rejected_and_retried_not_dropped(sqlite_outbox, receiver):
    sqlite_outbox.enqueue(make_lead_event(1))
    wrong = Deliverer(sqlite_outbox, receiver.url, "not-the-secret", timeout_s=2.0, dead_after_s=60.0)
    assert await wrong.run_once() == 0
    assert receiver.rejected == 1 and receiver.received == []
    assert sqlite_outbox.stats()["pending"] == 1


@pytest.mark.asyncio
async def test_409_means_the_receiver_already_has_it(sqlite_outbox, receiver):
    receiver.status = 409
    sqlite_outbox.enqueue(make_lead_event(1))
    assert await make_deliverer(sqlite_outbox, receiver.url).run_once() == 1
    assert sqlite_outbox.stats()["delivered"] == 1


@pytest.mark.asyncio
@pytest.mark.parametrize("status", [400, 404, 500, 503, 302])
async def test_other_statuses_are_failures_with_backoff(sqlite_outbox, receiver, status):
    receiver.status = status
    event = make_lead_event(1)
    sqlite_outbox.enqueue(event)
    deliverer = make_deliverer(sqlite_outbox, receiver.url, backoff_base_s=30.0, backoff_cap_s=30.0)
    assert await deliverer.run_once() == 0
    assert sqlite_outbox.stats()["pending"] == 1
    assert await deliverer.run_once() == 0
    assert receiver.requests == 1  # the retry waits for its backoff


@pytest.mark.asyncio
async def test_crisis_alerts_go_before_leads_enqueued_earlier(sqlite_outbox, receiver):
    leads = [make_lead_event(n) for n in range(5)]
    for event in leads:
        sqlite_outbox.enqueue(event)
    crisis = [make_crisis_event(n) for n in range(2)]
    for event in crisis:
        sqlite_outbox.enqueue(event)
    assert await make_deliverer(sqlite_outbox, receiver.url, batch_size=3).run_once() == 3
    assert await make_deliverer(sqlite_outbox, receiver.url, batch_size=10).run_once() == 4
    order = [got.event["type"] for got in receiver.received]
    assert order == ["crisis.alert"] * 2 + ["lead.created"] * 5


@pytest.mark.asyncio
async def test_dead_after_the_horizon_is_kept_for_staff_and_logged_without_body(sqlite_outbox, receiver, caplog):
    receiver.status = 503
    event = make_crisis_event(1, message="PRIVATE-VISITOR-TEXT")
    sqlite_outbox.enqueue(event)
    deliverer = make_deliverer(sqlite_outbox, receiver.url, dead_after_s=0.6)
    stop = asyncio.Event()
    caplog.set_level(logging.DEBUG, logger="bot.handoff")
    task = asyncio.create_task(deliverer.run_forever(stop))
    await wait_for(lambda: sqlite_outbox.stats()["dead"] == 1)
    stop.set()
    await asyncio.wait_for(task, 5)
    [dead] = sqlite_outbox.list_dead()
    assert dead["id"] == event["id"] and dead["last_error"] == "HTTP 503" and dead["attempts"] >= 2
    assert receiver.requests == dead["attempts"]  # the last attempt happened at the horizon, then it stopped
    assert any("dead" in r.getMessage() and event["id"] in r.getMessage() for r in caplog.records)
    assert all("PRIVATE-VISITOR-TEXT" not in r.getMessage() for r in caplog.records)


@pytest.mark.asyncio
async def test_wake_nudges_a_sleeping_deliverer(sqlite_outbox, receiver):
    deliverer = make_deliverer(sqlite_outbox, receiver.url, poll_interval_s=3600.0)
    stop = asyncio.Event()
    task = asyncio.create_task(deliverer.run_forever(stop))
    await asyncio.sleep(0.2)  # now it sleeps for an hour
    sqlite_outbox.enqueue(make_lead_event(1))
    deliverer.wake()
    # a generous bound on the wait, far below the hour it would otherwise sleep
    await wait_for(lambda: len(receiver.received) == 1, timeout_s=30)
    stop.set()
    await asyncio.wait_for(task, 5)


@pytest.mark.asyncio
async def test_timeout_counts_as_failure_and_spares_the_rest_of_the_batch(sqlite_outbox, receiver):
    receiver.delay_s = 1.0
    for n in range(4):
        sqlite_outbox.enqueue(make_lead_event(n))
    deliverer = make_deliverer(sqlite_outbox, receiver.url, timeout_s=0.3, backoff_base_s=30.0, backoff_cap_s=30.0)
    # a generous bound on the wait; "one timeout, not four" is the request count below, not a duration
    assert await asyncio.wait_for(deliverer.run_once(), 30) == 0
    assert receiver.requests == 1
    assert sqlite_outbox.stats()["pending"] == 4


@pytest.mark.asyncio
async def test_stop_finishes_the_in_flight_post_and_releases_the_rest(sqlite_outbox, receiver):
    receiver.delay_s = 0.5
    for n in range(3):
        sqlite_outbox.enqueue(make_lead_event(n))
    deliverer = make_deliverer(sqlite_outbox, receiver.url, timeout_s=5.0)
    stop = asyncio.Event()
    task = asyncio.create_task(deliverer.run_forever(stop))
    await wait_for(lambda: receiver.requests == 1)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert len(receiver.received) == 1
    assert sqlite_outbox.stats()["pending"] == 2
    # released, not leased: a new deliverer takes them at once
    assert await make_deliverer(sqlite_outbox, receiver.url).run_once() == 2


@pytest.mark.asyncio
async def test_loop_survives_a_broken_database(tmp_path, receiver):
    box = Outbox(f"sqlite:///{tmp_path / 'outbox.db'}")
    box.close()
    (tmp_path / "outbox.db").unlink()
    (tmp_path / "outbox.db").mkdir()  # the file is now a directory: every query fails
    deliverer = make_deliverer(box, receiver.url)
    stop = asyncio.Event()
    task = asyncio.create_task(deliverer.run_forever(stop))
    await asyncio.sleep(0.5)
    assert not task.done()
    stop.set()
    await asyncio.wait_for(task, 40)


def test_settings_are_checked():
    for bad in (dict(url=""), dict(secret=""), dict(timeout_s=0)):
        options = dict(url="http://127.0.0.1:1/", secret="s", timeout_s=1.0)
        options.update(bad)
        with pytest.raises(ValueError):
            Deliverer(None, options["url"], options["secret"], timeout_s=options["timeout_s"], dead_after_s=1.0)


@pytest.mark.asyncio
async def test_crisis_alerts_retry_on_a_shorter_cap(sqlite_outbox, receiver):
    receiver.status = 503
    crisis, lead = make_crisis_event(1), make_lead_event(1)
    sqlite_outbox.enqueue(crisis)
    sqlite_outbox.enqueue(lead)
    deliverer = make_deliverer(
        sqlite_outbox, receiver.url, backoff_base_s=1000.0, backoff_cap_s=1000.0, crisis_backoff_cap_s=0.3
    )
    assert await deliverer.run_once() == 0
    assert receiver.requests == 2
    receiver.status = 200
    await asyncio.sleep(0.35)
    assert await deliverer.run_once() == 1  # the crisis alert is due again; the lead waits up to 1000 s
    assert [got.key for got in receiver.received] == [crisis["id"]]
