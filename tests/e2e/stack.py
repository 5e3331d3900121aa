"""One real stack for all end-to-end tests: `python -m services.launcher` in the services environment (action
server, Rasa, staff inbox, deliverer) on free loopback ports, with a loopback HTTP receiver standing in for the
clinic's backend. `instances`, `tracker_store_url` and `lock_store_url` start the production profile (N Rasa
servers with their action servers on consecutive ports, PostgreSQL and Redis); by default one instance on the
SQLite tracker store in the stack's DATA_DIR and an in-memory lock."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from aiohttp import web

from bot.handoff.signing import SIGNATURE_HEADER, verify

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SECRET = "e2e-handoff-secret-Zt4Wq8Lm2Xp6Rn9Kv3Hb7Jd1"  # 32+ random bytes, as the stack demands
# The SMS channel verifies Twilio's signature against the public URL (a proxy in front of the loopback port).
TWILIO_AUTH_TOKEN = "e2e-twilio-auth-token"
SMS_PUBLIC_URL = "https://haven.example.org"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def free_ports(count: int) -> int:
    """The first of `count` consecutive free ports (instance i of the stack listens on base + i). Taken below
    Linux's ephemeral range (32768+), where other tests' `free_port()` servers cannot land on them while Rasa
    takes its minute to start and bind."""
    for _ in range(200):
        base = random.randint(20000, 32000 - count)
        sockets = []
        try:
            for port in range(base, base + count):
                sock = socket.socket()
                sockets.append(sock)
                sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise RuntimeError(f"no {count} consecutive free ports")


@dataclass
class Received:
    body: bytes
    headers: Dict[str, str]
    signature_ok: bool

    @property
    def event(self) -> Dict[str, Any]:
        return json.loads(self.body)


class Receiver:
    """The clinic's scheduling backend: records every POST and checks its signature like a real one."""

    def __init__(self, secret: str, *, unavailable_first: int = 0) -> None:
        self.secret = secret
        self.unavailable_first = unavailable_first  # answer 503 to this many POSTs first (a backend outage)
        self.refused = 0
        self.port = free_port()
        self.received: List[Received] = []
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._runner: Optional[web.AppRunner] = None

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        with self._lock:
            if self.refused < self.unavailable_first:
                self.refused += 1
                return web.json_response({"error": "maintenance"}, status=503)
        ok = verify(body, request.headers.get(SIGNATURE_HEADER), self.secret)
        with self._lock:
            self.received.append(Received(body, dict(request.headers), ok))
        return web.json_response({"ok": ok}, status=200 if ok else 401)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_post("/events", self._handle)
        self._runner = web.AppRunner(app)
        self._loop.run_until_complete(self._runner.setup())
        self._loop.run_until_complete(web.TCPSite(self._runner, "127.0.0.1", self.port).start())
        self._loop.run_forever()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/events"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._runner:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)

    def events(self, conversation_id: str, event_type: Optional[str] = None) -> List[Received]:
        with self._lock:
            items = list(self.received)
        return [
            r
            for r in items
            if r.event.get("conversation_id") == conversation_id
            and (event_type is None or r.event.get("type") == event_type)
        ]

    def wait_for(self, conversation_id: str, event_type: str, timeout_s: float = 20.0) -> List[Received]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = self.events(conversation_id, event_type)
            if found:
                return found
            time.sleep(0.2)
        return []


@dataclass
class Stack:
    rasa_port: int
    action_port: int
    inbox_port: int
    data_dir: Path
    receiver: Receiver
    log_path: Path
    process: Optional[subprocess.Popen] = None
    env: Dict[str, str] = field(default_factory=dict)
    extra_env: Dict[str, str] = field(default_factory=dict)
    # The production profile: RASA_INSTANCES (rasa_port+i, action_port+i: take both from free_ports(n)) and the
    # shared stores; empty store URLs mean the defaults (SQLite in data_dir, in-memory lock).
    instances: int = 1
    tracker_store_url: str = ""
    lock_store_url: str = ""

    @property
    def endpoints(self) -> Path:
        """The endpoints file the stack's Rasa reads (values from `env`: ACTION_PORT...)."""
        return PROJECT_ROOT / "endpoints.yml"

    @property
    def rest_url(self) -> str:
        return self.rest_url_of(0)

    def rest_url_of(self, instance: int) -> str:
        return f"http://127.0.0.1:{self.rasa_port + instance}/webhooks/rest/webhook"

    @property
    def conversations_url(self) -> str:
        """Where the stack's Rasa keeps conversations (what TRACKER_STORE_URL resolves to)."""
        return self.tracker_store_url or f"sqlite:///{self.data_dir.resolve() / 'conversations.db'}"

    def start(self, timeout_s: float = 300.0) -> None:
        self.env = {
            **os.environ,
            "RASA_PORT": str(self.rasa_port),
            "ACTION_PORT": str(self.action_port),
            "INBOX_PORT": str(self.inbox_port),
            "DATA_DIR": str(self.data_dir),
            "HANDOFF_URL": self.receiver.url,
            "HANDOFF_SECRET": SECRET,
            # endpoints.yml reads both; the launcher sets them for its children, and `rasa test` (which the
            # stories test runs beside the stack) reads the same file with this environment.
            "TRANSCRIPT_RETENTION_MINUTES": "1440",
            "TWILIO_AUTH_TOKEN": TWILIO_AUTH_TOKEN,
            "PUBLIC_URL": SMS_PUBLIC_URL,
            "RASA_TELEMETRY_ENABLED": "false",
            # The tests are a script, from one address, as fast as the stack answers: the chat's rate limits
            # (docs/operations.md) would refuse them. test_published_e2e.py turns them back on and floods.
            "CHAT_NEW_CONVERSATIONS_PER_MINUTE": "0",
            "CHAT_MESSAGES_PER_CONVERSATION_PER_MINUTE": "0",
            "PYTHONPATH": str(PROJECT_ROOT),
            # Always given (a developer's own .env or shell must not point the tests at their stores); `rasa
            # test` beside the stack reads endpoints.yml with these too.
            "RASA_INSTANCES": str(self.instances),
            "TRACKER_STORE_URL": self.conversations_url,
            "LOCK_STORE_URL": self.lock_store_url,
            **self.extra_env,
        }
        log = self.log_path.open("a")
        self.process = subprocess.Popen(
            [str(PROJECT_ROOT / ".venv-services" / "bin" / "python"), "-m", "services.launcher"],
            cwd=PROJECT_ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout_s
        urls = [f"http://127.0.0.1:{self.inbox_port}/health"]
        for i in range(self.instances):
            urls += [f"http://127.0.0.1:{self.rasa_port + i}/", f"http://127.0.0.1:{self.action_port + i}/health"]
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"stack exited early; see {self.log_path}:\n{self.log_path.read_text()[-3000:]}")
            if all(http_status(u) == 200 for u in urls):
                return
            time.sleep(1.0)
        self.stop()
        raise RuntimeError(f"stack not ready in {timeout_s}s; see {self.log_path}")

    def kill(self) -> None:
        """SIGKILL the whole stack at once: no process gets to clean up."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def post(
        self, body: bytes, content_type: str = "application/json", instance: int = 0, timeout: float = 60
    ) -> tuple:
        request = urllib.request.Request(self.rest_url_of(instance), data=body, headers={"Content-Type": content_type})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def say(self, sender: str, text: str, instance: int = 0) -> List[Dict[str, Any]]:
        status, messages = self.post(json.dumps({"sender": sender, "message": text}).encode(), instance=instance)
        assert status == 200, (status, messages)
        return messages


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except (urllib.error.URLError, OSError, http.client.HTTPException):
        return 0  # nothing there yet, or another program's server (not HTTP) on the port
