"""Shared fixtures: outbox databases (SQLite file and a throwaway PostgreSQL schema) and a real receiver."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Optional, TypeVar
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from aiohttp import web

from bot.handoff import events
from bot.handoff.outbox import outbox_events
from bot.handoff.signing import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, verify

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
# Every setting of the staff notifications (docs/notifications.md): each is read and documented
# (tests/bot/handoff/test_notifications.py), and a deliverer process under test starts without any of them
# from the developer's environment (tests/services/deliverer/test_notifications_process.py).
NOTIFICATION_SETTINGS = (
    "SMTP_HOST",
    "SMTP_PORT",
    "SMTP_USERNAME",
    "SMTP_PASSWORD",
    "SMTP_STARTTLS",
    "SMTP_SSL",
    "ALERT_EMAIL_FROM",
    "ALERT_EMAIL_TO",
    "ALERT_SMS_TO",
    "ALERT_SMS_FROM",
    "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN",
    "TWILIO_API_BASE",
    "NOTIFY_LEADS",
    "INBOX_PUBLIC_URL",
)
# As strong as the deliverer and the inbox demand at start (32 random bytes; bot/settings.py secret_problem).
SECRET = "test-secret-not-for-production-Hq7Lx2Pw9Rk4Mz8Tn3Vb6"


def postgres_reason() -> Optional[str]:
    """None when the test PostgreSQL server answers, else why not."""
    try:
        engine = sa.create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # any failure means "not available here"
        return f"PostgreSQL at {POSTGRES_URL} unreachable ({type(exc).__name__})"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """An empty outbox database: a SQLite file, or a fresh PostgreSQL schema dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'outbox.db'}"
        return
    reason = postgres_reason()
    if reason:
        pytest.skip(reason)
    schema = "handoff_test_" + uuid.uuid4().hex[:12]
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    # search_path in the URL puts every connection (also in subprocesses) into the throwaway schema.
    yield f"{POSTGRES_URL}?options={quote('-csearch_path=' + schema)}"
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def sample_lead(**overrides) -> dict:
    lead = {
        "outcome": "qualified",
        "concern": "anxiety",
        "age": 34,
        "contact": {
            "first_name": "Sam",
            "phone": "+18185550123",
            "email": "sam@example.org",
            "preferred_method": "call",
            "best_time": "weekday mornings",
            "consent_to_contact": True,
        },
        "scores": {"gad7": 16, "phq9": 12, "pcptsd5": 2},
        "answers": [
            {
                "id": "gad7_1",
                "question": "Feeling nervous, anxious, or on edge",
                "answer": "Nearly every day",
                "value": 3,
            }
        ],
        "contraindications": [
            {
                "id": "uncontrolled_hypertension",
                "label": "Uncontrolled high blood pressure",
                "answer": "no",
                "class": "absolute",
                "source": "Ketalar label",
            }
        ],
        "reasons": [{"id": "gad7_positive", "text": "GAD-7 total 16 is at or above 10"}],
        "crisis": {"flagged": False, "categories": []},
    }
    lead.update(overrides)
    return lead


def make_lead_event(n: int = 0, conversation_id: str = "conv-1") -> dict:
    return events.lead_created(
        conversation_id=conversation_id,
        channel="rest",
        lead=sample_lead(),
        event_id=events.stable_event_id(conversation_id, "lead", n),
    )


def make_crisis_event(n: int = 0, conversation_id: str = "conv-1", message: str = "test crisis text") -> dict:
    return events.crisis_alert(
        conversation_id=conversation_id,
        channel="sms",
        severity="high",
        categories=["suicidal_ideation"],
        message=message,
        contact={},
        event_id=events.stable_event_id(conversation_id, "crisis", n),
    )


def stored_rows(database_url: str) -> list:
    """Every outbox row as stored, oldest first, read-only: no claim, no lease, nothing in the table changes.

    Tests read what the outbox holds with this instead of `Outbox.claim_due`, which leases what it returns."""
    engine = sa.create_engine(database_url)
    try:
        if not sa.inspect(engine).has_table(outbox_events.name):
            return []  # no outbox was ever opened on this database: nothing is stored
        with engine.connect() as conn:
            query = sa.select(outbox_events).order_by(outbox_events.c.created_at, outbox_events.c.id)
            return list(conn.execute(query).fetchall())
    finally:
        engine.dispose()


def stored_events(database_url: str) -> list[dict]:
    """The events the outbox holds (decoded bodies), oldest first, read-only (see `stored_rows`)."""
    return [json.loads(row.body) for row in stored_rows(database_url)]


_Server = TypeVar("_Server", bound="LoopbackServer")


class LoopbackServer:
    """A real aiohttp server on 127.0.0.1:`port` run by its own event loop in its own thread (so sync and async
    tests both use it). A subclass (a dataclass with a `port` field) adds its routes in `_routes`. `start()`
    opens the port, `stop()` closes the listening socket so clients get connection refused (start() opens it
    again on the same port), `close()` also ends the thread."""

    port: int

    def __post_init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._runner: Optional[web.AppRunner] = None
        self._lock = threading.Lock()

    def _routes(self, app: web.Application) -> None:
        raise NotImplementedError

    async def _start(self) -> None:
        app = web.Application()
        self._routes(app)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True).start()

    async def _stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def start(self: _Server) -> _Server:
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)

    def close(self) -> None:
        self.stop()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


@dataclass
class Received:
    key: str
    signature_ok: bool
    event: dict
    at: float
    headers: dict


@dataclass
class Receiver(LoopbackServer):
    """The handoff receiver (POST /api/events, signature checked). `status` is what it answers; `stop()` closes
    the listening socket so clients get connection refused; `start()` opens it again on the same port."""

    secret: str = SECRET
    port: int = field(default_factory=free_port)
    status: int = 200
    delay_s: float = 0.0
    received: list = field(default_factory=list)  # every request with a valid signature
    rejected: int = 0  # requests with a bad or missing signature
    requests: int = 0  # every request, including the ones answered with an error

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/events"

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        with self._lock:
            self.requests += 1
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if not verify(body, request.headers.get(SIGNATURE_HEADER), self.secret):
            with self._lock:
                self.rejected += 1
            return web.Response(status=401)
        if self.status >= 300:
            return web.Response(status=self.status)
        with self._lock:
            self.received.append(
                Received(
                    key=request.headers.get(IDEMPOTENCY_HEADER, ""),
                    signature_ok=True,
                    event=json.loads(body),
                    at=time.time(),
                    headers=dict(request.headers),
                )
            )
        return web.Response(status=self.status)

    def _routes(self, app: web.Application) -> None:
        app.router.add_post("/api/events", self._handle)

    def keys(self) -> list:
        with self._lock:
            return [item.key for item in self.received]


@pytest.fixture
def receiver():
    server = Receiver().start()
    yield server
    server.close()


async def wait_for(condition, timeout_s: float = 15.0) -> None:
    """Poll `condition` until it holds; fail the test after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)
