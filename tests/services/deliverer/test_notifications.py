"""Staff notifications against a real SMTP server (aiosmtpd) and a loopback stand-in for Twilio's REST API, on
SQLite and PostgreSQL: what is sent, to whom, once; outages and recovery; the dead horizon; leads only on request."""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlsplit

import pytest
import pytest_asyncio
import sqlalchemy as sa

from bot.handoff import events
from bot.handoff.notification_store import NotificationStore, notifications
from bot.handoff.notifications import (
    EMAIL,
    SMS,
    NotificationConfig,
    SmtpConfig,
    TwilioConfig,
    notification_id,
)
from bot.handoff.outbox import Outbox
from services.inbox.store import StoredEvent
from services.inbox.views import event_path
from services.notifications import Notifier, SmtpSender, TwilioSender, senders_for
from tests.handoff_fixtures import make_lead_event, sample_lead
from tests.services.deliverer.notify_servers import TWILIO_SID, TWILIO_TOKEN, SmtpServer, TwilioStandIn

INBOX = "https://staff.haven.example"
STAFF_EMAILS = ("oncall@haven.example", "nurse@haven.example")
STAFF_PHONES = ("+18185550100", "+18185550101")
VISITOR_TEXT = "i have the pills counted out on the table tonight"
VISITOR_NAME = "Rosalind"
VISITOR_PHONE = "+13105550177"
VISITOR_EMAIL = "rosalind.q@example.org"


def stored_notifications(database_url: str) -> list:
    """The notification rows as stored, read-only (no claim, no lease)."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.select(notifications).order_by(notifications.c.id)).fetchall())
    finally:
        engine.dispose()


def crisis_event(n: int, conversation_id: str = "notify-conv", **extra) -> dict:
    event = events.crisis_alert(
        conversation_id=conversation_id,
        channel="rest",
        severity="imminent" if n else "high",
        categories=["suicidal_ideation", "plan"],
        message=VISITOR_TEXT,
        contact={"first_name": VISITOR_NAME, "phone": VISITOR_PHONE, "email": VISITOR_EMAIL},
        event_id=events.stable_event_id(conversation_id, "crisis", n),
    )
    event.update(extra)
    return event


def callback_event(n: int = 0) -> dict:
    return events.callback_requested(
        conversation_id=f"cb-{n}",
        channel="rest",
        lead=sample_lead(),
        event_id=events.stable_event_id(f"cb-{n}", "callback", n),
    )


@pytest.fixture
def stores(database_url):
    outbox = Outbox(database_url)
    store = NotificationStore(database_url)
    yield outbox, store
    store.close()
    outbox.close()


def make_config(smtp: SmtpServer = None, twilio: TwilioStandIn = None, *, notify_leads=False, **smtp_overrides):
    email = None
    if smtp is not None:
        options = dict(
            host="127.0.0.1",
            port=smtp.port,
            username="",
            password="",
            starttls=False,
            ssl=False,
            sender="alerts@haven.example",
            recipients=STAFF_EMAILS,
        )
        options.update(smtp_overrides)
        email = SmtpConfig(**options)
    sms = None
    if twilio is not None:
        sms = TwilioConfig(
            api_base=twilio.base,
            account_sid=TWILIO_SID,
            auth_token=TWILIO_TOKEN,
            sender="+18185550199",
            recipients=STAFF_PHONES,
        )
    return NotificationConfig(email=email, sms=sms, notify_leads=notify_leads, inbox_public_url=INBOX)


OPEN_NOTIFIERS: list = []


@pytest_asyncio.fixture(autouse=True)
async def close_notifiers():
    yield
    while OPEN_NOTIFIERS:
        await OPEN_NOTIFIERS.pop().close()


def make_notifier(store, config, **overrides) -> Notifier:
    options = dict(timeout_s=2.0, dead_after_s=60.0, poll_interval_s=0.05, backoff_base_s=0.05, backoff_cap_s=0.2)
    options.update(overrides)
    notifier = Notifier(store, config, senders_for(config, options["timeout_s"]), **options)
    OPEN_NOTIFIERS.append(notifier)
    return notifier


async def drain(notifier: Notifier, rounds: int = 5) -> None:
    for _ in range(rounds):
        await notifier.run_once()


def assert_no_health_information(text: str) -> None:
    """Nothing from the event but its id: not the visitor's words, name or contact, nor categories or scores.
    (Pass the visible text: an email's headers legitimately say "Importance: high".)"""
    for secret in (VISITOR_TEXT, VISITOR_NAME, VISITOR_PHONE, VISITOR_EMAIL, "Sam", "+18185550123", "sam@example"):
        assert secret not in text
    for word in ("suicid", "plan", "imminent", "high", "pills", "anxiety", "gad", "phq", "score", "qualified"):
        assert word not in text.lower()


def visible_text(mail) -> str:
    return f"{mail.message['Subject']}\n{mail.message.get_content()}"


def assert_raw_mail_has_nothing_of_the_visitor(mail) -> None:
    raw = mail.raw.decode("utf-8", errors="replace")
    for secret in (VISITOR_TEXT, VISITOR_NAME, VISITOR_PHONE, VISITOR_EMAIL, "Sam", "+18185550123", "sam@example"):
        assert secret not in raw


@pytest.mark.asyncio
async def test_a_crisis_alert_reaches_every_recipient_by_email_and_sms_without_health_information(
    stores, smtp_server, twilio
):
    outbox, store = stores
    event = crisis_event(0)
    outbox.enqueue(event)
    notifier = make_notifier(store, make_config(smtp_server, twilio))
    await drain(notifier)

    link = f"{INBOX}/alerts/{event['id']}"
    mails = smtp_server.messages()
    assert sorted(mail.rcpt_tos[0] for mail in mails) == sorted(STAFF_EMAILS)
    for mail in mails:
        assert mail.rcpt_tos == [mail.message["To"]]  # one recipient each: staff never see each other's address
        assert mail.mail_from == "alerts@haven.example"
        assert mail.message["Subject"] == "Haven Pre-Screen: urgent: a new crisis alert"
        assert mail.message["Message-ID"] == f"<{notification_id(event['id'], EMAIL, mail.rcpt_tos[0])}@haven.example>"
        assert mail.message["Auto-Submitted"] == "auto-generated"
        body = mail.message.get_content()
        assert link in body
        assert_no_health_information(visible_text(mail))
        assert_raw_mail_has_nothing_of_the_visitor(mail)

    texts = twilio.messages()
    assert sorted(sms.to for sms in texts) == sorted(STAFF_PHONES)
    for sms in texts:
        assert sms.sender_field == "From" and sms.sender == "+18185550199"
        assert link in sms.body and "\n" not in sms.body and len(sms.body) <= 160  # one SMS segment
        assert_no_health_information(sms.body)
    # The link is the inbox's own route for the item.
    stored = StoredEvent(id=event["id"], type=event["type"], received_at=0.0, created_at="", status="open", body={})
    assert urlsplit(link).path == event_path(stored)

    stats = store.stats()
    assert stats["sent"] == 4 and stats["pending"] == 0 and stats["dead"] == 0
    await drain(notifier)  # nothing is sent twice
    assert len(smtp_server.messages()) == 2 and len(twilio.messages()) == 2


@pytest.mark.asyncio
async def test_every_crisis_alert_of_one_conversation_is_notified_each_rise_its_own(stores, twilio):
    outbox, store = stores
    alerts = [crisis_event(0), crisis_event(1, previous_severity="high", reason="not_safe")]
    for event in alerts:
        outbox.enqueue(event)
    await drain(make_notifier(store, make_config(twilio=twilio)))
    links = sorted(sms.body.rsplit(" ", 1)[-1] for sms in twilio.messages())
    assert links == sorted(f"{INBOX}/alerts/{event['id']}" for event in alerts for _ in STAFF_PHONES)
    assert all("not_safe" not in sms.body for sms in twilio.messages())


@pytest.mark.asyncio
async def test_the_notification_does_not_wait_for_the_handoff_delivery(stores, twilio):
    """The outbox event is still pending (HANDOFF_URL down): staff are told all the same."""
    outbox, store = stores
    outbox.enqueue(crisis_event(0))
    await drain(make_notifier(store, make_config(twilio=twilio)))
    assert outbox.stats()["pending"] == 1
    assert len(twilio.messages()) == len(STAFF_PHONES)


@pytest.mark.asyncio
async def test_leads_are_notified_only_with_notify_leads(stores, smtp_server):
    outbox, store = stores
    outbox.enqueue(make_lead_event(1, conversation_id="lead-off"))
    await drain(make_notifier(store, make_config(smtp_server)))
    assert smtp_server.messages() == []

    lead, callback = make_lead_event(2, conversation_id="lead-on"), callback_event(3)
    outbox.enqueue(lead)
    outbox.enqueue(callback)
    await drain(make_notifier(store, make_config(smtp_server, notify_leads=True)))
    mails = smtp_server.messages()
    # The lead that came while NOTIFY_LEADS was off is not sent now: turning it on sends no backlog.
    assert len(mails) == 2 * len(STAFF_EMAILS)
    bodies = "".join(mail.message.get_content() for mail in mails)
    assert f"{INBOX}/leads/{lead['id']}" in bodies and f"{INBOX}/leads/{callback['id']}" in bodies
    assert "lead-off" not in bodies
    subjects = {mail.message["Subject"] for mail in mails}
    assert subjects == {"Haven Pre-Screen: a new lead", "Haven Pre-Screen: a new call-back request"}
    for mail in mails:
        assert_no_health_information(visible_text(mail))
        assert_raw_mail_has_nothing_of_the_visitor(mail)


@pytest.mark.asyncio
async def test_crisis_notifications_go_before_leads(stores, twilio):
    outbox, store = stores
    for n in range(3):
        outbox.enqueue(make_lead_event(n, conversation_id=f"early-lead-{n}"))
    crisis = crisis_event(0)
    outbox.enqueue(crisis)
    notifier = make_notifier(store, make_config(twilio=twilio, notify_leads=True), batch_size=2)
    await notifier.run_once()
    first = twilio.messages()
    assert len(first) == 2 and all("/alerts/" in sms.body for sms in first)


@pytest.mark.asyncio
async def test_smtp_and_twilio_outage_then_recovery_delivers_each_once(stores, smtp_server, twilio):
    outbox, store = stores
    smtp_server.stop()
    twilio.status = 503
    outbox.enqueue(crisis_event(0))
    notifier = make_notifier(store, make_config(smtp_server, twilio))
    await drain(notifier, rounds=3)
    stats = store.stats()
    assert stats["sent"] == 0 and stats["pending"] == 4 and stats["crisis_pending"] == 4
    # One refused connection per server per round at most: the rest of the channel's batch waits.
    requests_during_outage = twilio.requests
    assert 1 <= requests_during_outage <= 3

    smtp_server.start()
    twilio.status = None
    for _ in range(100):
        await notifier.run_once()
        if store.stats()["sent"] == 4:
            break
        await asyncio.sleep(0.05)
    assert store.stats()["sent"] == 4
    assert sorted(mail.rcpt_tos[0] for mail in smtp_server.messages()) == sorted(STAFF_EMAILS)
    assert sorted(sms.to for sms in twilio.messages()) == sorted(STAFF_PHONES)
    await drain(notifier)
    assert len(smtp_server.messages()) == 2 and len(twilio.messages()) == 2


@pytest.mark.asyncio
async def test_smtp_temporary_refusal_is_retried(stores, smtp_server):
    outbox, store = stores
    smtp_server.data_reply = "451 4.3.0 try again later"
    outbox.enqueue(crisis_event(0))
    notifier = make_notifier(store, make_config(smtp_server, recipients=STAFF_EMAILS[:1]))
    await notifier.run_once()
    assert smtp_server.attempts == 1 and smtp_server.messages() == []
    assert store.stats()["pending"] == 1
    smtp_server.data_reply = None
    for _ in range(50):
        await notifier.run_once()
        if smtp_server.messages():
            break
        await asyncio.sleep(0.05)
    assert len(smtp_server.messages()) == 1 and store.stats()["sent"] == 1


@pytest.mark.asyncio
async def test_past_the_horizon_a_notification_is_dead_and_counted_for_staff(stores, twilio):
    outbox, store = stores
    twilio.stop()
    outbox.enqueue(crisis_event(0))
    notifier = make_notifier(store, make_config(twilio=twilio), dead_after_s=0.3)
    for _ in range(60):
        await notifier.run_once()
        if store.stats()["dead"] == len(STAFF_PHONES):
            break
        await asyncio.sleep(0.05)
    stats = store.stats()
    assert stats["dead"] == len(STAFF_PHONES) and stats["pending"] == 0
    dead = store.list_dead()
    assert {row["channel"] for row in dead} == {SMS}
    assert all(row["last_error"].startswith("connection error") for row in dead)
    assert all(VISITOR_PHONE not in str(row) and STAFF_PHONES[0] not in str(row) for row in dead)
    twilio.start()
    await drain(notifier)
    assert twilio.messages() == []  # dead stays dead (staff see it); no surprise text days later


@pytest.mark.asyncio
async def test_two_deliverers_send_each_notification_once(stores, smtp_server, twilio):
    outbox, store = stores
    for n in range(4):
        outbox.enqueue(crisis_event(n, conversation_id=f"pair-{n}"))
    config = make_config(smtp_server, twilio)
    first, second = make_notifier(store, config), make_notifier(store, config)
    for _ in range(4):
        await asyncio.gather(first.run_once(), second.run_once())
    assert store.stats()["sent"] == 4 * 4
    mails = [(mail.rcpt_tos[0], mail.message["Message-ID"]) for mail in smtp_server.messages()]
    texts = [(sms.to, sms.body) for sms in twilio.messages()]
    assert len(mails) == len(set(mails)) == 8 and len(texts) == len(set(texts)) == 8


@pytest.mark.asyncio
# Plain AUTH is fine on loopback in a test (the product refuses it elsewhere: bot/handoff/notifications.py).
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_smtp_login_and_a_wrong_password(stores, database_url):
    outbox, store = stores
    server = SmtpServer(username="haven", password="right-password").start()
    try:
        outbox.enqueue(crisis_event(0))
        wrong = make_notifier(
            store,
            make_config(server, recipients=STAFF_EMAILS[:1], username="haven", password="wrong"),
            backoff_base_s=0.01,
            backoff_cap_s=0.01,
        )
        await wrong.run_once()
        assert server.messages() == []
        [row] = stored_notifications(database_url)
        assert row.attempts == 1 and row.status == "pending" and row.last_error == "SMTP login refused (535)"
        right = make_notifier(
            store, make_config(server, recipients=STAFF_EMAILS[:1], username="haven", password="right-password")
        )
        await asyncio.sleep(0.05)
        await drain(right)
        assert len(server.messages()) == 1
    finally:
        server.stop()


@pytest.mark.asyncio
async def test_twilio_refuses_wrong_credentials_and_nothing_is_sent(stores, twilio):
    outbox, store = stores
    outbox.enqueue(crisis_event(0))
    config = make_config(twilio=twilio)
    bad = TwilioConfig(
        api_base=twilio.base, account_sid=TWILIO_SID, auth_token="wrong", sender="+18185550199", recipients=STAFF_PHONES
    )
    sender = TwilioSender(bad, 2.0)
    notifier = Notifier(store, config, {SMS: sender}, timeout_s=2.0, dead_after_s=60.0, backoff_base_s=30.0)
    OPEN_NOTIFIERS.append(notifier)
    await notifier.run_once()
    assert twilio.unauthorized == 1 and twilio.messages() == []  # the second waits: credentials are the account's
    assert store.stats()["pending"] == 2


@pytest.mark.asyncio
async def test_a_messaging_service_sid_is_sent_as_messaging_service_sid(stores, twilio):
    outbox, store = stores
    outbox.enqueue(crisis_event(0))
    service = "MG" + "ab" * 16
    config = make_config(twilio=twilio)
    config = NotificationConfig(
        email=None,
        sms=TwilioConfig(config.sms.api_base, TWILIO_SID, TWILIO_TOKEN, service, STAFF_PHONES[:1]),
        notify_leads=False,
        inbox_public_url=INBOX,
    )
    await drain(make_notifier(store, config))
    [sms] = twilio.messages()
    assert sms.sender_field == "MessagingServiceSid" and sms.sender == service


@pytest.mark.asyncio
async def test_logs_name_no_recipient_and_nothing_from_the_event(stores, smtp_server, twilio, caplog):
    outbox, store = stores
    twilio.status = 500
    outbox.enqueue(crisis_event(0))
    with caplog.at_level(logging.DEBUG, logger="services"):
        await drain(make_notifier(store, make_config(smtp_server, twilio)), rounds=2)
    # Our own log lines (aiosmtpd's and aiohttp's stand-in servers log their side too).
    text = "\n".join(record.getMessage() for record in caplog.records if record.name.startswith("services"))
    assert "notification sent" in text and "notification failed" in text
    for secret in (*STAFF_EMAILS, *STAFF_PHONES, VISITOR_TEXT, VISITOR_NAME, VISITOR_PHONE, TWILIO_TOKEN):
        assert secret not in text


@pytest.mark.asyncio
async def test_smtp_sender_classifies_a_refused_recipient_without_the_servers_text(smtp_server):
    smtp_server.refuse_recipients = True
    config = make_config(smtp_server).email
    from bot.handoff.notification_store import NotificationItem
    from bot.handoff.notifications import notification_text

    item = NotificationItem("n-1", "e-1", events.CRISIS_ALERT, EMAIL, STAFF_EMAILS[0], 0, None)
    result = await SmtpSender(config, 2.0).send(item, notification_text(events.CRISIS_ALERT, f"{INBOX}/alerts/e-1"))
    assert result.error == "SMTP recipient refused (550)" and not result.unreachable
