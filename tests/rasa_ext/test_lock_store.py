"""The Redis ticket lock under two Rasa instances: Rasa's own store races, ours does not (real Redis)."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from typing import List, Tuple

import pytest
import redis
from rasa.core.lock_store import LockStore, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

from rasa_ext.lock_store import AtomicRedisLockStore

REDIS_URL = "redis://127.0.0.1:6379/1"


@pytest.fixture
def prefix():
    """A key prefix of its own for each test (alphanumeric, as Rasa requires); its keys are deleted after."""
    try:
        client = redis.Redis.from_url(REDIS_URL, socket_timeout=3)
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis at {REDIS_URL} unreachable ({type(exc).__name__})")
    name = "t" + uuid.uuid4().hex[:12]
    yield name
    for key in client.scan_iter(f"{name}*"):
        client.delete(key)


def test_rasa_redis_lock_store_hands_one_ticket_to_two_instances(prefix):
    """RasaHQ/rasa#9213, shown step by step: instance A reads the lock, B issues and saves, A issues and
    saves what it read. Both hold ticket 0, both are "now serving": two turns of one conversation at once."""
    a = RedisLockStore(host="127.0.0.1", port=6379, db=1, key_prefix=prefix)
    b = RedisLockStore(host="127.0.0.1", port=6379, db=1, key_prefix=prefix)
    read_by_a = a.get_or_create_lock("c1")  # A's GET
    ticket_b = b.issue_ticket("c1")  # B's whole GET-change-SET in between
    ticket_a = read_by_a.issue_ticket(60)  # A's change and SET
    a.save_lock(read_by_a)
    assert ticket_a == ticket_b == 0
    lock = a.get_lock("c1")
    assert not lock.is_locked(ticket_a) and not lock.is_locked(ticket_b)  # both may run now


def test_atomic_store_never_issues_a_number_twice_to_concurrent_instances(prefix):
    stores = [AtomicRedisLockStore(url=REDIS_URL, key_prefix=prefix) for _ in range(4)]
    issued: List[int] = []
    guard = threading.Lock()

    def issue(store: AtomicRedisLockStore) -> None:
        for _ in range(50):
            number = store.issue_ticket("c1", 60)
            with guard:
                issued.append(number)

    threads = [threading.Thread(target=issue, args=(s,)) for s in stores for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(issued) == list(range(400))
    lock = stores[0].get_lock("c1")
    assert [t.number for t in lock.tickets] == list(range(400))  # every ticket kept, in issue order


def _run_instances(make_store, turns_per_instance: int) -> Tuple[int, List[int], List[int]]:
    """Two "Rasa instances" (threads with their own event loop and store) each handle messages of the same
    conversation under Rasa's own `LockStore.lock`. Returns the most turns seen inside the lock at once, the
    order turns entered, and the order their tickets were issued."""
    inside = 0
    most_inside = 0
    entered: List[int] = []
    issued: List[int] = []
    guard = threading.Lock()

    async def turn(store: LockStore, turn_id: int) -> None:
        nonlocal inside, most_inside
        async with store.lock("c1", lock_lifetime=30, wait_time_in_seconds=0.005):
            with guard:
                inside += 1
                most_inside = max(most_inside, inside)
                entered.append(turn_id)
            await asyncio.sleep(0.002)  # the turn's work
            with guard:
                inside -= 1

    def instance(base: int) -> None:
        store = make_store()
        original = store.issue_ticket

        def recording_issue(conversation_id, lock_lifetime=60):
            number = original(conversation_id, lock_lifetime)
            with guard:
                issued.append((number, base))
            return number

        store.issue_ticket = recording_issue

        async def main() -> None:
            await asyncio.gather(*(turn(store, base + i) for i in range(turns_per_instance)))

        asyncio.run(main())

    threads = [threading.Thread(target=instance, args=(base,)) for base in (0, 1000)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return most_inside, entered, [n for n, _ in issued]


def test_atomic_store_serves_one_turn_at_a_time_in_ticket_order_across_instances(prefix):
    most_inside, entered, issued = _run_instances(
        lambda: AtomicRedisLockStore(url=REDIS_URL, key_prefix=prefix), turns_per_instance=25
    )
    assert most_inside == 1
    assert len(entered) == 50  # no turn lost (a LockError would have raised in its thread)
    assert len(set(issued)) == 50


def test_an_expired_ticket_stops_blocking_the_queue(prefix):
    store = AtomicRedisLockStore(url=REDIS_URL, key_prefix=prefix)
    stuck = store.issue_ticket("c1", lock_lifetime=0.05)  # an instance that died holding the lock
    waiting = store.issue_ticket("c1", lock_lifetime=60)
    assert store.get_lock("c1").is_locked(waiting)
    time.sleep(0.1)
    store.update_lock("c1")  # what Rasa's waiting loop calls between tries
    lock = store.get_lock("c1")
    assert not lock.is_locked(waiting) and stuck not in [t.number for t in lock.tickets]


def test_cleanup_deletes_the_lock_only_when_no_one_waits_and_numbers_never_repeat(prefix):
    store = AtomicRedisLockStore(url=REDIS_URL, key_prefix=prefix)
    first = store.issue_ticket("c1")
    second = store.issue_ticket("c1")
    store.cleanup("c1", first)
    assert [t.number for t in store.get_lock("c1").tickets] == [second]
    store.cleanup("c1", second)
    assert store.get_lock("c1") is None
    # A waiter still holding an old number must never meet it again on a new lock.
    assert store.issue_ticket("c1") == second + 1


def test_endpoints_yml_names_the_store_and_rasa_builds_it(prefix):
    config = EndpointConfig(url=REDIS_URL, type="rasa_ext.lock_store.AtomicRedisLockStore", key_prefix=prefix)
    store = LockStore.create(config)
    assert isinstance(store, AtomicRedisLockStore)
    assert store.issue_ticket("c1") == 0


@pytest.mark.parametrize("url", ["http://127.0.0.1:6379", "127.0.0.1:6379"])
def test_a_url_that_is_not_redis_is_refused_with_a_reason(url):
    with pytest.raises(ValueError, match="redis://"):
        AtomicRedisLockStore(url=url)
