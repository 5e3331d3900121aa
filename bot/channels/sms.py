"""SMS through Twilio, the pure parts: the webhook's form, keywords, conversation ids, and replies as TwiML.

rasa_ext/sms.py does the I/O (signature check, opt-out store, Rasa). Here: what a Twilio messaging webhook
carries, which carrier keywords it is, the keyed-hash ids that keep the phone number out of conversation ids
and logs, and how the bot's messages become SMS (buttons as a numbered list, at most 1600 characters each,
in the order the bot sent them, so the crisis reply stays first in its turn).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from bot.channels.guard import MAX_BODY_BYTES, InvalidRequest, clean_text, neutralise_payload
from bot.screening.answers import titles_are_numbers  # one rule for how options are shown and parsed

# Twilio concatenates a longer text into segments and refuses a body over 1600 characters.
MAX_SMS_CHARS = 1600
CHANNEL_NAME = "sms"  # the input channel's name: the events' `channel`, the URL /webhooks/sms/webhook
# The number that texted travels to the actions only in the message's metadata, under this key (the
# conversation id is a keyed hash of it); actions/state.py trusts it on this channel only.
PHONE_METADATA_KEY = "phone"
SENDER_PREFIX = "sms:"
SENDER_KEY_FILE = "sms_sender_key"  # the HMAC key, under DATA_DIR (bot.settings.generated_secret)

# Carrier keywords (CTIA; the same words Twilio's own opt-out handling uses).
OPT_OUT = "opt_out"
OPT_IN = "opt_in"
HELP = "help"
_OPT_OUT_WORDS = frozenset(
    # The carriers' keywords, and the FCC's (2025 TCPA revocation rule: "revoke", "opt out" count too).
    {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout", "opt out", "opt-out"}
)
# A whole message that plainly asks us to stop texting is an opt-out too ("please stop texting me").
_OPT_OUT_SENTENCE = re.compile(
    r"^(please )?((stop|quit) (texting|messaging|sending messages to) me|(don'?t|do not) (text|message) me"
    r"( again| anymore| any more)?)( please)?$"
)
# YES opts back in only while opted out; otherwise it is an answer like any other.
_OPT_IN_WORDS = frozenset({"start", "unstop", "yes"})
_HELP_WORDS = frozenset({"help"})
# Twilio's Advanced Opt-Out already answered these; the webhook then carries OptOutType.
_OPT_OUT_TYPES = {"STOP": OPT_OUT, "START": OPT_IN, "HELP": HELP}

_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
_MESSAGE_SID = re.compile(r"^[A-Za-z]{2}[A-Za-z0-9]{1,62}$")
# Characters XML 1.0 cannot carry at all (escaping does not help): dropped from replies.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class SmsRequest:
    """One inbound text, as the channel needs it. `phone` is personal: never log it."""

    phone: str  # E.164, from Twilio's From
    text: str  # cleaned like every channel's text; "" for a picture without words
    message_sid: str
    opt_out_type: Optional[str] = None  # OPT_OUT / OPT_IN / HELP when Twilio's own opt-out handling answered


def parse_form(raw: bytes) -> Dict[str, List[str]]:
    """The webhook's form fields (application/x-www-form-urlencoded), every value kept for the signature."""
    if len(raw) > MAX_BODY_BYTES:
        raise InvalidRequest("request body too large")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRequest("body is not UTF-8 form data") from None
    return parse_qs(text, keep_blank_values=True)


def _one(form: Mapping[str, Sequence[str]], name: str) -> Optional[str]:
    values = form.get(name) or []
    return values[0] if len(values) == 1 else None


def sms_request(form: Mapping[str, Sequence[str]], *, max_chars: int) -> SmsRequest:
    """Check a (signed) webhook's fields: an E.164 From, a MessageSid, a Body within bounds."""
    phone = _one(form, "From")
    if phone is None or not _E164.match(phone):
        raise InvalidRequest("'From' must be one phone number in E.164 form")
    sid = _one(form, "MessageSid") or _one(form, "SmsSid")
    if sid is None or not _MESSAGE_SID.match(sid):
        raise InvalidRequest("'MessageSid' is missing or malformed")
    body = _one(form, "Body")
    if body is None:
        body = ""
    if len(body) > max_chars:
        raise InvalidRequest(f"'Body' is too long (at most {max_chars} characters)")
    opt_out_type = _OPT_OUT_TYPES.get((_one(form, "OptOutType") or "").strip().upper())
    return SmsRequest(
        phone=phone, text=neutralise_payload(clean_text(body)), message_sid=sid, opt_out_type=opt_out_type
    )


def keyword(text: str) -> Optional[str]:
    """OPT_OUT, OPT_IN or HELP when the whole text is one carrier keyword ("Stop", " STOP! "), else None."""
    word = " ".join(text.strip().strip(".!?").strip().casefold().replace("’", "'").split())
    if word in _OPT_OUT_WORDS or _OPT_OUT_SENTENCE.match(word):
        return OPT_OUT
    if word in _OPT_IN_WORDS:
        return OPT_IN
    if word in _HELP_WORDS:
        return HELP
    return None


def refusal(*, auth_token: str, public_url: str, allow_unsigned: bool) -> Optional[str]:
    """Why the SMS channel must not start (one line), or None when it may."""
    if auth_token:
        if not public_url.startswith(("https://", "http://")):
            return "PUBLIC_URL must be set to the URL Twilio calls (e.g. https://haven.example.org)"
        return None
    if allow_unsigned:
        return None
    return "TWILIO_AUTH_TOKEN is not set (SMS_ALLOW_UNSIGNED=true skips the signature check, for development only)"


def signed_url(public_url: str, path: str, query_string: str = "") -> str:
    """The URL Twilio signed: our public address (not the one a proxy forwarded to) and the path called."""
    return public_url.rstrip("/") + path + (f"?{query_string}" if query_string else "")


def _keyed_hash(secret: str, text: str) -> str:
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


def number_key(secret: str, phone: str) -> str:
    """What the opt-out store keeps instead of the number."""
    return _keyed_hash(secret, f"number:{phone}")


def sender_id(secret: str, phone: str, conversation: int = 0) -> str:
    """The conversation id for a number: a keyed hash (no number in it), under a prefix REST cannot claim.

    `conversation` counts the opt-outs: STOP ends the conversation, so after START a new one begins.
    """
    return SENDER_PREFIX + _keyed_hash(secret, f"conversation:{phone}:{conversation}")[:40]


# --- replies -----------------------------------------------------------------------------------------------


def options_line(titles: Sequence[str]) -> str:
    """Buttons as words to type: "Reply 1 for Yes or 2 for No." (answers.py accepts the number or the words).

    Options that are numbers themselves ("0", "1", "2 or more") are listed as they are, since there the
    number is the answer (bot.screening.answers.titles_are_numbers).
    """
    titles = [t for t in (" ".join(str(t).split()) for t in titles) if t]
    if not titles:
        return ""
    numbered = [t if titles_are_numbers(titles) else f"{i} for {t}" for i, t in enumerate(titles, 1)]
    if len(numbered) == 1:
        listed = numbered[0]
    else:
        listed = ", ".join(numbered[:-1]) + f"{',' if len(numbered) > 2 else ''} or {numbered[-1]}"
    return f"Reply {listed}."


def render_message(message: Mapping[str, Any]) -> str:
    """One bot message (Rasa's collected dict) as SMS text: its text, then its buttons as a numbered list."""
    text = str(message.get("text") or "").strip()
    buttons = message.get("buttons") or []
    titles = [str(b.get("title") or "") for b in buttons if isinstance(b, Mapping)]
    line = options_line(titles)
    return f"{text}\n{line}".strip() if line else text


def split_text(text: str, limit: int = MAX_SMS_CHARS) -> List[str]:
    """`text` in pieces of at most `limit` characters, cut at a line, a sentence or a word where possible."""
    text = text.strip()
    pieces: List[str] = []
    while len(text) > limit:
        window = text[: limit + 1]
        cut = max(window.rfind("\n"), window.rfind(". ") + 1, window.rfind("? ") + 1, window.rfind("! ") + 1)
        if cut <= limit // 3:
            cut = window.rfind(" ")
        if cut <= 0:
            cut = limit
        pieces.append(text[:cut].strip())
        text = text[cut:].strip()
    if text:
        pieces.append(text)
    return pieces


def pack(texts: Sequence[str], limit: int = MAX_SMS_CHARS) -> List[str]:
    """The turn's texts as few SMS as fit, in their order (the first text starts the first SMS)."""
    packed: List[str] = []
    for text in texts:
        for piece in split_text(text, limit):
            if packed and len(packed[-1]) + 2 + len(piece) <= limit:
                packed[-1] = f"{packed[-1]}\n\n{piece}"
            else:
                packed.append(piece)
    return packed


def sms_replies(messages: Sequence[Mapping[str, Any]], limit: int = MAX_SMS_CHARS) -> List[str]:
    return pack([t for t in (render_message(m) for m in messages) if t], limit)


def twiml(replies: Sequence[str]) -> str:
    """A TwiML messaging response; no replies is an empty <Response/> (Twilio then sends nothing)."""
    head = '<?xml version="1.0" encoding="UTF-8"?>'
    if not replies:
        return f"{head}<Response/>"
    body = "".join(f"<Message>{escape(_NOT_XML.sub('', reply))}</Message>" for reply in replies)
    return f"{head}<Response>{body}</Response>"


# --- keyword replies (carrier rules: who is texting, how to stop, that rates may apply) ----------------------


def help_reply(clinic_name: str, clinic_phone: str) -> str:
    return (
        f"{clinic_name}: pre-screening questions by text. Call us at {clinic_phone}. "
        "Reply STOP to opt out. Msg & data rates may apply. "
        "If you are thinking about hurting yourself, call or text 988. In danger, call 911."
    )


def opt_out_reply(clinic_name: str) -> str:
    return (
        f"You are unsubscribed from {clinic_name} texts and will get no more messages. Reply START to "
        "subscribe again. If you need help now, call or text 988."
    )


def opt_in_reply(clinic_name: str) -> str:
    return (
        f"You are subscribed again to {clinic_name} texts. Send any message to begin. Reply HELP for help, "
        "STOP to opt out. Msg & data rates may apply. If you need help now, call or text 988."
    )


def non_text_reply() -> str:
    return "I can only read words. Please type your answer. If you are in danger, call 911, or call or text 988."
