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
from tests.e2e.test_screening_e2e import QUALIFIED_CLICKER
from tests.e2e.visitor import question_id

playwright_sync = pytest.importorskip("playwright.sync_api")

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
AXE_VERSION = "4.14.1"
AXE = PROJECT_ROOT / ".cache" / "axe-core" / f"axe-{AXE_VERSION}.min.js"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 740}
SHORT = {"width": 640, "height": 400}  # a 1280x800 laptop at 200% zoom
REPLY_TIMEOUT_MS = 60_000
MARKUP = '<img src=x onerror="window.__pwned=1"><b>bold</b><script>window.__pwned=2</script> & "quotes"'

# The screening tests' clicker: the widget clicks where the answer is a button and types everything else; the
# health questions are typed in lower case on purpose.
VISITOR = {**QUALIFIED_CLICKER, "ci": "no"}


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
    answer(page, "34")
    assert current_question(page) == "concern"
    before = (bot_texts(page), visitor_texts(page), sender_id(page))
    page.reload()
    # The chat was open: it opens again with the same conversation, from the local copy.
    page.locator(".hc-panel").wait_for(state="visible")
    assert (bot_texts(page), visitor_texts(page), sender_id(page)) == before
    # ... scrolled to the current question, not the greeting (once the stylesheet has sized the log).
    assert page.evaluate(
        "() => { const l = document.querySelector('.hc-log'); return l.scrollHeight > l.clientHeight; }"
    )
    page.wait_for_function(LAST_BOT_IN_VIEW, timeout=5_000)
    assert visitor_texts(page) == ["Yes", "34"]
    # ... and the server still has it: the concern answer is taken, and the next question comes.
    answer(page, "Anxiety")
    assert current_question(page).startswith("gad7")
    # Usable at 360 px: nothing wider than the screen, the message box and the standing line on screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    for part in (".hc-standing", "#hc-input", ".hc-send", ".hc-quick"):
        box = page.locator(part).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], part
        assert box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"], part
    page.screenshot(path=str(screenshot_dir(tmp_path) / "widget-360.png"))
    # Start over forgets the local copy and the sender id, and starts the screening again.
    before_count = len(bot_texts(page))
    old_sender = sender_id(page)
    page.get_by_role("button", name="Start over").click()
    page.wait_for_function("() => document.querySelector('.hc-typing').hidden")
    assert visitor_texts(page) == ["Start over"]
    assert len(bot_texts(page)) < before_count and current_question(page) == "consent"
    assert sender_id(page) != old_sender
    page.reload()
    page.locator(".hc-panel").wait_for(state="visible")
    assert visitor_texts(page) == ["Start over"]
    page.context.close()


LAST_BOT_IN_VIEW = (
    "() => { const log = document.querySelector('.hc-log').getBoundingClientRect();"
    " const bots = document.querySelectorAll('.hc-log .hc-bot'); const last = bots[bots.length - 1];"
    " if (!last) return false; const box = last.getBoundingClientRect();"
    " return box.bottom <= log.bottom + 1 && box.bottom > log.top + 20; }"
)


def reachable(page, selector: str) -> bool:
    """Focused (the browser scrolls it into view), it is on screen and not covered by anything else."""
    return page.evaluate(
        "s => { const e = document.querySelector(s); e.focus(); const b = e.getBoundingClientRect();"
        " if (b.top < 0 || b.left < 0 || b.bottom > innerHeight + 1 || b.right > innerWidth + 1) return false;"
        " const hit = document.elementFromPoint(b.left + b.width / 2, b.top + Math.min(b.height / 2, 10));"
        " return hit === e || e.contains(hit); }",
        selector,
    )


def test_at_200_percent_zoom_640x400_the_question_shows_and_every_control_is_reachable(stack, chromium, tmp_path):
    page = new_page(chromium, SHORT)
    page.goto(chat_url(stack))
    open_chat(page)
    answer(page, "Yes")
    answer(page, "34")  # age first, then the concern's choices
    assert choices(page) and current_question(page) == "concern"
    log_height = page.evaluate("() => document.querySelector('.hc-log').clientHeight")
    assert log_height >= 120
    assert page.evaluate(LAST_BOT_IN_VIEW)
    page.screenshot(path=str(screenshot_dir(tmp_path) / "widget-640x400.png"))
    for part in (".hc-close", ".hc-standing a", ".hc-log", ".hc-reply", "#hc-input", ".hc-send", ".hc-quick-button"):
        assert reachable(page, part), part
    assert reachable(page, ".hc-quick-button:last-child")
    # The header and the 988 line stay at the top however far the chat scrolls.
    assert page.locator(".hc-standing").bounding_box()["y"] >= 0
    assert reachable(page, ".hc-standing a")
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
    # Age comes next and is typed (no answers to pick).
    page.get_by_label("Type your message").focus()
    page.keyboard.type("34")
    before = len(bot_texts(page))
    page.keyboard.press("Enter")
    wait_for_reply(page, before)
    assert visitor_texts(page)[-1] == "34"
    assert focused(page) == "hc-input"  # a typed reply keeps the focus in the message box
    page.keyboard.press("Shift+Tab")  # back to the main concern's answers, just above it
    picked = focused(page)
    assert picked in choices(page)
    before = len(bot_texts(page))
    page.keyboard.press("Space")
    wait_for_reply(page, before)
    assert visitor_texts(page)[-1] == picked
    # The quick actions after the message box.
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
    # The phone number in the bot's text is a tel: link (text around it still text).
    phone_link = page.locator(".hc-log .hc-bot .hc-text a").last
    assert phone_link.inner_text() == load_clinic_profile().phone
    assert phone_link.get_attribute("href") == "tel:+1" + re.sub(r"\D", "", load_clinic_profile().phone)
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


def test_on_a_phone_the_crisis_reply_is_scrolled_to_its_top(stack, chromium):
    page = new_page(chromium, PHONE)
    page.goto(chat_url(stack))
    open_chat(page)
    answer(page, "I want to kill myself")
    crisis = page.locator(".hc-log .hc-crisis").first.bounding_box()
    log = page.locator(".hc-log").bounding_box()
    assert crisis and log
    assert log["y"] - 1 <= crisis["y"] < log["y"] + log["height"] - 40  # its heading is in view
    assert page.locator(".hc-standing").bounding_box()["y"] >= 0
    page.context.close()


def inside_chat(page) -> bool:
    return page.evaluate("() => document.querySelector('.hc-panel').contains(document.activeElement)")


def relative_luminance(rgb: List[float]) -> float:
    def channel(c: float) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(one: str, other: str) -> float:
    """WCAG contrast of two CSS rgb()/rgba() colours."""
    lum = sorted(relative_luminance([float(x) for x in re.findall(r"[\d.]+", c)]) for c in (one, other))
    return (lum[1] + 0.05) / (lum[0] + 0.05)


def test_on_a_phone_tab_stays_in_the_full_screen_chat_and_the_focus_ring_stands_out(stack, chromium):
    page = new_page(chromium, PHONE)
    page.goto(chat_url(stack))
    open_chat(page)
    panel = page.locator(".hc-panel")
    assert panel.get_attribute("role") == "dialog" and panel.get_attribute("aria-modal") == "true"
    for key in ("Tab", "Shift+Tab"):
        for _ in range(14):
            page.keyboard.press(key)
            assert inside_chat(page), (key, focused(page))
    # The focus ring: dark on the white panel, its white band on the blue header, 3:1 or more each.
    page.get_by_label("Type your message").focus()
    page.keyboard.press("Shift+Tab")  # keyboard focus: :focus-visible
    ring = page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineColor, s.outlineStyle, s.boxShadow,"
        " getComputedStyle(document.querySelector('.hc-panel')).backgroundColor,"
        " getComputedStyle(document.querySelector('.hc-header')).backgroundColor]; }"
    )
    outline, style, shadow, paper, header = ring
    assert style == "solid" and contrast(outline, paper) >= 3, ring
    band = re.match(r"rgba?\([^)]*\)", shadow)
    assert band and contrast(band.group(0), header) >= 3, ring
    # Long pasted text: the visitor is told where the limit is, not cut silently.
    box = page.get_by_label("Type your message")
    box.fill("x" * 2100)
    assert len(box.input_value()) == 2000
    assert "2000 characters" in page.locator(".hc-limit").inner_text()
    box.fill("")
    assert page.locator(".hc-limit").is_hidden()
    page.context.close()


def test_a_reload_mid_reply_marks_the_message_and_clicks_meanwhile_are_answered(stack, chromium):
    page = new_page(chromium, PHONE)
    page.goto(chat_url(stack))
    open_chat(page)
    stalled: List[object] = []
    page.route("**/webhooks/rest/webhook", lambda route: stalled.append(route))
    page.locator(".hc-replies").get_by_role("button", name="Yes", exact=True).click()
    page.locator(".hc-typing").wait_for(state="visible")
    # While the reply is on its way (force: Playwright waits for an aria-disabled button, a visitor does not).
    page.get_by_role("button", name="Talk to a person").click(force=True)
    assert "Please wait for the reply" in page.locator(".hc-typing").inner_text()
    assert visitor_texts(page) == ["Yes"]
    page.reload()
    page.unroute_all(behavior="ignoreErrors")
    page.locator(".hc-panel").wait_for(state="visible")
    # The reply was lost with the page: the message says so, and Try again sends it.
    assert page.locator(".hc-visitor.hc-failed").inner_text().endswith("No reply yet")
    notice = page.get_by_role("alert")
    assert "reloaded before the reply came" in notice.inner_text()
    before = len(bot_texts(page))
    notice.get_by_role("button", name="Try again").click()
    wait_for_reply(page, before)
    assert visitor_texts(page) == ["Yes"] and page.locator(".hc-failed").count() == 0
    assert current_question(page) == "age"
    # Start over that fails keeps the conversation and its sender id.
    sender, texts = sender_id(page), bot_texts(page)
    page.route("**/webhooks/rest/webhook", lambda route: route.abort("internetdisconnected"))
    page.get_by_role("button", name="Start over").click()
    notice.wait_for(state="visible")
    assert sender_id(page) == sender and bot_texts(page) == texts
    page.unroute_all(behavior="ignoreErrors")
    page.context.close()


def test_on_a_phone_failures_keep_the_header_in_view_and_a_failed_opening_says_so(stack, chromium):
    phone = load_clinic_profile().phone
    page = new_page(chromium, PHONE)
    page.goto(chat_url(stack))
    page.route("**/webhooks/rest/webhook", lambda route: route.abort("internetdisconnected"))
    page.get_by_role("button", name="Chat with us").click()
    notice = page.get_by_role("alert")
    notice.wait_for(state="visible")
    text = notice.inner_text()
    assert "can't connect right now" in text and "could not be sent" not in text
    assert phone in text and "988" in text
    page.unroute_all(behavior="ignoreErrors")
    notice.get_by_role("button", name="Try again").click()
    wait_for_reply(page, 0)
    page.route("**/webhooks/rest/webhook", lambda route: route.abort("internetdisconnected"))
    answer_without_reply(page, "Yes please")
    notice.get_by_role("button", name="Try again").click()
    notice.wait_for(state="visible")
    page.locator(".hc-log .hc-msg").last.scroll_into_view_if_needed()
    page.get_by_role("button", name="Try again").focus()
    # Nothing inside scrolls the panel itself: the header and the 988 line cannot leave the screen.
    panel = page.evaluate(
        "() => { const p = document.querySelector('.hc-panel'); return [p.scrollHeight, p.clientHeight, p.scrollTop]; }"
    )
    assert panel[0] == panel[1] and panel[2] == 0, panel
    close = page.locator(".hc-close").bounding_box()
    standing = page.locator(".hc-standing").bounding_box()
    assert close and close["y"] >= 0 and standing and standing["y"] >= 0
    page.unroute_all(behavior="ignoreErrors")
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
