"""docs/verify_signature.py, the standard-library receiver snippet clinics copy, really works."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import HTTPServer
from pathlib import Path

import pytest

from bot.handoff.outbox import Outbox
from bot.handoff.signing import encode_event, sign
from services.deliverer import Deliverer
from tests.handoff_fixtures import SECRET, make_crisis_event, make_lead_event

SNIPPET = Path(__file__).resolve().parents[3] / "docs" / "verify_signature.py"


@pytest.fixture
def snippet(monkeypatch):
    spec = importlib.util.spec_from_file_location("verify_signature_snippet", SNIPPET)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    handled: list = []
    monkeypatch.setattr(module, "SECRET", SECRET)
    monkeypatch.setattr(module, "handle", handled.append)
    module.handled = handled
    return module


@pytest.fixture
def snippet_server(snippet):
    server = HTTPServer(("127.0.0.1", 0), snippet.Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield snippet, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_verify_matches_our_signing(snippet):
    body = encode_event(make_lead_event(1))
    assert snippet.verify(body, sign(body, SECRET), SECRET)
    assert not snippet.verify(body + b" ", sign(body, SECRET), SECRET)
    assert not snippet.verify(body, sign(body, "other"), SECRET)
    assert not snippet.verify(body, "", SECRET)
    assert not snippet.verify(body, None, SECRET)
    assert not snippet.verify(body, sign(body, ""), "")  # an unset secret never verifies


def test_snippet_stays_short():
    code = [
        line
        for line in SNIPPET.read_text().splitlines()
        if line.strip() and not line.strip().startswith("#") and not line.startswith(('"""', "Run:"))
    ]
    assert len(code) <= 32  # 30 before the body cap and the signed-id check (issue 9)


@pytest.mark.asyncio
async def test_deliverer_to_the_snippet_end_to_end(snippet_server, tmp_path):
    snippet, url = snippet_server
    outbox = Outbox(f"sqlite:///{tmp_path / 'outbox.db'}")
    crisis, lead = make_crisis_event(1), make_lead_event(1)
    outbox.enqueue(lead)
    outbox.enqueue(crisis)
    assert await Deliverer(outbox, url, SECRET, timeout_s=2.0, dead_after_s=60.0).run_once() == 2
    assert snippet.handled == [crisis, lead]
    outbox.close()


def post(url: str, body: bytes, headers: dict) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_snippet_rejects_bad_signatures_and_dedupes_by_the_signed_id(snippet_server):
    snippet, url = snippet_server
    event = make_lead_event(2)
    body = encode_event(event)
    good = {"X-Signature-256": sign(body, SECRET), "Idempotency-Key": event["id"]}
    assert post(url, body, {"X-Signature-256": sign(body, "wrong"), "Idempotency-Key": event["id"]}) == 401
    assert post(url, body, {"X-Signature-256": sign(body, SECRET)}) == 400
    assert post(url, body, good) == 200
    assert post(url, body, good) == 200  # a retry is acknowledged ...
    assert snippet.handled == [event]  # ... but handled once
    # A replay with a new Idempotency-Key (headers are not signed) is refused, so it cannot be handled twice.
    # Before, the snippet deduped on the header alone and handled this replay as a new event.
    assert post(url, body, {**good, "Idempotency-Key": "00000000-0000-4000-8000-000000000000"}) == 400
    assert snippet.handled == [event]


def raw_status(port: int, request: bytes) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        return int(sock.recv(4096).split(b" ", 2)[1])


def test_snippet_answers_garbled_signatures_401_and_caps_the_body(snippet_server):
    snippet, url = snippet_server
    port = int(url.rsplit(":", 1)[1].strip("/"))
    body = encode_event(make_lead_event(3))
    head = b"POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
    # Before: hmac.compare_digest raised TypeError on a non-ASCII header and the connection just dropped.
    non_ascii = head + b"X-Signature-256: sha256=\xe9\xe9\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    assert raw_status(port, non_ascii) == 401
    # Before: a Content-Length of 10 GB was read into memory; now refused before reading.
    assert raw_status(port, head + b"Content-Length: 10000000000\r\n\r\n") == 413
    assert raw_status(port, head + b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n") == 411
    assert snippet.handled == []


def _listening_addresses(port: int) -> set:
    """Local addresses with a listening TCP socket on `port`, from /proc/net/tcp{,6} (state 0A = LISTEN)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as handle:
            for line in handle.readlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                address, _, hex_port = local.partition(":")
                if state == "0A" and int(hex_port, 16) == port:
                    found.add(address)
    return found


@pytest.mark.skipif(not os.path.exists("/proc/net/tcp"), reason="needs Linux /proc/net/tcp")
def test_snippet_listens_on_loopback_only():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, str(SNIPPET), str(port)], env={**os.environ, "HANDOFF_SECRET": SECRET}, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 20
        while not _listening_addresses(port) and time.monotonic() < deadline:
            assert process.poll() is None, process.stderr.read()
            time.sleep(0.05)
        # 0100007F is 127.0.0.1; before, the snippet bound "" (00000000, every interface).
        assert _listening_addresses(port) == {"0100007F"}
    finally:
        process.terminate()
        process.wait(timeout=10)
