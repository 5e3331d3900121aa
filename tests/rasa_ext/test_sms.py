"""The Twilio SMS channel without a server: signature check, keywords and opt-out, retries, what reaches Rasa."""

from __future__ import annotations

import asyncio
import logging
import xml.etree.ElementTree as ET
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
from twilio.request_validator import RequestValidator

from bot.channels import sms
from bot.settings import load_settings
from rasa_ext.sms import ReplyMemory, TwilioSmsInput
from rasa_ext.sms_opt_out import OptOutStore

TOKEN = "test-twilio-token"
PUBLIC = "https://haven.example.org"
PATH = "/webhooks/sms/webhook"
NUMBER = "+18185550134"


@pytest.fixture
def settings(tmp_path, monkeypatch):
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("HANDOFF_URL", raising=False)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TOKEN)
    monkeypatch.setenv("PUBLIC_URL", PUBLIC + "/")
    monkeypatch.delenv("SMS_ALLOW_UNSIGNED", raising=False)
    return load_settings()


class Rasa:
    """Stands in for Rasa's on_new_message: records what reached it and answers like the bot would."""

    def __init__(self, replies=None):
        self.received = []
        self.replies = replies or [
            {"text": "Is it OK to ask you some questions?", "buttons": [{"title": "Yes"}, {"title": "No"}]}
        ]

    async def __call__(self, message):
        self.received.append(message)
        for reply in self.replies:
            await message.output_channel.send_response(message.sender_id, reply)


def texts(body: str):
    return [m.text for m in ET.fromstring(body).findall("Message")]  # noqa: S314 - our own reply


def inbound(body: str, sid: str = "SM0001", **extra) -> sms.SmsRequest:
    return sms.sms_request(
        sms.parse_form(urlencode({"From": NUMBER, "Body": body, "MessageSid": sid, **extra}).encode()), max_chars=2000
    )


def request(form_fields: dict, signature=None, path=PATH):
    headers = {} if signature is None else {"X-Twilio-Signature": signature}
    return SimpleNamespace(headers=headers, path=path, query_string=""), sms.parse_form(urlencode(form_fields).encode())


def test_a_signature_over_the_public_url_passes_and_anything_else_fails(settings):
    channel = TwilioSmsInput(settings)
    fields = {"From": NUMBER, "Body": "hi", "MessageSid": "SM1"}
    good = RequestValidator(TOKEN).compute_signature(PUBLIC + PATH, fields)
    assert channel.signature_ok(*request(fields, good))
    assert not channel.signature_ok(*request(fields))  # missing
    assert not channel.signature_ok(*request(fields, ""))
    assert not channel.signature_ok(*request({**fields, "Body": "STOP"}, good))  # the body changed
    assert not channel.signature_ok(*request({**fields, "From": "+18185550199"}, good))  # a spoofed sender
    loopback = RequestValidator(TOKEN).compute_signature("http://127.0.0.1:5005" + PATH, fields)
    assert not channel.signature_ok(*request(fields, loopback))  # signed for another URL
    other_token = RequestValidator("another-token").compute_signature(PUBLIC + PATH, fields)
    assert not channel.signature_ok(*request(fields, other_token))


def test_without_a_token_the_channel_is_off_unless_unsigned_is_allowed(settings, monkeypatch):
    monkeypatch.delenv("TWILIO_AUTH_TOKEN")
    assert "TWILIO_AUTH_TOKEN" in TwilioSmsInput(load_settings()).refusal
    monkeypatch.setenv("SMS_ALLOW_UNSIGNED", "true")
    channel = TwilioSmsInput(load_settings())
    assert channel.refusal is None and channel.signature_ok(*request({"From": NUMBER}))


@pytest.mark.asyncio
async def test_a_message_reaches_rasa_under_a_hashed_id_with_the_number_in_metadata(settings):
    channel, rasa = TwilioSmsInput(settings), Rasa()
    body = await channel.answer(inbound("hi"), rasa)
    assert texts(body) == ["Is it OK to ask you some questions?\nReply 1 for Yes or 2 for No."]
    (message,) = rasa.received
    assert message.sender_id.startswith("sms:") and "5550134" not in message.sender_id
    assert (message.input_channel, message.metadata, message.text) == ("sms", {"phone": NUMBER}, "hi")


@pytest.mark.asyncio
async def test_stop_silences_everything_until_start_and_survives_a_restart(settings):
    channel, rasa = TwilioSmsInput(settings), Rasa()
    first_id = (await channel.answer(inbound("hi", "SM1"), rasa), rasa.received[-1].sender_id)[1]
    (confirmation,) = texts(await channel.answer(inbound("STOP", "SM2"), rasa))
    assert "unsubscribed" in confirmation and "START" in confirmation
    assert texts(await channel.answer(inbound("Stop", "SM3"), rasa)) == []  # one confirmation only
    restarted = TwilioSmsInput(load_settings())  # a new process: the opt-out is in the database
    assert texts(await restarted.answer(inbound("hello?", "SM4"), rasa)) == []
    assert texts(await restarted.answer(inbound("HELP", "SM5"), rasa)) == []
    assert len(rasa.received) == 1  # nothing reached Rasa while opted out
    (welcome,) = texts(await restarted.answer(inbound("start", "SM6"), rasa))
    assert "subscribed again" in welcome
    await restarted.answer(inbound("hi", "SM7"), rasa)
    assert len(rasa.received) == 2 and rasa.received[-1].sender_id != first_id  # STOP ended that conversation


@pytest.mark.asyncio
async def test_yes_is_an_answer_unless_the_number_opted_out(settings):
    channel, rasa = TwilioSmsInput(settings), Rasa()
    await channel.answer(inbound("Yes", "SM1"), rasa)
    assert rasa.received[-1].text == "Yes"
    await channel.answer(inbound("quit", "SM2"), rasa)
    assert "subscribed again" in texts(await channel.answer(inbound("YES", "SM3"), rasa))[0]
    assert len(rasa.received) == 1


@pytest.mark.asyncio
async def test_help_names_the_clinic_and_does_not_reach_rasa(settings):
    channel, rasa = TwilioSmsInput(settings), Rasa()
    (reply,) = texts(await channel.answer(inbound("help"), rasa))
    for needed in ("Haven Ketamine Clinic", "(818) 555-0134", "STOP", "Msg & data rates may apply", "988"):
        assert needed in reply
    assert rasa.received == []


@pytest.mark.asyncio
async def test_twilios_own_opt_out_handling_is_recorded_without_a_second_answer(settings):
    channel, rasa = TwilioSmsInput(settings), Rasa()
    assert texts(await channel.answer(inbound("STOP", "SM1", OptOutType="STOP"), rasa)) == []
    assert texts(await channel.answer(inbound("hi", "SM2"), rasa)) == []
    assert texts(await channel.answer(inbound("START", "SM3", OptOutType="START"), rasa)) == []
    await channel.answer(inbound("hi", "SM4"), rasa)
    assert [m.text for m in rasa.received] == ["hi"]


def test_the_opt_out_store_keeps_only_the_keyed_hash(settings, tmp_path):
    store = OptOutStore(settings.database_url)
    key = sms.number_key("secret", NUMBER)
    assert store.opt_out(key) and not store.opt_out(key)
    assert store.state(key).opted_out and store.state(key).conversation == 1
    assert store.opt_in(key) and not store.opt_in(key)
    store.close()
    raw = (tmp_path / "haven.db").read_bytes()
    assert NUMBER.encode() not in raw and b"8185550134" not in raw


@pytest.mark.asyncio
async def test_a_retried_message_sid_gets_the_first_reply_and_waits_for_it():
    memory = ReplyMemory()
    first, is_new = memory.claim("SM1")
    waiting, again = memory.claim("SM1")
    assert is_new and not again and waiting is first
    task = asyncio.ensure_future(asyncio.shield(waiting))
    await asyncio.sleep(0)
    assert not task.done()  # the retry waits while the first is being processed
    first.set_result("<Response/>")
    assert await task == "<Response/>"
    memory.forget("SM1")
    assert memory.claim("SM1")[1]  # a failed delivery is processed afresh


@pytest.mark.asyncio
async def test_the_reply_memory_is_bounded_and_expires():
    now = [0.0]
    memory = ReplyMemory(max_entries=3, ttl_s=60, clock=lambda: now[0])
    for sid in ("SM1", "SM2", "SM3", "SM4"):
        memory.claim(sid)
    assert memory.claim("SM1")[1]  # the oldest made room
    now[0] = 61.0
    assert memory.claim("SM4")[1]  # expired


@pytest.mark.asyncio
async def test_a_picture_without_words_is_asked_for_words_and_does_not_reach_rasa(settings):
    channel, rasa = TwilioSmsInput(settings), Rasa()
    (reply,) = texts(await channel.answer(inbound("", NumMedia="1"), rasa))
    assert "type" in reply and "988" in reply
    assert rasa.received == []


@pytest.mark.asyncio
async def test_a_risk_message_from_an_opted_out_number_still_reaches_the_assistant_but_gets_no_reply(settings):
    channel, rasa = TwilioSmsInput(settings), Rasa()
    await channel.answer(inbound("STOP", "SM1"), rasa)
    assert texts(await channel.answer(inbound("what are your hours", "SM2"), rasa)) == []
    assert rasa.received == []  # an ordinary message is not processed while opted out
    assert texts(await channel.answer(inbound("i want to kill myself", "SM3"), rasa)) == []  # still no reply
    (message,) = rasa.received  # but it reached the assistant: the crisis rules alert staff with the number
    assert message.metadata[sms.PHONE_METADATA_KEY] == NUMBER
    # After START the person begins afresh, not inside the episode that silent message opened; and the
    # confirmation names 988, since they never saw the crisis reply.
    (welcome,) = texts(await channel.answer(inbound("START", "SM4"), rasa))
    assert "988" in welcome
    await channel.answer(inbound("hi", "SM5"), rasa)
    assert rasa.received[-1].sender_id != message.sender_id


@pytest.mark.asyncio
async def test_unstop_from_a_subscribed_number_is_confirmed_and_not_taken_as_an_answer(settings):
    channel, rasa = TwilioSmsInput(settings), Rasa()
    await channel.answer(inbound("hi", "SM1"), rasa)
    (confirmation,) = texts(await channel.answer(inbound("UNSTOP", "SM2"), rasa))
    assert "subscribed" in confirmation and len(rasa.received) == 1


@pytest.mark.asyncio
async def test_a_plain_request_to_stop_texting_opts_the_number_out(settings):
    channel, rasa = TwilioSmsInput(settings), Rasa()
    (confirmation,) = texts(await channel.answer(inbound("please stop texting me", "SM1"), rasa))
    assert "unsubscribed" in confirmation
    assert texts(await channel.answer(inbound("hello", "SM2"), rasa)) == [] and rasa.received == []


def test_sms_off_by_default_is_a_note_and_half_configured_is_an_error(settings, monkeypatch, caplog):
    monkeypatch.delenv("TWILIO_AUTH_TOKEN")
    monkeypatch.delenv("PUBLIC_URL")
    with caplog.at_level(logging.INFO, logger="rasa_ext.sms"):
        TwilioSmsInput(load_settings())
    assert [r.levelno for r in caplog.records if "SMS channel off" in r.message] == [logging.INFO]
    caplog.clear()
    monkeypatch.setenv("PUBLIC_URL", PUBLIC)  # a URL for Twilio, but no token to check its signatures
    with caplog.at_level(logging.INFO, logger="rasa_ext.sms"):
        TwilioSmsInput(load_settings())
    assert [r.levelno for r in caplog.records if "SMS channel off" in r.message] == [logging.ERROR]
