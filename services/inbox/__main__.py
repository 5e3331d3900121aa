"""`python -m services.inbox`: run the staff inbox (and the handoff deliverer) until SIGINT/SIGTERM."""
from __future__ import annotations

import argparse
import logging
from typing import Optional, Sequence

from aiohttp import web

from services.inbox.app import PathOnlyAccessLogger, create_app
from bot.settings import load_settings


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m services.inbox", description="Haven staff inbox")
    parser.add_argument("--host", help="address to listen on (default: HOST setting, 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (default: INBOX_PORT setting, 8000)")
    parser.add_argument(
        "--no-deliverer",
        action="store_true",
        help="do not run the handoff deliverer in this process (another process delivers the outbox)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = load_settings()
    app = create_app(settings, start_deliverer=not args.no_deliverer)
    host = args.host or settings.host or "127.0.0.1"
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
