"""Server-rendered staff pages. Every value that came from an event goes through `esc` (html.escape).

No inline scripts or styles: the Content-Security-Policy forbids them, and the stylesheet is /static/inbox.css.
"""

from __future__ import annotations

import datetime as _dt
import html
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any, Iterable, Optional, Sequence
from urllib.parse import quote

from services.inbox.events import ALERT_TYPES, CALLBACK_REQUESTED, contact_of, field, mapping_at, statuses_for
from services.inbox.store import StatusChange, StoredEvent

SCORE_LABELS = (("gad7", "GAD-7"), ("phq9", "PHQ-9"), ("pcptsd5", "PC-PTSD-5"), ("oci4", "OCI-4"))
CONTACT_LABELS = (
    ("first_name", "First name"),
    ("phone", "Phone"),
    ("email", "Email"),
    ("preferred_method", "Preferred method"),
    ("best_time", "Best time"),
    ("consent_to_contact", "Consent to contact"),
)


@dataclass(frozen=True)
class OutboxBacklog:
    """What the staff list shows about undelivered handoff events; `available` is False without an outbox."""

    available: bool
    pending: Optional[int] = None
    dead: Optional[int] = None
    oldest_pending_age_s: Optional[float] = None
    dead_events: Sequence[dict] = dc_field(default_factory=tuple)
    # Staff notifications (email/SMS, sent by the deliverer): None when their table cannot be read.
    notifications_pending: Optional[int] = None
    notifications_dead: Optional[int] = None
    dead_notifications: Sequence[dict] = dc_field(default_factory=tuple)


def esc(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return html.escape(str(value), quote=True)


def format_time(epoch: Optional[float]) -> str:
    if epoch is None:
        return ""
    return _dt.datetime.fromtimestamp(float(epoch), tz=_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def event_path(event: StoredEvent) -> str:
    kind = "alerts" if event.type in ALERT_TYPES else "leads"
    return f"/{kind}/{quote(event.id, safe='')}"


def page(title: str, body: str, *, user: Optional[str] = None, csrf_token: Optional[str] = None) -> str:
    nav = ""
    if user is not None:
        nav = (
            '<nav><a href="/">Inbox</a> <a href="/export.csv">Export CSV</a> '
            f'<span class="who">Signed in as {esc(user)}</span> '
            '<form method="post" action="/logout" class="inline">'
            f'<input type="hidden" name="csrf_token" value="{esc(csrf_token)}">'
            '<button type="submit">Sign out</button></form></nav>'
        )
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)} - Haven inbox</title>"
        '<link rel="stylesheet" href="/static/inbox.css"></head>'
        f"<body><header><h1>Haven inbox</h1>{nav}</header><main>{body}</main></body></html>\n"
    )


def login_page(csrf_token: str, error: Optional[str] = None) -> str:
    message = f'<p class="error" role="alert">{esc(error)}</p>' if error else ""
    body = (
        "<h2>Staff sign-in</h2>"
        f"{message}"
        '<form method="post" action="/login" class="login">'
        f'<input type="hidden" name="csrf_token" value="{esc(csrf_token)}">'
        '<label>Username <input name="username" autocomplete="username" required></label>'
        '<label>Password <input name="password" type="password" autocomplete="current-password" required>'
        "</label>"
        '<button type="submit">Sign in</button></form>'
    )
    return page("Sign in", body)


def _table(headers: Sequence[str], rows: Iterable[str], empty: str) -> str:
    rendered = "".join(rows)
    if not rendered:
        return f'<p class="empty">{esc(empty)}</p>'
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rendered}</tbody></table>"


def _alert_row(event: StoredEvent) -> str:
    body = event.body
    categories = field(body, "categories")
    contact = contact_of(body)
    css = "alert-open" if event.status == "open" else "alert"
    return (
        f'<tr class="{css}">'
        f'<td><a href="{esc(event_path(event))}">{esc(field(body, "severity"))}</a></td>'
        f"<td>{esc(', '.join(str(c) for c in categories) if isinstance(categories, list) else '')}</td>"
        f"<td>{esc(contact.get('first_name'))}</td>"
        f"<td>{esc(field(body, 'channel'))}</td>"
        f"<td>{esc(format_time(event.received_at))}</td>"
        f'<td class="status">{esc(event.status)}</td></tr>'
    )


def _lead_row(event: StoredEvent) -> str:
    body = event.body
    outcome = field(body, "lead", "outcome")
    if event.type == CALLBACK_REQUESTED and not outcome:
        outcome = "callback requested"
    crisis = field(body, "lead", "crisis", "flagged") is True
    return (
        f'<tr class="{"lead crisis" if crisis else "lead"}">'
        f'<td><a href="{esc(event_path(event))}">{esc(outcome or "(none)")}</a></td>'
        f"<td>{esc(field(body, 'lead', 'concern'))}</td>"
        f"<td>{esc(contact_of(body).get('first_name'))}</td>"
        f"<td>{esc(field(body, 'channel'))}</td>"
        f"<td>{esc(format_time(event.received_at))}</td>"
        f'<td class="status">{esc(event.status)}</td></tr>'
    )


def _backlog_section(backlog: OutboxBacklog) -> str:
    if not backlog.available:
        return '<section class="backlog"><h2>Outbox</h2><p class="warning">Outbox not available.</p></section>'
    age = backlog.oldest_pending_age_s
    age_text = f"; oldest pending {int(age)} s" if isinstance(age, (int, float)) and age else ""
    css = "backlog problem" if (backlog.dead or 0) > 0 or (backlog.notifications_dead or 0) > 0 else "backlog"
    rows = (
        "<tr>"
        f"<td>{esc(dead.get('id') or dead.get('event_id'))}</td>"
        f"<td>{esc(dead.get('type') or dead.get('event_type'))}</td>"
        f"<td>{esc(dead.get('attempts'))}</td>"
        f"<td>{esc(dead.get('last_error'))}</td></tr>"
        for dead in backlog.dead_events
        if isinstance(dead, dict)
    )
    return (
        f'<section class="{css}"><h2>Outbox</h2>'
        f"<p>Pending deliveries: {esc(backlog.pending)}; undeliverable (dead): {esc(backlog.dead)}{esc(age_text)}</p>"
        + _table(("Event", "Type", "Attempts", "Last error"), rows, "No undeliverable events.")
        + _notifications_part(backlog)
        + "</section>"
    )


def _notifications_part(backlog: OutboxBacklog) -> str:
    """Email and SMS notifications to staff that wait or failed for good (each links to its item)."""
    if backlog.notifications_pending is None:
        return ""
    rows = (
        "<tr>"
        f'<td><a href="{esc(_item_path(dead))}">{esc(dead.get("event_id"))}</a></td>'
        f"<td>{esc(dead.get('event_type'))}</td>"
        f"<td>{esc(dead.get('channel'))}</td>"
        f"<td>{esc(dead.get('attempts'))}</td>"
        f"<td>{esc(dead.get('last_error'))}</td></tr>"
        for dead in backlog.dead_notifications
        if isinstance(dead, dict)
    )
    return (
        "<h3>Staff notifications</h3>"
        f"<p>Waiting to be sent: {esc(backlog.notifications_pending)}; "
        f"could not be sent (dead): {esc(backlog.notifications_dead)}</p>"
        + _table(("Item", "Type", "Channel", "Attempts", "Last error"), rows, "No failed notifications.")
    )


def _item_path(notification: dict) -> str:
    kind = "alerts" if notification.get("event_type") in ALERT_TYPES else "leads"
    return f"/{kind}/{quote(str(notification.get('event_id') or ''), safe='')}"


def list_page(
    open_alerts: Sequence[StoredEvent],
    leads: Sequence[StoredEvent],
    earlier_alerts: Sequence[StoredEvent],
    backlog: OutboxBacklog,
    *,
    user: str,
    csrf_token: str,
) -> str:
    alert_headers = ("Severity", "Categories", "First name", "Channel", "Received", "Status")
    lead_headers = ("Outcome", "Concern", "First name", "Channel", "Received", "Status")
    body = (
        '<section class="alerts"><h2>Open crisis alerts</h2>'
        + _table(alert_headers, (_alert_row(a) for a in open_alerts), "No open crisis alerts.")
        + "</section>"
        + '<section class="leads"><h2>Leads</h2>'
        + _table(lead_headers, (_lead_row(lead) for lead in leads), "No leads yet.")
        + "</section>"
        + '<section class="alerts-earlier"><h2>Acknowledged and closed alerts</h2>'
        + _table(alert_headers, (_alert_row(a) for a in earlier_alerts), "None.")
        + "</section>"
        + _backlog_section(backlog)
    )
    return page("Inbox", body, user=user, csrf_token=csrf_token)


def _definition_list(pairs: Iterable[tuple[str, Any]]) -> str:
    items = "".join(f"<dt>{esc(label)}</dt><dd>{esc(value)}</dd>" for label, value in pairs)
    return f"<dl>{items}</dl>"


def _status_section(event: StoredEvent, history: Sequence[StatusChange], csrf_token: str) -> str:
    options = "".join(
        f'<option value="{esc(s)}"{" selected" if s == event.status else ""}>{esc(s)}</option>'
        for s in statuses_for(event.type)
    )
    rows = (
        f"<tr><td>{esc(format_time(c.changed_at))}</td><td>{esc(c.changed_by)}</td>"
        f"<td>{esc(c.from_status)}</td><td>{esc(c.to_status)}</td></tr>"
        for c in history
    )
    return (
        '<section class="status"><h2>Status</h2>'
        f'<p>Current status: <strong class="status">{esc(event.status)}</strong></p>'
        f'<form method="post" action="{esc(event_path(event))}/status">'
        f'<input type="hidden" name="csrf_token" value="{esc(csrf_token)}">'
        f'<label>New status <select name="status">{options}</select></label>'
        '<button type="submit">Change status</button></form>'
        "<h3>History</h3>" + _table(("When", "Who", "From", "To"), rows, "No changes yet.") + "</section>"
    )


def _list_items(values: Any, render: Any) -> str:
    if not isinstance(values, list) or not values:
        return '<p class="empty">None.</p>'
    return "<ul>" + "".join(f"<li>{render(v)}</li>" for v in values) + "</ul>"


def lead_page(event: StoredEvent, history: Sequence[StatusChange], *, user: str, csrf_token: str) -> str:
    body = event.body
    lead = mapping_at(body, "lead")
    scores = mapping_at(lead, "scores")
    crisis = mapping_at(lead, "crisis")
    contact = contact_of(body)
    crisis_categories = crisis.get("categories")
    checks_denied = crisis.get("checks_denied")
    # The visitor answered a clear No to the check question (only the model flagged a message): for a clinician.
    check_rows = (
        [("Risk check answered No", f"{checks_denied} time(s)")]
        if isinstance(checks_denied, int) and not isinstance(checks_denied, bool) and checks_denied > 0
        else []
    )
    summary = _definition_list(
        [
            ("Kind", event.type),
            ("Outcome", lead.get("outcome") or ("callback requested" if event.type == CALLBACK_REQUESTED else "")),
            ("Concern", lead.get("concern")),
            ("Age", lead.get("age")),
            ("Channel", body.get("channel")),
            ("Created", body.get("created_at")),
            ("Received", format_time(event.received_at)),
            ("Crisis flagged", crisis.get("flagged") is True),
            (
                "Crisis categories",
                ", ".join(str(c) for c in crisis_categories) if isinstance(crisis_categories, list) else "",
            ),
            *check_rows,
        ]
    )
    crisis_banner = (
        '<p class="crisis-banner">Risk was flagged in this conversation: follow the crisis protocol.</p>'
        if crisis.get("flagged") is True
        else ""
    )
    score_list = _definition_list((label, scores.get(key)) for key, label in SCORE_LABELS if key in scores)
    contra_rows = (
        f"<tr><td>{esc(c.get('label'))}</td><td>{esc(c.get('answer'))}</td><td>{esc(c.get('class'))}</td></tr>"
        for c in (lead.get("contraindications") or [])
        if isinstance(c, dict)
    )
    answer_rows = (
        f"<tr><td>{esc(a.get('question') or a.get('id'))}</td><td>{esc(a.get('answer'))}</td></tr>"
        for a in (lead.get("answers") or [])
        if isinstance(a, dict)
    )
    reasons = _list_items(lead.get("reasons"), lambda r: esc(r.get("text") if isinstance(r, dict) else r))
    html_body = (
        f"<h2>Lead</h2>{crisis_banner}{summary}"
        f"<section><h2>Contact</h2>{_definition_list((label, contact.get(key)) for key, label in CONTACT_LABELS)}"
        "</section>"
        f"<section><h2>Scores</h2>{score_list}</section>"
        "<section><h2>Contraindication answers</h2>"
        + _table(("Question", "Answer", "Class"), contra_rows, "None recorded.")
        + "</section>"
        f"<section><h2>Reasons</h2>{reasons}</section>"
        "<section><h2>Answers</h2>"
        + _table(("Question", "Answer"), answer_rows, "None recorded.")
        + "</section>"
        + _status_section(event, history, csrf_token)
    )
    return page("Lead", html_body, user=user, csrf_token=csrf_token)


def alert_page(event: StoredEvent, history: Sequence[StatusChange], *, user: str, csrf_token: str) -> str:
    body = event.body
    categories = body.get("categories")
    contact = contact_of(body)
    summary = _definition_list(
        [
            ("Severity", body.get("severity")),
            ("Categories", ", ".join(str(c) for c in categories) if isinstance(categories, list) else ""),
            ("Message", body.get("message")),
            ("Channel", body.get("channel")),
            ("Conversation", body.get("conversation_id")),
            ("Created", body.get("created_at")),
            ("Received", format_time(event.received_at)),
        ]
    )
    html_body = (
        f'<h2 class="{"alert-open" if event.status == "open" else "alert"}">Crisis alert</h2>{summary}'
        f"<section><h2>Contact</h2>{_definition_list((label, contact.get(key)) for key, label in CONTACT_LABELS)}"
        "</section>" + _status_section(event, history, csrf_token)
    )
    return page("Crisis alert", html_body, user=user, csrf_token=csrf_token)


def message_page(title: str, message: str, *, user: Optional[str] = None, csrf_token: Optional[str] = None) -> str:
    return page(title, f"<h2>{esc(title)}</h2><p>{esc(message)}</p>", user=user, csrf_token=csrf_token)
