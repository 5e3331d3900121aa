"""Real servers on loopback for the notification tests: an SMTP server (aiosmtpd) here, and the stand-in for
Twilio's Messages API (tests/twilio_standin.py) that checks basic auth and the form fields the way Twilio does,
and fails on demand."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Optional

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.handoff_fixtures import free_port
from tests.twilio_standin import TWILIO_SID, TWILIO_TOKEN, SentSms, TwilioStandIn

__all__ = ["TWILIO_SID", "TWILIO_TOKEN", "ReceivedMail", "SentSms", "SmtpServer", "TwilioStandIn"]


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
