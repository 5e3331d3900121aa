"""Rasa's SQL tracker store from one URL (rasa_ext/tracker_store.py UrlSQLTrackerStore), on real PostgreSQL and
SQLite: conversations survive a new store (a restart), the outbox and inbox tables share its database without a
collision, and a failed INSERT's error text (which Rasa's fail-safe wrapper logs) carries no visitor text."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa
from rasa.core.tracker_store import FailSafeTrackerStore, SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from rasa_ext.tracker_store import UrlSQLTrackerStore
from tests.pg_databases import fresh_database, postgres_unavailable

VISITOR_TEXT = "my name is Dana Whitfield and my number is 818 555 0142"
needs_postgres = pytest.mark.skipif(postgres_unavailable() is not None, reason="PostgreSQL unavailable")


@pytest.fixture
def pg_url():
    if postgres_unavailable():
        pytest.skip(postgres_unavailable() or "")
    with fresh_database() as url:
        yield url


def conversation(sender: str, texts: list) -> DialogueStateTracker:
    tracker = DialogueStateTracker(sender, [])
    for text in texts:
        tracker.update(UserUttered(text, intent={"name": "inform", "confidence": 1.0}))
        tracker.update(ActionExecuted("utter_ok"))
        tracker.update(BotUttered("ok"))
        tracker.update(ActionExecuted("action_listen"))
    return tracker


def user_texts(tracker) -> list:
    return [e.text for e in tracker.events if isinstance(e, UserUttered)]


@pytest.mark.asyncio
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_a_conversation_survives_a_new_store_and_grows_turn_by_turn(backend, tmp_path, request):
    url = f"sqlite:///{tmp_path / 'conversations.db'}" if backend == "sqlite" else request.getfixturevalue("pg_url")
    first = UrlSQLTrackerStore(Domain.empty(), host=url)  # as Rasa passes endpoints.yml's url
    await first.save(conversation("visitor-1", ["hello", "yes I agree"]))
    first.engine.dispose()
    restarted = UrlSQLTrackerStore(Domain.empty(), url=url)
    tracker = await restarted.retrieve("visitor-1")
    assert tracker is not None and user_texts(tracker) == ["hello", "yes I agree"]
    tracker.update(UserUttered("I am 34"))
    await restarted.save(tracker)  # only the new event is appended
    again = await restarted.retrieve("visitor-1")
    assert user_texts(again) == ["hello", "yes I agree", "I am 34"]
    with restarted.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT count(*) FROM events WHERE sender_id = 'visitor-1'")).scalar()
    assert rows == len(again.events) == 9
    assert list(await restarted.keys()) == ["visitor-1"]
    restarted.engine.dispose()
    if backend == "sqlite":
        assert (tmp_path / "conversations.db").stat().st_mode & 0o777 == 0o600  # health information


class RecordingMixin:
    """Stands in for rasa_ext.erasure.ErasureMixin: wraps __init__, save and retrieve through super()."""

    def __init__(self, *args, **kwargs):
        self.calls = ["init"]
        super().__init__(*args, **kwargs)

    async def save(self, tracker):
        self.calls.append("save")
        await super().save(tracker)

    async def retrieve(self, sender_id):
        self.calls.append("retrieve")
        return await super().retrieve(sender_id)


@pytest.mark.asyncio
async def test_a_mixin_composes_with_the_store(tmp_path):
    class Composed(RecordingMixin, UrlSQLTrackerStore):
        pass

    store = Composed(Domain.empty(), host=f"sqlite:///{tmp_path / 'c.db'}")
    await store.save(conversation("visitor-6", ["hello"]))
    assert user_texts(await store.retrieve("visitor-6")) == ["hello"]
    assert store.calls == ["init", "save", "retrieve"]
    assert store.engine.hide_parameters  # the engine conversations go through is ours


def test_a_store_without_a_url_refuses_to_start():
    with pytest.raises(ValueError, match="TRACKER_STORE_URL"):
        UrlSQLTrackerStore(Domain.empty(), host="")


@needs_postgres
@pytest.mark.asyncio
async def test_the_outbox_and_inbox_share_the_tracker_database_without_a_collision(pg_url):
    """DATABASE_URL may name TRACKER_STORE_URL's database: Rasa's `events` table and ours live side by side."""
    from bot.handoff.notification_store import NotificationStore
    from bot.handoff.outbox import Outbox
    from services.inbox.store import InboxStore
    from tests.handoff_fixtures import make_lead_event

    store = UrlSQLTrackerStore(Domain.empty(), host=pg_url)
    outbox = Outbox(pg_url)
    NotificationStore(pg_url)
    InboxStore(pg_url).create_tables()
    with store.engine.connect() as conn:
        tables = set(sa.inspect(conn).get_table_names())
    ours = {"outbox_events", "outbox_notification_plans", "outbox_notifications"}
    ours |= {"inbox_events", "inbox_received_ids", "inbox_status_changes", "inbox_sessions"}
    assert tables == {"events"} | ours  # one table each, none created twice or renamed away
    await store.save(conversation("visitor-2", ["hello"]))
    assert outbox.enqueue(make_lead_event(1)) is True
    assert user_texts(await store.retrieve("visitor-2")) == ["hello"]
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM outbox_events")).scalar() == 1
        assert conn.execute(sa.text("SELECT count(*) FROM events")).scalar() == 4
    outbox.close()
    store.engine.dispose()


def break_inserts(url: str) -> None:
    """Every INSERT into `events` now fails at the statement, after its values (the event JSON) are bound."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE events ALTER COLUMN data TYPE varchar(20)"))
    engine.dispose()


@needs_postgres
@pytest.mark.asyncio
@pytest.mark.parametrize("store_class", [UrlSQLTrackerStore, SQLTrackerStore])
async def test_a_failed_insert_logs_and_raises_no_visitor_text(store_class, pg_url, caplog):
    """Ours hides the bound values; Rasa's stock store (the contrast, proving the check can fail) does not."""
    store = store_class(Domain.empty(), host=pg_url)
    break_inserts(pg_url)
    tracker = conversation("visitor-3", [VISITOR_TEXT])
    with pytest.raises(sa.exc.DBAPIError) as raised:
        await store.save(tracker)
    caplog.set_level(logging.DEBUG)
    await FailSafeTrackerStore(store).save(tracker)  # Rasa's wrapper: logs the error, keeps the turn in memory
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "value too long" in logged and "value too long" in str(raised.value)  # the failure is reported
    leaked = VISITOR_TEXT in str(raised.value) or VISITOR_TEXT in logged or "818 555" in logged
    assert leaked is (store_class is SQLTrackerStore)
    store.engine.dispose()


@needs_postgres
@pytest.mark.asyncio
@pytest.mark.parametrize("store_class", [UrlSQLTrackerStore, SQLTrackerStore])
async def test_a_refused_row_quoted_by_postgresql_reaches_no_log(store_class, pg_url, caplog):
    """A constraint violation's DETAIL quotes the whole row (`Failing row contains (...)`), the event JSON
    included: hide_parameters cannot hide that, our engine drops it; Rasa's stock store logs it (the contrast)."""
    store = store_class(Domain.empty(), host=pg_url)
    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE events ADD CONSTRAINT refuse CHECK (data NOT LIKE '%Whitfield%')"))
    engine.dispose()
    caplog.set_level(logging.DEBUG)
    tracker = conversation("visitor-4", [VISITOR_TEXT])
    with pytest.raises(sa.exc.IntegrityError) as raised:  # the class stays: callers still catch it
        await store.save(tracker)
    await FailSafeTrackerStore(store).save(tracker)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "violates check constraint" in logged and "violates check constraint" in str(raised.value)
    leaked = "Whitfield" in str(raised.value) or "Whitfield" in logged
    assert leaked is (store_class is SQLTrackerStore)
    store.engine.dispose()


@needs_postgres
@pytest.mark.asyncio
async def test_two_instances_running_one_conversations_turns_at_once_lose_a_message(pg_url):
    """Why several instances need the lock store: Rasa's SQL store appends "the events past the count already
    stored", so when two instances take turns of one conversation at the same moment, the second save finds
    the first one's events counted and drops its own visitor message, silently."""
    instance_a = UrlSQLTrackerStore(Domain.empty(), host=pg_url)
    instance_b = UrlSQLTrackerStore(Domain.empty(), host=pg_url)
    await instance_a.save(conversation("visitor-5", ["hello"]))
    seen_by_a = await instance_a.retrieve("visitor-5")
    seen_by_b = await instance_b.retrieve("visitor-5")  # both read before either writes: no lock between them
    for tracker, text in ((seen_by_a, "I am 34"), (seen_by_b, "what does it cost?")):
        tracker.update(UserUttered(text))
        tracker.update(ActionExecuted("action_listen"))
    await instance_a.save(seen_by_a)
    await instance_b.save(seen_by_b)
    assert user_texts(await instance_a.retrieve("visitor-5")) == ["hello", "I am 34"]  # the second message is gone
    instance_a.engine.dispose()
    instance_b.engine.dispose()
