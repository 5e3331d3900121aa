"""SMS through Twilio at POST /webhooks/sms/webhook: signed, opt-out aware, answered as TwiML.

Rasa's built-in twilio channel checks no signature (anyone could post any From number) and replies through
Twilio's REST API. This one verifies X-Twilio-Signature against PUBLIC_URL + the path (the URL Twilio called,
not the one a proxy forwarded to) before anything else, and answers in the webhook's own response. The pure
parts (form, keywords, ids, rendering) are bot/channels/sms.py; setup and behaviour: docs/sms.md.

The phone number is never logged: conversations live under a keyed hash of it (`sms:<hash>`, which the REST
guard refuses), and the number reaches the actions only in the message's metadata.
"""

from __future__ import annotations

import asyncio
import logging
import time
from asyncio import CancelledError
from collections import OrderedDict
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from twilio.request_validator import RequestValidator

from bot.channels import sms
from bot.channels.guard import InvalidRequest, error_body
from bot.clinic import load_clinic_profile
from bot.safety.detector import assess_risk
from bot.settings import Settings, generated_secret, load_settings
from rasa_ext.channels import cap_request_bodies
from rasa_ext.sms_opt_out import OptOutStore

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Twilio-Signature"
XML = "application/xml"


class _FormParams(dict):
    """The form as Twilio's validator wants it: every value of a repeated field, not only the first."""

    def getall(self, name: str) -> List[str]:
        return list(self[name])


class ReplyMemory:
    """The reply to each MessageSid for a while, so a Twilio retry gets the same answer and is not
    processed again; a retry arriving while the first delivery is still being processed waits for it.
    Bounded and expiring: replies are health information and live only in this process's memory."""

    def __init__(self, max_entries: int = 2000, ttl_s: float = 900.0, clock: Callable[[], float] = time.monotonic):
        self.max_entries = max_entries
        self.ttl_s = ttl_s
        self._clock = clock
        self._entries: OrderedDict[str, Tuple[float, asyncio.Future]] = OrderedDict()

    def claim(self, sid: str) -> Tuple[asyncio.Future[Optional[str]], bool]:
        """(future of the reply, True if this caller must produce it)."""
        now = self._clock()
        while self._entries:
            oldest_sid, (stored_at, _) = next(iter(self._entries.items()))
            if now - stored_at < self.ttl_s and len(self._entries) < self.max_entries:
                break
            self._entries.pop(oldest_sid)
        if sid in self._entries:
            return self._entries[sid][1], False
        future: asyncio.Future[Optional[str]] = asyncio.get_running_loop().create_future()
        self._entries[sid] = (now, future)
        return future, True

    def forget(self, sid: str) -> None:
        """A delivery that failed: its retry is processed afresh."""
        self._entries.pop(sid, None)


class TwilioSmsInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return sms.CHANNEL_NAME

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> InputChannel:
        return cls(load_settings())

    def __init__(self, settings: Settings, store: Optional[OptOutStore] = None) -> None:
        # Twilio caps a text at 1600 characters: never refuse one that Twilio delivered (it could carry risk).
        self.max_chars = max(settings.max_message_chars, sms.MAX_SMS_CHARS)
        self.max_body_bytes = settings.chat_max_body_bytes  # the server-wide cap (the REST channel sets it too)
        self.auth_token = settings.twilio_auth_token
        self.public_url = settings.public_url
        self.refusal = sms.refusal(
            auth_token=settings.twilio_auth_token,
            public_url=settings.public_url,
            allow_unsigned=settings.sms_allow_unsigned,
        )
        self.memory = ReplyMemory()
        self._store = store
        self._database_url = settings.database_url
        self._secret = ""
        if self.refusal:
            # Off by default (no Twilio settings): a plain note. Half-configured (a token without PUBLIC_URL, or
            # PUBLIC_URL without a token): an error, since someone meant to turn it on.
            configured = bool(settings.twilio_auth_token or settings.public_url)
            logger.log(logging.ERROR if configured else logging.INFO, "SMS channel off: %s", self.refusal)
            return
        self._secret = generated_secret(settings.data_dir, sms.SENDER_KEY_FILE)
        clinic = load_clinic_profile(settings.clinic_profile)
        self.clinic_name, self.clinic_phone = clinic.name, clinic.phone
        if not self.auth_token:
            logger.warning("SMS_ALLOW_UNSIGNED=true: the SMS webhook accepts unsigned requests (development only)")

    @property
    def store(self) -> OptOutStore:
        if self._store is None:
            self._store = OptOutStore(self._database_url)
        return self._store

    def signature_ok(self, request: Request, form: Dict[str, List[str]]) -> bool:
        if not self.auth_token:
            return True  # SMS_ALLOW_UNSIGNED (refusal() lets no other case through)
        signature = request.headers.get(SIGNATURE_HEADER) or ""
        url = sms.signed_url(self.public_url, request.path, request.query_string)
        return bool(signature) and RequestValidator(self.auth_token).validate(url, _FormParams(form), signature)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        webhook = Blueprint("twilio_sms_webhook", __name__)
        cap_request_bodies(webhook, self.max_body_bytes)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            if self.refusal:
                return response.json({"status": "off", "reason": self.refusal}, status=503)
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if self.refusal:
                return response.json({"error": "sms_channel_off", "detail": self.refusal}, status=503)
            try:
                form = sms.parse_form(request.body or b"")
            except InvalidRequest:
                return response.text("forbidden", status=403)  # unsigned as far as we can tell
            if not self.signature_ok(request, form):
                logger.warning("sms webhook: refused a request without a valid %s", SIGNATURE_HEADER)
                return response.text("forbidden", status=403)
            try:
                inbound = sms.sms_request(form, max_chars=self.max_chars)
            except InvalidRequest as error:
                return response.json(error_body(error), status=400)
            reply, first = self.memory.claim(inbound.message_sid)
            if not first:
                body = await asyncio.shield(reply)
                if body is None:
                    return response.json({"error": "internal_error"}, status=500)
                return response.text(body, content_type=XML)
            try:
                body = await self.answer(inbound, on_new_message)
            except CancelledError:
                self._failed(inbound.message_sid, reply)
                logger.error("sms message %s timed out (sender hidden)", inbound.message_sid)
                return response.json({"error": "timeout"}, status=503)
            except Exception:  # noqa: BLE001 - any failure is a 5xx without visitor data in the log
                self._failed(inbound.message_sid, reply)
                logger.error("sms message %s failed", inbound.message_sid, exc_info=False)
                return response.json({"error": "internal_error"}, status=500)
            reply.set_result(body)
            return response.text(body, content_type=XML)

        return webhook

    def _failed(self, sid: str, reply: asyncio.Future[Optional[str]]) -> None:
        self.memory.forget(sid)
        if not reply.done():
            reply.set_result(None)

    async def answer(self, inbound: sms.SmsRequest, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> str:
        """The TwiML reply to one verified, first-seen message."""
        key = sms.number_key(self._secret, inbound.phone)
        store = self.store
        if inbound.opt_out_type:  # Twilio's own opt-out handling answered already: only record it
            if inbound.opt_out_type == sms.OPT_OUT:
                await asyncio.to_thread(store.opt_out, key)
            elif inbound.opt_out_type == sms.OPT_IN:
                await asyncio.to_thread(store.opt_in, key)
            return sms.twiml([])
        word = sms.keyword(inbound.text)
        state = await asyncio.to_thread(store.state, key)
        if state.opted_out:
            if word == sms.OPT_IN and await asyncio.to_thread(store.opt_in, key):
                return sms.twiml([sms.opt_in_reply(self.clinic_name)])
            if inbound.text and assess_risk(inbound.text).is_risk:
                # No reply to an opted-out number (carrier rules), but a missed crisis is the worst failure: the
                # message still goes through the assistant so staff get the signed alert with the number.
                # A conversation of its own (numbered apart from the ones START begins), so the episode it opens
                # does not greet the person after START with a follow-up to a reply they never saw.
                silent = -1 - state.conversation
                await self._deliver(inbound, on_new_message, silent, CollectingOutputChannel())
            return sms.twiml([])  # opted out: no reply at all
        if word == sms.OPT_OUT:
            first = await asyncio.to_thread(store.opt_out, key)
            return sms.twiml([sms.opt_out_reply(self.clinic_name)] if first else [])
        if word == sms.HELP:
            return sms.twiml([sms.help_reply(self.clinic_name, self.clinic_phone)])
        if word == sms.OPT_IN and inbound.text.strip().strip(".!?").casefold() == "unstop":
            # Already subscribed: confirm it (START and YES stay words of the conversation: "start over", "yes").
            return sms.twiml([sms.opt_in_reply(self.clinic_name)])
        if not inbound.text:
            return sms.twiml([sms.non_text_reply()])
        collector = CollectingOutputChannel()
        await self._deliver(inbound, on_new_message, state.conversation, collector)
        return sms.twiml(sms.sms_replies(collector.messages))

    async def _deliver(
        self,
        inbound: sms.SmsRequest,
        on_new_message: Callable[[UserMessage], Awaitable[None]],
        conversation: int,
        collector: CollectingOutputChannel,
    ) -> None:
        await on_new_message(
            UserMessage(
                inbound.text,
                collector,
                sms.sender_id(self._secret, inbound.phone, conversation),
                input_channel=self.name(),
                metadata={sms.PHONE_METADATA_KEY: inbound.phone},
            )
        )
