"""The launcher's supervision with real processes: small HTTP servers and sleepers stand in for the stack.

A child killed with SIGKILL comes back and answers again; a child that always exits at once ends in a crash-loop
stop (exit 1, one line saying why, the others stopped); SIGTERM stops everything (exit 0).
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Dict, List

from services.launcher import RestartPolicy, is_crash_loop, recent_exits, restart_delay
from tests.handoff_fixtures import free_port

PROJECT_ROOT = Path(__file__).resolve().parents[2]
STARTED = re.compile(r"\[launcher\] (?:starting|restarting) (\S+) \(pid (\d+)\)")
WAIT_S = 60.0  # generous: a busy machine may be slow, and no test here measures speed


# --- the policy, as pure functions ------------------------------------------------------------------------------
def test_restart_delay_doubles_from_the_base_and_is_capped():
    policy = RestartPolicy(base_s=1.0, cap_s=30.0, crash_loop_exits=10, window_s=300.0)
    assert [restart_delay(n, policy) for n in range(1, 8)] == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]


def test_only_exits_within_the_window_count_so_a_quiet_child_starts_over_at_the_base_delay():
    assert recent_exits([0.0, 100.0, 290.0], now=300.0, window_s=60.0) == 1
    assert recent_exits([0.0, 100.0, 290.0], now=300.0, window_s=300.0) == 3
    policy = RestartPolicy(base_s=1.0, cap_s=30.0, crash_loop_exits=5, window_s=60.0)
    assert restart_delay(recent_exits([0.0, 10.0, 20.0, 200.0], now=200.0, window_s=60.0), policy) == 1.0


def test_a_crash_loop_is_too_many_exits_within_the_window():
    policy = RestartPolicy(base_s=1.0, cap_s=30.0, crash_loop_exits=5, window_s=300.0)
    assert not is_crash_loop(4, policy)
    assert is_crash_loop(5, policy)


# --- real processes -----------------------------------------------------------------------------------------------
class Launcher:
    """tests/services/launcher_harness.py in a subprocess, its stdout read line by line."""

    def __init__(self, tmp_path: Path, children: List[dict], policy: RestartPolicy) -> None:
        spec = tmp_path / "spec.json"
        spec.write_text(json.dumps({"children": children, "policy": policy.__dict__}))
        env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT), PYTHONUNBUFFERED="1")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.services.launcher_harness", str(spec)],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: List[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line)

    def wait_for_line(self, predicate: Callable[[str], bool], timeout_s: float = WAIT_S) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=0.2)
            except queue.Empty:
                # Exited and everything it printed has been read: the line will never come.
                assert self._reader.is_alive() or not self._queue.empty(), self.output()
                continue
            self.lines.append(line)
            if predicate(line):
                return line
        raise AssertionError(f"no such line within {timeout_s} s:\n{self.output()}")

    def pids(self) -> Dict[str, int]:
        """The latest pid of each child, from the launcher's own start lines."""
        found: Dict[str, int] = {}
        for line in self.lines:
            match = STARTED.search(line)
            if match:
                found[match.group(1)] = int(match.group(2))
        return found

    def output(self) -> str:
        return "".join(self.lines)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


def http_child(name: str, tmp_path: Path) -> dict:
    port = free_port()
    directory = tmp_path / name
    directory.mkdir()
    return {
        "name": name,
        "argv": [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(directory)],
        "health_url": f"http://127.0.0.1:{port}/",
    }


def sleeper(name: str) -> dict:
    return {"name": name, "argv": [sys.executable, "-c", "import time; time.sleep(3600)"]}


def answers(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def test_a_killed_child_is_restarted_and_answers_again_then_sigterm_stops_all(tmp_path):
    web = http_child("web", tmp_path)
    policy = RestartPolicy(base_s=0.2, cap_s=1.0, crash_loop_exits=5, window_s=60.0)
    launcher = Launcher(tmp_path, [web, sleeper("worker")], policy)
    try:
        # The sleeper has no health URL: it counts as ready while it runs, so "ready" needs both.
        launcher.wait_for_line(lambda line: line.strip() == "[launcher] ready")
        first = launcher.pids()
        assert answers(web["health_url"])

        os.kill(first["web"], signal.SIGKILL)
        launcher.wait_for_line(lambda line: "web exited with code -9; restarting it in" in line)
        launcher.wait_for_line(lambda line: line.startswith("[launcher] restarting web"))
        launcher.wait_for_line(lambda line: "web is back" in line)
        second = launcher.pids()
        assert second["web"] != first["web"] and alive(second["web"])
        assert answers(web["health_url"])
        assert second["worker"] == first["worker"] and alive(first["worker"])  # the others were left alone
        assert launcher.process.poll() is None  # the stack kept running

        launcher.process.send_signal(signal.SIGTERM)
        assert launcher.process.wait(WAIT_S) == 0
        launcher.wait_for_line(lambda line: "[launcher] stopped" in line)
        wait_until(lambda: not alive(second["web"]) and not alive(first["worker"]), "children still running")
        assert not answers(web["health_url"])
    finally:
        launcher.close()


def test_a_child_that_always_exits_quickly_ends_in_a_crash_loop_stop(tmp_path):
    web = http_child("web", tmp_path)
    crasher = {"name": "crasher", "argv": [sys.executable, "-c", "import sys; sys.exit(3)"]}
    policy = RestartPolicy(base_s=0.1, cap_s=0.4, crash_loop_exits=3, window_s=60.0)
    launcher = Launcher(tmp_path, [web, crasher], policy)
    try:
        launcher.wait_for_line(lambda line: line.startswith("[launcher] restarting crasher"))
        web_pid = launcher.pids()["web"]
        assert launcher.process.wait(WAIT_S) == 1
        launcher.wait_for_line(lambda line: "[launcher] stopped" in line)
        # The children share stderr (the web child's access log): the launcher's own part is one line.
        stderr = launcher.process.stderr.read().splitlines()
        assert [line for line in stderr if line.startswith("[launcher]")] == [
            "[launcher] stopping the stack: crasher exited 3 times within 60 s (last exit code 3)"
        ]
        assert "ready" not in launcher.output()  # it never was
        wait_until(lambda: not alive(web_pid), "the healthy child was not stopped")
    finally:
        launcher.close()


def test_a_back_office_child_in_a_crash_loop_keeps_being_restarted_and_the_chat_stays_up(tmp_path):
    chat = http_child("chat", tmp_path)
    inbox = {
        "name": "inbox",
        "argv": [sys.executable, "-c", "import sys; sys.exit(4)"],
        "crash_loop_stops_stack": False,
    }
    policy = RestartPolicy(base_s=0.1, cap_s=0.3, crash_loop_exits=3, window_s=60.0)
    launcher = Launcher(tmp_path, [chat, inbox], policy)
    try:
        launcher.wait_for_line(lambda line: "inbox keeps failing" in line and "the chat stays up" in line)
        # Restarted again after the crash loop, at the longest delay, and the chat still answers.
        launcher.wait_for_line(lambda line: line.startswith("[launcher] restarting inbox"))
        launcher.wait_for_line(lambda line: "inbox keeps failing" in line)
        assert launcher.process.poll() is None
        assert answers(chat["health_url"])
        launcher.process.send_signal(signal.SIGTERM)
        assert launcher.process.wait(WAIT_S) == 0
    finally:
        launcher.close()


def test_a_child_that_cannot_be_started_leaves_no_other_child_running(tmp_path):
    web = http_child("web", tmp_path)
    broken = {"name": "broken", "argv": [str(tmp_path / "no-such-program")]}
    policy = RestartPolicy(base_s=0.1, cap_s=0.3, crash_loop_exits=3, window_s=60.0)
    launcher = Launcher(tmp_path, [web, broken], policy)
    try:
        launcher.wait_for_line(lambda line: line.startswith("[launcher] starting web"))
        web_pid = launcher.pids()["web"]
        assert launcher.process.wait(WAIT_S) != 0
        wait_until(lambda: not alive(web_pid), "the started child was left running")
    finally:
        launcher.close()
