"""Receive Haven Pre-Screen events with the standard library only: verify, dedupe, then process.

Run: HANDOFF_SECRET=... python verify_signature.py 8080   (127.0.0.1 only: an HTTPS proxy in front, HANDOFF_URL=https://...)
"""

import hashlib
import hmac
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

SECRET = os.environ.get("HANDOFF_SECRET", "")
MAX_BODY_BYTES = 256 * 1024  # Haven's events are a few KiB: refuse anything bigger before reading it
SEEN = set()  # ids of handled events: keep them in your database (delivery is at-least-once, replays happen)


def verify(body: bytes, header: str, secret: str) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return bool(secret) and hmac.compare_digest(expected.encode(), (header or "").strip().encode())


def handle(event: dict) -> None:  # your code: create the lead, page staff on crisis.alert, ...
    print(event["type"], event["id"])


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        length = self.headers.get("Content-Length", "")
        if not length.isdigit() or int(length) > MAX_BODY_BYTES:
            return self.send_error(413 if length.isdigit() else 411)
        body = self.rfile.read(int(length))  # raw bytes, verified before parsing
        if not verify(body, self.headers.get("X-Signature-256", ""), SECRET):
            return self.send_error(401, "bad signature")
        event = json.loads(body)
        # Dedupe on the signed body's id (a replayer can change headers, not the body): the key must equal it.
        if self.headers.get("Idempotency-Key") != event["id"]:
            return self.send_error(400, "Idempotency-Key must equal the event id")
        if event["id"] not in SEEN:
            handle(event)
            SEEN.add(event["id"])
        self.send_response(200)
        self.end_headers()


if __name__ == "__main__":
    HTTPServer(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 8080), Handler).serve_forever()
