"""The REST channel at /webhooks/rest/webhook, guarded.

Rasa's stock RestInput answers 500 to some malformed bodies, files sender-less messages under a shared
`default` conversation, logs message text on errors and passes `/intent{...}` text through. This subclass keeps
the URL and response format and puts `bot.channels.guard` in front of it, caps the request body for the whole
Rasa server (Sanic refuses a larger one with 413 before reading it) and limits each client address's new
conversations and each conversation's messages (429; a message showing risk always goes through).
"""

from __future__ import annotations

import logging
import time
from asyncio import CancelledError
from typing import Any, Awaitable, Callable, Dict, Optional, Sequence

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.guard import MAX_BODY_BYTES, InvalidRequest, error_body, parse_rest_body
from bot.channels.rate_limit import (
    DEFAULT_MESSAGES_PER_CONVERSATION_PER_MINUTE,
    DEFAULT_NEW_CONVERSATIONS_PER_MINUTE,
    ChatRateLimiter,
    Network,
    client_address,
    parse_networks,
)
from bot.safety.detector import assess_risk
from bot.settings import load_settings

logger = logging.getLogger(__name__)

# Said with every 429: plain words, and the crisis numbers (a limited request is still a person, maybe).
RATE_LIMITED_DETAIL = (
    "You are sending messages too fast. Please wait a minute, then try again. "
    "If you are in danger, call 911, or call or text 988."
)


def cap_request_bodies(blueprint: Blueprint, max_body_bytes: int) -> None:
    """Sanic's REQUEST_MAX_SIZE (100 MB by default) for the whole server: a Content-Length above it gets 413
    before the body is read, and a chunked body is cut off there. Each connection reads it when it opens, so
    setting it before the server starts covers every request."""

    @blueprint.listener("before_server_start")
    async def _cap(app, _loop) -> None:
        app.config.REQUEST_MAX_SIZE = min(int(app.config.REQUEST_MAX_SIZE), max_body_bytes)


def forwarded_client(request: Request, trusted: tuple[Network, ...]) -> str:
    return client_address(str(request.ip or ""), request.headers.get("X-Forwarded-For"), trusted)


class GuardedRestInput(RestInput):
    @classmethod
    def name(cls) -> str:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> InputChannel:
        credentials = credentials or {}
        settings = load_settings()
        return cls(
            max_chars=int(credentials.get("max_message_chars") or settings.max_message_chars),
            max_body_bytes=settings.chat_max_body_bytes,
            trusted_proxies=settings.trusted_proxies,
            new_conversations_per_minute=settings.chat_new_conversations_per_minute,
            messages_per_conversation_per_minute=settings.chat_messages_per_conversation_per_minute,
        )

    def __init__(
        self,
        max_chars: int = 2000,
        *,
        max_body_bytes: int = MAX_BODY_BYTES,
        trusted_proxies: Sequence[str] = (),
        new_conversations_per_minute: int = DEFAULT_NEW_CONVERSATIONS_PER_MINUTE,
        messages_per_conversation_per_minute: int = DEFAULT_MESSAGES_PER_CONVERSATION_PER_MINUTE,
    ) -> None:
        self.max_chars = max_chars
        self.max_body_bytes = max_body_bytes
        self.trusted_proxies = parse_networks(trusted_proxies)
        self.limiter = ChatRateLimiter(new_conversations_per_minute, messages_per_conversation_per_minute)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        webhook = Blueprint("guarded_rest_webhook", __name__)
        cap_request_bodies(webhook, self.max_body_bytes)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                inbound = parse_rest_body(request.body or b"", max_chars=self.max_chars)
            except InvalidRequest as error:
                return response.json(error_body(error), status=400)
            limited = self.limiter.check(
                forwarded_client(request, self.trusted_proxies), inbound.sender, time.monotonic()
            )
            if limited and not assess_risk(inbound.text).is_risk:
                return response.json(
                    {"error": "rate_limited", "detail": RATE_LIMITED_DETAIL, "retry_after_s": limited.retry_after_s},
                    status=429,
                    headers={"Retry-After": str(limited.retry_after_s)},
                )
            if limited:  # never refuse a message showing risk: it gets the crisis reply and staff are alerted
                logger.warning("rate limit passed a message showing risk (%s)", limited.reason)
            collector = CollectingOutputChannel()
            try:
                await on_new_message(
                    UserMessage(
                        inbound.text,
                        collector,
                        inbound.sender,
                        input_channel=self.name(),
                        metadata=inbound.metadata,
                    )
                )
            except CancelledError:
                # Never log the text: it is health information.
                logger.error("rest message timed out (sender hidden)")
                return response.json({"error": "timeout"}, status=503)
            except Exception:  # noqa: BLE001 - any failure is a 5xx without visitor data in the log
                logger.error("rest message failed", exc_info=False)
                return response.json({"error": "internal_error"}, status=500)
            return response.json(collector.messages)

        return webhook
