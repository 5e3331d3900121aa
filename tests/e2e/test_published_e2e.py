"""The issue's "done when", tried as a new user would: the stack published on HOST=0.0.0.0 with the Rasa API on.
Only the chat listens beyond loopback; the API token is on no command line; DATA_DIR is private; an oversize
body gets 413; and with the SQLite store locked for 25 s a crisis message is answered at once with 988, its alert
arrives once the lock goes, and the visitor's words appear in no log. Privacy (issue 13): a whole screening with a
unique name, phone, email and free text, typed payloads and refused messages leave none of it in any process's
output (Rasa, Sanic, rasa_sdk, SQLAlchemy, the inbox, the deliverer, the launcher); "delete my data" erases the
conversation from the tracker store and the next message starts fresh."""

from __future__ import annotations

import json
import socket
import sqlite3
import stat
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.personas import QUALIFIED_CLICKER
from tests.e2e.stack import SECRET, Receiver, Stack
from tests.e2e.stack_helpers import running_stack
from tests.e2e.visitor import Visitor, asked

EVERY_ADDRESS = "0.0.0.0"  # noqa: S104 - what publishing looks like: the test checks only the chat gets it

TOKEN = "e2e-rasa-api-token-" + "x" * 24
CRISIS_TEXT = "i am going to kill myself tonight, i have it all planned"


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a listening TCP socket on `port`, read from /proc/net/tcp{,6}."""
    found = set()
    for name, width in (("tcp", 8), ("tcp6", 32)):
        for line in Path(f"/proc/net/{name}").read_text().splitlines()[1:]:
            fields = line.split()
            local, state = fields[1], fields[3]
            address, port_hex = local.split(":")
            if state != "0A" or int(port_hex, 16) != port:
                continue
            if width == 8:
                found.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
            else:
                raw = b"".join(bytes.fromhex(address[i : i + 8])[::-1] for i in range(0, 32, 8))
                found.add(socket.inet_ntop(socket.AF_INET6, raw))
    return found


def all_command_lines() -> list[bytes]:
    lines = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                lines.append((proc / "cmdline").read_bytes())
            except OSError:
                continue
    return lines


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("published") / "var"  # not there yet: the stack creates it
    logs = tmp_path_factory.mktemp("published-logs")
    extra_env = {
        "HOST": EVERY_ADDRESS,
        "INBOX_HOST": "",
        "RASA_AUTH_TOKEN": TOKEN,
        # The shipped limits, which the other e2e stacks turn off.
        "CHAT_NEW_CONVERSATIONS_PER_MINUTE": "20",
        "CHAT_MESSAGES_PER_CONVERSATION_PER_MINUTE": "60",
    }
    with running_stack(data_dir, Receiver(SECRET), extra_env, log_path=logs / "stack.log") as running:
        yield running


def test_only_the_chat_listens_beyond_loopback(published):
    assert listening_addresses(published.rasa_port) == {EVERY_ADDRESS}
    assert listening_addresses(published.inbox_port) == {"127.0.0.1"}
    assert listening_addresses(published.action_port) == {"127.0.0.1"}


def test_the_api_token_is_on_no_command_line_and_the_api_needs_it(published):
    assert not any(TOKEN.encode() in line for line in all_command_lines())
    url = f"http://127.0.0.1:{published.rasa_port}/status"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url, timeout=10)
    assert refused.value.code == 401
    with urllib.request.urlopen(f"{url}?token={TOKEN}", timeout=10) as answer:
        assert answer.status == 200


def test_data_dir_is_private(published):
    assert stat.S_IMODE(published.data_dir.stat().st_mode) == 0o700
    for path in published.data_dir.rglob("*"):
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path.name


def test_an_oversize_body_gets_413_before_it_is_sent(published):
    with socket.create_connection(("127.0.0.1", published.rasa_port), timeout=10) as sock:
        sock.sendall(
            b"POST /webhooks/rest/webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 200000\r\n\r\n"
        )
        assert sock.recv(65536).startswith(b"HTTP/1.1 413")


def test_a_locked_store_never_delays_the_crisis_reply_nor_loses_the_alert(published):
    published.say("locked-warm", "hi")  # the conversation machinery is loaded
    db = published.data_dir / "haven.db"
    locked = threading.Event()

    def hold() -> None:
        conn = sqlite3.connect(db, isolation_level=None)
        conn.execute("BEGIN EXCLUSIVE")
        locked.set()
        time.sleep(25)
        conn.execute("ROLLBACK")
        conn.close()

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    assert locked.wait(5)
    started = time.monotonic()
    replies = published.say("locked-1", CRISIS_TEXT)
    took = time.monotonic() - started
    assert any("988" in (r.get("text") or "") for r in replies)
    assert took < 5, f"crisis reply took {took:.1f} s with the store locked"
    holder.join()
    assert published.receiver.wait_for("locked-1", "crisis.alert", timeout_s=60)
    assert published.receiver.events("locked-1", "crisis.alert")[0].event["message"] == CRISIS_TEXT
    assert CRISIS_TEXT not in published.log_path.read_text()


# Unique markers: none of these strings may appear anywhere in what the stack printed.
MARKER_TEXT = "zorblequixite"
NAME = "Quentina Zarvolesk"
PHONE_TYPED, PHONE_DIGITS = "(818) 555-0177", "5550177"
EMAIL = "quentina.zarvolesk@example.com"
MARKERS = (MARKER_TEXT, "Zarvolesk", "Quentina", PHONE_DIGITS, "555-0177", "zarvolesk@")
# The qualified clicker, with what identifies a visitor made unique, so any trace of it in a log is found.
PRIVATE_PERSONA = {
    **QUALIFIED_CLICKER,
    "age": "41",
    "tx_current_meds": f"sertraline and {MARKER_TEXT} 20 mg",
    "contact_first_name": NAME,
    "contact_phone": PHONE_TYPED,
    "contact_email": EMAIL,
}


def tracker_events(published: Stack, sender: str) -> list:
    url = f"http://127.0.0.1:{published.rasa_port}/conversations/{sender}/tracker?token={TOKEN}"
    with urllib.request.urlopen(url, timeout=30) as answer:
        return json.loads(answer.read())["events"]


def user_texts(events: list) -> list:
    return [e.get("text") for e in events if e.get("event") == "user"]


def test_no_visitor_words_name_phone_or_email_reach_any_log(published):
    visitor = Visitor(published.say, PRIVATE_PERSONA, sender="privacy-audit-1")
    visitor.run()
    assert published.receiver.wait_for("privacy-audit-1", "lead.created", timeout_s=60), visitor.transcript[-3:]
    # Typed payloads Rasa reads as intents it warns about, a malformed one, a too-long message and a bad body.
    other = "privacy-audit-2"
    published.say(other, f"/{EMAIL}")
    published.say(other, f'/inform{{"name": "{NAME}"')
    published.say(other, f"my name is {NAME}, {PHONE_TYPED}, {EMAIL}, {MARKER_TEXT}")
    status, _ = published.post(json.dumps({"sender": other, "message": MARKER_TEXT * 200}).encode())
    assert status == 400
    status, _ = published.post(f'{{"sender": "{other}", "message": "{NAME}'.encode())
    assert status == 400
    time.sleep(3)  # the deliverer's and inbox's lines about that lead are written
    printed = published.log_path.read_text(errors="replace")
    assert "[launcher]" in printed, "the stack's output was not captured"
    leaked = [marker for marker in MARKERS if marker.lower() in printed.lower()]
    assert not leaked, f"{leaked} in the stack's output: {published.log_path}"
    assert EMAIL not in printed and CRISIS_TEXT not in printed


def test_delete_my_data_erases_the_conversation_and_the_next_message_starts_fresh(published):
    sender = "privacy-delete-1"
    visitor = Visitor(published.say, PRIVATE_PERSONA, sender=sender)
    messages = visitor.send("hi")
    for _ in range(6):  # a few answers in, mid-screening
        messages = visitor.send(visitor.answer_for(asked(messages)))
    assert "41" in user_texts(tracker_events(published, sender))
    replies = published.say(sender, "please delete my data")
    text = " ".join(r.get("text") or "" for r in replies)
    assert "erasing this chat" in text and "Nothing was sent" in text, replies
    assert user_texts(tracker_events(published, sender)) == []  # nothing of the conversation is left
    fresh = published.say(sender, "hello")
    assert asked(fresh) == "consent", fresh  # a new conversation: the introduction and consent again
    assert user_texts(tracker_events(published, sender)) == ["hello"]
    assert not published.receiver.events(sender)  # nothing was sent to the clinic


def test_delete_my_data_inside_a_crisis_episode_keeps_988_and_the_alert(published):
    sender = "privacy-delete-crisis"
    published.say(sender, "hi")
    assert any("988" in (r.get("text") or "") for r in published.say(sender, CRISIS_TEXT))
    assert published.receiver.wait_for(sender, "crisis.alert", timeout_s=60)
    replies = published.say(sender, "delete my data")
    text = " ".join(r.get("text") or "" for r in replies)
    assert "988" in text and "911" in text and "stays with them" in text, replies
    assert user_texts(tracker_events(published, sender)) == []
    assert len(published.receiver.events(sender, "crisis.alert")) == 1  # the alert stays with the clinic


def test_a_flood_of_new_conversations_is_limited_and_every_crisis_message_still_gets_988(published):
    """Run last: it uses up this address's new conversations for a minute."""
    statuses = []
    for n in range(25):
        status, _ = published.post(json.dumps({"sender": f"flood-{n}", "message": "hi"}).encode())
        statuses.append(status)
    assert 429 in statuses and statuses.count(200) <= 20
    status, body = published.post(json.dumps({"sender": "flood-x", "message": "hi"}).encode())
    assert status == 429 and "988" in body["detail"]
    for n in range(3):  # a crisis message is never refused, however limited the address is
        status, replies = published.post(
            json.dumps({"sender": f"flood-crisis-{n}", "message": "i want to end my life"}).encode()
        )
        assert status == 200 and any("988" in (r.get("text") or "") for r in replies)
