"""`python -m services.deliverer` as a real process with staff notifications: the start-up lines, a
half-configured channel beside a working handoff, and SIGKILL / SIGTERM restarts (nothing lost, no duplicate
beyond the one send in flight at a SIGKILL)."""

from __future__ import annotations

import os
import signal
import subprocess
from collections import Counter
from pathlib import Path

import sqlalchemy as sa

from bot.handoff.notification_store import NotificationStore
from bot.handoff.outbox import Outbox
from tests.handoff_fixtures import NOTIFICATION_SETTINGS
from tests.services.deliverer.notify_servers import TWILIO_SID, TWILIO_TOKEN, SmtpServer, TwilioStandIn
from tests.services.deliverer.test_deliverer_process import start_deliverer, wait_until
from tests.services.deliverer.test_notifications import VISITOR_NAME, VISITOR_PHONE, VISITOR_TEXT, crisis_event

STAFF_EMAIL = "oncall@haven.example"
STAFF_PHONE = "+18185550100"


def start(database_url: str, url: str, data_dir: Path, **notify_env: str) -> subprocess.Popen:
    """The deliverer with only `notify_env`'s notification settings (none from the developer's environment)."""
    env = {key: value for key, value in os.environ.items() if key not in NOTIFICATION_SETTINGS}
    return start_deliverer(database_url, url, data_dir, timeout_s=0.5, base_env=env, **notify_env)


def has_table(database_url: str, name: str) -> bool:
    engine = sa.create_engine(database_url)
    try:
        return sa.inspect(engine).has_table(name)
    finally:
        engine.dispose()


def stop(process: subprocess.Popen) -> str:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    assert process.wait(15) == 0
    return process.stdout.read().decode(errors="replace")


def both_channels(smtp: SmtpServer, twilio: TwilioStandIn) -> dict:
    return dict(
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(smtp.port),
        SMTP_STARTTLS="false",
        ALERT_EMAIL_FROM="alerts@haven.example",
        ALERT_EMAIL_TO=STAFF_EMAIL,
        ALERT_SMS_TO=STAFF_PHONE,
        ALERT_SMS_FROM="+18185550199",
        TWILIO_ACCOUNT_SID=TWILIO_SID,
        TWILIO_AUTH_TOKEN=TWILIO_TOKEN,
        TWILIO_API_BASE=twilio.base,
        INBOX_PUBLIC_URL="https://staff.haven.example",
    )


def test_without_settings_notifications_are_off_with_one_info_line(tmp_path, receiver):
    database_url = f"sqlite:///{tmp_path / 'haven.db'}"
    process = start(database_url, receiver.url, tmp_path)
    wait_until(lambda: has_table(database_url, "outbox_notification_plans"), 30, process)  # the notifier is up
    output = stop(process)
    [line] = [line for line in output.splitlines() if "staff notifications" in line]
    assert " INFO " in line and "staff notifications are off" in line
    assert " ERROR " not in output


def test_a_half_configured_channel_is_an_error_line_and_the_handoff_goes_on(tmp_path, receiver, smtp_server):
    database_url = f"sqlite:///{tmp_path / 'haven.db'}"
    outbox = Outbox(database_url)
    event = crisis_event(0)
    outbox.enqueue(event)
    env = dict(
        ALERT_SMS_TO=STAFF_PHONE,  # no Twilio credentials, no sender
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(smtp_server.port),
        SMTP_STARTTLS="false",
        ALERT_EMAIL_FROM="alerts@haven.example",
        ALERT_EMAIL_TO=STAFF_EMAIL,
    )
    process = start(database_url, receiver.url, tmp_path, **env)
    try:
        wait_until(lambda: receiver.keys() == [event["id"]], 30, process)
        wait_until(lambda: len(smtp_server.messages()) == 1, 30, process)  # email, the configured one, works
    finally:
        output = stop(process)
    errors = [line for line in output.splitlines() if " ERROR " in line]
    assert len(errors) == 1 and "SMS notifications off" in errors[0] and "TWILIO_ACCOUNT_SID" in errors[0]
    assert STAFF_PHONE not in output and STAFF_EMAIL not in output
    assert "staff notifications on for crisis alerts: email to 1 recipient(s)" in output
    outbox.close()


def test_sigkill_mid_backlog_then_restart_tells_everyone_of_every_alert(database_url, tmp_path, receiver, smtp_server):
    twilio = TwilioStandIn(delay_s=0.05).start()  # slow enough that the kill lands mid-backlog
    try:
        outbox = Outbox(database_url)
        alerts = [crisis_event(n, conversation_id=f"kill-{n}") for n in range(12)]
        for event in alerts:
            outbox.enqueue(event)
        env = both_channels(smtp_server, twilio)
        first = start(database_url, receiver.url, tmp_path, **env)
        try:
            wait_until(lambda: len(twilio.messages()) >= 3, 30, first)
            first.kill()
            first.wait(10)
            texts_before_kill = len(twilio.messages())
            assert texts_before_kill < len(alerts), "the kill came too late to test a backlog"
            second = start(database_url, receiver.url, tmp_path, **env)
            store = NotificationStore(database_url)
            try:
                wait_until(lambda: store.stats()["sent"] == 2 * len(alerts), 60, second)
            finally:
                output = stop(second)
                store.close()
        finally:
            if first.poll() is None:
                first.kill()
        links = {f"https://staff.haven.example/alerts/{event['id']}" for event in alerts}
        sms_links = Counter(sms.body.rsplit(" ", 1)[-1] for sms in twilio.messages())
        mail_ids = Counter(mail.message["Message-ID"] for mail in smtp_server.messages())
        assert set(sms_links) == links and len(mail_ids) == len(alerts)  # nothing lost
        duplicates = sum(n - 1 for n in sms_links.values()) + sum(n - 1 for n in mail_ids.values())
        print(
            f"\nSIGKILL restart: {len(alerts)} alerts x 2 channels, {texts_before_kill} SMS before the kill, "
            f"{duplicates} duplicate notifications"
        )
        assert duplicates <= 1  # at most the one in flight when the process died
        for secret in (VISITOR_TEXT, VISITOR_NAME, VISITOR_PHONE, STAFF_PHONE, STAFF_EMAIL):
            assert secret not in output
        outbox.close()
    finally:
        twilio.close()


def test_sigterm_restart_sends_nothing_twice(tmp_path, receiver, smtp_server, twilio):
    database_url = f"sqlite:///{tmp_path / 'haven.db'}"
    twilio.delay_s = 0.05
    outbox = Outbox(database_url)
    alerts = [crisis_event(n, conversation_id=f"term-{n}") for n in range(6)]
    for event in alerts:
        outbox.enqueue(event)
    env = both_channels(smtp_server, twilio)
    first = start(database_url, receiver.url, tmp_path, **env)
    wait_until(lambda: len(twilio.messages()) >= 2, 30, first)
    stop(first)
    second = start(database_url, receiver.url, tmp_path, **env)
    store = NotificationStore(database_url)
    try:
        wait_until(lambda: store.stats()["sent"] == 2 * len(alerts), 60, second)
    finally:
        stop(second)
        store.close()
    assert len(twilio.messages()) == len(alerts) == len({sms.body for sms in twilio.messages()})
    assert len(smtp_server.messages()) == len(alerts) == len({m.message["Message-ID"] for m in smtp_server.messages()})
    outbox.close()
