"""A Sanic server with the guarded REST channel, for test_channels.py: `python -m tests.rasa_ext.channel_server PORT`.
Rasa's agent is replaced by a handler that answers "ok" (the channel is what is under test; e2e runs the agent)."""

from __future__ import annotations

import sys

from sanic import Sanic

from rasa_ext.channels import GuardedRestInput


async def answer(message) -> None:  # type: ignore[no-untyped-def]
    await message.output_channel.send_text_message(message.sender_id, "ok")


def main(port: int) -> None:
    channel = GuardedRestInput(
        max_body_bytes=4096,
        trusted_proxies=("127.0.0.1",),
        new_conversations_per_minute=3,
        messages_per_conversation_per_minute=5,
    )
    app = Sanic("channel_test")
    app.blueprint(channel.blueprint(answer), url_prefix="/webhooks/rest")
    app.run(host="127.0.0.1", port=port, access_log=False)


if __name__ == "__main__":
    main(int(sys.argv[1]))
