"""The REST channel at /webhooks/rest/webhook, guarded.

Rasa's stock RestInput answers 500 to some malformed bodies, files sender-less messages under a shared
`default` conversation, logs message text on errors and passes `/intent{...}` text through. This subclass keeps
the URL and response format and puts `bot.channels.guard` in front of it.
"""

from __future__ import annotations

import logging
from asyncio import CancelledError
from typing import Any, Awaitable, Callable, Dict, Optional

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.guard import InvalidRequest, error_body, parse_rest_body
from bot.settings import load_settings

logger = logging.getLogger(__name__)


class GuardedRestInput(RestInput):
    @classmethod
    def name(cls) -> str:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> InputChannel:
        credentials = credentials or {}
        return cls(max_chars=int(credentials.get("max_message_chars") or load_settings().max_message_chars))

    def __init__(self, max_chars: int = 2000) -> None:
        self.max_chars = max_chars

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        webhook = Blueprint("guarded_rest_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                inbound = parse_rest_body(request.body or b"", max_chars=self.max_chars)
            except InvalidRequest as error:
                return response.json(error_body(error), status=400)
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
