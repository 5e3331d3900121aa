"""endpoints.yml read by Rasa's own reader: the action URL and the stores come from the environment, so two stacks
on different ports (and the instances of one stack) use one file without writing it."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
import redis
from rasa.core.lock_store import InMemoryLockStore, LockStore
from rasa.core.tracker_store import TrackerStore
from rasa.core.utils import read_endpoints_from_path
from rasa.shared.core.domain import Domain
from rasa.shared.exceptions import RasaException

from rasa_ext.lock_store import AtomicRedisLockStore, UrlLockStore
from rasa_ext.tracker_store import UrlSQLTrackerStore

ENDPOINTS = Path(__file__).resolve().parents[2] / "endpoints.yml"
REDIS_URL = "redis://127.0.0.1:6379/11"


def read(monkeypatch: pytest.MonkeyPatch, **env: str):
    values = {"TRACKER_STORE_URL": "sqlite:///:memory:", "LOCK_STORE_URL": "", **env}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return read_endpoints_from_path(ENDPOINTS)


def test_two_action_ports_give_two_action_urls_from_the_same_file(monkeypatch):
    first = read(monkeypatch, ACTION_PORT="6101")
    second = read(monkeypatch, ACTION_PORT="6202")
    assert first.action.url == "http://127.0.0.1:6101/webhook"
    assert second.action.url == "http://127.0.0.1:6202/webhook"


def test_the_tracker_store_is_rasas_sql_store_on_the_url_from_the_environment(monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path / 'conversations.db'}"
    endpoints = read(monkeypatch, ACTION_PORT="6101", TRACKER_STORE_URL=url)
    store = TrackerStore.create(endpoints.tracker_store, Domain.empty())
    assert isinstance(store, UrlSQLTrackerStore)
    assert str(store.engine.url) == url and (tmp_path / "conversations.db").exists()


def test_an_empty_lock_store_url_is_rasas_in_memory_lock(monkeypatch):
    store = LockStore.create(read(monkeypatch, ACTION_PORT="6101", LOCK_STORE_URL="").lock_store)
    assert isinstance(store, UrlLockStore) and isinstance(store.store, InMemoryLockStore)


@pytest.mark.asyncio
async def test_a_redis_lock_store_url_is_our_atomic_lock_shared_by_two_instances(monkeypatch):
    try:
        client = redis.Redis.from_url(REDIS_URL, socket_timeout=3)
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis unreachable ({type(exc).__name__})")
    endpoints = read(monkeypatch, ACTION_PORT="6101", LOCK_STORE_URL=REDIS_URL)
    first, second = LockStore.create(endpoints.lock_store), LockStore.create(endpoints.lock_store)
    assert isinstance(first, UrlLockStore) and isinstance(first.store, AtomicRedisLockStore)
    conversation = "c" + uuid.uuid4().hex
    order: list = []

    async def turn(store: LockStore, name: str) -> None:
        async with store.lock(conversation, wait_time_in_seconds=0.05):
            order.append(f"{name} in")
            await asyncio.sleep(0.2)
            order.append(f"{name} out")

    try:
        await asyncio.gather(*(turn(store, f"t{n}") for n, store in enumerate([first, second] * 3)))
        # One turn at a time across both "instances": every entry is followed by its own exit.
        assert all(order[i].split()[0] == order[i + 1].split()[0] for i in range(0, len(order), 2)), order
        assert len(order) == 12 and client.get(first.store._lock_key(conversation)) is None  # cleaned up
    finally:
        for key in client.scan_iter(f"*{conversation}"):
            client.delete(key)


def test_a_plain_rasa_run_without_the_store_url_set_stops_with_a_clear_error(monkeypatch):
    monkeypatch.setenv("ACTION_PORT", "5055")
    monkeypatch.setenv("LOCK_STORE_URL", "")
    monkeypatch.delenv("TRACKER_STORE_URL", raising=False)
    with pytest.raises(RasaException, match="TRACKER_STORE_URL"):
        read_endpoints_from_path(ENDPOINTS)
