"""docs/verify_signature.py, the standard-library receiver snippet clinics copy, really works."""

from __future__ import annotations

import importlib.util
import threading
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


def test_snippet_is_about_twenty_lines_of_code():
    code = [
        line
        for line in SNIPPET.read_text().splitlines()
        if line.strip() and not line.strip().startswith("#") and not line.startswith(('"""', "Run:"))
    ]
    assert len(code) <= 30


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


def test_snippet_rejects_bad_signatures_and_dedupes_by_key(snippet_server):
    snippet, url = snippet_server
    event = make_lead_event(2)
    body = encode_event(event)
    good = {"X-Signature-256": sign(body, SECRET), "Idempotency-Key": event["id"]}
    assert post(url, body, {"X-Signature-256": sign(body, "wrong"), "Idempotency-Key": event["id"]}) == 401
    assert post(url, body, {"X-Signature-256": sign(body, SECRET)}) == 400
    assert post(url, body, good) == 200
    assert post(url, body, good) == 200  # a retry is acknowledged ...
    assert snippet.handled == [event]  # ... but handled once
