"""The web chat widget in a real headless Chromium (Debian's), driven by Playwright, against the real stack: the
demo page at /chat on the staff web app, the widget talking to Rasa's REST channel across origins (CORS)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import urllib.request
from pathlib import Path
from typing import Dict, Iterator, List

import pytest

from bot.clinic import load_clinic_profile
from bot.safety.detector import CATEGORY_ORDER, RiskAssessment
from bot.safety.responses import LANGUAGES, LAST_RESORT_CRISIS_REPLY, crisis_reply, fallback_reply, followup_reply
from bot.safety.responses import question_texts as crisis_question_texts
from bot.screening.content import content
from tests.e2e.browser import CHROMIUM_FLAGS
from tests.e2e.visitor import question_id

playwright_sync = pytest.importorskip("playwright.sync_api")

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
AXE_VERSION = "4.14.1"
AXE = PROJECT_ROOT / ".cache" / "axe-core" / f"axe-{AXE_VERSION}.min.js"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 740}
REPLY_TIMEOUT_MS = 60_000
MARKUP = '<img src=x onerror="window.__pwned=1"><b>bold</b><script>window.__pwned=2</script> & "quotes"'

# Clicks where the persona's answer is a button, types everything else (and a few typed on purpose).
VISITOR = {
    "consent": "Yes",
    "concern": "Anxiety",
    "age": "34",
    "gad7": "Nearly every day",
    "phq9": "More than half the days",
    "phq9_9": "Not at all",
    "tx": "No",
    "tx_antidepressants": "2 or more",
    "tx_current_meds": "sertraline 100 mg",
    "ci": "no",
    "contact_first_name": "Maria",
    "contact_phone": "(818) 555-0134",
    "contact_email": "maria@example.com",
    "contact_method": "Text",
    "contact_best_time": "Morning",
    "contact_consent": "Yes",
}


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    assert Path(CHROMIUM).exists(), "Debian's chromium is required (scripts/ensure_chromium.sh installs it)"
    with playwright_sync.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=[f for f in CHROMIUM_FLAGS if f != "--headless"]
        )
        yield browser
        browser.close()


def new_page(chromium, viewport: Dict[str, int] = DESKTOP, **options: object):
    context = chromium.new_context(viewport=viewport, **options)
    context.set_default_timeout(REPLY_TIMEOUT_MS)
    return context.new_page()


def chat_url(stack) -> str:
    return f"http://127.0.0.1:{stack.inbox_port}/chat"


def screenshot_dir(tmp_path: Path) -> Path:
    """docs/ when WIDGET_SCREENSHOTS_DIR says so (scripts/widget_screenshots.sh), else a temporary folder."""
    return Path(os.environ.get("WIDGET_SCREENSHOTS_DIR") or tmp_path)


# --- driving the widget like a visitor -------------------------------------------------------------------------
def bot_texts(page) -> List[str]:
    return page.locator(".hc-log .hc-bot .hc-text").all_inner_texts()


def visitor_texts(page) -> List[str]:
    return page.locator(".hc-log .hc-visitor .hc-text").all_inner_texts()


def wait_for_reply(page, bot_count_before: int) -> None:
    page.wait_for_function(
        "n => document.querySelectorAll('.hc-log .hc-bot').length > n && document.querySelector('.hc-typing').hidden",
        arg=bot_count_before,
        timeout=REPLY_TIMEOUT_MS,
    )


def open_chat(page) -> None:
    page.get_by_role("button", name="Chat with us").click()
    wait_for_reply(page, 0)


def latest_bot_texts(page) -> List[str]:
    """What the bot said since the visitor's last message."""
    return page.evaluate(
        "() => { const texts = [];"
        " for (const item of document.querySelectorAll('.hc-log .hc-msg')) {"
        "   if (item.classList.contains('hc-visitor')) texts.length = 0;"
        "   else texts.push(item.querySelector('.hc-text').textContent); }"
        " return texts; }"
    )


def current_question(page) -> str:
    for text in reversed(bot_texts(page)):
        qid = question_id(text)
        if qid:
            return qid
    return ""


def choices(page) -> List[str]:
    return page.locator(".hc-replies button").all_inner_texts()


def answer(page, text: str) -> str:
    """Click the choice titled `text` if there is one, else type it. Returns 'clicked' or 'typed'."""
    before = len(bot_texts(page))
    if text in choices(page):
        page.locator(".hc-replies").get_by_role("button", name=text, exact=True).click()
        how = "clicked"
    else:
        page.get_by_label("Type your message").fill(text)
        page.get_by_label("Type your message").press("Enter")
        how = "typed"
    wait_for_reply(page, before)
    return how


def answer_for(qid: str) -> str:
    if qid in VISITOR:
        return VISITOR[qid]
    return VISITOR[qid.split("_")[0]]


def sender_id(page) -> str:
    return page.evaluate(
        "() => JSON.parse(localStorage.getItem(Object.keys(localStorage).find(k => k.startsWith('havenChat:')))).sender"
    )


def axe_serious_violations(page) -> List[dict]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "() => axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa',"
        " 'wcag22aa', 'best-practice']}})"
    )
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


# --- the tests ---------------------------------------------------------------------------------------------------
def test_a_visitor_clicks_and_types_through_a_screening_and_the_lead_arrives(stack, chromium, tmp_path):
    page = new_page(chromium)
    page.goto(chat_url(stack))
    assert "demo of the Haven Pre-Screen chat assistant" in page.locator(".demo-banner").inner_text()
    open_chat(page)
    standing = page.locator(".hc-standing")
    assert standing.inner_text() == "Not a diagnosis · In crisis? Call or text 988"
    assert choices(page) == ["Yes", "No"]
    ways = set()
    for _turn in range(60):
        latest = latest_bot_texts(page)
        if any("Thank you, Maria" in text for text in latest):
            break
        qid = next((question_id(text) for text in reversed(latest) if question_id(text)), None)
        assert qid, latest
        if qid == "gad7_3":
            page.screenshot(path=str(screenshot_dir(tmp_path) / "widget-desktop.png"))
        ways.add(answer(page, answer_for(qid)))
        assert standing.is_visible()
    assert ways == {"clicked", "typed"}
    assert "Our team will reach out" in " ".join(bot_texts(page)[-3:])
    sender = sender_id(page)
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", sender)
    received = stack.receiver.wait_for(sender, "lead.created")
    assert len(received) == 1
    event = received[0].event
    assert received[0].signature_ok and event["channel"] == "rest"
    assert event["lead"]["outcome"] == "qualified"
    assert event["lead"]["contact"]["first_name"] == "Maria"
    assert event["lead"]["contact"]["phone"] == "+18185550134"
    page.context.close()


def test_a_reload_keeps_the_conversation_and_it_goes_on_at_360_px(stack, chromium, tmp_path):
    page = new_page(chromium, PHONE)
    page.goto(chat_url(stack))
    open_chat(page)
    answer(page, "Yes")
    answer(page, "Anxiety")
    assert current_question(page) == "age"
    before = (bot_texts(page), visitor_texts(page), sender_id(page))
    page.reload()
    # The chat was open: it opens again with the same conversation, from the local copy.
    page.locator(".hc-panel").wait_for(state="visible")
    assert (bot_texts(page), visitor_texts(page), sender_id(page)) == before
    assert visitor_texts(page) == ["Yes", "Anxiety"]
    # ... and the server still has it: the age answer is taken, and the next question comes.
    answer(page, "34")
    assert current_question(page).startswith("gad7")
    # Usable at 360 px: nothing wider than the screen, the message box and the standing line on screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    for part in (".hc-standing", "#hc-input", ".hc-send", ".hc-quick"):
        box = page.locator(part).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], part
        assert box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"], part
    page.screenshot(path=str(screenshot_dir(tmp_path) / "widget-360.png"))
    # Start over forgets the local copy and starts the screening again.
    before_count = len(bot_texts(page))
    page.get_by_role("button", name="Start over").click()
    page.wait_for_function("() => document.querySelector('.hc-typing').hidden")
    assert visitor_texts(page) == ["Start over"]
    assert len(bot_texts(page)) < before_count and current_question(page) == "consent"
    page.reload()
    page.locator(".hc-panel").wait_for(state="visible")
    assert visitor_texts(page) == ["Start over"]
    page.context.close()


def test_markup_is_shown_as_text_never_run(stack, chromium):
    page = new_page(chromium)
    page.goto(chat_url(stack))
    open_chat(page)
    answer(page, MARKUP)
    assert visitor_texts(page)[-1] == MARKUP
    # A bot reply with markup (as if the content had some) is text too.
    page.route(
        "**/webhooks/rest/webhook",
        lambda route: route.fulfill(
            status=200,
            content_type="application/json",
            headers={"Access-Control-Allow-Origin": f"http://127.0.0.1:{stack.inbox_port}"},
            body=json.dumps([{"recipient_id": "x", "text": "<i>italic</i><img src=x onerror=window.__pwned=3>"}]),
        ),
    )
    answer(page, "hello")
    page.unroute("**/webhooks/rest/webhook")
    assert bot_texts(page)[-1] == "<i>italic</i><img src=x onerror=window.__pwned=3>"
    assert page.locator(".hc-log img, .hc-log b, .hc-log i, .hc-log script").count() == 0
    assert page.evaluate("() => window.__pwned") is None
    page.context.close()


def focused(page) -> str:
    return page.evaluate(
        "() => { const e = document.activeElement;"
        " return e.getAttribute('aria-label') || e.textContent.trim() || e.id || e.tagName; }"
    )


def test_keyboard_only(stack, chromium):
    page = new_page(chromium)
    page.goto(chat_url(stack))
    page.keyboard.press("Tab")
    for _ in range(10):  # through the demo page's links to the launcher
        if focused(page) == "Chat with us":
            break
        page.keyboard.press("Tab")
    assert focused(page) == "Chat with us"
    page.keyboard.press("Enter")
    wait_for_reply(page, 0)
    assert focused(page) == "hc-input"  # the message box, ready to type
    # Focus order: back through the answer choices to the conversation and the header, forward to the controls.
    order = []
    for _ in range(6):
        page.keyboard.press("Shift+Tab")
        order.append(focused(page))
    assert order == ["No", "Yes", "Conversation", "988", "Close chat", "Hide chat"]
    for _ in range(4):
        page.keyboard.press("Tab")
    assert focused(page) == "Yes"
    before = len(bot_texts(page))
    page.keyboard.press("Enter")  # answers Yes
    wait_for_reply(page, before)
    assert visitor_texts(page) == ["Yes"]
    assert focused(page) == choices(page)[0]  # on to the next answers
    page.keyboard.press("Tab")
    picked = focused(page)
    assert picked == choices(page)[1]
    before = len(bot_texts(page))
    page.keyboard.press("Space")
    wait_for_reply(page, before)
    assert visitor_texts(page)[-1] == picked
    # Typing and the quick actions after the message box.
    page.get_by_label("Type your message").focus()
    page.keyboard.type("34")
    before = len(bot_texts(page))
    page.keyboard.press("Enter")
    wait_for_reply(page, before)
    assert visitor_texts(page)[-1] == "34"
    page.get_by_label("Type your message").focus()
    page.keyboard.press("Tab")
    assert focused(page) == "Send"
    page.keyboard.press("Tab")
    assert focused(page) == "Start over"
    page.keyboard.press("Tab")
    assert focused(page) == "Talk to a person"
    before = len(bot_texts(page))
    page.keyboard.press("Enter")
    wait_for_reply(page, before)
    assert load_clinic_profile().phone in " ".join(bot_texts(page)[before:])
    page.keyboard.press("Escape")
    assert page.locator(".hc-panel").is_hidden()
    assert focused(page) == "Chat with us"
    page.context.close()


def test_a_crisis_reply_is_shown_prominently(stack, chromium):
    page = new_page(chromium)
    page.goto(chat_url(stack))
    open_chat(page)
    assert page.locator(".hc-crisis").count() == 0  # the greeting gives 988 too, but it is no crisis reply
    answer(page, "I want to kill myself")
    crisis = page.locator(".hc-log .hc-crisis")
    assert crisis.count() >= 1
    assert "Help is available right now" in crisis.first.inner_text()
    assert crisis.first.get_by_role("link", name="Call 988").get_attribute("href") == "tel:988"
    assert crisis.first.get_by_role("link", name="Text 988").get_attribute("href") == "sms:988"
    assert page.locator(".hc-standing").is_visible()
    page.context.close()


def crisis_texts() -> List[str]:
    texts = [LAST_RESORT_CRISIS_REPLY]
    for language in LANGUAGES:
        for category in (*CATEGORY_ORDER, "unspecified"):
            texts.append(crisis_reply(RiskAssessment(True, (category,), "high", language)))
        texts += [
            crisis_reply(RiskAssessment(True, ("self_harm",), "high", language), repeat=True),
            fallback_reply(language),
            followup_reply("unsafe_now", language),
        ]
    return texts


def other_texts() -> List[str]:
    profile = load_clinic_profile()
    texts = list(profile.faq.values()) + list(profile.messages.values())
    for question in content().questions.values():
        texts += [question.text, question.guidance, *question.preface]
    for language in LANGUAGES:
        texts += [t for t in crisis_question_texts(language).values() if isinstance(t, str)]
    return [t for t in texts if t]


def test_the_widget_tells_a_crisis_reply_from_every_other_text_the_bot_sends(stack, chromium):
    page = new_page(chromium)
    page.goto(chat_url(stack))
    classify = "texts => texts.map(t => window.HavenChat.isCrisisReply(t))"
    crisis = crisis_texts()
    other = other_texts()
    assert any("988" in t for t in other)  # the check below means something
    assert page.evaluate(classify, crisis) == [True] * len(crisis)
    assert [t for t, c in zip(other, page.evaluate(classify, other)) if c] == []
    page.context.close()


def test_a_network_error_or_a_slow_reply_is_told_keeps_the_words_and_offers_phone_and_988(stack, chromium):
    phone = load_clinic_profile().phone
    # A page answered through Playwright's router counts as a public page for Chromium's Local Network Access
    # rules; the permission gives it back what the demo page served from loopback has anyway.
    page = new_page(chromium, permissions=["local-network-access"])
    # A short reply timeout for this page: the real page, with data-timeout-ms added to its script tag.

    def with_short_timeout(route) -> None:
        response = route.fetch()
        route.fulfill(response=response, body=response.text().replace("<script ", '<script data-timeout-ms="2000" '))

    page.route("**/chat", with_short_timeout)
    page.goto(chat_url(stack))
    open_chat(page)
    # The connection fails.
    page.route("**/webhooks/rest/webhook", lambda route: route.abort("internetdisconnected"))
    box = page.get_by_label("Type your message")
    box.fill("Yes please")
    box.press("Enter")
    notice = page.get_by_role("alert")
    notice.wait_for(state="visible")
    text = notice.inner_text()
    assert "could not be sent" in text and "back in the message box" in text
    assert phone in text and "988" in text
    assert box.input_value() == "Yes please"
    assert page.locator(".hc-visitor.hc-failed").inner_text().endswith("Not sent")
    page.unroute("**/webhooks/rest/webhook")
    # Try again: it arrives, the notice goes, nothing is lost or doubled.
    before = len(bot_texts(page))
    notice.get_by_role("button", name="Try again").click()
    wait_for_reply(page, before)
    assert page.locator(".hc-notice").is_hidden()
    assert visitor_texts(page) == ["Yes please"] and page.locator(".hc-failed").count() == 0
    assert box.input_value() == ""
    # The chat server does not answer in time.
    stalled: List[object] = []
    page.route("**/webhooks/rest/webhook", lambda route: stalled.append(route))
    box.fill("Anxiety")
    box.press("Enter")
    notice.wait_for(state="visible")
    assert "did not answer in time" in notice.inner_text() and phone in notice.inner_text()
    assert box.input_value() == "Anxiety"
    page.unroute_all(behavior="ignoreErrors")
    page.context.close()


def test_the_accessibility_check_finds_no_serious_violations(stack, chromium):
    if not AXE.exists():
        subprocess.run([str(PROJECT_ROOT / "scripts" / "ensure_axe.sh")], check=True)
    for viewport in (DESKTOP, PHONE):
        # axe is injected into the page, which the demo page's CSP (script-src 'self') would refuse.
        page = new_page(chromium, viewport, bypass_csp=True)
        page.goto(chat_url(stack))
        assert axe_serious_violations(page) == [], "closed chat"
        open_chat(page)
        answer(page, "Yes")  # answer choices on screen
        assert axe_serious_violations(page) == [], viewport
        answer(page, "I want to hurt myself")  # the crisis reply
        page.route("**/webhooks/rest/webhook", lambda route: route.abort())
        answer_without_reply(page, "hello")  # the failure notice
        assert page.locator(".hc-crisis").count() >= 1 and page.locator(".hc-notice").is_visible()
        assert axe_serious_violations(page) == [], viewport
        page.context.close()


def answer_without_reply(page, text: str) -> None:
    page.get_by_label("Type your message").fill(text)
    page.get_by_label("Type your message").press("Enter")
    page.get_by_role("alert").wait_for(state="visible")


def preflight(stack, origin: str) -> Dict[str, str]:
    request = urllib.request.Request(
        stack.rest_url,
        method="OPTIONS",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return {k.lower(): v for k, v in response.headers.items()}


def test_the_chat_server_allows_the_demo_page_origins_and_no_other(stack):
    for origin in (f"http://127.0.0.1:{stack.inbox_port}", f"http://localhost:{stack.inbox_port}"):
        assert preflight(stack, origin).get("access-control-allow-origin") == origin
    assert "access-control-allow-origin" not in preflight(stack, "https://evil.example")
