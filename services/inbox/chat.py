"""The web chat widget, served by the staff web app: the widget's files from web/ and a public demo clinic page.

The demo page (GET /chat) needs no sign-in and says plainly that it is a demo, not the clinic's site. Its CSP
allows the page's own scripts and styles and connections to the chat server only; staff pages keep the strict
CSP of app.py. A clinic hosts web/widget.js on its own site in production (docs/widget.md).
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.clinic import load_clinic_profile
from bot.web_chat import origin_of

WEB_DIR = Path(__file__).resolve().parents[2] / "web"
CHAT_PATH = "/chat"
WIDGET_FILES = {"/widget.js": ("widget.js", "text/javascript"), "/widget.css": ("widget.css", "text/css")}


def chat_page_csp(settings: Any) -> str:
    """Only what the demo page needs: its own script and styles, and the chat server for the widget's fetch."""
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        f"connect-src {origin_of(settings.chat_server_url)}; "
        "form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
    )


def chat_page(settings: Any) -> str:
    profile = load_clinic_profile(settings.clinic_profile)
    esc = html.escape
    name, phone = esc(profile.name), esc(profile.phone)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Demo of the chat assistant - {name}</title>
<link rel="stylesheet" href="/static/chat-demo.css">
</head>
<body>
<p class="demo-banner"><strong>Demo page.</strong> This page is a demo of the Haven Pre-Screen chat assistant.
It is not {name}'s real website.</p>
<header class="demo-site"><span class="demo-site-name">{name}</span> <span class="demo-site-note">(example clinic)</span>
</header>
<main>
<h1>Try the pre-screening chat</h1>
<p>Open the chat with the <strong>Chat with us</strong> button at the bottom of the page. The assistant asks
about how you have been feeling and your health, answers questions about the clinic, and passes your answers
to the clinic's team. It is a computer program: it does not diagnose and gives no medical advice.</p>
<p>In crisis? Call or text <a href="tel:988">988</a>. In danger right now, call <a href="tel:911">911</a>.</p>
<p>To reach the clinic: <a href="tel:{esc(profile.phone_e164)}">{phone}</a>, {esc(profile.hours)}.</p>
</main>
<script src="/widget.js" data-server="{esc(settings.chat_server_url)}" data-phone="{phone}"
 data-clinic="{name}" data-max-chars="{int(settings.max_message_chars)}"></script>
</body>
</html>
"""


async def widget_file(request: web.Request) -> web.StreamResponse:
    name, content_type = WIDGET_FILES[request.path]
    return web.Response(body=(WEB_DIR / name).read_bytes(), content_type=content_type, charset="utf-8")
