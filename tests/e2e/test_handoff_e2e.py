"""End to end: leads survive a backend outage and a killed stack; with no HANDOFF_URL they reach the bundled
staff inbox, signed and verified, and only signed-in staff or the API token holder can see them."""

from __future__ import annotations

import http.cookiejar
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from services.inbox.passwords import hash_password
from tests.e2e.personas import QUALIFIED_CLICKER
from tests.e2e.stack import SECRET, Receiver, http_status
from tests.e2e.stack_helpers import local_stack, running_stack
from tests.e2e.visitor import Visitor

STAFF_PASSWORD = "correct horse battery staple"
API_TOKEN = "e2e-inbox-api-token-Pw5Nc9Qr3Ls7Tx1Mv8Bk4Gy2"  # 32+ random bytes
XSS_NAME = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def inbox_stack(tmp_path_factory):
    """A second stack on embedded defaults: no HANDOFF_URL, so events go to the bundled inbox."""
    receiver = Receiver(SECRET)  # never started: nothing must be sent anywhere but the inbox
    extra_env = {
        "HANDOFF_URL": "",
        "HANDOFF_SECRET": "",
        "INBOX_API_TOKEN": API_TOKEN,
        "INBOX_ADMIN_USER": "staff",
        "INBOX_ADMIN_PASSWORD_HASH": hash_password(STAFF_PASSWORD),
    }
    with running_stack(tmp_path_factory.mktemp("inbox-stack"), receiver, extra_env, start_receiver=False) as stack:
        yield stack


def get(url, token=None, opener=None):
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with (opener or urllib.request.build_opener(NoRedirect())).open(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


class LoopbackIsSecure(http.cookiejar.DefaultCookiePolicy):
    """Like browsers: a Secure cookie may travel to http://127.0.0.1 (a potentially trustworthy origin)."""

    def return_ok_secure(self, cookie, request):
        return urllib.parse.urlparse(request.get_full_url()).hostname == "127.0.0.1" or super().return_ok_secure(
            cookie, request
        )

    def set_ok(self, cookie, request):
        return (
            True
            if cookie.secure and urllib.parse.urlparse(request.get_full_url()).hostname == "127.0.0.1"
            else super().set_ok(cookie, request)
        )


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def wait_for_lead(base, conversation_id, timeout_s=30.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status, body = get(f"{base}/api/leads", token=API_TOKEN)
        assert status == 200, body
        payload = json.loads(body)
        leads = payload["leads"] if isinstance(payload, dict) else payload
        mine = [lead for lead in leads if json.dumps(lead).find(conversation_id) >= 0]
        if mine:
            return mine
        time.sleep(0.5)
    return []


def test_without_handoff_url_the_lead_reaches_the_bundled_inbox_for_staff_only(inbox_stack):
    persona = dict(QUALIFIED_CLICKER, contact_first_name=XSS_NAME)
    visitor = Visitor(inbox_stack.say, persona)
    visitor.run()
    base = f"http://127.0.0.1:{inbox_stack.inbox_port}"
    leads = wait_for_lead(base, visitor.sender)
    assert len(leads) == 1, visitor.transcript[-2:]
    assert XSS_NAME in json.dumps(leads[0])

    # Nobody else: no token, a wrong token, signed-out pages.
    assert get(f"{base}/api/leads")[0] == 401
    assert get(f"{base}/api/leads", token="wrong")[0] == 401
    status, _ = get(f"{base}/")
    assert status in (302, 303, 401)
    assert get(f"{base}/export.csv")[0] in (302, 303, 401)

    # Signed-in staff see it, with the visitor's text escaped.
    jar = http.cookiejar.CookieJar(policy=LoopbackIsSecure())
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    status, page = get(f"{base}/login", opener=opener)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"username": "staff", "password": STAFF_PASSWORD, "csrf_token": csrf}).encode()
    opener.open(urllib.request.Request(f"{base}/login", data=form), timeout=10).read()
    status, page = get(f"{base}/", opener=opener)
    assert status == 200
    assert XSS_NAME not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_tampered_event_is_refused_by_the_inbox(inbox_stack):
    body = json.dumps({"type": "lead.created", "id": "00000000-0000-4000-8000-000000000000"}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{inbox_stack.inbox_port}/api/events",
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-Signature-256": "sha256=" + "0" * 64,
            "Idempotency-Key": "00000000-0000-4000-8000-000000000000",
        },
    )
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request, timeout=10)
    assert error.value.code == 401


@pytest.mark.parametrize("how", ["kill", "stop"])
def test_a_lead_taken_while_the_backend_is_down_survives_a_stopped_stack(tmp_path, how):
    """Backend refusing connections, the stack SIGKILLed (or stopped with SIGTERM) with the lead pending, then
    restarted while the backend answers 503 twice: the lead arrives exactly once, signed, under its key."""
    receiver = Receiver(SECRET, unavailable_first=2)  # not started yet: connections are refused
    stack = local_stack(tmp_path, receiver, {"HANDOFF_TIMEOUT_S": "2", "HANDOFF_BACKOFF_CAP_S": "2"})
    stack.start()
    try:
        visitor = Visitor(stack.say, QUALIFIED_CLICKER)
        last = visitor.run()
        assert "Maria" in " ".join(m.get("text") or "" for m in last)  # told it was sent: it is in the outbox
        time.sleep(1.0)
        stack.kill() if how == "kill" else stack.stop()
        assert http_status(f"http://127.0.0.1:{stack.rasa_port}/") == 0  # every process of the stack is gone
        assert http_status(f"http://127.0.0.1:{stack.inbox_port}/health") == 0
        receiver.start()
        started = time.monotonic()
        stack.start()
        arrived = receiver.wait_for(visitor.sender, "lead.created", timeout_s=60)
        delay = time.monotonic() - started
        time.sleep(3.0)  # would a duplicate follow?
        arrived = receiver.events(visitor.sender, "lead.created")
    finally:
        stack.stop()
        receiver.stop()
    assert len(arrived) == 1, [a.headers.get("Idempotency-Key") for a in arrived]
    assert arrived[0].signature_ok
    assert arrived[0].headers["Idempotency-Key"] == arrived[0].event["id"]
    assert receiver.refused == 2
    print(f"[{how}] lead delivered {delay:.1f}s after the restart, after 2 answers of 503")


@pytest.mark.asyncio
async def test_staff_sign_in_and_see_leads_in_a_real_browser(inbox_stack):
    """Headless Chromium on http://127.0.0.1 (the `make run` default): the Secure, SameSite=Strict session
    cookie works, the CSRF-protected form signs in, and the visitor's name is shown as text, not markup."""
    from tests.e2e.browser import Browser, chromium_path

    assert chromium_path(), "Debian's chromium is required (.ci/run installs it)"
    visitor = Visitor(inbox_stack.say, dict(QUALIFIED_CLICKER, contact_first_name='"><img src=x onerror=alert(1)>'))
    visitor.run()
    base = f"http://127.0.0.1:{inbox_stack.inbox_port}"
    assert wait_for_lead(base, visitor.sender)
    async with Browser() as browser:
        await browser.goto(f"{base}/")
        assert "/login" in await browser.evaluate("location.pathname")
        await browser.submit(
            "document.querySelector('input[name=username]').value='staff';"
            f"document.querySelector('input[name=password]').value={json.dumps(STAFF_PASSWORD)};"
            "document.querySelector('form').submit();"
        )
        assert await browser.evaluate("location.pathname") == "/"
        text = await browser.evaluate("document.body.innerText")
        assert '"><img src=x onerror=alert(1)>' in text  # shown as text
        assert await browser.evaluate("document.querySelectorAll('img[src=x]').length") == 0
