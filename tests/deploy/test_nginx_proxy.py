"""deploy/nginx/haven.conf, rendered for loopback and run by Debian's nginx in front of a stand-in for Rasa.

Real nginx (scripts/ensure_nginx.sh installs it), a real TLS handshake (a self-signed certificate made with
openssl for `haven.test`), and a small aiohttp server on loopback that records every request it gets: what the
proxy lets through arrives unchanged, and what it refuses never arrives.
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

import pytest
from aiohttp import web

from tests.deploy.nginx_runner import (
    CHAT_TEMPLATE,
    STAFF_TEMPLATE,
    Answer,
    NginxMissing,
    free_port,
    make_certificate,
    raw_request,
    render,
    running_nginx,
)

SERVER_NAME = "haven.test"
STAFF_NAME = "inbox.haven.test"
BODY_CAP = 64 * 1024  # CHAT_MAX_BODY_BYTES' default, the chat server's own cap
SECURITY_HEADERS = {
    "strict-transport-security": "max-age=63072000; includeSubDomains",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


@dataclass
class Seen:
    method: str
    path_qs: str
    body: bytes
    headers: Dict[str, str]


@dataclass
class StandIn:
    """The Rasa stand-in: answers everything 200 (so anything the proxy wrongly lets through shows) and records it."""

    port: int = 0
    seen: List[Seen] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {name.lower(): value for name, value in request.headers.items()}
        self.seen.append(Seen(request.method, request.raw_path, body, headers))
        return web.json_response([{"recipient_id": "x", "text": "from the stand-in"}])


@pytest.fixture(scope="module")
def stand_in() -> Iterator[StandIn]:
    state = StandIn()
    loop = asyncio.new_event_loop()
    app = web.Application(client_max_size=4 * BODY_CAP)
    app.router.add_route("*", "/{tail:.*}", state.handle)
    runner = web.AppRunner(app, access_log=None)

    async def start() -> None:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        state.port = int(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]

    loop.run_until_complete(start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield state
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Tuple[Path, Path]:
    return make_certificate(tmp_path_factory.mktemp("tls"), [SERVER_NAME, STAFF_NAME])


@dataclass
class Proxy:
    https_port: int
    http_port: int
    staff_port: int
    cafile: Path
    stand_in: StandIn

    def tls_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cafile))

    def request(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        headers: Optional[Dict[str, str]] = None,
        *,
        tls: bool = True,
        host: str = SERVER_NAME,
        port: Optional[int] = None,
        source: str = "127.0.0.1",
    ) -> Answer:
        port = port or (self.https_port if tls else self.http_port)
        cafile = self.cafile if tls else None
        return raw_request(port, method, path, body, headers, host=host, cafile=cafile, source=source)


@pytest.fixture
def proxy(stand_in: StandIn, certificate: Tuple[Path, Path], tmp_path: Path) -> Iterator[Proxy]:
    """A fresh nginx for each test (fresh rate-limit zones) in front of the stand-in."""
    cert, key = certificate
    https_port, http_port, staff_port = free_port(), free_port(), free_port()
    site = render(
        CHAT_TEMPLATE.read_text(),
        {
            "HAVEN_SERVER_NAME": SERVER_NAME,
            "HAVEN_HTTPS_LISTEN": f"127.0.0.1:{https_port}",
            "HAVEN_HTTP_LISTEN": f"127.0.0.1:{http_port}",
            "HAVEN_TLS_CERT": str(cert),
            "HAVEN_TLS_KEY": str(key),
            # Two Rasa instances (RASA_PORT, RASA_PORT+1), both the stand-in here.
            "HAVEN_RASA_SERVERS": f"server 127.0.0.1:{stand_in.port};\n    server 127.0.0.1:{stand_in.port};",
            "HAVEN_ACCESS_LOG": str(tmp_path / "access.log"),
        },
    )
    staff = render(
        STAFF_TEMPLATE.read_text(),
        {
            "HAVEN_STAFF_SERVER_NAME": STAFF_NAME,
            "HAVEN_STAFF_LISTEN": f"127.0.0.1:{staff_port}",
            "HAVEN_STAFF_TLS_CERT": str(cert),
            "HAVEN_STAFF_TLS_KEY": str(key),
            "HAVEN_STAFF_ALLOW": "allow 127.0.0.1;",
            "HAVEN_INBOX_SERVER": f"server 127.0.0.1:{stand_in.port};",
            "HAVEN_ACCESS_LOG": str(tmp_path / "access.log"),
        },
    )
    try:
        with running_nginx(site + "\n" + staff, tmp_path, https_port):
            stand_in.seen.clear()
            yield Proxy(https_port, http_port, staff_port, cert, stand_in)
    except NginxMissing as missing:
        pytest.fail(str(missing))


def assert_hardened(headers: Dict[str, str]) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert headers.get(name) == value, name
    assert "frame-ancestors 'none'" in headers.get("content-security-policy", "")
    assert headers.get("server") == "nginx"  # no version


def test_the_chat_passes_unchanged_with_the_client_address(proxy: Proxy) -> None:
    body = json.dumps({"sender": "visitor-1", "message": "hi"}).encode()
    status, headers, answer = proxy.request(
        "POST",
        "/webhooks/rest/webhook",
        body,
        # A client's own X-Forwarded-For is replaced: the chat's limits must not be fooled by it.
        {"Content-Type": "application/json", "X-Forwarded-For": "203.0.113.9", "Origin": "https://clinic.example"},
    )
    assert status == 200
    assert json.loads(answer) == [{"recipient_id": "x", "text": "from the stand-in"}]
    assert_hardened(headers)
    (seen,) = proxy.stand_in.seen
    assert (seen.method, seen.path_qs, seen.body) == ("POST", "/webhooks/rest/webhook", body)
    assert seen.headers["x-forwarded-for"] == "127.0.0.1"
    assert seen.headers["x-forwarded-proto"] == "https"
    assert seen.headers["host"] == SERVER_NAME
    assert seen.headers["origin"] == "https://clinic.example"


def test_the_widgets_cors_preflight_reaches_the_chat_server(proxy: Proxy) -> None:
    status, _, _ = proxy.request(
        "OPTIONS",
        "/webhooks/rest/webhook",
        headers={"Origin": "https://clinic.example", "Access-Control-Request-Method": "POST"},
    )
    assert status == 200
    (seen,) = proxy.stand_in.seen
    assert (seen.method, seen.path_qs) == ("OPTIONS", "/webhooks/rest/webhook")
    assert seen.headers["access-control-request-method"] == "POST"


def test_twilio_sees_the_path_and_query_it_signed(proxy: Proxy) -> None:
    body = b"From=%2B18185550100&Body=hello&MessageSid=SM1"
    path = "/webhooks/sms/webhook?clinic=tarzana&x=1"
    status, headers, _ = proxy.request(
        "POST",
        path,
        body,
        {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "c2lnbmF0dXJl"},
    )
    assert status == 200
    assert_hardened(headers)
    (seen,) = proxy.stand_in.seen
    assert (seen.method, seen.path_qs, seen.body) == ("POST", path, body)
    assert seen.headers["x-twilio-signature"] == "c2lnbmF0dXJl"
    assert seen.headers["x-forwarded-for"] == "127.0.0.1"


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/", 404),
        ("GET", "/status", 404),
        ("GET", "/version", 404),
        ("PUT", "/model", 404),
        ("GET", "/conversations/x/tracker", 404),
        ("POST", "/conversations/x/messages", 404),
        ("POST", "/conversations/x/trigger_intent", 404),
        ("GET", "/webhooks/rest/", 404),
        ("POST", "/webhooks/rest/", 404),
        ("POST", "/webhooks/rest/webhook/", 404),
        ("POST", "/webhooks/rest//webhook", 404),
        ("POST", "//webhooks/rest/webhook", 404),
        ("POST", "/webhooks/rest/./webhook", 404),
        ("POST", "/model/../webhooks/rest/webhook", 404),
        ("POST", "/webhooks/rest/webhook%2F", 404),
        ("POST", "/webhooks/%72est/webhook", 404),
        ("POST", "/webhooks/twilio/webhook", 404),
        ("GET", "/webhooks/rest/webhook", 405),
        ("PUT", "/webhooks/rest/webhook", 405),
        ("GET", "/webhooks/sms/webhook", 405),
        ("OPTIONS", "/webhooks/sms/webhook", 405),
    ],
)
def test_nothing_else_reaches_rasa(proxy: Proxy, method: str, path: str, expected: int) -> None:
    status, headers, answer = proxy.request(method, path, b'{"sender": "s", "message": "m"}')
    assert status == expected
    assert json.loads(answer)["error"] in ("not_found", "method_not_allowed")
    assert_hardened(headers)
    assert proxy.stand_in.seen == []


def test_a_body_over_64_kib_is_refused_before_rasa(proxy: Proxy) -> None:
    status, headers, answer = proxy.request("POST", "/webhooks/rest/webhook", b"x" * (BODY_CAP + 1))
    assert status == 413
    assert json.loads(answer)["error"] == "too_large"
    assert_hardened(headers)
    assert proxy.stand_in.seen == []
    # Exactly the cap passes (the chat server's own cap is the same number).
    status, _, _ = proxy.request("POST", "/webhooks/rest/webhook", b"x" * BODY_CAP)
    assert status == 200
    assert len(proxy.stand_in.seen[0].body) == BODY_CAP


def test_a_flood_from_one_address_gets_429_with_the_crisis_numbers(proxy: Proxy) -> None:
    """2 requests a second with bursts of 20: a script sending as fast as it can meets a 429 (at the latest
    after the burst plus whatever the seconds it took refilled: the loop stops at the first one)."""
    body = json.dumps({"sender": "flood", "message": "hi"}).encode()
    statuses: List[int] = []
    refusal: Optional[Tuple[Dict[str, str], bytes]] = None
    for _ in range(1000):
        status, headers, answer = proxy.request("POST", "/webhooks/rest/webhook", body)
        statuses.append(status)
        if status != 200:
            refusal = headers, answer
            break
    assert statuses[-1] == 429
    assert statuses.count(200) >= 21  # the first request and a burst of 20 are never refused
    assert len(proxy.stand_in.seen) == statuses.count(200)  # the refused one never reached Rasa
    assert refusal is not None
    headers, answer = refusal
    assert_hardened(headers)
    detail = json.loads(answer)
    assert detail["error"] == "rate_limited"
    assert "988" in detail["detail"] and "911" in detail["detail"]


def test_plain_http_only_redirects_to_https(proxy: Proxy) -> None:
    status, headers, _ = proxy.request("POST", "/webhooks/rest/webhook?a=1", b"{}", tls=False)
    assert status == 301
    assert headers["location"] == f"https://{SERVER_NAME}/webhooks/rest/webhook?a=1"
    assert headers["server"] == "nginx"
    assert proxy.stand_in.seen == []


def test_unknown_hosts_get_nothing(proxy: Proxy) -> None:
    # Plain HTTP for another Host: the connection is closed without an answer.
    with pytest.raises((ConnectionError, OSError)):
        proxy.request("GET", "/webhooks/rest/webhook", tls=False, host="203.0.113.1")
    # TLS without our name (a scanner trying the address): the handshake is refused.
    sock = socket.create_connection(("127.0.0.1", proxy.https_port), timeout=30)
    with pytest.raises(ssl.SSLError):
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        context.wrap_socket(sock, server_hostname="other.example")
    sock.close()
    assert proxy.stand_in.seen == []


def test_old_tls_is_refused(proxy: Proxy) -> None:
    """TLS 1.3 and 1.2 are served; a client that offers 1.2 with a CBC, non-forward-secret cipher is not."""
    for version in (ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2):
        context = proxy.tls_context()
        context.minimum_version = context.maximum_version = version
        with context.wrap_socket(socket.create_connection(("127.0.0.1", proxy.https_port), timeout=30),
                                 server_hostname=SERVER_NAME) as tls:  # fmt: skip
            assert tls.version() == version.name.replace("_", ".")
    context = proxy.tls_context()
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers("AES128-SHA256:AES256-SHA256:AES128-SHA")  # RSA key exchange, CBC: refused
    with pytest.raises(ssl.SSLError):
        context.wrap_socket(socket.create_connection(("127.0.0.1", proxy.https_port), timeout=30),
                            server_hostname=SERVER_NAME)  # fmt: skip


def test_the_staff_inbox_is_its_own_tls_server_for_listed_networks_only(proxy: Proxy) -> None:
    status, headers, _ = proxy.request("GET", "/leads?page=2", port=proxy.staff_port, host=STAFF_NAME)
    assert status == 200
    assert headers["server"] == "nginx"
    (seen,) = proxy.stand_in.seen
    assert (seen.method, seen.path_qs) == ("GET", "/leads?page=2")
    # The inbox believes these from TRUSTED_PROXIES: HSTS and a Secure cookie follow from https.
    assert seen.headers["x-forwarded-proto"] == "https"
    assert seen.headers["x-forwarded-for"] == "127.0.0.1"
    # The deliverer's endpoint is not for browsers.
    status, _, _ = proxy.request("POST", "/api/events", b"{}", port=proxy.staff_port, host=STAFF_NAME)
    assert status == 404
    # Another address (127.0.0.2 is loopback too, but not on the allow list): refused.
    status, _, _ = proxy.request("GET", "/leads", port=proxy.staff_port, host=STAFF_NAME, source="127.0.0.2")
    assert status == 403
    # The chat's port does not serve the staff name (no handshake for a name it does not serve).
    with pytest.raises(ssl.SSLError):
        proxy.request("GET", "/leads", host=STAFF_NAME)
    assert len(proxy.stand_in.seen) == 1
