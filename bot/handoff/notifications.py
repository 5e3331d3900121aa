"""Staff notifications (pure): who is told of which event, over which channel, in which words, under which id.

A notification tells on-call staff that something is waiting in the staff app and links to it. It carries no
health information and nothing that identifies the visitor (no name, phone, email, message text, categories,
answers or scores): email and SMS pass through mail servers, phones and lock screens that are not ours. The
item itself, behind the staff sign-in, has the rest. So the text depends only on the event's type and id.

The sending lives in services/notifications.py; the durable rows in bot/handoff/notification_store.py.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional
from urllib.parse import quote, urlsplit

from bot.handoff.events import CALLBACK_REQUESTED, CRISIS_ALERT, EVENT_ID_NAMESPACE, LEAD_CREATED

if TYPE_CHECKING:
    from bot.settings import Settings

EMAIL = "email"
SMS = "sms"
CHANNELS = (EMAIL, SMS)

LEAD_EVENT_TYPES = (LEAD_CREATED, CALLBACK_REQUESTED)
DEFAULT_TWILIO_API_BASE = "https://api.twilio.com"
PRODUCT_NAME = "Haven Pre-Screen"

# E.164: a plus, a country code that does not start with 0, at most 15 digits in all.
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
# Deliberately plain: one @, no spaces, commas or angle brackets, a dot in the domain. It only catches typos;
# the mail server decides the rest.
_EMAIL = re.compile(r"^[^@\s,<>]+@[^@\s,<>]+\.[^@\s,<>]+$")
# A Twilio Account SID (AC...) and a Messaging Service SID (MG...): 34 characters.
_ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
_MESSAGING_SERVICE_SID = re.compile(r"^MG[0-9a-fA-F]{32}$")

# What each event type is called in the message; only these types are ever notified.
_ITEM_WORDS = {
    CRISIS_ALERT: "crisis alert",
    LEAD_CREATED: "lead",
    CALLBACK_REQUESTED: "call-back request",
}


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    username: str
    password: str
    starttls: bool
    ssl: bool
    sender: str  # the From address
    recipients: tuple[str, ...]


@dataclass(frozen=True)
class TwilioConfig:
    api_base: str
    account_sid: str
    auth_token: str
    sender: str  # an E.164 number (From) or a Messaging Service SID (MG...)
    recipients: tuple[str, ...]

    @property
    def messages_url(self) -> str:
        return f"{self.api_base}/2010-04-01/Accounts/{quote(self.account_sid, safe='')}/Messages.json"


@dataclass(frozen=True)
class NotificationConfig:
    email: Optional[SmtpConfig]
    sms: Optional[TwilioConfig]
    notify_leads: bool
    inbox_public_url: str

    @property
    def enabled(self) -> bool:
        return self.email is not None or self.sms is not None

    @property
    def event_types(self) -> tuple[str, ...]:
        """The event types staff are told of: every crisis alert, and leads when NOTIFY_LEADS is on."""
        return (CRISIS_ALERT, *LEAD_EVENT_TYPES) if self.notify_leads else (CRISIS_ALERT,)


@dataclass(frozen=True)
class NotificationSetup:
    """The usable configuration, and one line per half-configured channel (that channel stays off)."""

    config: NotificationConfig
    errors: tuple[str, ...]


@dataclass(frozen=True)
class PlannedNotification:
    id: str
    event_id: str
    event_type: str
    channel: str
    recipient: str


@dataclass(frozen=True)
class NotificationText:
    subject: str
    body: str  # the email's plain-text body
    sms: str  # one line; short, so that with a link of up to about 90 characters it fits one SMS (160)


def split_list(raw: str) -> tuple[str, ...]:
    """A comma list as typed in .env: spaces around items and empty items are ignored, duplicates dropped."""
    seen: list[str] = []
    for item in raw.split(","):
        item = item.strip()
        if item and item not in seen:
            seen.append(item)
    return tuple(seen)


def is_e164(number: str) -> bool:
    return bool(_E164.match(number))


def is_email_address(address: str) -> bool:
    return bool(_EMAIL.match(address))


def _is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _email_config(settings: Settings) -> tuple[Optional[SmtpConfig], list[str]]:
    recipients = split_list(settings.alert_email_to)
    named = [
        name
        for name, value in (
            ("SMTP_HOST", settings.smtp_host),
            ("ALERT_EMAIL_FROM", settings.alert_email_from),
            ("ALERT_EMAIL_TO", settings.alert_email_to),
        )
        if value.strip()
    ]
    if not named:
        return None, []
    problems = [
        f"{name} is empty"
        for name, value in (
            ("SMTP_HOST", settings.smtp_host),
            ("ALERT_EMAIL_FROM", settings.alert_email_from),
            ("ALERT_EMAIL_TO", settings.alert_email_to),
        )
        if not value.strip()
    ]
    if settings.alert_email_from and not is_email_address(settings.alert_email_from):
        problems.append("ALERT_EMAIL_FROM is not an email address")
    bad = sum(1 for address in recipients if not is_email_address(address))
    if bad:
        problems.append(f"ALERT_EMAIL_TO has {bad} entr{'y' if bad == 1 else 'ies'} that are not email addresses")
    if bool(settings.smtp_username) != bool(settings.smtp_password):
        problems.append("SMTP_USERNAME and SMTP_PASSWORD must be set together")
    # SMTP_SSL (implicit TLS, port 465) wins over STARTTLS, which is on by default.
    starttls = settings.smtp_starttls and not settings.smtp_ssl
    encrypted = starttls or settings.smtp_ssl
    if settings.smtp_username and not encrypted and not _is_loopback_host(settings.smtp_host):
        problems.append("SMTP_USERNAME needs SMTP_STARTTLS or SMTP_SSL (the password would cross the network)")
    if settings.smtp_port < 0 or settings.smtp_port > 65535:
        problems.append("SMTP_PORT must be between 1 and 65535")
    if problems:
        return None, ["email notifications off: " + "; ".join(problems)]
    port = settings.smtp_port or (465 if settings.smtp_ssl else 587 if starttls else 25)
    return (
        SmtpConfig(
            host=settings.smtp_host,
            port=port,
            username=settings.smtp_username,
            password=settings.smtp_password,
            starttls=starttls,
            ssl=settings.smtp_ssl,
            sender=settings.alert_email_from,
            recipients=recipients,
        ),
        [],
    )


def _sms_config(settings: Settings) -> tuple[Optional[TwilioConfig], list[str]]:
    recipients = split_list(settings.alert_sms_to)
    if not (recipients or settings.alert_sms_from or settings.twilio_account_sid):
        return None, []  # TWILIO_AUTH_TOKEN alone is the SMS channel's, not a wish for notifications
    problems = [
        f"{name} is empty"
        for name, value in (
            ("ALERT_SMS_TO", settings.alert_sms_to),
            ("ALERT_SMS_FROM", settings.alert_sms_from),
            ("TWILIO_ACCOUNT_SID", settings.twilio_account_sid),
            ("TWILIO_AUTH_TOKEN", settings.twilio_auth_token),
        )
        if not value.strip()
    ]
    bad = sum(1 for number in recipients if not is_e164(number))
    if bad:
        problems.append(f"ALERT_SMS_TO has {bad} entr{'y' if bad == 1 else 'ies'} not in E.164 form (+18185550134)")
    sender = settings.alert_sms_from
    if sender and not (is_e164(sender) or _MESSAGING_SERVICE_SID.match(sender)):
        problems.append("ALERT_SMS_FROM must be an E.164 number or a Messaging Service SID (MG...)")
    if settings.twilio_account_sid and not _ACCOUNT_SID.match(settings.twilio_account_sid):
        problems.append("TWILIO_ACCOUNT_SID must look like AC followed by 32 hex digits")
    api_base = (settings.twilio_api_base or DEFAULT_TWILIO_API_BASE).rstrip("/")
    if urlsplit(api_base).scheme not in ("http", "https") or not urlsplit(api_base).netloc:
        problems.append("TWILIO_API_BASE must be an http(s) URL")
    if problems:
        return None, ["SMS notifications off: " + "; ".join(problems)]
    return (
        TwilioConfig(
            api_base=api_base,
            account_sid=settings.twilio_account_sid,
            auth_token=settings.twilio_auth_token,
            sender=sender,
            recipients=recipients,
        ),
        [],
    )


def notification_setup(settings: Settings) -> NotificationSetup:
    """The notification settings checked. A half-configured channel is off with a one-line reason (an error for
    the log, naming settings, never their values); the other channel still works."""
    email, email_errors = _email_config(settings)
    sms, sms_errors = _sms_config(settings)
    errors = email_errors + sms_errors
    default_base = f"http://127.0.0.1:{settings.inbox_port}"
    link_base = (settings.inbox_public_url or default_base).rstrip("/")
    parts = urlsplit(link_base)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        errors.append(f"INBOX_PUBLIC_URL must be an http(s) URL; links use {default_base}")
        link_base = default_base
    config = NotificationConfig(email=email, sms=sms, notify_leads=settings.notify_leads, inbox_public_url=link_base)
    return NotificationSetup(config=config, errors=tuple(errors))


def off_reason(config: NotificationConfig) -> Optional[str]:
    """The start-up note when no channel is on (None when one is): information, not an error."""
    if config.enabled:
        return None
    return (
        "staff notifications are off (set SMTP_HOST, ALERT_EMAIL_FROM and ALERT_EMAIL_TO, and/or ALERT_SMS_TO; "
        "see docs/notifications.md)"
    )


def notification_id(event_id: str, channel: str, recipient: str) -> str:
    """The same event, channel and recipient always give the same id: the row's key (one notification each) and
    the email's Message-ID."""
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, f"notification\x1f{event_id}\x1f{channel}\x1f{recipient}"))


def plan(event_id: str, event_type: str, config: NotificationConfig) -> list[PlannedNotification]:
    """Every notification one event needs: one per recipient of each channel that is on (none for a type
    staff are not told of)."""
    if event_type not in config.event_types:
        return []
    targets: list[tuple[str, str]] = []
    if config.email is not None:
        targets += [(EMAIL, address) for address in config.email.recipients]
    if config.sms is not None:
        targets += [(SMS, number) for number in config.sms.recipients]
    return [
        PlannedNotification(
            id=notification_id(event_id, channel, recipient),
            event_id=event_id,
            event_type=event_type,
            channel=channel,
            recipient=recipient,
        )
        for channel, recipient in targets
    ]


def item_link(inbox_public_url: str, event_type: str, event_id: str) -> str:
    """The item's page in the staff app (services/inbox/app.py: /alerts/{id} and /leads/{id})."""
    kind = "alerts" if event_type == CRISIS_ALERT else "leads"
    return f"{inbox_public_url.rstrip('/')}/{kind}/{quote(event_id, safe='')}"


def notification_text(event_type: str, link: str) -> NotificationText:
    """The words sent: the kind of item and the link, nothing else (no health information, nobody named)."""
    item = _ITEM_WORDS.get(event_type, "item")
    if event_type == CRISIS_ALERT:
        subject = f"{PRODUCT_NAME}: urgent: a new crisis alert"
        body = (
            f"A new crisis alert is waiting for you in the staff app:\n\n{link}\n\n"
            "Please open it now to see who it is and how to reach them.\n"
        )
        sms = f"{PRODUCT_NAME}: urgent: a new crisis alert is in the staff app: {link}"
    else:
        subject = f"{PRODUCT_NAME}: a new {item}"
        body = (
            f"A new {item} is waiting for you in the staff app:\n\n{link}\n\n"
            "Open it to see who it is and how to reach them.\n"
        )
        sms = f"{PRODUCT_NAME}: a new {item} is in the staff app: {link}"
    return NotificationText(subject=subject, body=body, sms=sms)


def message_id(notification_id_: str, sender: str) -> str:
    """An RFC 5322 Message-ID from the notification's id: a resent email carries the same one, so mail systems
    that deduplicate by Message-ID show it once."""
    domain = sender.rsplit("@", 1)[-1] if "@" in sender else "haven-prescreen.invalid"
    return f"<{notification_id_}@{domain}>"


def recipient_tag(recipient: str) -> str:
    """A short hash that tells log lines about different recipients apart without naming anyone."""
    return hashlib.sha256(recipient.encode("utf-8")).hexdigest()[:10]
