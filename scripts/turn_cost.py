"""CPU milliseconds per turn, for the Rasa process and the action server: a screening turn and a floor turn.

Wall time is noisy on a shared machine; CPU time is not (much): this reads each process's utime + stime from
/proc/<pid>/stat before and after the turns and divides by the number of turns. It starts the real stack
(services/launcher.py, as tests/e2e/stack.py does) on free loopback ports with a temporary DATA_DIR and the chat's
rate limits off, warms it up (one screening and a few floor turns: lazy imports, TensorFlow's first calls), then:

- screening turns: whole screenings over the REST channel by the e2e visitors (tests/e2e/visitor.py), one
  clicking, one typing, alternately; every message of the conversation counts as a turn ("hi" included);
- floor turns: FLOOR_TEXT ("are you a bot?", intent `bot_challenge`, a rule with the plain response
  `utter_iamabot`, no custom action) sent again and again in fresh conversations, after each screening (so
  both kinds of turn see the same load on a shared machine). The model must have that rule
  (the script stops if the reply asks a screening question); `--model` picks another model, e.g. one trained in
  /tmp from the product's data plus that rule.

    .venv-services/bin/python scripts/turn_cost.py [--model models/current.tar.gz] [--screenings 4]
        [--floor-turns 40] [--env NAME=VALUE ...] [--json out.json] [--profile DIR]

`--profile DIR` also records py-spy speedscope profiles of both processes during the screening turns (py-spy from
$PY_SPY, default /tmp/pyspy/bin/py-spy; never installed in the project's environments; the floor turns are
profiled too). Idle CPU (what the
processes burn doing nothing) is measured over a few seconds and reported, not subtracted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from tests.e2e.stack import SECRET, Receiver, Stack, free_port  # noqa: E402
from tests.e2e.test_screening_e2e import NOT_ELIGIBLE_TYPIST, QUALIFIED_CLICKER  # noqa: E402
from tests.e2e.visitor import Visitor, asked  # noqa: E402

FLOOR_TEXT = "are you a bot?"
TICKS_PER_S = os.sysconf("SC_CLK_TCK")
PERSONAS = (("clicker", QUALIFIED_CLICKER, "hi"), ("typist", NOT_ELIGIBLE_TYPIST, "hi"))
ROLES = {"rasa": "services.rasa_server", "actions": "services.action_server"}


def cpu_ms(pid: int) -> float:
    """utime + stime of the whole process (every thread, live or ended), in milliseconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000.0 / TICKS_PER_S


def children(parent: int) -> Dict[str, int]:
    """The launcher's Rasa and action server processes, by role."""
    found: Dict[str, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid != parent:
            continue
        for role, module in ROLES.items():
            if module in cmdline:
                found[role] = int(entry.name)
    missing = set(ROLES) - set(found)
    if missing:
        raise RuntimeError(f"no {', '.join(sorted(missing))} process under the launcher (pid {parent})")
    return found


@dataclass
class Meter:
    pids: Dict[str, int]
    turns: int = 0
    wall_s: float = 0.0
    cpu: Dict[str, float] = field(default_factory=dict)
    per_turn: Dict[str, List[float]] = field(default_factory=dict)

    def sample(self) -> Dict[str, float]:
        return {role: cpu_ms(pid) for role, pid in self.pids.items()}

    def wrap(self, say: Callable[[str, str], List[dict]]) -> Callable[[str, str], List[dict]]:
        """`say`, with each call counted as one turn and its CPU added up per process."""

        def measured(sender: str, text: str) -> List[dict]:
            before, started = self.sample(), time.monotonic()
            messages = say(sender, text)
            after = self.sample()
            self.wall_s += time.monotonic() - started
            self.turns += 1
            for role in self.pids:
                spent = after[role] - before[role]
                self.cpu[role] = self.cpu.get(role, 0.0) + spent
                self.per_turn.setdefault(role, []).append(spent)
            return messages

        return measured

    def summary(self) -> Dict[str, float]:
        out: Dict[str, float] = {"turns": self.turns, "wall_ms_per_turn": 1000.0 * self.wall_s / max(1, self.turns)}
        for role in self.pids:
            out[f"{role}_ms_per_turn"] = self.cpu.get(role, 0.0) / max(1, self.turns)
        return out


def run_screenings(stack: Stack, meter: Optional[Meter], count: int, start: int = 0) -> None:
    for index in range(start, start + count):
        _name, persona, first = PERSONAS[index % len(PERSONAS)]
        say = meter.wrap(stack.say) if meter else stack.say
        last = Visitor(say, dict(persona)).run(first=first)
        if asked(last) is not None:
            raise RuntimeError("a screening did not end")


def run_floor(stack: Stack, meter: Optional[Meter], turns: int, per_conversation: int = 10) -> str:
    say = meter.wrap(stack.say) if meter else stack.say
    reply = ""
    sender = ""
    for index in range(turns):
        if index % per_conversation == 0:
            sender = f"floor-{os.getpid()}-{time.monotonic_ns()}"
        messages = say(sender, FLOOR_TEXT)
        if asked(messages) is not None or not messages:
            raise RuntimeError(
                f"{FLOOR_TEXT!r} is not answered by a plain rule in this model (it started the screening): "
                "pass --model with a model that has the bot_challenge rule"
            )
        reply = " ".join(m.get("text") or "" for m in messages)
    return reply


def idle_ms_per_s(pids: Dict[str, int], seconds: float = 3.0) -> Dict[str, float]:
    before = {role: cpu_ms(pid) for role, pid in pids.items()}
    time.sleep(seconds)
    return {role: (cpu_ms(pid) - before[role]) / seconds for role, pid in pids.items()}


def start_profiles(pids: Dict[str, int], directory: Path) -> List[Tuple[str, subprocess.Popen]]:
    py_spy = os.environ.get("PY_SPY", "/tmp/pyspy/bin/py-spy")  # noqa: S108 - a throwaway venv, by choice
    directory.mkdir(parents=True, exist_ok=True)
    running = []
    for role, pid in pids.items():
        out = directory / f"{role}.speedscope.json"
        argv = [py_spy, "record", "--pid", str(pid), "--format", "speedscope", "--output", str(out), "--rate", "200"]
        running.append((role, subprocess.Popen([*argv, "--nonblocking"], stdout=subprocess.DEVNULL)))
    time.sleep(2.0)  # py-spy attaches
    return running


def stop_profiles(running: List[Tuple[str, subprocess.Popen]]) -> None:
    for _role, process in running:
        process.send_signal(2)  # SIGINT: py-spy writes its file and exits
    for _role, process in running:
        process.wait(timeout=60)


def top_frames(path: Path, count: int = 15) -> List[str]:
    """The frames a speedscope profile (py-spy) spent most samples in: inclusive (the frame on the stack) and
    self (the frame running), as a share of all samples."""
    data = json.loads(path.read_text())
    frames = data["shared"]["frames"]
    inclusive: Dict[int, float] = {}
    own: Dict[int, float] = {}
    total = 0.0
    for profile in data["profiles"]:
        for stack, weight in zip(profile["samples"], profile["weights"]):
            total += weight
            for index in set(stack):
                inclusive[index] = inclusive.get(index, 0.0) + weight
            if stack:
                own[stack[-1]] = own.get(stack[-1], 0.0) + weight

    def label(index: int) -> str:
        frame = frames[index]
        where = str(frame.get("file", "")).split("site-packages/")[-1].replace(str(PROJECT_ROOT) + "/", "")
        return f"{frame['name']} ({where}:{frame.get('line', '')})"

    lines = [f"{path.name}: {total:.0f} samples"]
    for title, table_ in (("inclusive", inclusive), ("self", own)):
        lines.append(f"  {title}:")
        for index, weight in sorted(table_.items(), key=lambda item: -item[1])[:count]:
            lines.append(f"    {100.0 * weight / max(total, 1.0):5.1f}%  {label(index)}")
    return lines


def measure(args: argparse.Namespace) -> Dict[str, object]:
    receiver = Receiver(SECRET)
    receiver.start()
    data_dir = Path(tempfile.mkdtemp(prefix="turn-cost-"))
    os.chmod(data_dir, 0o700)
    extra = dict(item.split("=", 1) for item in args.env)
    extra["RASA_MODEL"] = str(Path(args.model).resolve())
    stack = Stack(
        rasa_port=free_port(),
        action_port=free_port(),
        inbox_port=free_port(),
        data_dir=data_dir,
        receiver=receiver,
        log_path=data_dir / "stack.log",
        extra_env=extra,
    )
    started = time.monotonic()
    try:
        stack.start()
        load_s = time.monotonic() - started
        if stack.process is None:
            raise RuntimeError("the stack did not start")
        pids = children(stack.process.pid)
        run_screenings(stack, None, 1)  # warm-up
        floor_reply = run_floor(stack, None, 5) if args.floor_turns else ""
        idle = idle_ms_per_s(pids)
        profiles = start_profiles(pids, Path(args.profile)) if args.profile else []
        # Interleaved (a screening, then its share of the floor turns), so both see the same load on the machine.
        screening = Meter(pids)
        floor = Meter(pids)
        for index in range(args.screenings):
            run_screenings(stack, screening, 1, start=index)
            share = args.floor_turns * (index + 1) // args.screenings - args.floor_turns * index // args.screenings
            if share:
                run_floor(stack, floor, share)
        if profiles:
            stop_profiles(profiles)
    finally:
        stack.stop()
        receiver.stop()
        if not args.keep_data:
            shutil.rmtree(data_dir, ignore_errors=True)
    result: Dict[str, object] = {
        "model": str(args.model),
        "env": {k: v for k, v in extra.items() if k != "RASA_MODEL"},
        "stack_load_s": round(load_s, 1),
        "idle_cpu_ms_per_s": {k: round(v, 2) for k, v in idle.items()},
        "screening": screening.summary(),
        "screening_per_turn_median": {k: statistics.median(v) for k, v in screening.per_turn.items()},
        "floor": floor.summary(),
        "floor_reply": floor_reply,
    }
    s_rasa = float(screening.summary()["rasa_ms_per_turn"])
    f_rasa = float(floor.summary()["rasa_ms_per_turn"])
    result["ratio_rasa_to_floor"] = s_rasa / f_rasa if f_rasa else None
    result["screening_turns_per_s_per_instance"] = 1000.0 / s_rasa if s_rasa else None
    result["floor_turns_per_s_per_instance"] = 1000.0 / f_rasa if f_rasa else None
    return result


def _num(value: object, digits: int = 1) -> str:
    return "-" if not isinstance(value, (int, float)) else f"{value:.{digits}f}"


def table(result: Dict[str, object]) -> str:
    s: Any = result["screening"]
    f: Any = result["floor"]
    lines = [
        "| turn | turns | Rasa CPU ms/turn | actions CPU ms/turn | wall ms/turn |",
        "|---|---|---|---|---|",
        f"| screening | {s['turns']} | {s['rasa_ms_per_turn']:.1f} | {s['actions_ms_per_turn']:.1f} | "
        f"{s['wall_ms_per_turn']:.0f} |",
        f"| floor | {f['turns']} | {f['rasa_ms_per_turn']:.1f} | {f['actions_ms_per_turn']:.1f} | "
        f"{f['wall_ms_per_turn']:.0f} |",
        "",
        f"screening / floor (Rasa CPU): {_num(result['ratio_rasa_to_floor'], 2)}x; one instance (one core): "
        f"{_num(result['screening_turns_per_s_per_instance'])} screening turns/s, "
        f"{_num(result['floor_turns_per_s_per_instance'])} floor turns/s",
        f"idle CPU ms/s: {result['idle_cpu_ms_per_s']}",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--model", default=str(PROJECT_ROOT / "models" / "current.tar.gz"))
    parser.add_argument("--screenings", type=int, default=4)
    parser.add_argument("--floor-turns", type=int, default=40, help="0: no floor (a model without the rule)")
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for the stack (repeatable)")
    parser.add_argument("--json", help="also write the figures here")
    parser.add_argument("--profile", help="record py-spy speedscope profiles of the screening turns here")
    parser.add_argument("--keep-data", action="store_true", help="keep the stack's DATA_DIR (and its log)")
    parser.add_argument("--top", type=int, default=25, help="frames listed from each profile")
    args = parser.parse_args()
    result = measure(args)
    print(table(result))
    if args.profile:
        for role in ROLES:
            print("\n".join(top_frames(Path(args.profile) / f"{role}.speedscope.json", args.top)))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
