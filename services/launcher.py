"""`make run`: start the action server, the Rasa server and the staff inbox (with the outbox deliverer),
supervise them, and stop them all on Ctrl-C / SIGTERM or when one of them dies.

Standard library only; settings come from bot.settings (environment, then `.env`).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

from bot.settings import PROJECT_ROOT, Settings, load_settings

RASA_VENV = PROJECT_ROOT / ".venv"
SERVICES_VENV = PROJECT_ROOT / ".venv-services"
DEFAULT_MODEL = PROJECT_ROOT / "models" / "current.tar.gz"
STOP_GRACE_S = 15.0


@dataclass
class Child:
    name: str
    argv: List[str]
    health_url: str
    extra_env: Optional[Dict[str, str]] = None
    process: Optional[subprocess.Popen] = None


def child_environment(settings: Settings) -> Dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "RASA_TELEMETRY_ENABLED": "false",
            "ACTION_PORT": str(settings.action_port),
            "RASA_PORT": str(settings.rasa_port),
            "INBOX_PORT": str(settings.inbox_port),
            "DATA_DIR": str(settings.data_dir),
            "PYTHONPATH": str(PROJECT_ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
            "TF_CPP_MIN_LOG_LEVEL": "2",
        }
    )
    return env


def write_endpoints(settings: Settings) -> Path:
    """Rasa reads the action server's URL and the tracker store from a file; generate it from settings."""
    path = settings.data_dir / "endpoints.yml"
    path.write_text(
        "action_endpoint:\n"
        f'  url: "{settings.action_endpoint}"\n'
        "tracker_store:\n"
        "  type: rasa_ext.tracker_store.ExpiringInMemoryTrackerStore\n"
        f"  retention_minutes: {settings.transcript_retention_minutes}\n"
    )
    return path


def plan(settings: Settings, model: Path) -> List[Child]:
    rasa_argv = [
        str(RASA_VENV / "bin" / "rasa"), "run",
        "--model", str(model),
        "--interface", settings.host,
        "--port", str(settings.rasa_port),
        "--endpoints", str(write_endpoints(settings)),
        "--credentials", str(PROJECT_ROOT / "credentials.yml"),
    ]
    if settings.rasa_auth_token:
        # Rasa's HTTP API (tracker, events...) stays off unless a token protects it.
        rasa_argv += ["--enable-api", "--auth-token", settings.rasa_auth_token]
    return [
        Child(
            "actions",
            [str(RASA_VENV / "bin" / "python"), "-m", "rasa_sdk", "--actions", "actions",
             "--port", str(settings.action_port)],
            f"http://127.0.0.1:{settings.action_port}/health",
            # rasa_sdk binds 0.0.0.0 unless told otherwise; only Rasa on this host talks to it.
            extra_env={"SANIC_HOST": "127.0.0.1"},
        ),
        Child(
            "inbox",
            [str(SERVICES_VENV / "bin" / "python"), "-m", "services.inbox"],
            f"http://127.0.0.1:{settings.inbox_port}/health",
        ),
        Child("rasa", rasa_argv, f"http://127.0.0.1:{settings.rasa_port}/"),
    ]


def is_healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback health checks
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


class Supervisor:
    def __init__(self, children: List[Child], env: Dict[str, str]) -> None:
        self.children = children
        self.env = env
        self.stopping = False

    def start(self) -> None:
        for child in self.children:
            print(f"[launcher] starting {child.name}", flush=True)
            env = {**self.env, **(child.extra_env or {})}
            child.process = subprocess.Popen(child.argv, cwd=PROJECT_ROOT, env=env)

    def dead_child(self) -> Optional[Child]:
        return next((c for c in self.children if c.process and c.process.poll() is not None), None)

    def wait_ready(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        pending = list(self.children)
        while pending and time.monotonic() < deadline and not self.stopping:
            if self.dead_child():
                return False
            pending = [c for c in pending if not is_healthy(c.health_url)]
            if pending:
                time.sleep(1.0)
        return not pending

    def stop(self) -> None:
        self.stopping = True
        running = [c for c in self.children if c.process and c.process.poll() is None]
        for child in reversed(running):
            child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        for child in running:
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                print(f"[launcher] {child.name} did not stop in time; killing it", flush=True)
                child.process.kill()
                child.process.wait()


def main() -> int:
    settings = load_settings()
    model = Path(os.environ.get("RASA_MODEL", str(DEFAULT_MODEL)))
    if not model.exists():
        print(f"[launcher] no trained model at {model}: run `make train` (or `make run`)", file=sys.stderr)
        return 2
    supervisor = Supervisor(plan(settings, model), child_environment(settings))

    def on_signal(signum: int, _frame: object) -> None:
        supervisor.stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    supervisor.start()
    ready = supervisor.wait_ready(timeout_s=float(os.environ.get("STARTUP_TIMEOUT_S", "300")))
    if ready:
        print(
            "[launcher] ready:\n"
            f"  chat (REST)  POST http://{settings.host}:{settings.rasa_port}/webhooks/rest/webhook\n"
            f"  staff inbox  http://127.0.0.1:{settings.inbox_port}/\n"
            f"  actions      http://127.0.0.1:{settings.action_port}/health\n"
            "  Ctrl-C stops everything.",
            flush=True,
        )
    exit_code = 0
    while not supervisor.stopping:
        dead = supervisor.dead_child()
        if dead:
            print(f"[launcher] {dead.name} exited with {dead.process.returncode}; stopping the stack", flush=True)
            exit_code = 1
            break
        time.sleep(0.5)
    supervisor.stop()
    print("[launcher] stopped", flush=True)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
