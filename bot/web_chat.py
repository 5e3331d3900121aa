"""The web chat widget's origins: which web pages may talk to the Rasa server, and where the widget talks to.

Pure functions over settings values (standard library only, read by bot.settings): the launcher hands the
origins to `rasa run --cors`, and the staff web app puts the chat server's origin in the demo page's CSP.
"""

from __future__ import annotations

import re
from typing import Iterable, List, Tuple
from urllib.parse import urlsplit

# scheme://host[:port] and nothing else: an origin as a browser sends it in the Origin header.
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?$|^https?://\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$")


class InvalidOrigin(ValueError):
    """A configured origin that is not scheme://host[:port]; the message names it."""


def parse_origins(raw: str) -> Tuple[str, ...]:
    """CHAT_ALLOWED_ORIGINS: origins separated by commas or spaces, each `http(s)://host[:port]`, never `*`."""
    origins: List[str] = []
    for item in re.split(r"[,\s]+", raw.strip()):
        if not item:
            continue
        origin = item.rstrip("/")
        if not _ORIGIN.match(origin):
            raise InvalidOrigin(f"{item!r} is not an origin like https://www.example-clinic.com (no path, no *)")
        if origin.lower() not in (o.lower() for o in origins):
            origins.append(origin)
    return tuple(origins)


def origin_of(url: str) -> str:
    """`https://chat.example.com:8443/x` -> `https://chat.example.com:8443` (the part a CSP source names)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidOrigin(f"{url!r} is not an http(s) URL")
    return f"{parts.scheme}://{parts.netloc}"


def default_chat_server_url(rasa_port: int) -> str:
    """Where the demo page's widget finds Rasa when no public chat URL is set: this host's loopback."""
    return f"http://127.0.0.1:{rasa_port}"


def cors_origins(inbox_port: int, allowed: Iterable[str]) -> Tuple[str, ...]:
    """The origins Rasa answers cross-origin requests from: the staff web app's demo page (both loopback
    spellings a browser may use) and the clinic's own site(s)."""
    origins = [f"http://127.0.0.1:{inbox_port}", f"http://localhost:{inbox_port}"]
    for origin in allowed:
        if origin.lower() not in (o.lower() for o in origins):
            origins.append(origin)
    return tuple(origins)
