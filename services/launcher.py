"""`make run`: start the action server, the Rasa server, the staff inbox and the outbox deliverer, and supervise
them. With RASA_INSTANCES=N it starts N Rasa servers (RASA_PORT+i), each with its own action server
(ACTION_PORT+i), all on the same tracker and lock stores, and still one inbox and one deliverer. A child that
dies is restarted with a capped exponential backoff; the stack stops only on Ctrl-C / SIGTERM or when one child
is in a crash loop (too many exits within a window), then the launcher exits 1.

Standard library only (plus bot.settings), so it runs in either environment; `make run` uses the services one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

from bot.settings import (
    PROJECT_ROOT,
    Settings,
    handoff_problems,
    inbox_secret_problems,
    load_settings,
    refuse_to_start,
    store_problems,
)
from bot.web_chat import cors_origins

RASA_VENV = PROJECT_ROOT / ".venv"
SERVICES_VENV = PROJECT_ROOT / ".venv-services"
DEFAULT_MODEL = PROJECT_ROOT / "models" / "current.tar.gz"
ENDPOINTS = PROJECT_ROOT / "endpoints.yml"
STOP_GRACE_S = 15.0
TICK_S = 0.5

# The console is for a person. Rasa and the action server run under services/quiet.py, which drops the libraries'
# deprecation notices; these defaults quiet the rest (a value already in the environment wins, for debugging).
QUIET_ENV = {
    "TF_CPP_MIN_LOG_LEVEL": "2",  # TensorFlow's C++ INFO and WARNING notices (CPU features, oneDNN); errors stay
    "LOG_LEVEL_LIBRARIES": "ERROR",  # Rasa's level for the libraries it configures (TensorFlow, Sanic, asyncio...)
}


@dataclass(frozen=True)
class Child:
    """One supervised process. Without a health URL it counts as ready while it runs (the deliverer)."""

    name: str
    argv: List[str]
    health_url: Optional[str] = None
    extra_env: Optional[Dict[str, str]] = None
    # The chat (Rasa and the actions, which send the crisis replies) is what a crash loop stops the stack for.
    # A back-office process (inbox, deliverer) that keeps failing, e.g. while its database is down, is restarted
    # at the longest delay instead: stopping the stack for it would take the chat and its 988 replies down too.
    crash_loop_stops_stack: bool = True


@dataclass(frozen=True)
class RestartPolicy:
    """Restart after `base_s`, doubling with each exit within `window_s`, at most `cap_s`; the
    `crash_loop_exits`-th exit within `window_s` stops the stack instead."""

    base_s: float = 1.0
    cap_s: float = 30.0
    crash_loop_exits: int = 5
    window_s: float = 300.0


def recent_exits(exit_times: Sequence[float], now: float, window_s: float) -> int:
    return sum(1 for moment in exit_times if now - moment <= window_s)


def restart_delay(exits_in_window: int, policy: RestartPolicy) -> float:
    """Wait before the next start: base, 2 x base, 4 x base... capped; back to base after a quiet window."""
    return min(policy.cap_s, policy.base_s * 2.0 ** max(0, exits_in_window - 1))


def is_crash_loop(exits_in_window: int, policy: RestartPolicy) -> bool:
    return exits_in_window >= policy.crash_loop_exits


def child_environment(settings: Settings, base: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """What every child sees: the caller's environment, the quiet defaults, then the values from settings
    (endpoints.yml reads ACTION_PORT, TRACKER_STORE_URL and LOCK_STORE_URL from here; each instance's children
    get their own ACTION_PORT and RASA_PORT on top, see `plan`)."""
    env = dict(os.environ if base is None else base)
    for name, value in QUIET_ENV.items():
        env.setdefault(name, value)
    env.update(
        {
            "RASA_TELEMETRY_ENABLED": "false",
            "ACTION_PORT": str(settings.action_port),
            "RASA_PORT": str(settings.rasa_port),
            "INBOX_PORT": str(settings.inbox_port),
            "DATA_DIR": str(settings.data_dir),
            "TRACKER_MAX_CONVERSATIONS": str(settings.tracker_max_conversations),
            "TRANSCRIPT_RETENTION_MINUTES": f"{settings.transcript_retention_minutes:g}",
            # Always set (Rasa stops on an unset ${VARIABLE}); an empty LOCK_STORE_URL means in memory.
            "TRACKER_STORE_URL": settings.tracker_store_url,
            "LOCK_STORE_URL": settings.lock_store_url,
            "RASA_INSTANCES": str(settings.rasa_instances),
            "PYTHONPATH": str(PROJECT_ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
            "PYTHONUNBUFFERED": "1",  # log lines reach the console when they happen, not at exit
        }
    )
    return env


def instance_ports(settings: Settings) -> List[tuple]:
    """(Rasa port, action server port) of each instance: RASA_PORT+i and ACTION_PORT+i."""
    return [(settings.rasa_port + i, settings.action_port + i) for i in range(settings.rasa_instances)]


def port_problems(settings: Settings) -> List[str]:
    """Two children on one port would leave one of them restarting forever: say it before starting."""
    ports = [port for pair in instance_ports(settings) for port in pair] + [settings.inbox_port]
    if len(set(ports)) == len(ports):
        return []
    return [
        f"RASA_PORT..RASA_PORT+{settings.rasa_instances - 1}, ACTION_PORT..ACTION_PORT+{settings.rasa_instances - 1} "
        "and INBOX_PORT overlap: choose ports further apart"
    ]


def plan(settings: Settings, model: Path) -> List[Child]:
    """The stack, in start order (it stops in reverse: Rasa first, the action servers last). One instance's
    children are named `actions` and `rasa`; with RASA_INSTANCES=N they are `actions-0`... and `rasa-0`..."""
    rasa_python = [str(RASA_VENV / "bin" / "python"), "-m", "services.quiet"]
    # Rasa's HTTP API (tracker, events...) stays off unless a token protects it; services/rasa_server.py reads it
    # from RASA_AUTH_TOKEN in its environment (a command line is readable by every local user).
    single = settings.rasa_instances == 1
    actions: List[Child] = []
    servers: List[Child] = []
    for i, (rasa_port, action_port) in enumerate(instance_ports(settings)):
        suffix = "" if single else f"-{i}"
        # endpoints.yml's ${ACTION_PORT} is read from this Rasa's environment: each talks to its own actions.
        ports_env = {"RASA_PORT": str(rasa_port), "ACTION_PORT": str(action_port)}
        actions.append(
            Child(
                "actions" + suffix,
                # rasa_sdk, after starting the event spool's writer (it drains what a previous run left; the
                # instances share DATA_DIR/spool, bot/handoff/spool.py).
                [*rasa_python, "services.action_server", "--actions", "actions", "--port", str(action_port)],
                f"http://127.0.0.1:{action_port}/health",
                # rasa_sdk binds 0.0.0.0 unless told otherwise; only Rasa on this host talks to it.
                extra_env={"SANIC_HOST": "127.0.0.1", **({} if single else ports_env)},
            )
        )
        rasa_argv = [
            *rasa_python,
            # Rasa's `run`, with its API token (if any) read from the environment: never on a command line.
            "services.rasa_server",
            "--model",
            str(model),
            "--interface",
            settings.host,
            "--port",
            str(rasa_port),
            "--endpoints",
            str(ENDPOINTS),
            "--credentials",
            str(PROJECT_ROOT / "credentials.yml"),
            # The web chat widget calls the REST channel from the browser: the demo page's origins and the
            # clinic's site (CHAT_ALLOWED_ORIGINS) may, no other page may (never `*`).
            "--cors",
            *cors_origins(settings.inbox_port, settings.chat_allowed_origins),
        ]
        rasa_env = {"RASA_AUTH_TOKEN": settings.rasa_auth_token, **({} if single else ports_env)}
        servers.append(
            Child("rasa" + suffix, rasa_argv, f"http://{_loopback_for(settings.host)}:{rasa_port}/", extra_env=rasa_env)
        )
    services_python = str(SERVICES_VENV / "bin" / "python")
    return [
        *actions,
        Child(
            "inbox",
            # The staff web app listens on INBOX_HOST (loopback by default), never on HOST with the chat.
            [services_python, "-m", "services.inbox", "--host", settings.inbox_host],
            f"http://{_loopback_for(settings.inbox_host)}:{settings.inbox_port}/health",
            crash_loop_stops_stack=False,
        ),
        Child("deliverer", [services_python, "-m", "services.deliverer"], crash_loop_stops_stack=False),
        *servers,
    ]


def _loopback_for(host: str) -> str:
    """Where the launcher reaches a server bound to `host`: loopback for the wildcard or loopback itself."""
    wildcard = ("", "0.0.0.0", "127.0.0.1", "localhost")  # noqa: S104 - recognising the wildcard, not binding it
    return "127.0.0.1" if host in wildcard else ("[::1]" if host == "::" else host)


def is_healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback health checks
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def say(line: str) -> None:
    print(f"[launcher] {line}", flush=True)


@dataclass
class Running:
    """A child's supervision state."""

    child: Child
    process: Optional[subprocess.Popen] = None
    ready: bool = False
    starts: int = 0
    exit_times: List[float] = field(default_factory=list)
    restart_at: Optional[float] = None  # set while waiting to restart


class Supervisor:
    def __init__(
        self,
        children: Sequence[Child],
        env: Dict[str, str],
        *,
        policy: RestartPolicy = RestartPolicy(),
        cwd: Path = PROJECT_ROOT,
        health: Callable[[str], bool] = is_healthy,
        on_ready: Optional[Callable[[], None]] = None,
    ) -> None:
        self.running = [Running(child) for child in children]
        self.env = env
        self.policy = policy
        self.cwd = cwd
        self.health = health
        self.on_ready = on_ready or (lambda: say("ready"))
        self.stopping = False

    def request_stop(self, *_signal_args: object) -> None:
        """Signal-handler safe: the supervision loop notices within one tick."""
        self.stopping = True

    def run(self, startup_timeout_s: float = 300.0) -> int:
        """Start everything and supervise until asked to stop (0) or a crash loop (1)."""
        announced = warned = False
        deadline = time.monotonic() + startup_timeout_s
        exit_code = 0
        try:
            for state in self.running:
                self._start(state)
            while not self.stopping:
                reason = self._tick(time.monotonic())
                if reason:
                    print(f"[launcher] stopping the stack: {reason}", file=sys.stderr, flush=True)
                    exit_code = 1
                    break
                if not announced and all(state.ready for state in self.running):
                    announced = True
                    self.on_ready()
                elif not announced and not warned and time.monotonic() > deadline:
                    warned = True
                    waiting = ", ".join(s.child.name for s in self.running if not s.ready)
                    say(f"still waiting for {waiting} after {startup_timeout_s:g} s")
                time.sleep(TICK_S)
        finally:
            # Whatever ends the loop (a signal, a crash loop, a failed start), no child is left running.
            self.stop()
        say("stopped")
        return exit_code

    def _start(self, state: Running) -> None:
        env = {**self.env, **(state.child.extra_env or {})}
        state.process = subprocess.Popen(state.child.argv, cwd=self.cwd, env=env)  # noqa: S603 - our own plan
        state.starts += 1
        state.ready = False
        state.restart_at = None
        verb = "starting" if state.starts == 1 else "restarting"
        say(f"{verb} {state.child.name} (pid {state.process.pid})")

    def _tick(self, now: float) -> Optional[str]:
        """One pass over the children: restart the due ones, notice exits and readiness. A crash loop's reason."""
        for state in self.running:
            if self.stopping:
                return None
            if state.process is None:
                if state.restart_at is not None and now >= state.restart_at:
                    self._start(state)
                continue
            code = state.process.poll()
            if code is not None:
                reason = self._exited(state, code, now)
                if reason:
                    return reason
            elif not state.ready and self._is_ready(state):
                state.ready = True
                if state.starts > 1:
                    say(f"{state.child.name} is back")
        return None

    def _exited(self, state: Running, code: int, now: float) -> Optional[str]:
        state.process = None
        state.ready = False
        state.exit_times = [t for t in state.exit_times if now - t <= self.policy.window_s] + [now]
        exits = recent_exits(state.exit_times, now, self.policy.window_s)
        name = state.child.name
        if is_crash_loop(exits, self.policy):
            if state.child.crash_loop_stops_stack:
                return f"{name} exited {exits} times within {self.policy.window_s:g} s (last exit code {code})"
            say(
                f"{name} keeps failing ({exits} exits within {self.policy.window_s:g} s, last code {code}); "
                f"the chat stays up; restarting {name} every {self.policy.cap_s:g} s"
            )
            state.restart_at = now + self.policy.cap_s
            return None
        delay = restart_delay(exits, self.policy)
        say(f"{name} exited with code {code}; restarting it in {delay:g} s")
        state.restart_at = now + delay
        return None

    def _is_ready(self, state: Running) -> bool:
        url = state.child.health_url
        return True if url is None else self.health(url)

    def stop(self) -> None:
        self.stopping = True
        alive = [(s.child.name, s.process) for s in self.running if s.process is not None and s.process.poll() is None]
        for _name, process in reversed(alive):
            process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        for name, process in alive:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                say(f"{name} did not stop in time; killing it")
                process.kill()
                process.wait()


def supervise(supervisor: Supervisor, startup_timeout_s: float) -> int:
    """Run `supervisor` with SIGTERM and SIGINT (Ctrl-C) as the ways to stop it."""
    signal.signal(signal.SIGTERM, supervisor.request_stop)
    signal.signal(signal.SIGINT, supervisor.request_stop)
    return supervisor.run(startup_timeout_s)


def _store_name(url: str, default: str) -> str:
    """Which engine a store URL names, never the URL itself (it may carry a password)."""
    return url.split(":", 1)[0].split("+", 1)[0] if url else default


def ready_banner(settings: Settings) -> str:
    instances = instance_ports(settings)
    chat = [f"  chat (REST)  POST http://{settings.host}:{rasa}/webhooks/rest/webhook" for rasa, _ in instances]
    actions = ", ".join(f"http://127.0.0.1:{action}/health" for _, action in instances)
    lines = [
        "[launcher] ready:",
        *chat,
        f"  web chat     http://{settings.inbox_host}:{settings.inbox_port}/chat (demo page of the widget)",
        f"  staff inbox  http://{settings.inbox_host}:{settings.inbox_port}/",
        f"  actions      {actions}",
        f"  deliverer    to {'HANDOFF_URL' if settings.handoff_url else 'the staff inbox'}",
        f"  stores       conversations in {_store_name(settings.tracker_store_url, 'sqlite')}, "
        f"locks {_store_name(settings.lock_store_url, 'in memory')}"
        + (
            f"; {len(instances)} instances: put a load balancer in front (docs/operations.md)"
            if len(instances) > 1
            else ""
        ),
        "  Ctrl-C stops everything.",
    ]
    return "\n".join(lines)


def main() -> int:
    settings = load_settings()
    # The deliverer and the inbox would refuse these too, then be restarted forever: say it once, up front.
    # Several instances need shared stores (bot/settings.py store_problems), and every child its own port.
    refuse_to_start(
        handoff_problems(settings)
        + inbox_secret_problems(settings)
        + store_problems(settings)
        + port_problems(settings)
    )
    model = Path(os.environ.get("RASA_MODEL", str(DEFAULT_MODEL)))
    if not model.exists():
        print(f"[launcher] no trained model at {model}: run `make train` (or `make run`)", file=sys.stderr)
        return 2
    supervisor = Supervisor(
        plan(settings, model),
        child_environment(settings),
        on_ready=lambda: print(ready_banner(settings), flush=True),
    )
    return supervise(supervisor, startup_timeout_s=float(os.environ.get("STARTUP_TIMEOUT_S", "300")))


if __name__ == "__main__":
    sys.exit(main())
