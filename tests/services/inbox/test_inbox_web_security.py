"""Webhook, header and log hardening of the inbox (issue 9), against real servers on loopback: garbled signature
headers, replays after retention, forged access-log lines, HSTS and the Server header."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import subprocess
import time
from pathlib import Path
from typing import AsyncIterator, Optional

import aiohttp
import pytest
import sqlalchemy as sa
from aiohttp import web

from bot.handoff.signing import encode_event, sign
from services.inbox.app import STATE, STRICT_TRANSPORT_SECURITY, PathOnlyAccessLogger, create_app, loggable_path
from services.inbox.store import InboxStore
from tests.services.inbox.inbox_helpers import (
    HANDOFF_SECRET,
    TEST_COST,
    FakeOutbox,
    lead_event,
    post_event,
    running_inbox,
    sign_in,
)


@contextlib.asynccontextmanager
async def served(settings, ssl_context: Optional[ssl.SSLContext] = None) -> AsyncIterator[tuple[web.Application, int]]:
    """The app as `python -m services.inbox` serves it (its access logger), on a free loopback port."""
    app = create_app(settings, password_cost=TEST_COST)
    app[STATE].outbox = FakeOutbox()
    runner = web.AppRunner(app, access_log_class=PathOnlyAccessLogger)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield app, port
    finally:
        await runner.cleanup()


async def raw_exchange(port: int, request: bytes) -> bytes:
    """Send bytes no well-behaved client library would (non-ASCII headers, control characters)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(65536), 10)
    writer.close()
    return answer


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def header_of(answer: bytes, name: bytes) -> Optional[bytes]:
    for line in answer.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name.lower():
            return value.strip()
    return None


# --- webhooks --------------------------------------------------------------------------------------------------
@pytest.mark.asyncio
async def test_a_non_ascii_signature_header_gets_401_not_500(make_settings, sqlite_url) -> None:
    event = lead_event()
    body = encode_event(event)
    async with served(make_settings(sqlite_url)) as (app, port):
        for signature in ("sha256=\u00e9t\u00e9".encode(), b"sha256=\xff\xfe" + b"0" * 62):
            request = (
                b"POST /api/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"X-Signature-256: " + signature + b"\r\nIdempotency-Key: " + event["id"].encode() + b"\r\n"
                b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body
            )
            assert status_of(await raw_exchange(port, request)) == 401
        assert app[STATE].store.get_event(event["id"]) is None


@pytest.mark.asyncio
async def test_a_replay_after_the_retention_purge_is_still_a_duplicate(make_settings, database_url) -> None:
    settings = make_settings(database_url, inbox_retention_days=30.0)
    async with running_inbox(settings) as client:
        store = client.server.app[STATE].store
        event = lead_event()
        assert (await post_event(client, event)).status == 201
        store.change_status(event["id"], "closed", "staff")
        with store.engine.begin() as conn:  # it arrived 31 days ago
            conn.execute(sa.text("UPDATE inbox_events SET received_at = :t"), {"t": time.time() - 31 * 86400})
        assert store.purge_closed(time.time() - 30 * 86400) == 1
        assert store.get_event(event["id"]) is None
        replay = await post_event(client, event)  # before: stored again, as a new lead for staff to call
        assert replay.status == 200 and (await replay.json()) == {"status": "duplicate"}
        assert store.get_event(event["id"]) is None


@pytest.mark.asyncio
async def test_events_stored_before_tombstones_existed_get_one(make_settings, sqlite_url) -> None:
    store = InboxStore(sqlite_url)
    store.create_tables()
    event = lead_event()
    store.add_event(event["id"], event["type"], event["created_at"], event)
    with store.engine.begin() as conn:  # a database from before: no tombstone table
        conn.exec_driver_sql("DROP TABLE inbox_received_ids")
    store.dispose()
    async with running_inbox(make_settings(sqlite_url)) as client:
        store = client.server.app[STATE].store
        with store.engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM inbox_events")  # purged since
        assert (await post_event(client, event)).status == 200
        assert store.get_event(event["id"]) is None


# --- access log ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "raw,logged",
    [
        ("/leads/abc", "/leads/abc"),
        ("/x%0a2026-12-01 INFO forged", "/x%0a2026-12-01\\x20INFO\\x20forged"),
        ("/a\nb\r\x1b[31m", "/a\\x0ab\\x0d\\x1b[31m"),
        ("/caf\u00e9\\", "/caf\\xe9\\\\"),
        ("/login?user=staff&password=secret", "/login"),
        ("/" + "a" * 400, "/" + "a" * 299 + "..."),
    ],
)
def test_loggable_path_escapes_everything_but_printable_ascii(raw: str, logged: str) -> None:
    assert loggable_path(raw) == logged


@pytest.mark.asyncio
async def test_a_percent_0a_in_a_url_cannot_forge_a_log_line(make_settings, sqlite_url, caplog) -> None:
    forged = b"/nothing%0a2026-12-01%2012:00:00,000%20INFO%20aiohttp.access:%20POST%20/login%20303"
    with caplog.at_level(logging.INFO, logger="aiohttp.access"):
        async with served(make_settings(sqlite_url)) as (_app, port):
            answer = await raw_exchange(
                port, b"GET " + forged + b"?q=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            )
            assert status_of(answer) == 404
            await asyncio.sleep(0.1)
    lines = [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]
    assert lines, "no access log line"
    # Before: request.path decoded %0a into a real newline, so the log showed a second, forged line.
    assert all("\n" not in line and "\r" not in line for line in lines)
    assert any(line.startswith("GET /nothing%0a2026-12-01%2012:00:00") and " 404 " in line for line in lines)
    assert not any("q=1" in line for line in lines)


# --- headers ---------------------------------------------------------------------------------------------------
def _self_signed(tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert, key)
    client = ssl.create_default_context(cafile=str(cert))
    return server, client


@pytest.mark.asyncio
async def test_hsts_over_tls_and_never_over_plain_http(make_settings, sqlite_url, tmp_path) -> None:
    server_tls, client_tls = _self_signed(tmp_path)
    settings = make_settings(sqlite_url)
    async with (
        served(settings, ssl_context=server_tls) as (_app, port),
        aiohttp.ClientSession() as session,
        session.get(f"https://127.0.0.1:{port}/login", ssl=client_tls) as response,
    ):
        assert response.status == 200
        assert response.headers["Strict-Transport-Security"] == STRICT_TRANSPORT_SECURITY
    async with running_inbox(settings) as client:
        response = await client.get("/login", headers={"X-Forwarded-Proto": "https"})  # no trusted proxy
        assert "Strict-Transport-Security" not in response.headers


@pytest.mark.asyncio
async def test_hsts_behind_a_trusted_proxy_that_says_https(make_settings, sqlite_url) -> None:
    async with running_inbox(make_settings(sqlite_url, trusted_proxies=("127.0.0.1/32",))) as client:
        https = await client.get("/login", headers={"X-Forwarded-Proto": "https"})
        assert https.headers["Strict-Transport-Security"] == STRICT_TRANSPORT_SECURITY
        plain = await client.get("/login", headers={"X-Forwarded-Proto": "http"})
        assert "Strict-Transport-Security" not in plain.headers
        assert "Strict-Transport-Security" not in (await client.get("/login")).headers


@pytest.mark.asyncio
async def test_no_server_header_names_a_version(make_settings, sqlite_url) -> None:
    async with served(make_settings(sqlite_url)) as (_app, port):
        answers = [
            await raw_exchange(port, b"GET /login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
            await raw_exchange(port, b"GET /no-such-page HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
            await raw_exchange(port, b"DELETE /login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
            # Requests aiohttp cannot parse are answered before any app hook runs.
            await raw_exchange(port, b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n"),
            await raw_exchange(port, b"\x16\x03\x01 not http\r\n\r\n"),
        ]
    assert [status_of(a) for a in answers] == [200, 404, 405, 400, 400]
    for answer in answers:
        server = header_of(answer, b"Server")
        assert server in (None, b"haven-inbox"), server


@pytest.mark.asyncio
async def test_signed_in_pages_keep_their_headers(make_settings, sqlite_url) -> None:
    async with running_inbox(make_settings(sqlite_url)) as client:
        await sign_in(client)
        page = await client.get("/")
        assert page.status == 200 and page.headers["Server"] == "haven-inbox"
        body = encode_event(lead_event())
        bad = await client.post("/api/events", data=body, headers={"X-Signature-256": sign(body, HANDOFF_SECRET + "x")})
        assert bad.status == 401 and bad.headers["Server"] == "haven-inbox"
