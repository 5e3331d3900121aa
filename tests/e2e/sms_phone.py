"""A simulated phone texting the stack's SMS webhook, each request signed the way Twilio signs it."""

from __future__ import annotations

import itertools
import random
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from twilio.request_validator import RequestValidator

from bot.channels import sms
from bot.screening.answers import format_us_phone
from bot.screening.content import content
from tests.e2e.stack import SMS_PUBLIC_URL, TWILIO_AUTH_TOKEN, Stack
from tests.e2e.visitor import CRISIS_QUESTIONS

PATH = "/webhooks/sms/webhook"
SIGNED_URL = SMS_PUBLIC_URL + PATH  # what Twilio calls; the stack listens on loopback behind it
_sids = itertools.count(1)


def random_number() -> str:
    return f"+1818555{random.randint(0, 9999):04d}"


def new_sid() -> str:
    return f"SM{random.getrandbits(96):024x}{next(_sids):08d}"


def sign(fields: Dict[str, str], url: str = SIGNED_URL, token: str = TWILIO_AUTH_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, fields)


@dataclass
class Reply:
    status: int
    content_type: str
    body: str

    @property
    def messages(self) -> List[str]:
        return [m.text or "" for m in ET.fromstring(self.body).findall("Message")]  # noqa: S314 - our own server


@dataclass
class Phone:
    stack: Stack
    number: str = field(default_factory=random_number)
    transcript: List[Tuple[str, List[str]]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.stack.rasa_port}{PATH}"

    def fields(self, body: str, sid: Optional[str] = None, **extra: str) -> Dict[str, str]:
        return {
            "ToCountry": "US",
            "From": self.number,
            "To": "+18185550100",
            "Body": body,
            "MessageSid": sid or new_sid(),
            "AccountSid": "AC" + "0" * 32,
            "NumMedia": "0",
            **extra,
        }

    def post(self, fields: Dict[str, str], signature: Optional[str] = "sign") -> Reply:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if signature == "sign":
            signature = sign(fields)
        if signature is not None:
            headers["X-Twilio-Signature"] = signature
        data = urllib.parse.urlencode(fields).encode()
        request = urllib.request.Request(self.url, data=data, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return Reply(response.status, response.headers.get("Content-Type", ""), response.read().decode())
        except urllib.error.HTTPError as error:
            return Reply(error.code, error.headers.get("Content-Type", ""), error.read().decode())

    def send(self, body: str, sid: Optional[str] = None, **extra: str) -> List[str]:
        reply = self.post(self.fields(body, sid, **extra))
        assert reply.status == 200, (reply.status, reply.body)
        assert reply.content_type.startswith("application/xml"), reply.content_type
        self.transcript.append((body, reply.messages))
        return reply.messages

    def sender_id(self, conversation: int = 0) -> str:
        """The conversation id the stack files this number under (its secret is in the stack's DATA_DIR)."""
        secret = (self.stack.data_dir / sms.SENDER_KEY_FILE).read_text().strip()
        return sms.sender_id(secret, self.number, conversation)

    def question_texts(self) -> Dict[str, str]:
        texts = {q.text: q.id for q in content().questions.values()}
        known = content().questions["contact_phone_known"].text
        texts[known.replace("{known_phone}", format_us_phone(self.number))] = "contact_phone_known"
        texts.update(CRISIS_QUESTIONS)
        return texts


def asked(phone: Phone, messages: List[str]) -> Optional[str]:
    """The id of the question that ends the reply (the latest question text in it), if any."""
    joined = "\n".join(messages)
    best: Tuple[int, Optional[str]] = (-1, None)
    for text, qid in phone.question_texts().items():
        at = joined.rfind(text)
        if at >= 0 and at + len(text) > best[0]:
            best = (at + len(text), qid)
    return best[1]
