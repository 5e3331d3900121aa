"""SMS, the pure parts: the webhook's form, carrier keywords, conversation ids and replies as TwiML."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import urlencode

import pytest

from bot.channels import sms
from bot.channels.guard import InvalidRequest, parse_rest_body
from bot.screening.answers import parse_answer
from bot.screening.flow import question_by_id

SECRET = "test-secret"
NUMBER = "+18185550134"


def form(**fields) -> dict:
    return sms.parse_form(urlencode(fields).encode())


def test_a_twilio_webhook_form_becomes_a_request():
    inbound = sms.sms_request(
        form(From=NUMBER, Body=" Yes ", MessageSid="SM" + "a" * 32, To="+18185550100"), max_chars=50
    )
    assert (inbound.phone, inbound.text, inbound.message_sid, inbound.opt_out_type) == (
        NUMBER,
        "Yes",
        "SM" + "a" * 32,
        None,
    )
    assert (
        sms.sms_request(form(From=NUMBER, Body="STOP", MessageSid="SM1", OptOutType="STOP"), max_chars=50).opt_out_type
        == sms.OPT_OUT
    )


def test_typed_control_payloads_are_defused_like_on_every_channel():
    assert sms.sms_request(form(From=NUMBER, Body="/restart", MessageSid="SM1"), max_chars=50).text == "restart"


@pytest.mark.parametrize(
    "fields",
    [
        {"Body": "hi", "MessageSid": "SM1"},
        {"From": "8185550134", "Body": "hi", "MessageSid": "SM1"},
        {"From": "whatsapp:+18185550134", "Body": "hi", "MessageSid": "SM1"},
        {"From": NUMBER, "Body": "hi"},
        {"From": NUMBER, "Body": "hi", "MessageSid": "<script>"},
        {"From": NUMBER, "Body": "x" * 51, "MessageSid": "SM1"},
    ],
)
def test_malformed_webhooks_are_refused(fields):
    with pytest.raises(InvalidRequest):
        sms.sms_request(form(**fields), max_chars=50)


def test_a_repeated_field_is_refused_rather_than_guessed():
    with pytest.raises(InvalidRequest):
        sms.sms_request(sms.parse_form(b"From=%2B18185550134&From=%2B18185550199&Body=hi&MessageSid=SM1"), max_chars=50)


@pytest.mark.parametrize(
    "text",
    [
        "STOP",
        "stop",
        " Stop! ",
        "STOPALL",
        "unsubscribe",
        "Cancel",
        "END",
        "quit",
        "revoke",
        "Opt out",
        "OPTOUT",
        "please stop texting me",
        "Stop texting me.",
        "don't text me anymore",
        "do not message me",
    ],
)
def test_opt_out_keywords(text):
    assert sms.keyword(text) == sms.OPT_OUT


@pytest.mark.parametrize(
    "text, kind", [("START", sms.OPT_IN), ("unstop", sms.OPT_IN), ("Yes", sms.OPT_IN), ("HELP", sms.HELP)]
)
def test_opt_in_and_help_keywords(text, kind):
    assert sms.keyword(text) == kind


@pytest.mark.parametrize("text", ["please stop texting me about cost", "help me", "stop it", "the end?", "1", ""])
def test_sentences_are_not_keywords(text):
    assert sms.keyword(text) is None


def test_conversation_ids_hide_the_number_and_rest_cannot_claim_them():
    sender = sms.sender_id(SECRET, NUMBER)
    assert sender.startswith("sms:") and "8185550134" not in sender and "0134" not in sender
    assert sender == sms.sender_id(SECRET, NUMBER)
    assert sender != sms.sender_id("another-secret", NUMBER) != sms.sender_id(SECRET, "+18185550199")
    assert sms.sender_id(SECRET, NUMBER, conversation=1) != sender  # a new conversation after STOP ... START
    assert NUMBER not in sms.number_key(SECRET, NUMBER)
    for claimed in (sender, sender.upper(), "sms:anything"):
        with pytest.raises(InvalidRequest):
            parse_rest_body(f'{{"sender": "{claimed}", "message": "hi"}}'.encode(), max_chars=100)


def test_the_channel_refuses_to_start_without_a_token_unless_told_it_is_development():
    assert sms.refusal(auth_token="", public_url="", allow_unsigned=False)
    assert "TWILIO_AUTH_TOKEN" in sms.refusal(auth_token="", public_url="https://x.example", allow_unsigned=False)
    assert sms.refusal(auth_token="", public_url="", allow_unsigned=True) is None
    assert "PUBLIC_URL" in sms.refusal(auth_token="tok", public_url="", allow_unsigned=False)
    assert sms.refusal(auth_token="tok", public_url="https://haven.example.org", allow_unsigned=False) is None
    assert "\n" not in sms.refusal(auth_token="", public_url="", allow_unsigned=False)


def test_the_signed_url_is_the_public_one():
    assert sms.signed_url("https://haven.example.org/", "/webhooks/sms/webhook") == (
        "https://haven.example.org/webhooks/sms/webhook"
    )
    assert (
        sms.signed_url("https://h.example", "/webhooks/sms/webhook", "a=1")
        == "https://h.example/webhooks/sms/webhook?a=1"
    )


# --- replies ----------------------------------------------------------------------------------------------


def buttons(*titles):
    return [{"title": t, "payload": t} for t in titles]


def test_buttons_become_a_numbered_list():
    message = {"text": "How often?", "buttons": buttons("Not at all", "Several days", "More than half the days")}
    assert sms.render_message(message) == (
        "How often?\nReply 1 for Not at all, 2 for Several days, or 3 for More than half the days."
    )
    assert sms.render_message({"text": "OK?", "buttons": buttons("Yes", "No")}) == "OK?\nReply 1 for Yes or 2 for No."
    assert sms.render_message({"text": "Plain"}) == "Plain"


def test_options_that_are_numbers_are_listed_without_numbering():
    message = {"text": "How many?", "buttons": buttons("0", "1", "2 or more", "Not sure")}
    assert sms.render_message(message) == "How many?\nReply 0, 1, 2 or more, or Not sure."


@pytest.mark.parametrize("question_id", ["phq9_1", "concern", "contact_best_time", "tx_antidepressants", "consent"])
def test_what_the_list_says_to_reply_is_an_answer(question_id):
    # The parser accepts the shown number (or, for numeric options, the number itself) and the words.
    question = question_by_id(question_id)
    titles = [o.title for o in question.options]
    line = sms.options_line(titles)
    for position, option in enumerate(question.options, start=1):
        reply = option.title if sms.titles_are_numbers(titles) else str(position)
        assert reply in line
        assert parse_answer(question, reply, numbers_shown=True).value == option.value, (question_id, reply)
        assert parse_answer(question, option.title).value == option.value


def test_no_sms_is_longer_than_1600_characters_and_order_is_kept():
    crisis = "If you are thinking about hurting yourself, call or text 988 now."
    long_text = " ".join(f"Sentence number {i} is here." for i in range(300))
    replies = sms.sms_replies([{"text": crisis}, {"text": long_text}, {"text": "Are you safe right now?"}])
    assert all(len(r) <= sms.MAX_SMS_CHARS for r in replies)
    assert replies[0].startswith(crisis)
    joined = " ".join(replies)
    assert joined.index("Sentence number 299") < joined.index("Are you safe right now?")
    assert len(replies) <= 7  # ~8,500 characters: packed into long SMS, not one per sentence


def test_short_messages_of_a_turn_share_one_sms():
    assert sms.sms_replies([{"text": "Thanks."}, {"text": "Next?", "buttons": buttons("Yes", "No")}]) == [
        "Thanks.\n\nNext?\nReply 1 for Yes or 2 for No."
    ]


def test_split_text_cuts_at_words_and_never_loses_text():
    text = "word " * 1000
    pieces = sms.split_text(text, 160)
    assert all(len(p) <= 160 for p in pieces)
    assert " ".join(pieces).split() == text.split()
    assert sms.split_text("x" * 400, 160) == ["x" * 160, "x" * 160, "x" * 80]


def test_twiml_is_escaped_xml():
    body = sms.twiml(["Tom & Jerry <b>", "Msg & data rates may apply\x07"])
    root = ET.fromstring(body)  # noqa: S314 - our own output
    assert root.tag == "Response"
    assert [m.text for m in root.findall("Message")] == ["Tom & Jerry <b>", "Msg & data rates may apply"]
    assert "&amp;" in body and "<b>" not in body
    assert ET.fromstring(sms.twiml([])).tag == "Response"  # noqa: S314 - our own output
    assert sms.twiml([]).endswith("<Response/>")


def test_keyword_replies_say_what_carriers_require():
    help_text = sms.help_reply("Haven Ketamine Clinic", "(818) 555-0134")
    for needed in ("Haven Ketamine Clinic", "(818) 555-0134", "STOP", "Msg & data rates may apply", "988"):
        assert needed in help_text
    assert "START" in sms.opt_out_reply("Haven") and "Haven" in sms.opt_out_reply("Haven")
    assert "STOP" in sms.opt_in_reply("Haven") and "HELP" in sms.opt_in_reply("Haven")
    assert all(len(t) <= 320 for t in (help_text, sms.opt_out_reply("Haven"), sms.opt_in_reply("Haven")))
