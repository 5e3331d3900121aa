from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Optional

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def isolated_outbox(tmp_path, monkeypatch):
    """Each test gets its own SQLite outbox under a temporary DATA_DIR."""
    from actions import runtime

    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("HANDOFF_URL", raising=False)
    runtime.reset()
    yield
    runtime.reset()


@pytest.fixture(scope="session")
def domain() -> Dict[str, Any]:
    return yaml.safe_load((ROOT / "domain.yml").read_text())


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


def make_tracker(
    text: str = "",
    *,
    intent: str = "inform",
    confidence: float = 0.9,
    slots: Optional[Dict[str, Any]] = None,
    requested_slot: Optional[str] = "answer",
    active_loop: Optional[str] = "screening_form",
    sender: str = "test-visitor",
    channel: str = "rest",
    parse_data: Optional[Dict[str, Any]] = None,
    metadata: Optional[Dict[str, Any]] = None,
) -> Tracker:
    all_slots = {"answer": None, "screening": None, "crisis": None, "last_asked": None, "lead_id": None}
    all_slots.update(slots or {})
    all_slots["requested_slot"] = requested_slot
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "intent_ranking": [{"name": intent, "confidence": confidence}],
        "entities": [],
        **(parse_data or {}),  # what else the NLU pipeline attached (the response selector's pick, ...)
    }
    events = [
        {"event": "user", "text": text, "parse_data": latest, "input_channel": channel, "metadata": metadata or {}}
    ]
    return Tracker(
        sender_id=sender,
        slots=all_slots,
        latest_message=latest,
        events=events,
        paused=False,
        followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name="action_listen",
    )
