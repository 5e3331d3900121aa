"""Send staff notifications: plan them from the outbox, send by email (SMTP) and SMS (Twilio), retry, go dead.

Runs inside the deliverer process (`python -m services.deliverer`) beside the handoff delivery, so on-call staff
are told of a crisis alert whether or not the staff inbox or HANDOFF_URL is up. Two steps, both durable
(bot/handoff/notification_store.py):

1. plan: every crisis alert (and, with NOTIFY_LEADS, every lead and call-back request) in the outbox gets one
   notification per recipient, once;
2. send: due notifications, crisis first, with the same backoff style as the handoff (crisis capped at 30 s),
   each sent until the server takes it, dead after HANDOFF_DEAD_AFTER_S (kept and counted for staff).

Log lines carry the notification id, the event type, the channel and a short hash of the recipient; never an
address, a number, a server's reply text or anything from the event.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate
from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional, Protocol

import aiohttp

from bot.handoff.events import CRISIS_ALERT
from bot.handoff.notification_store import NOTIFIABLE_TYPES, NotificationItem, NotificationStore
from bot.handoff.notifications import (
    EMAIL,
    SMS,
    NotificationConfig,
    NotificationText,
    SmtpConfig,
    TwilioConfig,
    item_link,
    message_id,
    notification_text,
    plan,
    recipient_tag,
)
from services.retry_worker import RETENTION_INTERVAL_S, RetryWorker, retry_settings, run_periodic, wait_for_stop
from services.retry_worker import utcnow as _utcnow

if TYPE_CHECKING:
    from bot.settings import Settings

logger = logging.getLogger("services.notifications")

USER_AGENT = "haven-prescreen/1"
PLAN_BATCH_SIZE = 50
# Every type that can ever be notified is planned, also while it is not notified (a plan with no
# notifications): turning NOTIFY_LEADS or a channel on later does not send staff a week of old items.
PLANNED_TYPES = NOTIFIABLE_TYPES


@dataclass(frozen=True)
class SendResult:
    """None error = the server took it. `unreachable` = the rest of this channel's batch would fail the same
    way (server down, wrong credentials), so it waits instead of spending a timeout each."""

    error: Optional[str] = None
    unreachable: bool = False
    provider_id: Optional[str] = None


class Sender(Protocol):
    async def send(self, item: NotificationItem, text: NotificationText) -> SendResult: ...

    async def close(self) -> None: ...


# --- email ---------------------------------------------------------------------------------------------------


def email_message(config: SmtpConfig, item: NotificationItem, text: NotificationText) -> EmailMessage:
    """One email to one recipient (staff never see each other's addresses), Message-ID from the notification id."""
    message = EmailMessage()
    message["From"] = config.sender
    message["To"] = item.recipient
    message["Subject"] = text.subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = message_id(item.id, config.sender)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies back to us
    message["X-Auto-Response-Suppress"] = "All"
    if item.event_type == CRISIS_ALERT:
        message["Importance"] = "high"
        message["X-Priority"] = "1"
    message.set_content(text.body)
    return message


class SmtpSender:
    """smtplib in a worker thread, a new connection per message (a few a day; nothing to keep open)."""

    def __init__(self, config: SmtpConfig, timeout_s: float) -> None:
        self.config = config
        self.timeout_s = timeout_s

    async def send(self, item: NotificationItem, text: NotificationText) -> SendResult:
        return await asyncio.to_thread(self._send, email_message(self.config, item, text))

    async def close(self) -> None:
        return None

    def _connect(self) -> smtplib.SMTP:
        config = self.config
        if config.ssl:
            return smtplib.SMTP_SSL(
                config.host, config.port, timeout=self.timeout_s, context=ssl.create_default_context()
            )
        return smtplib.SMTP(config.host, config.port, timeout=self.timeout_s)

    def _send(self, message: EmailMessage) -> SendResult:
        config = self.config
        try:
            with self._connect() as smtp:
                if config.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if config.username:
                    smtp.login(config.username, config.password)
                smtp.send_message(message, from_addr=config.sender, to_addrs=[str(message["To"])])
            return SendResult()
        # smtplib's exceptions are OSErrors: the specific ones first. Codes only, never the server's text.
        except smtplib.SMTPAuthenticationError as exc:
            return SendResult(f"SMTP login refused ({exc.smtp_code})", unreachable=True)
        except smtplib.SMTPNotSupportedError:
            return SendResult("SMTP server does not offer STARTTLS or AUTH", unreachable=True)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = sorted({code for code, _text in exc.recipients.values()})
            return SendResult("SMTP recipient refused (" + ",".join(str(c) for c in codes) + ")")
        except smtplib.SMTPSenderRefused as exc:
            return SendResult(f"SMTP sender refused ({exc.smtp_code})", unreachable=True)
        except smtplib.SMTPResponseException as exc:
            return SendResult(f"SMTP {exc.smtp_code}", unreachable=exc.smtp_code in (421, 454))
        except smtplib.SMTPServerDisconnected:
            return SendResult("connection error: SMTPServerDisconnected", unreachable=True)
        except ssl.SSLError as exc:
            return SendResult(f"TLS error: {type(exc).__name__}", unreachable=True)
        except TimeoutError:
            return SendResult(f"timeout after {self.timeout_s:g}s", unreachable=True)
        except smtplib.SMTPException as exc:
            return SendResult(f"SMTP error: {type(exc).__name__}")
        except OSError as exc:
            return SendResult(f"connection error: {type(exc).__name__}", unreachable=True)


# --- SMS -----------------------------------------------------------------------------------------------------


def twilio_form(config: TwilioConfig, item: NotificationItem, text: NotificationText) -> dict[str, str]:
    """The Messages API's form fields: To, Body, and From (a number) or MessagingServiceSid (MG...)."""
    sender_field = "MessagingServiceSid" if config.sender.startswith("MG") else "From"
    return {"To": item.recipient, sender_field: config.sender, "Body": text.sms}


class TwilioSender:
    """POST {TWILIO_API_BASE}/2010-04-01/Accounts/{sid}/Messages.json with basic auth (sid, auth token)."""

    def __init__(self, config: TwilioConfig, timeout_s: float) -> None:
        self.config = config
        self.timeout_s = timeout_s
        self._session: Optional[aiohttp.ClientSession] = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout_s),
                headers={"User-Agent": USER_AGENT},
                auth=aiohttp.BasicAuth(self.config.account_sid, self.config.auth_token),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def send(self, item: NotificationItem, text: NotificationText) -> SendResult:
        form = twilio_form(self.config, item, text)
        try:
            async with self._client().post(self.config.messages_url, data=form, allow_redirects=False) as response:
                payload = await _json_or_none(response)
                if 200 <= response.status < 300:
                    sid = payload.get("sid") if isinstance(payload, dict) else None
                    return SendResult(provider_id=sid if isinstance(sid, str) else None)
                # Twilio's numeric error code helps (21211: bad To number); its message text may hold the number.
                code = payload.get("code") if isinstance(payload, dict) else None
                error = f"HTTP {response.status}" + (f" (Twilio code {code})" if isinstance(code, int) else "")
                # Wrong credentials, rate limits and outages would fail the rest of the batch the same way.
                unreachable = response.status in (401, 403, 429) or response.status >= 500
                return SendResult(error, unreachable=unreachable)
        except asyncio.TimeoutError:
            return SendResult(f"timeout after {self.timeout_s:g}s", unreachable=True)
        except (aiohttp.ClientError, OSError) as exc:
            return SendResult(f"connection error: {type(exc).__name__}", unreachable=True)


async def _json_or_none(response: aiohttp.ClientResponse) -> object:
    try:
        return await response.json(content_type=None)
    except (ValueError, aiohttp.ClientError):
        return None


# --- the loop ------------------------------------------------------------------------------------------------


def senders_for(config: NotificationConfig, timeout_s: float) -> dict[str, Sender]:
    senders: dict[str, Sender] = {}
    if config.email is not None:
        senders[EMAIL] = SmtpSender(config.email, timeout_s)
    if config.sms is not None:
        senders[SMS] = TwilioSender(config.sms, timeout_s)
    return senders


class Notifier(RetryWorker):
    @classmethod
    def from_settings(cls, store: NotificationStore, config: NotificationConfig, settings: Settings) -> Notifier:
        return cls(store, config, senders_for(config, settings.handoff_timeout_s), **retry_settings(settings))

    def __init__(
        self,
        store: NotificationStore,
        config: NotificationConfig,
        senders: Mapping[str, Sender],
        **timing: Any,
    ) -> None:
        """`timing`: RetryWorker's keyword arguments (timeout_s and dead_after_s, the rest have defaults)."""
        super().__init__(**timing)
        self.store = store
        self.config = config
        self.senders = dict(senders)

    def _planner(self, event_id: str, event_type: str) -> list:
        return plan(event_id, event_type, self.config)

    async def plan_once(self) -> int:
        """Plan the outbox's new events; returns how many notifications were made."""
        return await asyncio.to_thread(self.store.plan_new, PLANNED_TYPES, self._planner, PLAN_BATCH_SIZE)

    async def send_once(self, stop: Optional[asyncio.Event] = None) -> int:
        """Claim one batch of due notifications and try each; returns how many went out."""
        items = await asyncio.to_thread(self.store.claim_due, self._clock(), self.batch_size, self.lease_s)
        sent = 0
        waiting: dict[str, datetime] = {}  # channel -> when its server is tried again (unreachable this batch)
        for index, item in enumerate(items):
            if stop is not None and stop.is_set():
                await asyncio.to_thread(self.store.release, [i.id for i in items[index:]], self._clock())
                break
            if item.channel in waiting:
                await asyncio.to_thread(self.store.release, [item.id], waiting[item.channel])
                continue
            result = await self._send_one(item)
            if result.error is None:
                sent += 1
            elif result.unreachable:
                waiting[item.channel] = self._clock() + timedelta(seconds=self._delay(item))
        return sent

    async def run_once(self) -> int:
        await self.plan_once()
        return await self.send_once()

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Plan and send until `stop` is set; a send in flight is finished first. Never raises on send errors."""

        async def step() -> int:
            await self.plan_once()
            return await self.send_once(stop)

        try:
            await self.run_loop(stop, step, lambda pause: wait_for_stop(stop, pause), logger, "notification")
        finally:
            await self.close()

    async def close(self) -> None:
        """Close the senders' connections (run_forever does it when it stops)."""
        for sender in self.senders.values():
            await sender.close()

    def _delay(self, item: NotificationItem) -> float:
        return self.retry_delay(item.attempts, item.event_type == CRISIS_ALERT)

    async def _send_one(self, item: NotificationItem) -> SendResult:
        sender = self.senders.get(item.channel)
        if sender is None:  # planned while this channel was on; it is off now (settings changed)
            result = SendResult(f"{item.channel} notifications are off in this deliverer's settings")
        else:
            text = notification_text(
                item.event_type, item_link(self.config.inbox_public_url, item.event_type, item.event_id)
            )
            result = await sender.send(item, text)
        now = self._clock()
        who = recipient_tag(item.recipient)
        if result.error is None:
            await asyncio.to_thread(self.store.mark_sent, item.id, now, result.provider_id)
            logger.info(
                "notification sent id=%s type=%s channel=%s to=%s attempt=%d",
                item.id,
                item.event_type,
                item.channel,
                who,
                item.attempts + 1,
            )
            return result
        retry_at = self.retry_at(now, item.created_at, item.attempts, item.event_type == CRISIS_ALERT)
        if retry_at is None:
            await asyncio.to_thread(self.store.mark_dead, item.id, result.error)
            logger.error(
                "notification dead after %d attempts id=%s type=%s channel=%s to=%s last_error=%s",
                item.attempts + 1,
                item.id,
                item.event_type,
                item.channel,
                who,
                result.error,
            )
        else:
            await asyncio.to_thread(self.store.mark_failed, item.id, result.error, retry_at)
            logger.warning(
                "notification failed id=%s type=%s channel=%s to=%s attempt=%d error=%s",
                item.id,
                item.event_type,
                item.channel,
                who,
                item.attempts + 1,
                result.error,
            )
        return result


# --- retention -----------------------------------------------------------------------------------------------


async def run_retention(
    store: NotificationStore,
    retention_days: float,
    stop: asyncio.Event,
    interval_s: float = RETENTION_INTERVAL_S,
    clock: Callable[[], datetime] = _utcnow,
) -> None:
    """Purge sent notifications (and spent plan records) older than `retention_days`, now and every
    `interval_s`, like the outbox's own retention. Pending and dead ones stay."""
    await run_periodic(
        lambda: store.purge(clock() - timedelta(days=retention_days)),
        stop,
        interval_s,
        logger,
        "retention: removed %d notification records",
        "notification retention purge failed (%s)",
    )


def describe(config: NotificationConfig) -> str:
    """The start-up line when notifications are on: channels and how many recipients, never who."""
    parts = []
    if config.email is not None:
        parts.append(f"email to {len(config.email.recipients)}")
    if config.sms is not None:
        parts.append(f"SMS to {len(config.sms.recipients)}")
    kinds = "crisis alerts and leads" if config.notify_leads else "crisis alerts"
    return f"staff notifications on for {kinds}: " + ", ".join(parts) + " recipient(s)"
