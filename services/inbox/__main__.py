"""`python -m services.inbox`: run the staff inbox until SIGINT/SIGTERM. The outbox is delivered by its own
process, `python -m services.deliverer`."""

from __future__ import annotations

import argparse
import logging
from typing import Optional, Sequence

from aiohttp import web

from bot import log_privacy
from bot.settings import load_settings
from services.inbox.app import PathOnlyAccessLogger, create_app


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m services.inbox", description="Haven staff inbox")
    parser.add_argument("--host", help="address to listen on (default: INBOX_HOST setting, 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (default: INBOX_PORT setting, 8000)")
    # Accepted for scripts written when the inbox ran the deliverer itself; it never does now.
    parser.add_argument(
        "--no-deliverer",
        action="store_true",
        help="no effect, kept for compatibility: the deliverer is its own process (python -m services.deliverer)",
    )
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    log_privacy.install()  # no visitor words, emails or phone numbers in any log line (bot/log_privacy.py)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = load_settings()
    app = create_app(settings)
    host = args.host or settings.inbox_host or "127.0.0.1"  # never HOST: that publishes the chat only
    port = args.port or settings.inbox_port
    logging.getLogger("services.inbox").info("inbox listening on http://%s:%s", host, port)
    # run_app turns SIGINT and SIGTERM into a graceful shutdown that runs the cleanup contexts.
    web.run_app(
        app,
        host=host,
        port=port,
        print=None,
        access_log_class=PathOnlyAccessLogger,
        shutdown_timeout=10.0,
    )


if __name__ == "__main__":
    main()
