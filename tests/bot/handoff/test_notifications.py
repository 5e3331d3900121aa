"""What staff are told, by which channel, under which id (bot/handoff/notifications.py, pure)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bot.handoff.events import CALLBACK_REQUESTED, CRISIS_ALERT, LEAD_CREATED
from bot.handoff.notifications import (
    EMAIL,
    SMS,
    item_link,
    message_id,
    notification_id,
    notification_setup,
    notification_text,
    off_reason,
    plan,
    split_list,
)
from bot.readability import flesch_kincaid_grade
from bot.settings import Settings
from tests.handoff_fixtures import NOTIFICATION_SETTINGS

SID = "AC" + "0" * 32
EVENT_ID = "6f1c2b9e-3a7d-5e21-9c44-0b8a7d6e5f10"


def base_settings(**overrides) -> Settings:
    values = dict(
        data_dir=Path("/tmp"),
        host="127.0.0.1",
        rasa_port=5005,
        action_port=5055,
        inbox_port=8000,
        rasa_auth_token="",
        database_url="sqlite://",
        handoff_url="",
        handoff_secret="s",
        handoff_timeout_s=10.0,
        handoff_dead_after_s=3600.0,
        handoff_backoff_cap_s=300.0,
        inbox_admin_user="staff",
        inbox_admin_password_hash="",
        inbox_api_token="",
        inbox_session_secret="x",
        inbox_cookie_secure=True,
        max_message_chars=2000,
        transcript_retention_minutes=1440.0,
        outbox_retention_days=7.0,
        inbox_retention_days=180.0,
        clinic_profile=Path("/tmp/profile.yml"),
    )
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


EMAIL_ON = dict(smtp_host="smtp.haven.example", alert_email_from="alerts@haven.example", alert_email_to="a@h.example")
SMS_ON = dict(
    alert_sms_to="+18185550100", alert_sms_from="+18185550199", twilio_account_sid=SID, twilio_auth_token="tok"
)


def test_nothing_set_means_off_with_an_info_reason_and_no_error():
    setup = notification_setup(base_settings())
    assert setup.errors == ()
    assert not setup.config.enabled
    assert "staff notifications are off" in off_reason(setup.config)


def test_the_sms_channels_token_alone_does_not_turn_notifications_on_or_warn():
    setup = notification_setup(base_settings(twilio_auth_token="tok", public_url="https://haven.example"))
    assert setup.errors == () and setup.config.sms is None


def test_both_channels_on():
    setup = notification_setup(base_settings(**{**EMAIL_ON, **SMS_ON, "alert_email_to": "a@h.example, b@h.example,"}))
    assert setup.errors == ()
    assert setup.config.email.recipients == ("a@h.example", "b@h.example")
    assert setup.config.email.port == 587 and setup.config.email.starttls and not setup.config.email.ssl
    assert setup.config.sms.recipients == ("+18185550100",)
    assert setup.config.sms.messages_url == f"https://api.twilio.com/2010-04-01/Accounts/{SID}/Messages.json"
    assert off_reason(setup.config) is None
    assert setup.config.inbox_public_url == "http://127.0.0.1:8000"


def test_smtp_ssl_means_port_465_and_no_starttls():
    setup = notification_setup(base_settings(**EMAIL_ON, smtp_ssl=True))
    assert setup.config.email.port == 465 and setup.config.email.ssl and not setup.config.email.starttls


@pytest.mark.parametrize(
    "overrides,named",
    [
        (dict(alert_sms_to="+18185550100"), ["ALERT_SMS_FROM", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"]),
        ({**SMS_ON, "twilio_auth_token": ""}, ["TWILIO_AUTH_TOKEN"]),
        ({**SMS_ON, "alert_sms_to": "818-555-0100"}, ["E.164"]),
        ({**SMS_ON, "alert_sms_from": "clinic"}, ["ALERT_SMS_FROM"]),
        ({**SMS_ON, "twilio_account_sid": "not-a-sid"}, ["TWILIO_ACCOUNT_SID"]),
        (dict(twilio_account_sid=SID), ["ALERT_SMS_TO"]),
    ],
)
def test_half_configured_sms_is_one_error_line_naming_settings_and_sms_stays_off(overrides, named):
    setup = notification_setup(base_settings(**EMAIL_ON, **overrides))
    [error] = setup.errors
    assert error.startswith("SMS notifications off: ")
    assert all(name in error for name in named)
    assert "\n" not in error and "818-555-0100" not in error and "tok" not in error.split(":", 1)[1]
    assert setup.config.sms is None and setup.config.email is not None  # the other channel still works


@pytest.mark.parametrize(
    "overrides,named",
    [
        (dict(smtp_host="smtp.haven.example"), ["ALERT_EMAIL_FROM", "ALERT_EMAIL_TO"]),
        (dict(alert_email_to="a@h.example"), ["SMTP_HOST", "ALERT_EMAIL_FROM"]),
        ({**EMAIL_ON, "alert_email_to": "a@h.example, not-an-address"}, ["ALERT_EMAIL_TO has 1 entry"]),
        ({**EMAIL_ON, "smtp_username": "u"}, ["SMTP_USERNAME and SMTP_PASSWORD"]),
        (
            {**EMAIL_ON, "smtp_username": "u", "smtp_password": "p", "smtp_starttls": False},
            ["SMTP_STARTTLS or SMTP_SSL"],
        ),
    ],
)
def test_half_configured_email_is_one_error_line_and_email_stays_off(overrides, named):
    setup = notification_setup(base_settings(**overrides))
    [error] = setup.errors
    assert error.startswith("email notifications off: ")
    assert all(name in error for name in named)
    assert "not-an-address" not in error
    assert setup.config.email is None


def test_a_password_without_tls_is_allowed_only_to_a_loopback_server():
    loopback = dict(EMAIL_ON, smtp_host="127.0.0.1", smtp_username="u", smtp_password="p", smtp_starttls=False)
    assert notification_setup(base_settings(**loopback)).errors == ()


def test_a_bad_inbox_public_url_is_an_error_and_links_fall_back_to_the_local_inbox():
    setup = notification_setup(base_settings(**SMS_ON, inbox_public_url="staff.haven.example", inbox_port=8100))
    assert any("INBOX_PUBLIC_URL" in error for error in setup.errors)
    assert setup.config.inbox_public_url == "http://127.0.0.1:8100"


def test_split_list_drops_blanks_and_duplicates():
    assert split_list(" a@x.org ,, b@x.org, a@x.org ") == ("a@x.org", "b@x.org")


def test_plan_makes_one_notification_per_recipient_and_channel_with_stable_ids():
    config = notification_setup(
        base_settings(**{**EMAIL_ON, **SMS_ON, "alert_email_to": "a@h.example,b@h.example"})
    ).config
    planned = plan(EVENT_ID, CRISIS_ALERT, config)
    assert [(p.channel, p.recipient) for p in planned] == [
        (EMAIL, "a@h.example"),
        (EMAIL, "b@h.example"),
        (SMS, "+18185550100"),
    ]
    assert len({p.id for p in planned}) == 3
    assert planned == plan(EVENT_ID, CRISIS_ALERT, config)  # the same every time: a restart plans the same ids
    assert planned[0].id == notification_id(EVENT_ID, EMAIL, "a@h.example")
    assert notification_id(EVENT_ID, EMAIL, "x") != notification_id(EVENT_ID, SMS, "x")


def test_leads_are_planned_only_with_notify_leads():
    config = notification_setup(base_settings(**EMAIL_ON)).config
    assert plan(EVENT_ID, LEAD_CREATED, config) == [] and plan(EVENT_ID, CALLBACK_REQUESTED, config) == []
    with_leads = dataclasses.replace(config, notify_leads=True)
    assert len(plan(EVENT_ID, LEAD_CREATED, with_leads)) == 1
    assert len(plan(EVENT_ID, CALLBACK_REQUESTED, with_leads)) == 1
    assert plan(EVENT_ID, "something.else", with_leads) == []


def test_links_use_the_inbox_routes():
    assert item_link("https://staff.example/", CRISIS_ALERT, EVENT_ID) == f"https://staff.example/alerts/{EVENT_ID}"
    assert item_link("https://staff.example", LEAD_CREATED, EVENT_ID) == f"https://staff.example/leads/{EVENT_ID}"
    assert item_link("https://staff.example", CALLBACK_REQUESTED, "a/b") == "https://staff.example/leads/a%2Fb"


@pytest.mark.parametrize("event_type", [CRISIS_ALERT, LEAD_CREATED, CALLBACK_REQUESTED])
def test_texts_are_plain_words_one_sms_and_carry_only_the_link(event_type):
    link = item_link("https://staff.haven.example", event_type, EVENT_ID)
    text = notification_text(event_type, link)
    assert link in text.body and text.sms.endswith(link)
    assert "\n" not in text.sms and len(text.sms) <= 160
    # Readability of the words around the link (a URL is not prose).
    for words in (text.subject, text.body.replace(link, "the link"), text.sms.replace(link, "the link")):
        assert flesch_kincaid_grade(words) <= 8, words
    # A clinic's own long address still fits one SMS: a 50-character INBOX_PUBLIC_URL (a 94-character link).
    long_link = item_link("https://" + "x" * 34 + ".example", event_type, EVENT_ID)
    assert len(notification_text(event_type, long_link).sms) <= 160
    if event_type == CRISIS_ALERT:
        assert "urgent" in text.subject and "urgent" in text.sms
    else:
        assert "urgent" not in text.subject


def test_message_id_is_derived_from_the_notification_id_and_the_senders_domain():
    assert message_id("abc", "alerts@haven.example") == "<abc@haven.example>"
    assert message_id("abc", "no-at-sign") == "<abc@haven-prescreen.invalid>"


def test_every_notification_setting_is_read_and_documented():
    root = Path(__file__).resolve().parents[3]
    settings_code = (root / "bot" / "settings.py").read_text()
    example = (root / ".env.example").read_text()
    doc = (root / "docs" / "notifications.md").read_text()
    for name in NOTIFICATION_SETTINGS:
        assert f'"{name}"' in settings_code, name
        assert f"\n{name}=" in example, name
        assert f"`{name}`" in doc, name
