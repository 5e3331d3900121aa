"""A loopback stand-in for Twilio's Messages API (aiohttp, so it runs in both Python environments): the
staff-notification tests (tests/services/deliverer/) and the end-to-end stack (tests/e2e/) send their SMS here."""

from __future__ import annotations

import asyncio
import base64
import re
import uuid
from dataclasses import dataclass, field
from typing import Optional

from aiohttp import web

from tests.handoff_fixtures import LoopbackServer, free_port

TWILIO_SID = "AC" + "0123456789abcdef" * 2
TWILIO_TOKEN = "twilio-test-token-not-for-production"
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


@dataclass
class SentSms:
    to: str
    sender_field: str
    sender: str
    body: str
    sid: str


@dataclass
class TwilioStandIn(LoopbackServer):
    """POST /2010-04-01/Accounts/{sid}/Messages.json as Twilio answers it: 401 without the account's basic auth,
    400 with Twilio's error code for a missing or malformed field, else 201 and the message resource. `status`
    forces another answer (e.g. 503); `stop()` closes the port; `delay_s` slows every answer."""

    account_sid: str = TWILIO_SID
    auth_token: str = TWILIO_TOKEN
    port: int = field(default_factory=free_port)
    status: Optional[int] = None
    delay_s: float = 0.0
    sent: list = field(default_factory=list)
    requests: int = 0
    unauthorized: int = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _authorized(self, request: web.Request) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return request.headers.get("Authorization") == f"Basic {expected}"

    async def _handle(self, request: web.Request) -> web.Response:
        with self._lock:
            self.requests += 1
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if request.match_info["sid"] != self.account_sid or not self._authorized(request):
            with self._lock:
                self.unauthorized += 1
            return web.json_response({"code": 20003, "message": "Authenticate", "status": 401}, status=401)
        if self.status is not None:
            return web.json_response(
                {"code": 20500, "message": "Internal error", "status": self.status}, status=self.status
            )
        form = await request.post()
        to = str(form.get("To", ""))
        body = str(form.get("Body", ""))
        sender_field = "MessagingServiceSid" if "MessagingServiceSid" in form else "From"
        sender = str(form.get(sender_field, ""))
        if not E164.match(to):
            return web.json_response({"code": 21211, "message": f"The 'To' number {to} is not valid"}, status=400)
        if not sender:
            return web.json_response({"code": 21603, "message": "A 'From' phone number is required"}, status=400)
        if not body:
            return web.json_response({"code": 21602, "message": "Message body is required"}, status=400)
        sid = "SM" + uuid.uuid4().hex
        with self._lock:
            self.sent.append(SentSms(to=to, sender_field=sender_field, sender=sender, body=body, sid=sid))
        return web.json_response({"sid": sid, "status": "queued", "to": to, "body": body}, status=201)

    def _routes(self, app: web.Application) -> None:
        app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", self._handle)

    def messages(self) -> list:
        with self._lock:
            return list(self.sent)
