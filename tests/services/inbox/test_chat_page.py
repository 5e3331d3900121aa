"""The public chat demo page and the widget's files, served by the staff web app."""

from __future__ import annotations

import dataclasses

import pytest

from services.inbox.app import CONTENT_SECURITY_POLICY
from services.inbox.chat import WEB_DIR
from tests.services.inbox.inbox_helpers import running_inbox


@pytest.mark.asyncio
async def test_the_demo_page_is_public_says_it_is_a_demo_and_loads_the_widget(make_settings, sqlite_url):
    settings = make_settings(sqlite_url)
    async with running_inbox(settings) as client:
        response = await client.get("/chat", allow_redirects=False)
        assert response.status == 200  # no sign-in
        page = await response.text()
    assert "demo of the Haven Pre-Screen chat assistant" in page
    assert "not Haven Ketamine Clinic's real website" in page
    assert f'<script src="/widget.js" data-server="http://127.0.0.1:{settings.rasa_port}"' in page
    assert 'data-phone="(818) 555-0134"' in page
    assert "style=" not in page and "<script>" not in page  # no inline script or style: the CSP forbids them


@pytest.mark.asyncio
async def test_the_demo_page_may_run_its_own_script_and_reach_the_chat_server_only(make_settings, sqlite_url):
    settings = dataclasses.replace(make_settings(sqlite_url), chat_public_url="https://chat.example-clinic.com")
    async with running_inbox(settings) as client:
        page = await client.get("/chat")
        page_text = await page.text()
        staff = await client.get("/login")
    csp = page.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert directives["connect-src"] == "https://chat.example-clinic.com"
    assert directives["frame-ancestors"] == "'none'"
    assert "'unsafe-inline'" not in csp and "*" not in csp
    assert 'data-server="https://chat.example-clinic.com"' in page_text
    # Staff pages keep the strict policy: no script at all.
    assert staff.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "script-src" not in CONTENT_SECURITY_POLICY


@pytest.mark.asyncio
async def test_the_widget_files_come_from_web(make_settings, sqlite_url):
    async with running_inbox(make_settings(sqlite_url)) as client:
        script = await client.get("/widget.js")
        sheet = await client.get("/widget.css")
        script_body, sheet_body = await script.read(), await sheet.read()
    assert script.status == 200 and script.content_type == "text/javascript"
    assert script_body == (WEB_DIR / "widget.js").read_bytes()
    assert sheet.status == 200 and sheet.content_type == "text/css"
    assert sheet_body == (WEB_DIR / "widget.css").read_bytes()
    assert script.headers["X-Content-Type-Options"] == "nosniff"


def test_the_widget_never_renders_text_as_html():
    source = (WEB_DIR / "widget.js").read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in source, sink
