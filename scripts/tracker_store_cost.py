"""CPU milliseconds of the SQL tracker store's share of a turn (retrieve + save), stock Rasa against our cache.

Rasa's SQLTrackerStore reads every event of the current session on every turn; rasa_ext/tracker_store.py
UrlSQLTrackerStore keeps the rows it read and reads only the new ones (on PostgreSQL). This builds screening-like
conversations (each turn: the visitor's message with a full parse, the form's action, slots (the `screening` slot
with every answer so far), the bot's reply, action_listen: 8 events, shaped like a screening turn's) of 40, 160, 320 and 400 events, then times turns as Rasa runs
them: retrieve, add one turn's events, save. "stock" is Rasa's own retrieve (the same class with the cache off),
"cached" one store serving every turn, "alternating" two stores (two instances) taking turns, so each one's cache
misses the other's last turn (on SQLite the store has no cache: stock only). CPU is this process's (time.process_time: what a Rasa instance spends; the
database server's own work is not in it), the median of `--turns` turns; wall time is shown too.

    .venv/bin/python scripts/tracker_store_cost.py [--url postgresql://...|sqlite:///...] [--turns 15]

Without --url it makes (and drops) a throwaway database on the test PostgreSQL (tests/pg_databases.py) and a
SQLite file in a temporary directory, and measures both.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Dict, List

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from rasa_ext import speedups
from rasa_ext.tracker_store import UrlSQLTrackerStore

ROOT = Path(__file__).resolve().parent.parent
SIZES = (40, 160, 320, 400)
INTENTS = ["inform", "affirm", "deny", "greet", "goodbye", "bot_challenge", "delete_my_data", "faq", "stop", "help"]


def screening_slot(n: int) -> Dict[str, Any]:
    """The `screening` slot as the form writes it every turn: the whole state, every answer so far."""
    answers = {f"question_{i}": {"value": "yes" if i % 2 else 3, "raw": f"reply {i}", "step": i} for i in range(n)}
    return {"version": 2, "step": n, "answers": answers, "stopped": False, "announced": False, "callback": None}


def turn_events(n: int) -> List[Event]:
    """One screening turn's 8 events, shaped like the product's (parse data with a ranking, slots, a reply)."""
    now = time.time()
    ranking = [{"name": name, "confidence": round(1.0 / (i + 2), 4)} for i, name in enumerate(INTENTS)]
    parse = {
        "intent": ranking[0],
        "entities": [],
        "text": f"answer number {n} to the question",
        "message_id": uuid.uuid4().hex,
        "metadata": {},
        "intent_ranking": ranking,
        "response_selector": {"all_retrieval_intents": [], "default": {"response": {}, "ranking": []}},
    }
    return [
        UserUttered(parse["text"], parse["intent"], [], parse, timestamp=now, input_channel="rest"),
        ActionExecuted("screening_form", policy="RulePolicy", confidence=1.0, timestamp=now),
        SlotSet("answer", f"answer {n}", timestamp=now),
        SlotSet("screening", screening_slot(n), timestamp=now),
        SlotSet("last_asked", f"q{n % 12}", timestamp=now),
        BotUttered(
            f"Question {n}: how have you been sleeping this past week?",
            {"buttons": [{"title": "Well", "payload": "/inform"}, {"title": "Badly", "payload": "/inform"}]},
            {"utter_action": "utter_ask_answer"},
            timestamp=now,
        ),
        ActiveLoop("screening_form", timestamp=now),
        ActionExecuted("action_listen", policy="RulePolicy", confidence=1.0, timestamp=now),
    ]


def opening() -> List[Event]:
    now = time.time()
    return [
        ActionExecuted("action_session_start", timestamp=now),
        SessionStarted(timestamp=now),
        ActionExecuted("action_listen", timestamp=now),
    ]


# Events of a real conversation (`--real-from`), to build the conversations from instead of synthetic turns.
REAL_EVENTS: List[Event] = []


async def load_real(url: str, domain: Domain) -> None:
    """The longest conversation in a tracker store (e.g. one `scripts/turn_cost.py --env TRACKER_STORE_URL=...`
    left): its current session's events, read by Rasa's own store."""
    import sqlalchemy as sa
    from rasa.core.tracker_store import SQLTrackerStore

    store = SQLTrackerStore(domain, host=url)
    with store.session_scope() as session:
        event = store.SQLEvent
        sender = session.query(event.sender_id).group_by(event.sender_id).order_by(sa.func.count().desc()).first()[0]
    tracker = await store.retrieve(sender)
    store.engine.dispose()
    if tracker is None:
        raise RuntimeError("no conversation in --real-from")
    REAL_EVENTS.extend(tracker.events)


async def build(store: UrlSQLTrackerStore, sender: str, size: int, domain: Domain) -> int:
    """A conversation of `size` events (the real one's first events with --real-from, padded with turns)."""
    tracker = DialogueStateTracker.from_events(sender, REAL_EVENTS[:size] or opening(), domain.slots)
    n = 0
    while len(tracker.events) < size:
        for event in turn_events(n):
            tracker.update(event)
        n += 1
    await store.save(tracker)
    return n


async def one_turn(store: UrlSQLTrackerStore, sender: str, n: int) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    tracker = await store.retrieve(sender)
    if tracker is None:
        raise RuntimeError(f"no conversation {sender!r}")
    for event in turn_events(n):
        tracker.update(event)
    await store.save(tracker)
    return (time.process_time() - cpu) * 1000, (time.perf_counter() - wall) * 1000


async def measure(url: str, turns: int) -> Dict[str, Dict[int, tuple[float, float]]]:
    """Per size, one conversation per mode; the modes take their turns in rotation (so the machine's load
    falls on all of them alike)."""
    domain = Domain.load(str(ROOT / "domain.yml"))
    stores = [UrlSQLTrackerStore(domain, url=url), UrlSQLTrackerStore(domain, url=url)]
    stock = UrlSQLTrackerStore(domain, url=url)
    stock.row_cache = None
    modes = ["stock"] + (["cached", "alternating"] if stores[0].row_cache is not None else [])
    results: Dict[str, Dict[int, tuple[float, float]]] = {mode: {} for mode in modes}
    for size in SIZES:
        senders = {mode: f"{mode}-{size}-{uuid.uuid4().hex[:6]}" for mode in modes}
        built = {mode: await build(stores[0], sender, size, domain) for mode, sender in senders.items()}
        samples: Dict[str, List[Any]] = {mode: [] for mode in modes}
        for n in range(turns + 1):
            for mode in modes:
                store = stock if mode == "stock" else stores[n % 2 if mode == "alternating" else 0]
                sample = await one_turn(store, senders[mode], built[mode] + n)
                if n:  # the first turn warms up (and, cached, reads in full)
                    samples[mode].append(sample)
        for mode in modes:
            results[mode][size] = (
                statistics.median(s[0] for s in samples[mode]),
                statistics.median(s[1] for s in samples[mode]),
            )
    for store in (*stores, stock):
        store.engine.dispose()
    return results


def report(name: str, results: Dict[str, Dict[int, tuple[float, float]]]) -> None:
    titles = {
        "stock": "stock (Rasa's read and count)",
        "cached": "cached, one instance",
        "alternating": "cached, two alternating",
    }
    print(f"\n{name}: retrieve + save per turn, median; CPU ms (wall ms)")
    print("| events | " + " | ".join(titles[mode] for mode in results) + " |")
    print("|---" * (len(results) + 1) + "|")
    for size in SIZES:
        cells = [f"{results[mode][size][0]:.1f} ({results[mode][size][1]:.1f})" for mode in results]
        print(f"| {size} | " + " | ".join(cells) + " |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="one database to measure (default: throwaway PostgreSQL and SQLite)")
    parser.add_argument("--turns", type=int, default=15)
    parser.add_argument("--real-from", help="a tracker store URL: build from its longest conversation's events")
    args = parser.parse_args()
    speedups.install()
    if args.real_from:
        asyncio.run(load_real(args.real_from, Domain.load(str(ROOT / "domain.yml"))))
        print(f"from a real conversation of {len(REAL_EVENTS)} events (padded with synthetic turns beyond)")
    if args.url:
        report(args.url.split(":")[0], asyncio.run(measure(args.url, args.turns)))
        return 0
    from tests.pg_databases import fresh_database

    with fresh_database("haven_cache") as url:
        report("PostgreSQL", asyncio.run(measure(url, args.turns)))
    with tempfile.TemporaryDirectory() as tmp:
        report(
            "SQLite (no cache: the store reads as Rasa does)", asyncio.run(measure(f"sqlite:///{tmp}/c.db", args.turns))
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
