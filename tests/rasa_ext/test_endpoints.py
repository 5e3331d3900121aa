"""endpoints.yml read by Rasa's own reader: the action URL and the transcript retention come from the environment,
so two stacks on different ports use one file without writing it (no race between two `make run`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.core.tracker_store import create_tracker_store
from rasa.core.utils import read_endpoints_from_path
from rasa.shared.core.domain import Domain
from rasa.shared.exceptions import RasaException

from rasa_ext.tracker_store import ExpiringInMemoryTrackerStore

ENDPOINTS = Path(__file__).resolve().parents[2] / "endpoints.yml"


def read(monkeypatch: pytest.MonkeyPatch, **env: str):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return read_endpoints_from_path(ENDPOINTS)


def test_two_action_ports_give_two_action_urls_from_the_same_file(monkeypatch):
    first = read(monkeypatch, ACTION_PORT="6101", TRANSCRIPT_RETENTION_MINUTES="1440")
    second = read(monkeypatch, ACTION_PORT="6202", TRANSCRIPT_RETENTION_MINUTES="1440")
    assert first.action.url == "http://127.0.0.1:6101/webhook"
    assert second.action.url == "http://127.0.0.1:6202/webhook"


def test_the_tracker_store_gets_its_retention_from_the_environment(monkeypatch):
    endpoints = read(monkeypatch, ACTION_PORT="6101", TRANSCRIPT_RETENTION_MINUTES="90")
    assert endpoints.tracker_store.kwargs["retention_minutes"] == "90"  # Rasa's substitution gives a string
    store = create_tracker_store(endpoints.tracker_store, Domain.empty())
    assert isinstance(store, ExpiringInMemoryTrackerStore)
    assert store.retention_s == 90 * 60.0


def test_a_plain_rasa_run_without_the_retention_set_stops_with_a_clear_error(monkeypatch):
    monkeypatch.setenv("ACTION_PORT", "5055")
    monkeypatch.delenv("TRANSCRIPT_RETENTION_MINUTES", raising=False)
    with pytest.raises(RasaException, match="TRANSCRIPT_RETENTION_MINUTES"):
        read_endpoints_from_path(ENDPOINTS)
