"""`make bench`: the real stack (services/launcher.py) on free loopback ports under N concurrent simulated visitors,
each completing a whole screening over the REST channel, and in the same run the floor: N visitors asking
"are you a bot?" (a rule with the plain response utter_iamabot, no custom action) on ongoing conversations.

    .venv/bin/python scripts/bench.py [--profile production|embedded] [--n 1,10,50] [--phase-s 240] ...

Profiles: `production` (default) runs 1 and then 2 Rasa instances (each with its action server) on PostgreSQL
(a fresh database, created and dropped here) and Redis (BENCH_REDIS_DB, default 12), turns spread round-robin
over the instances like a load balancer; `embedded` runs 1 instance on the default stores (no PostgreSQL or
Redis). Every phase is capped (BENCH_PHASE_S) and the whole run bounded (BENCH_TOTAL_S): a screening cut by the
cap counts as incomplete. Writes reports/bench.md and reports/bench.png and prints the table (docs/bench.md).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

import yaml  # noqa: E402

REPORTS = ROOT / "reports"
MODEL = ROOT / "models" / "current.tar.gz"
TRAIN_TIME = ROOT / "models" / "current.train.json"  # written by the Makefile's train target
FLOOR_MESSAGE = "are you a bot?"
FLOOR_RESPONSE = "utter_iamabot"
DEFAULT_NS = (1, 10, 50)
PERCENTILES = (50, 95, 99)
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"  # trust auth on these machines (docs/bench.md)
PG_BENCH_URL = "postgresql://postgres@127.0.0.1:5432/{database}"
REDIS_URL = "redis://127.0.0.1:6379/{db}"
LEAD_WAIT_S = 60.0  # after a screening phase, how long the deliverer gets to hand every lead to the receiver
STARTUP_RESERVE_S = 180.0  # kept back from the run's budget for each configuration still to start


# --------------------------------------------------------------------------------------------------------------
# Pure parts: statistics, /proc parsing, rendering (tests/test_bench.py).


def percentile(values: Sequence[float], p: float) -> Optional[float]:
    """The p-th percentile (0-100) by linear interpolation between closest ranks (numpy's default); None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100.0
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def ratio(value: Optional[float], floor: Optional[float]) -> Optional[float]:
    """value / floor, or None when either is missing or the floor is 0."""
    if value is None or floor is None or floor == 0:
        return None
    return value / floor


def parse_status(text: str) -> Dict[str, int]:
    """The memory lines of /proc/<pid>/status in kB: {"VmHWM": 812345, "VmRSS": ...}."""
    found: Dict[str, int] = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        if name.startswith("Vm") and rest.strip().endswith("kB"):
            found[name] = int(rest.split()[0])
    return found


def parse_stat(text: str) -> Tuple[int, int]:
    """(parent pid, CPU ticks used: user + system) from /proc/<pid>/stat. The command name (field 2) may hold
    spaces and parentheses, so the fields are counted from its closing parenthesis."""
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[1]), int(fields[11]) + int(fields[12])


def descendants(parents: Mapping[int, int], root: int) -> List[int]:
    """Every process below `root` in a {pid: parent pid} map, nearest first."""
    children: Dict[int, List[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    found, queue = [], sorted(children.get(root, []))
    while queue:
        pid = queue.pop(0)
        found.append(pid)
        queue.extend(sorted(children.get(pid, [])))
    return found


def _option(argv: Sequence[str], name: str) -> Optional[str]:
    for i, arg in enumerate(argv[:-1]):
        if arg == name:
            return argv[i + 1]
    return None


def process_label(argv: Sequence[str], rasa_port: int, action_port: int) -> Optional[str]:
    """What a launcher child is, from its command line: "rasa 0", "actions 1", "inbox", "deliverer"; None for
    anything else (a helper process of a child)."""
    for module, name, base in (
        ("services.rasa_server", "rasa", rasa_port),
        ("services.action_server", "actions", action_port),
    ):
        if module in argv:
            port = _option(argv, "--port")
            return f"{name} {int(port) - base}" if port and port.isdigit() else name
    for module, name in (("services.inbox", "inbox"), ("services.deliverer", "deliverer")):
        if module in argv:
            return name
    return None


def fmt_ms(seconds: Optional[float]) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f}"


def fmt_num(value: Optional[float], digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def fmt_ratio(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:.2f}x"


@dataclass
class PhaseResult:
    """One phase: `kind` "screening" or "floor", N concurrent visitors."""

    kind: str
    n: int
    latencies: List[float] = field(default_factory=list)  # seconds, every timed turn answered with HTTP 200
    wall_s: float = 0.0
    errors: Counter = field(default_factory=Counter)  # "HTTP 500", "timeout", "wrong reply: ..." -> count
    started: int = 0  # visitors (screenings) started
    completed: int = 0  # ... that reached their end with every reply right
    incomplete: int = 0  # ... cut by the phase's time cap
    cap_s: float = 0.0
    cpu_s: Dict[str, float] = field(default_factory=dict)  # CPU seconds each process used during the phase
    leads_delivered: int = 0  # screenings whose lead reached the receiver with the expected outcome
    wrong: Counter = field(default_factory=Counter)  # what the wrong replies were: "<persona>: <what>" -> count

    @property
    def turns(self) -> int:
        return len(self.latencies)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def p(self, q: float) -> Optional[float]:
        return percentile(self.latencies, q)

    @property
    def turns_per_s(self) -> Optional[float]:
        return self.turns / self.wall_s if self.wall_s > 0 and self.turns else None

    def cpu_ms_per_turn(self, prefix: str) -> Optional[float]:
        """CPU milliseconds per timed turn of the processes whose label starts with `prefix` ("rasa", "actions")."""
        used = [seconds for label, seconds in self.cpu_s.items() if label.startswith(prefix)]
        return sum(used) * 1000 / self.turns if self.turns and used else None


@dataclass
class ConfigResult:
    name: str  # "1 instance", "2 instances"
    instances: int
    stores: str  # how conversations and locks are stored in this configuration
    phases: List[PhaseResult] = field(default_factory=list)
    peak_rss_kb: Dict[str, int] = field(default_factory=dict)  # VmHWM per process (start-up included)
    run_rss_kb: Dict[str, int] = field(default_factory=dict)  # largest VmRSS sampled while visitors ran
    startup_s: Optional[float] = None
    notes: List[str] = field(default_factory=list)

    def phase(self, kind: str, n: int) -> Optional[PhaseResult]:
        return next((p for p in self.phases if p.kind == kind and p.n == n), None)

    @property
    def ns(self) -> List[int]:
        return sorted({p.n for p in self.phases})


def errors_cell(phase: Optional[PhaseResult]) -> str:
    if phase is None:
        return "-"
    if not phase.errors:
        return "0"
    detail = ", ".join(f"{kind} {count}" for kind, count in sorted(phase.errors.items()))
    return f"{phase.error_count} ({detail})"


TABLE_HEADER = (
    "| config | N | screenings done/started | turns | p50 ms | p95 ms | p99 ms | turns/s | errors "
    "| floor turns | floor p50 ms | floor p95 ms | floor p99 ms | floor turns/s | floor errors "
    "| p50 ratio | p95 ratio | p99 ratio | turns/s ratio |"
)


def table_rows(configs: Sequence[ConfigResult]) -> List[str]:
    rows = [TABLE_HEADER, "|" + "---|" * TABLE_HEADER.count(" | ") + "---|"]
    for config in configs:
        for n in config.ns:
            s, f = config.phase("screening", n), config.phase("floor", n)
            done = (
                "-" if s is None else f"{s.completed}/{s.started}" + (f" ({s.incomplete} cut)" if s.incomplete else "")
            )
            cells = [
                config.name,
                str(n),
                done,
                str(s.turns) if s else "-",
                *(fmt_ms(s.p(q) if s else None) for q in PERCENTILES),
                fmt_num(s.turns_per_s if s else None),
                errors_cell(s),
                str(f.turns) if f else "-",
                *(fmt_ms(f.p(q) if f else None) for q in PERCENTILES),
                fmt_num(f.turns_per_s if f else None),
                errors_cell(f),
                *(fmt_ratio(ratio(s.p(q), f.p(q)) if s and f else None) for q in PERCENTILES),
                fmt_ratio(ratio(s.turns_per_s, f.turns_per_s) if s and f else None),
            ]
            rows.append("| " + " | ".join(cells) + " |")
    return rows


def cpu_rows(configs: Sequence[ConfigResult]) -> List[str]:
    rows = [
        "| config | N | screening: Rasa CPU ms/turn | actions CPU ms/turn | floor: Rasa CPU ms/turn "
        "| actions CPU ms/turn | Rasa CPU ratio | leads delivered |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for config in configs:
        for n in config.ns:
            s, f = config.phase("screening", n), config.phase("floor", n)
            s_rasa = s.cpu_ms_per_turn("rasa") if s else None
            f_rasa = f.cpu_ms_per_turn("rasa") if f else None
            leads = f"{s.leads_delivered}/{s.completed}" if s else "-"
            rows.append(
                f"| {config.name} | {n} | {fmt_num(s_rasa)} | {fmt_num(s.cpu_ms_per_turn('actions') if s else None)} "
                f"| {fmt_num(f_rasa)} | {fmt_num(f.cpu_ms_per_turn('actions') if f else None)} "
                f"| {fmt_ratio(ratio(s_rasa, f_rasa))} | {leads} |"
            )
    return rows


def rss_rows(configs: Sequence[ConfigResult]) -> List[str]:
    rows = ["| config | process | peak RSS MB (VmHWM) | largest RSS MB while visitors ran |", "|---|---|---|---|"]
    for config in configs:
        for label in sorted(config.peak_rss_kb, key=_process_order):
            peak, during = config.peak_rss_kb[label], config.run_rss_kb.get(label)
            rows.append(
                f"| {config.name} | {label} | {peak / 1024:.0f} | {'-' if during is None else f'{during / 1024:.0f}'} |"
            )
    return rows


def _process_order(label: str) -> Tuple[int, str]:
    order = ("rasa", "actions", "inbox", "deliverer", "launcher")
    head = label.split()[0]
    return (order.index(head) if head in order else len(order), label)


def headline(configs: Sequence[ConfigResult]) -> List[str]:
    """The closing-note figures: per configuration, at the largest N, p95 against the floor, turns/s and RSS."""
    lines = []
    for config in configs:
        if not config.ns:
            continue
        n = config.ns[-1]
        s, f = config.phase("screening", n), config.phase("floor", n)
        if s is None:
            continue
        rasa_peak = sum(kb for label, kb in config.peak_rss_kb.items() if label.startswith("rasa")) / 1024
        lines.append(
            f"- {config.name}, N={n}: screening p95 {fmt_ms(s.p(95))} ms against the floor's "
            f"{fmt_ms(f.p(95) if f else None)} ms ({fmt_ratio(ratio(s.p(95), f.p(95)) if f else None)}); "
            f"{fmt_num(s.turns_per_s)} screening turns/s (floor {fmt_num(f.turns_per_s if f else None)}); "
            f"{s.completed}/{s.started} screenings done, {s.error_count} errors; Rasa peak RSS {rasa_peak:.0f} MB."
        )
    return lines


HOW_TO_READ = """\
- A **turn** is one visitor message and the bot's whole reply (one POST to `/webhooks/rest/webhook`); its
  latency is measured at the client, from sending to the last byte of the reply. Percentiles are over every
  answered turn of the phase; **turns/s** is answered turns over the phase's wall time.
- **Screening**: N visitors at once, each a whole screening from "hi" to its end (a mix of the personas in
  tests/e2e/personas.py: clicked, typed with re-asks, a clinician-review case; 32-46 turns each), replying as
  soon as the bot answers (no think time). **Floor**: N visitors at once on ongoing conversations, each sending
  "are you a bot?" (one untimed turn first, then the timed ones), answered by a rule with the plain response
  `utter_iamabot`: the same server's NLU pipeline, tracker store and lock, without the action server.
- **Ratios** are screening / floor at the same N and configuration. A latency ratio of 7x means a screening turn
  takes 7 times as long as the cheapest turn the server can answer; a turns/s ratio of 0.15x means it serves
  0.15 times as many. The issue's target is a p95 ratio toward 1.5x.
- **Errors**: a reply other than HTTP 200, a timeout, or a wrong reply: an unexpected question for the persona,
  an empty reply, a screening that ended without its closing message, a floor reply other than
  `utter_iamabot`. After a screening phase every finished screening's lead must reach the stand-in clinic
  backend with the persona's outcome ("leads delivered"). A screening cut by the phase's time cap is
  "cut", not an error.
- **CPU ms/turn**: CPU time the Rasa servers (and the action servers) used during the phase, per answered
  turn, from /proc/<pid>/stat. Less sensitive to other load on the machine than latency.
- **Peak RSS** is each process's VmHWM (/proc/<pid>/status), which includes loading the model at start-up;
  the next column is the largest VmRSS sampled while visitors were running.
- On a shared or loaded machine latencies rise and turns/s fall for reasons outside the stack: compare ratios
  and CPU per turn across runs rather than absolute times, and rerun on a quiet machine for figures to quote."""


def render_report(
    configs: Sequence[ConfigResult], machine: Mapping[str, str], training: Sequence[str], run: Mapping[str, str]
) -> str:
    lines = [
        "# Bench: screening turns against the floor",
        "",
        f"`make bench` (scripts/bench.py), {machine.get('date', '?')}, commit {machine.get('commit', '?')}. "
        "How to run it and what it measures: docs/bench.md.",
        "",
        "## Results",
        "",
        *table_rows(configs),
        "",
        "Latencies in milliseconds; ratios are screening / floor (see How to read it).",
        "",
        "## Headline (largest N)",
        "",
        *(headline(configs) or ["- no screening phase ran"]),
        "",
        "## CPU per turn",
        "",
        *cpu_rows(configs),
        "",
        "## Memory per process",
        "",
        *rss_rows(configs),
        "",
        "## Training time",
        "",
        *(f"- {line}" for line in training),
        "",
        "## Machine",
        "",
        *(f"- {name}: {value}" for name, value in machine.items()),
        "",
        "## This run",
        "",
        *(f"- {name}: {value}" for name, value in run.items()),
        "",
    ]
    for config in configs:
        extra = [f"start-up {config.startup_s:.0f} s (stack ready, before the warm-up)"] if config.startup_s else []
        lines.append(f"- {config.name}: {config.stores}; " + "; ".join(extra + config.notes))
        for phase in config.phases:
            for what, count in sorted(phase.wrong.items()):
                lines.append(f"  - wrong replies, {phase.kind} N={phase.n}: {what} ({count})")
    lines += ["", "## How to read it", "", HOW_TO_READ, ""]
    return "\n".join(lines)


def training_lines(record: Optional[Mapping[str, Any]], fresh_s: Optional[float] = None) -> List[str]:
    lines = []
    if record and isinstance(record.get("seconds"), (int, float)):
        cores = f" on {record['cores']} cores" if record.get("cores") else ""
        lines.append(
            f"`make train` (rasa data validate + rasa train): {record['seconds']:.0f} s{cores}, "
            f"finished {record.get('finished', '?')} (models/current.train.json)"
        )
    else:
        lines.append("`make train`: not recorded (the model was not trained by this Makefile; run `make train`)")
    if fresh_s is not None:
        lines.append(f"fresh `rasa train` in a temporary directory during this run (BENCH_TRAIN=1): {fresh_s:.0f} s")
    return lines


# --------------------------------------------------------------------------------------------------------------
# Processes: who the launcher's children are, their memory and CPU.


def _read(path: str) -> Optional[str]:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return None


def process_table() -> Dict[int, Tuple[int, int]]:
    """{pid: (parent pid, CPU ticks)} of every process we can read."""
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            text = _read(f"/proc/{entry}/stat")
            if text:
                with contextlib.suppress(ValueError, IndexError):
                    table[int(entry)] = parse_stat(text)
    return table


def stack_processes(launcher_pid: int, rasa_port: int, action_port: int) -> Dict[str, int]:
    """{label: pid} of the launcher and its labelled descendants."""
    table = process_table()
    found = {"launcher": launcher_pid}
    for pid in descendants({pid: parent for pid, (parent, _) in table.items()}, launcher_pid):
        cmdline = _read(f"/proc/{pid}/cmdline")
        label = process_label(cmdline.split("\0"), rasa_port, action_port) if cmdline else None
        if label and label not in found:
            found[label] = pid
    return found


class ProcessFinder:
    """The stack's {label: pid}, found again in /proc at most every `ttl_s` (a restarted child gets a new pid)."""

    def __init__(self, launcher_pid: int, rasa_port: int, action_port: int, ttl_s: float = 5.0) -> None:
        self.args = (launcher_pid, rasa_port, action_port)
        self.ttl_s = ttl_s
        self._found: Dict[str, int] = {}
        self._at = -math.inf
        self._lock = threading.Lock()

    def __call__(self, fresh: bool = False) -> Dict[str, int]:
        with self._lock:
            if fresh or time.monotonic() - self._at > self.ttl_s:
                self._found, self._at = stack_processes(*self.args), time.monotonic()
            return dict(self._found)


def cpu_seconds(processes: Mapping[str, int]) -> Dict[str, float]:
    ticks = os.sysconf("SC_CLK_TCK")
    used = {}
    for label, pid in processes.items():
        text = _read(f"/proc/{pid}/stat")
        if text:
            used[label] = parse_stat(text)[1] / ticks
    return used


class MemorySampler:
    """Samples VmHWM and VmRSS of the stack's processes every `interval_s` in a thread; `measuring` marks the
    spans (visitors running) whose VmRSS counts for the "while visitors ran" column."""

    def __init__(self, processes: Callable[[], Dict[str, int]], interval_s: float = 0.5) -> None:
        self.processes = processes
        self.interval_s = interval_s
        self.peak: Dict[str, int] = {}
        self.during: Dict[str, int] = {}
        self.measuring = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> None:
        for label, pid in self.processes().items():
            text = _read(f"/proc/{pid}/status")
            if not text:
                continue
            memory = parse_status(text)
            if "VmHWM" in memory:
                self.peak[label] = max(self.peak.get(label, 0), memory["VmHWM"])
            if self.measuring and "VmRSS" in memory:
                self.during[label] = max(self.during.get(label, 0), memory["VmRSS"])

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample()

    def start(self) -> MemorySampler:
        self.sample()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sample()


# --------------------------------------------------------------------------------------------------------------
# Visitors.


class PhaseOver(Exception):
    """The phase's time cap passed: the visitor stops where it is."""


class TurnFailed(Exception):
    """A turn got no usable reply (counted in the phase's errors already)."""


class RoundRobin:
    """Spreads turns over the instances 0..n-1 one after the other, like a load balancer."""

    def __init__(self, instances: int) -> None:
        self._instances = itertools.cycle(range(max(1, instances)))
        self._lock = threading.Lock()

    def next(self) -> int:
        with self._lock:
            return next(self._instances)


class Turns:
    """Sends turns for one phase and records them: latency of every HTTP 200, errors by kind."""

    def __init__(self, post: Callable[..., tuple], instances: int, deadline: float, timeout_s: float) -> None:
        self.post = post
        self.balancer = RoundRobin(instances)
        self.deadline = deadline
        self.timeout_s = timeout_s
        self.latencies: List[float] = []
        self.errors: Counter = Counter()
        self.wrong: Counter = Counter()
        self._lock = threading.Lock()

    def error(self, kind: str, what: str = "") -> None:
        with self._lock:
            self.errors[kind] += 1
            if what:
                self.wrong[what] += 1

    def say(self, sender: str, text: str, timed: bool = True) -> List[dict]:
        if time.monotonic() >= self.deadline:
            raise PhaseOver
        body = json.dumps({"sender": sender, "message": text}).encode()
        started = time.perf_counter()
        try:
            status, messages = self.post(body, instance=self.balancer.next(), timeout=self.timeout_s)
        except TimeoutError:  # socket.timeout is TimeoutError on Python 3.10
            self.error("timeout")
            raise TurnFailed from None
        except urllib.error.URLError as error:
            self.error("timeout" if isinstance(error.reason, TimeoutError) else "connection")
            raise TurnFailed from None
        except (OSError, ValueError):  # a reset connection, a body that is not JSON
            self.error("connection")
            raise TurnFailed from None
        elapsed = time.perf_counter() - started
        if status != 200:
            self.error(f"HTTP {status}")
            raise TurnFailed
        if timed:
            with self._lock:
                self.latencies.append(elapsed)
        if not isinstance(messages, list) or not messages:
            self.error("wrong reply", "an empty reply")
            raise TurnFailed
        return messages


def closing_texts(first_name: str) -> Tuple[str, ...]:
    """The messages a screening with a lead may end on: the thanks with the visitor's name, or the notice that
    the answers are saved but delivery is slow (both from the clinic profile)."""
    from bot.clinic import load_clinic_profile

    messages = load_clinic_profile().messages
    return (
        messages["finished_with_lead"].split("{first_name}")[0] + first_name,
        messages["handoff_delayed"].split(".")[0],
    )


def run_screenings(stack: Any, n: int, cap_s: float, timeout_s: float, lead_wait_s: float = LEAD_WAIT_S) -> PhaseResult:
    """N visitors at once, visitor i a whole screening of persona i mod 3, until all end or the cap."""
    from tests.e2e.personas import WHOLE_SCREENINGS
    from tests.e2e.visitor import Visitor, asked

    result = PhaseResult("screening", n, started=n, cap_s=cap_s)
    started = time.monotonic()
    turns = Turns(stack.post, stack.instances, started + cap_s, timeout_s)
    finished: List[Tuple[str, str]] = []  # (sender, expected lead outcome)
    lock = threading.Lock()

    def visit(i: int) -> None:
        name, persona, outcome = WHOLE_SCREENINGS[i % len(WHOLE_SCREENINGS)]
        visitor = Visitor(turns.say, persona, sender=f"bench-{uuid.uuid4().hex[:12]}")
        try:
            last = visitor.run(first="hi")
        except PhaseOver:
            with lock:
                result.incomplete += 1
            return
        except TurnFailed:
            return
        except AssertionError as error:  # a question the persona has no answer for, or no end in sight
            turns.error("wrong reply", f"{name}: {str(error).split(';')[0]}")
            return
        texts = " ".join(m.get("text") or "" for m in last)
        if asked(last) is not None or not any(t in texts for t in closing_texts(persona["contact_first_name"])):
            turns.error("wrong reply", f"{name}: ended without its closing message")
            return
        with lock:
            finished.append((visitor.sender, outcome))

    with ThreadPoolExecutor(max_workers=n) as pool:
        list(pool.map(visit, range(n)))
    result.wall_s = time.monotonic() - started
    result.latencies, result.errors, result.wrong = turns.latencies, turns.errors, turns.wrong
    result.completed = len(finished)
    result.leads_delivered = delivered_leads(stack.receiver, finished, lead_wait_s)
    missing = result.completed - result.leads_delivered
    if missing:
        result.errors["lead missing or wrong"] += missing
    return result


def delivered_leads(receiver: Any, expected: Sequence[Tuple[str, str]], wait_s: float) -> int:
    """How many of the (sender, outcome) screenings had their lead delivered with that outcome within `wait_s`."""
    deadline = time.monotonic() + wait_s
    while True:
        good = 0
        for sender, outcome in expected:
            leads = receiver.events(sender, "lead.created")
            good += any(r.signature_ok and r.event["lead"]["outcome"] == outcome for r in leads)
        if good == len(expected) or time.monotonic() >= deadline:
            return good
        time.sleep(0.5)


def floor_reply() -> str:
    """The text of utter_iamabot, from the domain."""
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    return " ".join(domain["responses"][FLOOR_RESPONSE][0]["text"].split())


def run_floor(stack: Any, n: int, turns_each: int, cap_s: float, timeout_s: float) -> PhaseResult:
    """N visitors at once, each on its own ongoing conversation: one untimed "are you a bot?", then, when all
    are ready, `turns_each` timed ones; every reply must be utter_iamabot's text alone."""
    expected = floor_reply()
    result = PhaseResult("floor", n, started=n, cap_s=cap_s)
    begun = time.monotonic()
    turns = Turns(stack.post, stack.instances, begun + cap_s, timeout_s)
    clock: Dict[str, float] = {}
    ready = threading.Barrier(n, action=lambda: clock.setdefault("start", time.monotonic()))
    lock = threading.Lock()

    def check(messages: List[dict]) -> None:
        if [" ".join((m.get("text") or "").split()) for m in messages] != [expected]:
            turns.error("wrong reply", f"floor: a reply other than {FLOOR_RESPONSE}")
            raise TurnFailed

    def visit(_: int) -> None:
        sender = f"bench-floor-{uuid.uuid4().hex[:12]}"
        warmed = False
        try:
            check(turns.say(sender, FLOOR_MESSAGE, timed=False))
            warmed = True
        except (PhaseOver, TurnFailed):
            pass
        with contextlib.suppress(threading.BrokenBarrierError):
            ready.wait(timeout=max(1.0, turns.deadline - time.monotonic()))
        if not warmed:
            return
        try:
            for _turn in range(turns_each):
                check(turns.say(sender, FLOOR_MESSAGE))
        except PhaseOver:
            with lock:
                result.incomplete += 1
            return
        except TurnFailed:
            return
        with lock:
            result.completed += 1

    with ThreadPoolExecutor(max_workers=n) as pool:
        list(pool.map(visit, range(n)))
    result.wall_s = time.monotonic() - clock.get("start", begun)
    result.latencies, result.errors, result.wrong = turns.latencies, turns.errors, turns.wrong
    return result


def warm_up(stack: Any, timeout_s: float) -> None:
    """One screening and a few floor turns on every instance, untimed: the first turns after start-up load and
    compile what Rasa loads lazily. Raises when the stack does not answer right."""
    screening = run_screenings(stack, max(1, stack.instances), cap_s=600, timeout_s=timeout_s, lead_wait_s=30)
    floor = run_floor(stack, max(1, stack.instances), turns_each=2, cap_s=120, timeout_s=timeout_s)
    if screening.completed != screening.started or screening.errors or floor.errors:
        raise RuntimeError(f"warm-up failed: screening {dict(screening.errors)}, floor {dict(floor.errors)}")


# --------------------------------------------------------------------------------------------------------------
# Configurations, stores, machine facts.


@dataclass(frozen=True)
class Config:
    name: str
    instances: int
    production_stores: bool


PROFILES = {
    "production": (Config("1 instance", 1, True), Config("2 instances", 2, True)),
    "embedded": (Config("1 instance (embedded)", 1, False),),
}


def launcher_supports_production() -> bool:
    """Whether the launcher reads TRACKER_STORE_URL, LOCK_STORE_URL and RASA_INSTANCES (issue 13)."""
    from bot.settings import Settings

    return {"tracker_store_url", "lock_store_url", "rasa_instances"} <= set(Settings.__dataclass_fields__)


@contextlib.contextmanager
def production_stores(redis_db: int) -> Iterator[Dict[str, str]]:
    """A fresh PostgreSQL database (dropped afterwards) for the tracker store and the outbox, and an empty Redis
    database for the lock store (emptied afterwards)."""
    import psycopg2
    import redis

    client = redis.Redis.from_url(REDIS_URL.format(db=redis_db))
    if client.dbsize():
        raise SystemExit(f"bench: Redis database {redis_db} is not empty; set BENCH_REDIS_DB to an unused one")
    database = f"bench_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(PG_ADMIN_URL)
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{database}"')
        url = PG_BENCH_URL.format(database=database)
        yield {"TRACKER_STORE_URL": url, "DATABASE_URL": url, "LOCK_STORE_URL": REDIS_URL.format(db=redis_db)}
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.close()
        client.flushdb()
        client.close()


def tracker_events_in(database_url: str) -> Optional[int]:
    """Rows in Rasa's `events` table of the bench database: proof the tracker store was PostgreSQL."""
    import psycopg2

    with contextlib.closing(psycopg2.connect(database_url)) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('public.events') IS NOT NULL")
        row = cursor.fetchone()
        if not row or not row[0]:
            return None
        cursor.execute("SELECT count(*) FROM events")
        count = cursor.fetchone()
        return int(count[0]) if count else 0


def _command(argv: Sequence[str]) -> str:
    try:
        return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine_facts(profile: str) -> Dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    cpuinfo = _read("/proc/cpuinfo") or ""
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")), "?")
    meminfo = parse_status((_read("/proc/meminfo") or "").replace("MemTotal", "VmMemTotal"))
    commit = _command(["git", "rev-parse", "--short", "HEAD"]) or "?"
    if _command(["git", "status", "--porcelain", "--untracked-files=no"]):
        commit += " (with uncommitted changes)"

    def package(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "?"

    facts = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit,
        "CPU": model,
        "cores": f"{os.cpu_count()} ({len(os.sched_getaffinity(0))} usable by this process)",
        "memory": f"{meminfo.get('VmMemTotal', 0) / 1024 / 1024:.1f} GB",
        "OS": f"{platform.system()} {platform.release()}",
        "Python (Rasa environment)": platform.python_version(),
        "Python (services environment)": _command([str(ROOT / ".venv-services" / "bin" / "python"), "--version"]),
        "Rasa / rasa-sdk": f"{package('rasa')} / {package('rasa-sdk')}",
        "load average at start (1, 5, 15 min)": " ".join(f"{v:.2f}" for v in os.getloadavg()),
    }
    if profile == "production":
        facts["PostgreSQL"] = _command(["psql", PG_ADMIN_URL, "-tAc", "SHOW server_version"]) or "?"
        facts["Redis"] = next(
            (
                line.split(":", 1)[1]
                for line in _command(["redis-cli", "info", "server"]).splitlines()
                if line.startswith("redis_version:")
            ),
            "?",
        )
    return facts


def fresh_training_s(work: Path) -> float:
    """Time a fresh `rasa train` into `work` (BENCH_TRAIN=1): what a first `make train` costs on this machine."""
    started = time.monotonic()
    subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "python"),
            "-m",
            "services.quiet",
            "rasa",
            "train",
            "--data",
            "data/nlu",
            "data/rules",
            "data/stories",
            "--out",
            str(work),
            "--fixed-model-name",
            "bench",
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.monotonic() - started


# --------------------------------------------------------------------------------------------------------------
# The run.


@dataclass
class Budget:
    """The run's bound: each phase gets at most `phase_s`, and never more than what leaves room for the
    configurations still to start and `reserve_s` for each phase still to run after it (the small N finish
    early, so the last, largest phases get what they leave)."""

    deadline: float
    phase_s: float
    reserve_s: float = 30.0

    def cap(self, phases_left: int, configs_left: int, minimum_s: float = 15.0) -> float:
        room = self.deadline - time.monotonic() - configs_left * STARTUP_RESERVE_S
        return max(minimum_s, min(self.phase_s, room - (max(1, phases_left) - 1) * self.reserve_s))


def run_config(config: Config, args: argparse.Namespace, budget: Budget, configs_left: int) -> ConfigResult:
    from tests.e2e.stack import SECRET, Receiver, Stack, free_ports

    stores_env: Dict[str, str] = {}
    with contextlib.ExitStack() as cleanup:
        if config.production_stores:
            stores_env = cleanup.enter_context(production_stores(args.redis_db))
            servers = f"{config.instances} Rasa + {config.instances} action server{'s' if config.instances > 1 else ''}"
            stores = f"{servers} on PostgreSQL (tracker, outbox) and Redis (lock)"
        else:
            defaults = (
                "SQLite tracker store in its DATA_DIR, in-memory lock"
                if launcher_supports_production()
                else "in-memory tracker store and lock"
            )
            stores = f"1 Rasa + 1 action server on the default stores ({defaults})"
        database = stores_env.get("TRACKER_STORE_URL", "")
        result = ConfigResult(config.name, config.instances, stores)
        work = Path(tempfile.mkdtemp(prefix="haven-bench-"))
        receiver = Receiver(SECRET)
        receiver.start()
        cleanup.callback(receiver.stop)
        k = config.instances
        base = free_ports(2 * k + 1)
        stack = Stack(
            rasa_port=base,
            action_port=base + k,
            inbox_port=base + 2 * k,
            data_dir=work / "data",
            receiver=receiver,
            log_path=work / "stack.log",
            # The outbox and inbox share the tracker store's database (our tables apart from Rasa's `events`).
            extra_env={"RASA_MODEL": str(args.model), **({"DATABASE_URL": database} if database else {})},
            instances=k,
            tracker_store_url=database,
            lock_store_url=stores_env.get("LOCK_STORE_URL", ""),
        )
        (work / "data").mkdir(mode=0o700)  # it holds (simulated) health information: the stack insists
        print(f"[bench] {config.name}: starting the stack ({stores}); log {stack.log_path}", flush=True)
        begun = time.monotonic()
        try:
            stack.start(timeout_s=args.startup_s)
        except RuntimeError as error:
            print(f"[bench] {config.name}: {error}", file=sys.stderr, flush=True)
            result.notes.append("the stack did not start: no figures")
            return result
        cleanup.callback(stack.stop)
        result.startup_s = time.monotonic() - begun
        processes = ProcessFinder(stack.process.pid if stack.process else 0, stack.rasa_port, stack.action_port)
        sampler = MemorySampler(processes).start()
        cleanup.callback(sampler.stop)
        print(f"[bench] {config.name}: ready in {result.startup_s:.0f} s; warming up", flush=True)
        try:
            warm_up(stack, args.turn_timeout_s)
        except RuntimeError as error:
            result.notes.append(str(error))
            print(f"[bench] {config.name}: {error}; see {stack.log_path}", file=sys.stderr, flush=True)
            return result
        phases_left = 2 * len(args.n)
        for n in args.n:
            for kind in ("screening", "floor"):
                cap = budget.cap(phases_left, configs_left)
                phases_left -= 1
                measured = processes(fresh=True)  # the same pids before and after: a restarted child drops out
                before = cpu_seconds(measured)
                sampler.measuring = True
                if kind == "screening":
                    phase = run_screenings(stack, n, cap, args.turn_timeout_s)
                else:
                    phase = run_floor(stack, n, args.floor_turns, cap, args.turn_timeout_s)
                sampler.measuring = False
                after = cpu_seconds(measured)
                phase.cpu_s = {label: after[label] - before[label] for label in after if label in before}
                result.phases.append(phase)
                print(
                    f"[bench] {config.name} {kind} N={n}: {phase.turns} turns in {phase.wall_s:.0f} s "
                    f"(cap {cap:.0f} s), p95 {fmt_ms(phase.p(95))} ms, {phase.error_count} errors"
                    + (f", {phase.completed}/{phase.started} done" if kind == "screening" else ""),
                    flush=True,
                )
                for what, count in sorted(phase.wrong.items()):
                    print(f"[bench]   wrong replies: {what} ({count})", flush=True)
        sampler.stop()
        result.peak_rss_kb, result.run_rss_kb = dict(sampler.peak), dict(sampler.during)
        if config.production_stores:
            events = tracker_events_in(database)
            result.notes.append(
                f"{events} tracker events in the bench's PostgreSQL database"
                if events is not None
                else "WARNING: no `events` table in the bench database: the launcher did not use TRACKER_STORE_URL"
            )
        stack.stop()
        shutil.rmtree(work, ignore_errors=True)
    return result


def plot(configs: Sequence[ConfigResult], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (latency, rate) = plt.subplots(1, 2, figsize=(11, 4.2))
    colours = itertools.cycle(["tab:blue", "tab:orange", "tab:green", "tab:red"])
    for config in configs:
        colour = next(colours)
        for kind, style in (("screening", "-"), ("floor", ":")):
            phases = [p for p in sorted(config.phases, key=lambda p: p.n) if p.kind == kind and p.turns]
            if not phases:
                continue
            ns = [p.n for p in phases]
            label = f"{config.name}, {kind}"
            latency.plot(ns, [p.p(95) * 1000 for p in phases], style, marker="o", color=colour, label=f"{label} p95")
            latency.plot(ns, [p.p(50) * 1000 for p in phases], style, marker=".", color=colour, alpha=0.45)
            rate.plot(ns, [p.turns_per_s for p in phases], style, marker="o", color=colour, label=label)
    ns = sorted({p.n for config in configs for p in config.phases})
    for axes, title, unit in ((latency, "Turn latency (p95; faint: p50)", "ms"), (rate, "Throughput", "turns/s")):
        axes.set_xscale("log")
        axes.set_xticks(ns, [str(n) for n in ns])
        axes.minorticks_off()
        axes.set_xlabel("concurrent visitors (N)")
        axes.set_ylabel(unit)
        axes.set_title(title)
        axes.grid(True, alpha=0.3)
    latency.set_yscale("log")
    for axes in (latency, rate):
        if axes.get_legend_handles_labels()[0]:
            axes.legend(fontsize=7)
    figure.suptitle("make bench: screening (solid) against the floor (dotted)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def parse_ns(text: str) -> List[int]:
    values = sorted({int(part) for part in text.replace(" ", "").split(",") if part})
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("N values are positive integers, e.g. 1,10,50")
    return values


def arguments(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", choices=sorted(PROFILES), default=env("BENCH_PROFILE") or "production")
    parser.add_argument("--n", type=parse_ns, default=parse_ns(env("BENCH_N") or "1,10,50"), help="e.g. 1,10,50")
    parser.add_argument("--phase-s", type=float, default=float(env("BENCH_PHASE_S") or 240), help="cap per phase")
    parser.add_argument("--total-s", type=float, default=float(env("BENCH_TOTAL_S") or 960), help="whole run")
    parser.add_argument("--floor-turns", type=int, default=int(env("BENCH_FLOOR_TURNS") or 20))
    parser.add_argument("--turn-timeout-s", type=float, default=float(env("BENCH_TURN_TIMEOUT_S") or 60))
    parser.add_argument("--startup-s", type=float, default=float(env("BENCH_STARTUP_S") or 420))
    parser.add_argument("--redis-db", type=int, default=int(env("BENCH_REDIS_DB") or 12))
    parser.add_argument("--model", type=Path, default=Path(env("RASA_MODEL") or MODEL))
    parser.add_argument("--out", type=Path, default=REPORTS, help="where bench.md and bench.png go")
    parser.add_argument("--train", action="store_true", default=env("BENCH_TRAIN") == "1", help="time a fresh training")
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = arguments(argv)
    began = time.monotonic()
    if not args.model.exists():
        print(f"bench: no trained model at {args.model}: run `make train` (make bench does it)", file=sys.stderr)
        return 2
    if args.profile == "production" and not launcher_supports_production():
        print(
            "bench: the production profile needs the launcher's TRACKER_STORE_URL, LOCK_STORE_URL and RASA_INSTANCES "
            "(issue 13); on this checkout run `make bench BENCH_PROFILE=embedded`",
            file=sys.stderr,
        )
        return 2
    machine = machine_facts(args.profile)
    fresh = None
    if args.train:
        with tempfile.TemporaryDirectory(prefix="haven-bench-train-") as work:
            print("[bench] timing a fresh training (BENCH_TRAIN=1)", flush=True)
            fresh = fresh_training_s(Path(work))
    record = json.loads(TRAIN_TIME.read_text()) if TRAIN_TIME.exists() else None
    configs = PROFILES[args.profile]
    budget = Budget(deadline=time.monotonic() + args.total_s, phase_s=args.phase_s)
    results = [run_config(c, args, budget, configs_left=len(configs) - i - 1) for i, c in enumerate(configs)]
    machine["load average at end (1, 5, 15 min)"] = " ".join(f"{v:.2f}" for v in os.getloadavg())
    run = {
        "profile": args.profile,
        "model": _shown(args.model),
        "N": ", ".join(map(str, args.n)),
        "cap per phase": f"{args.phase_s:g} s (less when the run's {args.total_s:g} s budget runs short)",
        "floor turns per visitor": str(args.floor_turns),
        "turn timeout": f"{args.turn_timeout_s:g} s",
        "rate limits": "off (CHAT_NEW_CONVERSATIONS_PER_MINUTE=0, CHAT_MESSAGES_PER_CONVERSATION_PER_MINUTE=0)",
        "wall time of the whole bench": f"{time.monotonic() - began:.0f} s",
    }
    report = render_report(results, machine, training_lines(record, fresh), run)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench.md").write_text(report, encoding="utf-8")
    plot(results, args.out / "bench.png")
    print("\n".join(table_rows(results)))
    print("\n".join(headline(results)))
    print(f"[bench] wrote {args.out / 'bench.md'} and {args.out / 'bench.png'}")
    ran = [c for c in results if c.phases]
    return 0 if ran and len(ran) == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
