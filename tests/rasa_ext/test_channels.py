"""The guarded REST channel on a real Sanic server on loopback: oversize bodies get 413 before they are read,
floods get 429 with a JSON body that carries 988, and a message showing risk is never refused."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.handoff_fixtures import free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server():
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RASA_TELEMETRY_ENABLED": "false"}
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.rasa_ext.channel_server", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/webhooks/rest/", timeout=1):
                break
        except OSError:
            time.sleep(0.2)
    yield port
    process.terminate()
    process.wait(10)


def post(port: int, body: dict, headers: dict | None = None) -> tuple[int, dict, dict]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/webhooks/rest/webhook",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read()), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null"), dict(error.headers)


def raw_exchange(port: int, head: bytes, body_chunks=()) -> bytes:
    """Send a request head (and maybe some body), return what the server answers without sending the rest."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        for chunk in body_chunks:
            try:
                sock.sendall(chunk)
            except OSError:
                break
        answer = b""
        while True:
            try:
                data = sock.recv(65536)
            except (TimeoutError, ConnectionResetError):
                break
            if not data:
                break
            answer += data
        return answer


def test_a_declared_oversize_body_gets_413_before_any_of_it_is_sent(server):
    head = (
        b"POST /webhooks/rest/webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100000000\r\n\r\n"
    )
    started = time.monotonic()
    answer = raw_exchange(server, head)
    assert answer.startswith(b"HTTP/1.1 413")
    assert time.monotonic() - started < 5


def test_a_chunked_body_is_cut_off_at_the_cap(server):
    head = (
        b"POST /webhooks/rest/webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"1000\r\n" + b"x" * 0x1000 + b"\r\n"
    answer = raw_exchange(server, head, [chunk] * 4)
    assert answer.startswith(b"HTTP/1.1 413")


def test_a_body_under_the_cap_is_answered(server):
    assert post(server, {"sender": "small-1", "message": "hi"})[0] == 200


def test_new_conversations_from_one_address_are_limited_with_988_in_the_answer(server):
    forwarded = {"X-Forwarded-For": "203.0.113.7"}  # the peer (127.0.0.1) is a trusted proxy here
    statuses = [post(server, {"sender": f"flood-{n}", "message": "hi"}, forwarded)[0] for n in range(3)]
    assert statuses == [200, 200, 200]
    status, body, headers = post(server, {"sender": "flood-4", "message": "hi"}, forwarded)
    assert status == 429
    assert body["error"] == "rate_limited" and "988" in body["detail"] and body["retry_after_s"] > 0
    assert int(headers["Retry-After"]) > 0
    # A crisis message from the same address still goes through (the bot answers with 988 and alerts staff).
    assert post(server, {"sender": "flood-5", "message": "i want to kill myself"}, forwarded)[0] == 200
    # Another client behind the same proxy is not affected.
    assert post(server, {"sender": "other-1", "message": "hi"}, {"X-Forwarded-For": "198.51.100.9"})[0] == 200


def test_a_client_cannot_pick_its_address_by_prepending_to_x_forwarded_for(server):
    # The proxy appends the real address; whatever the client wrote before it is ignored.
    forwarded = {"X-Forwarded-For": "10.9.9.9, 203.0.113.50"}
    assert [post(server, {"sender": f"spoof-{n}", "message": "hi"}, forwarded)[0] for n in range(3)] == [200] * 3
    other = {"X-Forwarded-For": "10.9.9.8, 203.0.113.50"}
    assert post(server, {"sender": "spoof-4", "message": "hi"}, other)[0] == 429


def test_messages_per_conversation_are_limited(server):
    forwarded = {"X-Forwarded-For": "203.0.113.99"}
    statuses = [post(server, {"sender": "chatty-1", "message": f"hello {n}"}, forwarded)[0] for n in range(6)]
    assert statuses == [200] * 5 + [429]


def test_the_rate_limit_answer_is_in_plain_words():
    from bot.readability import flesch_kincaid_grade
    from rasa_ext.channels import RATE_LIMITED_DETAIL

    assert flesch_kincaid_grade(RATE_LIMITED_DETAIL) <= 8
    assert "988" in RATE_LIMITED_DETAIL and "911" in RATE_LIMITED_DETAIL
