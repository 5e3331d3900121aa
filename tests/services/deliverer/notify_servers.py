"""Real servers on loopback for the notification tests: an SMTP server (aiosmtpd) and a stand-in for Twilio's
Messages API (aiohttp) that checks basic auth and the form fields the way Twilio does, and fails on demand."""

from __future__ import annotations

import asyncio
import base64
import re
import threading
import uuid
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Optional

from aiohttp import web
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.handoff_fixtures import free_port

TWILIO_SID = "AC" + "0123456789abcdef" * 2
TWILIO_TOKEN = "twilio-test-token-not-for-production"
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list
    message: EmailMessage
    raw: bytes


class _MailHandler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_RCPT(
        self, server, session, envelope, address, rcpt_options
    ):  # aiosmtpd calls its hooks by these names
        if self.server.refuse_recipients:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd calls its hooks by these names
        with self.server.lock:
            self.server.attempts += 1
            if self.server.data_reply is not None:
                return self.server.data_reply
            raw = bytes(envelope.original_content or envelope.content)
            message = message_from_bytes(raw, policy=policy.default)
            self.server.received.append(ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), message, raw))
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    """aiosmtpd on 127.0.0.1. `data_reply` (e.g. "451 try later") answers DATA instead of accepting; `stop()`
    closes the port (connection refused), `start()` opens it again. With `username`, AUTH is required."""

    port: int = field(default_factory=free_port)
    username: Optional[str] = None
    password: Optional[str] = None
    data_reply: Optional[str] = None
    refuse_recipients: bool = False
    received: list = field(default_factory=list)
    attempts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._controller: Optional[Controller] = None

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == self.username
            and auth_data.password.decode() == self.password
        )
        return AuthResult(success=ok, handled=False)

    def start(self) -> SmtpServer:
        kwargs: dict = {}
        if self.username is not None:
            kwargs = dict(authenticator=self._authenticate, auth_required=True, auth_require_tls=False)
        self._controller = Controller(_MailHandler(self), hostname="127.0.0.1", port=self.port, **kwargs)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def messages(self) -> list:
        with self.lock:
            return list(self.received)


@dataclass
class SentSms:
    to: str
    sender_field: str
    sender: str
    body: str
    sid: str


@dataclass
class TwilioStandIn:
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

    def __post_init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._runner: Optional[web.AppRunner] = None
        self._lock = threading.Lock()

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

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True).start()

    async def _stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def start(self) -> TwilioStandIn:
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)

    def close(self) -> None:
        self.stop()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def messages(self) -> list:
        with self._lock:
            return list(self.sent)
