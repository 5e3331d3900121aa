"""Helpers and fixtures for the inbox tests (imported by conftest.py and the test modules)."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import secrets
import socket
from typing import Any, AsyncIterator, Optional

import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient, TestServer

from bot.handoff import events
from bot.handoff.signing import encode_event, sign
from bot.settings import load_settings
from services.inbox.app import STATE, create_app
from services.inbox.auth import SignInThrottle
from services.inbox.passwords import ScryptCost, hash_password

PG_URL = os.environ.get("HAVEN_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
ADMIN_USER = "staff"
ADMIN_PASSWORD = "correct horse battery staple"
# Secrets of the strength the inbox demands at start (32 random bytes, as secrets.token_urlsafe(32) makes them).
HANDOFF_SECRET = "test-handoff-K3v9Qp2LmX7wZr5TnB8yHc4Jd6Fs1Ag0"
API_TOKEN = "test-api-token-Vb7Nq2Xr9Lm4Kp8Wz3Hy6Tc1Jd5Fs0Ag"
SESSION_SECRET = "test-session-Qw8Er4Ty2Ui6Op9As3Df7Gh1Jk5Lz0Xc"
# A cheap scrypt cost for the tests' sign-ins (the production cost takes ~0.5 s each); the app under test uses it
# too, so no test hash is "upgraded" unless a test asks for that. test_inbox_passwords.py checks the real cost.
TEST_COST = ScryptCost(n=2**10, r=8, p=1)
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
XSS_SCRIPT = "<script>alert(1)</script>"
XSS_ATTR = '"><img src=x onerror=alert(1)>'

_ADMIN_HASH: Optional[str] = None


def admin_hash() -> str:
    global _ADMIN_HASH
    if _ADMIN_HASH is None:
        _ADMIN_HASH = hash_password(ADMIN_PASSWORD, TEST_COST)
    return _ADMIN_HASH


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Any) -> Any:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'haven.db'}"
        return
    engine = sa.create_engine(PG_URL)
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError as exc:
        engine.dispose()
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}: {type(exc).__name__}")
    schema = "inbox_test_" + secrets.token_hex(6)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        # Every connection of this run sees only its own schema, so runs never share tables.
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Any) -> str:
    return f"sqlite:///{tmp_path / 'haven.db'}"


@pytest.fixture
def make_settings(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Settings through the real loader (so new fields keep working), then overrides."""

    def factory(database_url: str, **overrides: Any) -> Any:
        monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
        monkeypatch.setenv("DATABASE_URL", database_url)
        monkeypatch.setenv("HANDOFF_SECRET", HANDOFF_SECRET)
        monkeypatch.setenv("HANDOFF_URL", "")
        monkeypatch.setenv("INBOX_ADMIN_USER", ADMIN_USER)
        monkeypatch.setenv("INBOX_ADMIN_PASSWORD_HASH", admin_hash())
        monkeypatch.setenv("INBOX_API_TOKEN", API_TOKEN)
        monkeypatch.setenv("INBOX_SESSION_SECRET", SESSION_SECRET)
        monkeypatch.setenv("INBOX_COOKIE_SECURE", "false")
        settings = load_settings(env_file=tmp_path / "absent.env")
        return dataclasses.replace(settings, **overrides)

    return factory


class FakeOutbox:
    """Stands in for bot.handoff.outbox.Outbox so page tests do not depend on delivery timing."""

    def __init__(self, pending: int = 0, dead: list[dict] | None = None) -> None:
        self.pending = pending
        self.dead = dead or []

    def stats(self) -> dict:
        return {"pending": self.pending, "dead": len(self.dead), "delivered": 0, "oldest_pending_age_s": 0.0}

    def list_dead(self, limit: int = 100) -> list[dict]:
        return self.dead[:limit]


@contextlib.asynccontextmanager
async def running_inbox(
    settings: Any,
    outbox: Any = None,
    *,
    real_outbox: bool = False,
    port: Optional[int] = None,
    password_cost: ScryptCost = TEST_COST,
    throttle: Optional[SignInThrottle] = None,
) -> AsyncIterator[TestClient]:
    """A real aiohttp server on loopback and a client with its own cookie jar.

    By default the outbox is a FakeOutbox; with real_outbox the app builds bot.handoff's Outbox itself.
    """
    app = create_app(settings, password_cost=password_cost, throttle=throttle)
    if not real_outbox:
        app[STATE].outbox = outbox if outbox is not None else FakeOutbox()
    server = TestServer(app, host="127.0.0.1", port=port)
    async with TestClient(server) as client:
        yield client


def lead_event(first_name: str = "Ana", event_id: Optional[str] = None, **lead_overrides: Any) -> dict:
    lead = {
        "outcome": "qualified",
        "concern": "anxiety",
        "age": 34,
        "contact": {
            "first_name": first_name,
            "phone": "+18185550100",
            "email": "ana@example.org",
            "preferred_method": "phone",
            "best_time": "mornings",
            "consent_to_contact": True,
        },
        "scores": {"gad7": 15, "phq9": 12},
        "answers": [{"id": "gad7_1", "question": "Feeling nervous?", "answer": "Nearly every day", "value": 3}],
        "contraindications": [
            {"id": "psychosis", "label": "History of psychosis", "answer": "no", "class": "absolute", "source": "s"}
        ],
        "reasons": [{"id": "gad7_severe", "text": "GAD-7 in the severe range"}],
        "crisis": {"flagged": False, "categories": []},
    }
    lead.update(lead_overrides)
    return events.lead_created(
        conversation_id="conv-" + secrets.token_hex(4),
        channel="rest",
        lead=lead,
        event_id=event_id,
        created_at="2026-11-27T01:02:03Z",
    )


def alert_event(first_name: str = "Sam", message: str = "visitor message", event_id: Optional[str] = None) -> dict:
    return events.crisis_alert(
        conversation_id="conv-" + secrets.token_hex(4),
        channel="sms",
        severity="high",
        categories=["suicidal_thoughts"],
        message=message,
        contact={"first_name": first_name, "phone": "+18185550101"},
        event_id=event_id,
        created_at="2026-11-27T01:05:00Z",
    )


def signed_headers(body: bytes, event_id: str, secret: str = HANDOFF_SECRET) -> dict:
    return {"X-Signature-256": sign(body, secret), "Idempotency-Key": event_id, "Content-Type": "application/json"}


async def post_event(client: TestClient, event: dict, secret: str = HANDOFF_SECRET) -> Any:
    body = encode_event(event)
    return await client.post("/api/events", data=body, headers=signed_headers(body, event["id"], secret))


async def sign_in(client: TestClient, username: str = ADMIN_USER, password: str = ADMIN_PASSWORD) -> Any:
    page = await client.get("/login")
    token = CSRF_FIELD.search(await page.text()).group(1)
    return await client.post(
        "/login",
        data={"csrf_token": token, "username": username, "password": password},
        allow_redirects=False,
    )


async def page_csrf(client: TestClient, path: str = "/") -> str:
    response = await client.get(path)
    assert response.status == 200, path
    return CSRF_FIELD.search(await response.text()).group(1)


def api_headers(token: str = API_TOKEN) -> dict:
    return {"Authorization": f"Bearer {token}"}
