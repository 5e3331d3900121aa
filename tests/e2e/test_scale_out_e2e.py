"""End to end, the production profile: two Rasa instances (each with its own action server) on one PostgreSQL
tracker store (a fresh database, shared with the outbox and inbox through DATABASE_URL) and our atomic Redis
lock. One conversation alternates between the instances turn by turn; then bursts of concurrent messages from one
sender are split over both. Read back from PostgreSQL, the tracker must hold every turn once, in the order the
visitor's turns were answered, each turn's actions between its message and the next one. Last, the default
profile (one instance, SQLite in DATA_DIR): a conversation carries on after the stack restarts."""

from __future__ import annotations

import json
import threading
import uuid
from typing import Dict, List

import pytest
import redis
import sqlalchemy as sa

from tests.e2e.conftest import MODEL
from tests.e2e.stack import SECRET, Receiver, Stack, free_port, free_ports
from tests.e2e.test_screening_e2e import QUALIFIED_CLICKER
from tests.e2e.visitor import Visitor, asked
from tests.pg_databases import fresh_database, postgres_unavailable

INSTANCES = 2
LOCK_REDIS_URL = "redis://127.0.0.1:6379/11"  # a Redis database of its own (the unit tests use 1)
# Clinic questions the assistant answers at any point: benign, distinct, each one turn.
BURST = [
    "how much does it cost?",
    "where are you located?",
    "do you take insurance?",
    "how long does a session take?",
    "what are your hours?",
    "is ketamine safe?",
    "do I need a referral?",
    "can I bring someone with me?",
]


def redis_unavailable() -> str:
    try:
        redis.Redis.from_url(LOCK_REDIS_URL, socket_timeout=3).ping()
        return ""
    except redis.RedisError as exc:
        return f"Redis unreachable ({type(exc).__name__})"


@pytest.fixture(scope="module")
def scaled_stack(tmp_path_factory: pytest.TempPathFactory):
    if not MODEL.exists():
        pytest.fail("no trained model: run `make train` (make test does it first)")
    reason = postgres_unavailable() or redis_unavailable()
    if reason:
        pytest.skip(reason)
    receiver = Receiver(SECRET)
    receiver.start()
    data_dir = tmp_path_factory.mktemp("scaled-stack-data")
    with fresh_database("haven_e2e") as database_url:
        running = Stack(
            rasa_port=free_ports(INSTANCES),
            action_port=free_ports(INSTANCES),
            inbox_port=free_port(),
            data_dir=data_dir,
            receiver=receiver,
            log_path=data_dir / "stack.log",
            instances=INSTANCES,
            tracker_store_url=database_url,
            lock_store_url=LOCK_REDIS_URL,
            # The outbox and the inbox in the same database as Rasa's `events` table.
            extra_env={"DATABASE_URL": database_url},
        )
        try:
            running.start(timeout_s=900.0)
            yield running
        finally:
            running.stop()
            receiver.stop()
            client = redis.Redis.from_url(LOCK_REDIS_URL, socket_timeout=3)
            for key in client.scan_iter("lock:*"):
                client.delete(key)


def stored_events(stack: Stack, sender: str) -> List[Dict]:
    """The conversation as Rasa's SQL tracker store holds it: every event, in the order it was stored."""
    engine = sa.create_engine(stack.conversations_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT data FROM events WHERE sender_id = :sender ORDER BY id"), {"sender": sender}
            ).fetchall()
    finally:
        engine.dispose()
    return [json.loads(row[0]) for row in rows]


def user_texts(events: List[Dict]) -> List[str]:
    return [e.get("text") or "" for e in events if e.get("event") == "user"]


def turns_are_whole(events: List[Dict]) -> bool:
    """Each user message is answered before the next one is taken: between two user events, the first one's
    turn ends with action_listen; no second user event sits inside a turn (two instances running it at once)."""
    listening = True
    for event in events:
        if event.get("event") == "user":
            if not listening:
                return False
            listening = False
        elif event.get("event") == "action" and event.get("name") == "action_listen":
            listening = True
    return listening


def test_one_screening_alternating_between_two_instances_loses_and_reorders_nothing(scaled_stack):
    turn = [0]

    def say_alternating(sender: str, text: str) -> List[dict]:
        instance = turn[0] % INSTANCES
        turn[0] += 1
        return scaled_stack.say(sender, text, instance=instance)

    visitor = Visitor(say_alternating, QUALIFIED_CLICKER)
    first = visitor.send("hi")
    assert asked(first) == "consent"
    visitor.run(first="Yes")  # each reply asks the next question of the screening, from either instance
    sent = [text for text, _ in visitor.transcript]
    assert len(sent) >= 15 and turn[0] == len(sent)
    events = stored_events(scaled_stack, visitor.sender)
    assert user_texts(events) == sent  # every turn once, in order
    assert turns_are_whole(events)
    lead = scaled_stack.receiver.wait_for(visitor.sender, "lead.created", timeout_s=60)
    assert len(lead) == 1 and lead[0].event["lead"]["outcome"] == "qualified"
    print(f"alternating: {len(sent)} turns over {INSTANCES} instances, {len(events)} events stored in order")


def test_concurrent_messages_from_one_sender_split_over_both_instances_are_all_answered_one_at_a_time(
    scaled_stack,
):
    sender = f"e2e-burst-{uuid.uuid4().hex[:10]}"
    scaled_stack.say(sender, "hi", instance=0)
    scaled_stack.say(sender, "Yes", instance=1)
    answered: Dict[str, List[dict]] = {}
    failures: List[str] = []
    guard = threading.Lock()
    rounds = 2

    def send(text: str, instance: int, start: threading.Barrier) -> None:
        start.wait()
        status, messages = scaled_stack.post(
            json.dumps({"sender": sender, "message": text}).encode(), instance=instance
        )
        with guard:
            if status == 200 and messages:
                answered[text] = messages
            else:
                failures.append(f"{text!r} on instance {instance}: {status} {messages}")

    sent: List[str] = []
    for round_number in range(rounds):
        texts = [f"{text} ({round_number + 1})" for text in BURST]
        start = threading.Barrier(len(texts))
        threads = [threading.Thread(target=send, args=(text, n % INSTANCES, start)) for n, text in enumerate(texts)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(300)
        sent += texts
    assert not failures, failures
    assert set(answered) == set(sent)  # every message answered
    events = stored_events(scaled_stack, sender)
    stored = user_texts(events)
    assert stored[:2] == ["hi", "Yes"]
    assert sorted(stored[2:]) == sorted(sent)  # none lost, none twice
    assert turns_are_whole(events)  # one turn at a time across both instances
    # Each round's messages were all answered before the next round was sent.
    first_round = set(sent[: len(BURST)])
    assert set(stored[2 : 2 + len(BURST)]) == first_round
    print(
        f"concurrent: {len(sent)} messages in {rounds} bursts of {len(BURST)} over {INSTANCES} instances, all answered"
    )


def test_a_conversation_carries_on_after_a_restart_on_the_default_sqlite_store(stack):
    visitor = Visitor(stack.say, {})
    visitor.send("hi")
    assert asked(visitor.send("Yes")) == "age"
    stack.stop()
    stack.start()
    # The new processes find the conversation in DATA_DIR/conversations.db: the age question is answered,
    # not the opening given again.
    messages = visitor.send("34")
    assert asked(messages) not in (None, "consent", "age"), visitor.transcript
    assert user_texts(stored_events(stack, visitor.sender)) == ["hi", "Yes", "34"]
    assert (stack.data_dir / "conversations.db").exists()
