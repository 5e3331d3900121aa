"""Receive Haven Pre-Screen events with the standard library only: verify, dedupe, then process.

Run: HANDOFF_SECRET=... python verify_signature.py 8080   (then set HANDOFF_URL=http://host:8080/)
"""

import hashlib
import hmac
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

SECRET = os.environ.get("HANDOFF_SECRET", "")
SEEN = set()  # keep this in your database: delivery is at-least-once, the same key may come again


def verify(body: bytes, header: str, secret: str) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return bool(secret) and hmac.compare_digest(expected, (header or "").strip())


def handle(event: dict) -> None:  # your code: create the lead, page staff on crisis.alert, ...
    print(event["type"], event["id"])


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))  # raw bytes, before parsing
        if not verify(body, self.headers.get("X-Signature-256", ""), SECRET):
            return self.send_error(401, "bad signature")
        key = self.headers.get("Idempotency-Key", "")
        if not key:
            return self.send_error(400, "missing Idempotency-Key")
        if key not in SEEN:
            handle(json.loads(body))
            SEEN.add(key)
        self.send_response(200)
        self.end_headers()


if __name__ == "__main__":
    HTTPServer(("", int(sys.argv[1]) if len(sys.argv) > 1 else 8080), Handler).serve_forever()
