"""ErasureMixin: a save whose latest turn ran action_delete_my_data deletes the conversation instead.

Composed with Rasa's stock SQLTrackerStore (on a SQLite file and on a fresh PostgreSQL database) as the
production store will be (`UrlSQLTrackerStore(ErasureMixin, SQLTrackerStore)`), and with our in-memory store.
"""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from rasa_ext.erasure import ERASE_ACTION, ErasureMixin, erasure_requested
from rasa_ext.tracker_store import ExpiringInMemoryTrackerStore

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"


class ErasingSQLTrackerStore(ErasureMixin, SQLTrackerStore):
    pass


def conversation(sender: str, *turns: str) -> DialogueStateTracker:
    tracker = DialogueStateTracker(sender, [])
    for text in turns:
        tracker.update(UserUttered(text, intent={"name": "inform", "confidence": 1.0}))
        tracker.update(ActionExecuted("screening_form"))
        tracker.update(BotUttered("How old are you?"))
        tracker.update(ActionExecuted("action_listen"))
    return tracker


def ask_to_delete(tracker: DialogueStateTracker) -> None:
    tracker.update(UserUttered("delete my data", intent={"name": "delete_my_data", "confidence": 1.0}))
    tracker.update(ActionExecuted(ERASE_ACTION))
    tracker.update(BotUttered("OK. I am erasing this chat now."))
    tracker.update(SlotSet("requested_slot", None))
    tracker.update(ActionExecuted("action_listen"))


def test_only_the_latest_turn_counts():
    tracker = conversation("a", "Jane Doe")
    assert not erasure_requested(tracker)
    ask_to_delete(tracker)
    assert erasure_requested(tracker)
    # The erasure happened; a later turn of a tracker that somehow held those events does not erase again.
    tracker.update(UserUttered("hi", intent={"name": "greet", "confidence": 1.0}))
    tracker.update(ActionExecuted("action_listen"))
    assert not erasure_requested(tracker)


@pytest.fixture(params=["sqlite", "postgresql"])
def sql_store(request, tmp_path):
    if request.param == "sqlite":
        yield ErasingSQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(tmp_path / "conversations.db"))
        return
    name = "erasure_test_" + uuid.uuid4().hex[:12]
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        pytest.skip(f"PostgreSQL at {PG_ADMIN_URL} unreachable ({type(exc).__name__})")
    store = ErasingSQLTrackerStore(
        Domain.empty(), dialect="postgresql", host="127.0.0.1", port=5432, db=name, username="postgres"
    )
    yield store
    store.engine.dispose()
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE "{name}"'))
    admin.dispose()


def rows(store: SQLTrackerStore, sender: str) -> int:
    with store.session_scope() as session:
        return session.query(store.SQLEvent).filter(store.SQLEvent.sender_id == sender).count()


@pytest.mark.asyncio
async def test_sql_store_erases_every_row_of_that_conversation_only(sql_store):
    visitor, other = conversation("visitor", "Jane Doe"), conversation("other", "John Roe")
    await sql_store.save(visitor)
    await sql_store.save(other)
    # A new session in the same conversation: the erasure covers every session, not only the latest.
    visitor.update(ActionExecuted("action_session_start"))
    visitor.update(UserUttered("555-0100", intent={"name": "inform", "confidence": 1.0}))
    await sql_store.save(visitor)
    assert rows(sql_store, "visitor") == len(visitor.events)
    ask_to_delete(visitor)
    await sql_store.save(visitor)
    assert rows(sql_store, "visitor") == 0
    assert await sql_store.retrieve("visitor") is None
    assert await sql_store.retrieve_full_tracker("visitor") is None
    assert rows(sql_store, "other") == len(other.events)  # nobody else's conversation
    assert set(await sql_store.keys()) == {"other"}
    # The next message starts a fresh conversation, saved as usual.
    fresh = conversation("visitor", "hi")
    await sql_store.save(fresh)
    assert rows(sql_store, "visitor") == len(fresh.events)


@pytest.mark.asyncio
async def test_in_memory_store_erases_the_conversation():
    store = ExpiringInMemoryTrackerStore(Domain.empty())
    visitor = conversation("visitor", "Jane Doe")
    await store.save(visitor)
    await store.save(conversation("other", "John Roe"))
    ask_to_delete(visitor)
    await store.save(visitor)
    assert await store.retrieve("visitor") is None
    assert list(await store.keys()) == ["other"]
    assert "visitor" not in store.last_seen
    await store.save(conversation("visitor", "hi"))
    retrieved = await store.retrieve("visitor")
    assert retrieved is not None and not erasure_requested(retrieved)


class PlainStore(ErasureMixin):
    async def save(self, tracker):  # pragma: no cover - never reached
        raise AssertionError


@pytest.mark.asyncio
async def test_a_store_without_erase_refuses_rather_than_keeps():
    tracker = conversation("a", "x")
    ask_to_delete(tracker)
    with pytest.raises(NotImplementedError):
        await ErasureMixin.erase(PlainStore(), "a")
