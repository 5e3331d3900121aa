from __future__ import annotations

import time

import pytest

from services.inbox.store import InboxStore, UnknownStatus
from tests.services.inbox.inbox_helpers import alert_event, lead_event


@pytest.fixture
def store(database_url: str):
    store = InboxStore(database_url)
    store.create_tables()
    yield store
    store.dispose()


def test_add_event_is_insert_or_ignore(store: InboxStore) -> None:
    event = lead_event()
    assert store.add_event(event["id"], event["type"], event["created_at"], event) is True
    assert store.add_event(event["id"], event["type"], event["created_at"], {"changed": True}) is False
    stored = store.get_event(event["id"])
    assert stored is not None and stored.body == event and stored.status == "new"
    assert len(store.list_events(["lead.created"])) == 1


def test_list_is_newest_first_and_filters_by_type_and_status(store: InboxStore) -> None:
    older, newer, alert = lead_event(), lead_event(), alert_event()
    store.add_event(older["id"], "lead.created", older["created_at"], older, received_at=1000.0)
    store.add_event(newer["id"], "lead.created", newer["created_at"], newer, received_at=2000.0)
    store.add_event(alert["id"], "crisis.alert", alert["created_at"], alert, received_at=3000.0)
    assert [e.id for e in store.list_events(["lead.created"])] == [newer["id"], older["id"]]
    assert [e.id for e in store.list_events(["crisis.alert"])] == [alert["id"]]
    store.change_status(older["id"], "contacted", "staff")
    assert [e.id for e in store.list_events(["lead.created"], status="contacted")] == [older["id"]]


def test_status_change_records_who_and_when(store: InboxStore) -> None:
    event = alert_event()
    store.add_event(event["id"], event["type"], event["created_at"], event)
    assert store.get_event(event["id"]).status == "open"
    change = store.change_status(event["id"], "acknowledged", "dr.lee", at=1234.5)
    assert change is not None and (change.from_status, change.to_status) == ("open", "acknowledged")
    store.change_status(event["id"], "closed", "staff", at=1300.0)
    history = store.status_history(event["id"])
    assert [(c.from_status, c.to_status, c.changed_by, c.changed_at) for c in history] == [
        ("open", "acknowledged", "dr.lee", 1234.5),
        ("acknowledged", "closed", "staff", 1300.0),
    ]
    assert store.get_event(event["id"]).status == "closed"


def test_status_must_fit_the_event_kind(store: InboxStore) -> None:
    event = lead_event()
    store.add_event(event["id"], event["type"], event["created_at"], event)
    with pytest.raises(UnknownStatus):
        store.change_status(event["id"], "acknowledged", "staff")
    assert store.change_status("no-such-id", "contacted", "staff") is None
    assert store.status_history(event["id"]) == []


def test_sessions_expire_and_can_be_deleted(store: InboxStore) -> None:
    now = time.time()
    store.create_session("h1", "staff", "csrf1", now + 60)
    store.create_session("h2", "staff", "csrf2", now - 1)
    session = store.get_session("h1")
    assert session is not None and session.username == "staff" and session.csrf_token == "csrf1"
    assert store.get_session("h2") is None
    assert store.get_session("h1", now=now + 61) is None
    store.delete_session("h1")
    assert store.get_session("h1") is None


def test_closed_items_past_retention_are_purged_with_their_history(store: InboxStore) -> None:
    old_closed, old_open, new_closed = lead_event(), alert_event(), lead_event()
    store.add_event(old_closed["id"], "lead.created", old_closed["created_at"], old_closed, received_at=1000.0)
    store.add_event(old_open["id"], "crisis.alert", old_open["created_at"], old_open, received_at=1000.0)
    store.add_event(new_closed["id"], "lead.created", new_closed["created_at"], new_closed, received_at=5000.0)
    store.change_status(old_closed["id"], "closed", "staff")
    store.change_status(new_closed["id"], "closed", "staff")
    assert store.purge_closed(before=2000.0) == 1
    assert store.get_event(old_closed["id"]) is None and store.status_history(old_closed["id"]) == []
    assert store.get_event(old_open["id"]) is not None  # not closed: kept, however old
    assert store.get_event(new_closed["id"]) is not None  # closed but recent: kept
    assert store.purge_closed(before=2000.0) == 0
