"""The inbox app against real aiohttp servers on loopback (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.handoff.signing import encode_event
from services.inbox.app import CONTENT_SECURITY_POLICY, MAX_BODY_BYTES, STATE
from services.inbox.auth import LOGIN_CSRF_COOKIE, SESSION_COOKIE
from tests.services.inbox.inbox_helpers import (
    ADMIN_PASSWORD,
    API_TOKEN,
    CSRF_FIELD,
    XSS_ATTR,
    XSS_SCRIPT,
    FakeOutbox,
    alert_event,
    api_headers,
    free_port,
    lead_event,
    page_csrf,
    post_event,
    running_inbox,
    sign_in,
    signed_headers,
)

PROJECT_ROOT = Path(__file__).resolve().parents[3]


def _count(client, types=("lead.created", "crisis.alert", "callback.requested")) -> int:
    return len(client.server.app[STATE].store.list_events(types))


# --- receiving -------------------------------------------------------------------------------------------------
@pytest.mark.asyncio
async def test_tampered_or_missing_signature_is_refused_and_nothing_stored(make_settings, database_url) -> None:
    async with running_inbox(make_settings(database_url)) as client:
        event = lead_event()
        body = encode_event(event)
        headers = signed_headers(body, event["id"])
        tampered = body.replace(b'"Ana"', b'"Eve"')
        response = await client.post("/api/events", data=tampered, headers=headers)
        assert response.status == 401 and (await response.json())["error"]
        response = await client.post("/api/events", data=body, headers={"Idempotency-Key": event["id"]})
        assert response.status == 401
        response = await post_event(client, event, secret="not-the-secret")
        assert response.status == 401
        wrong_format = {**headers, "X-Signature-256": headers["X-Signature-256"].replace("sha256=", "")}
        assert (await client.post("/api/events", data=body, headers=wrong_format)).status == 401
        assert _count(client) == 0


@pytest.mark.asyncio
async def test_valid_event_is_stored_once_even_when_posted_twice(make_settings, database_url) -> None:
    async with running_inbox(make_settings(database_url)) as client:
        event = lead_event()
        first = await post_event(client, event)
        assert first.status == 201 and await first.json() == {"status": "stored"}
        second = await post_event(client, event)
        assert second.status == 200 and await second.json() == {"status": "duplicate"}
        assert _count(client) == 1


@pytest.mark.asyncio
async def test_signed_but_malformed_events_get_400(make_settings, sqlite_url) -> None:
    async with running_inbox(make_settings(sqlite_url)) as client:
        not_json = b"{not json"
        response = await client.post("/api/events", data=not_json, headers=signed_headers(not_json, "x"))
        assert response.status == 400
        bad_utf8 = b"\xff\xfe"
        response = await client.post("/api/events", data=bad_utf8, headers=signed_headers(bad_utf8, "x"))
        assert response.status == 400
        missing = lead_event()
        del missing["channel"]
        response = await post_event(client, missing)
        assert response.status == 400 and "channel" in (await response.json())["error"]
        event = lead_event()
        body = encode_event(event)
        response = await client.post("/api/events", data=body, headers=signed_headers(body, "different-key"))
        assert response.status == 400 and "Idempotency-Key" in (await response.json())["error"]
        assert _count(client) == 0


@pytest.mark.asyncio
async def test_oversized_bodies_are_refused(make_settings, sqlite_url) -> None:
    async with running_inbox(make_settings(sqlite_url)) as client:
        event = lead_event(first_name="A" * (MAX_BODY_BYTES + 10))
        response = await post_event(client, event)
        assert response.status == 413
        assert _count(client) == 0


# --- signing in ------------------------------------------------------------------------------------------------
@pytest.mark.asyncio
async def test_signed_out_pages_redirect_to_login(make_settings, sqlite_url) -> None:
    async with running_inbox(make_settings(sqlite_url)) as client:
        event = lead_event()
        await post_event(client, event)
        for path in ("/", f"/leads/{event['id']}", f"/alerts/{event['id']}", "/export.csv"):
            response = await client.get(path, allow_redirects=False)
            assert response.status == 302 and response.headers["Location"] == "/login", path
        response = await client.post(f"/leads/{event['id']}/status", data={"status": "closed"}, allow_redirects=False)
        assert response.status == 401
        assert client.server.app[STATE].store.get_event(event["id"]).status == "new"


@pytest.mark.asyncio
async def test_right_password_signs_in_and_wrong_one_does_not(make_settings, database_url) -> None:
    async with running_inbox(make_settings(database_url)) as client:
        wrong = await sign_in(client, password=ADMIN_PASSWORD + "!")
        assert wrong.status == 401 and "Wrong username or password" in await wrong.text()
        assert SESSION_COOKIE not in {c.key for c in client.session.cookie_jar}
        assert (await client.get("/", allow_redirects=False)).status == 302
        wrong_user = await sign_in(client, username="admin")
        assert wrong_user.status == 401
        right = await sign_in(client)
        assert right.status == 303 and right.headers["Location"] == "/"
        cookie = right.cookies[SESSION_COOKIE]
        assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/"
        assert not cookie["secure"]
        home = await client.get("/", allow_redirects=False)
        assert home.status == 200 and "Signed in as staff" in await home.text()
        # The cookie is random and the database keeps only a hash of it.
        token = cookie.value
        store = client.server.app[STATE].store
        with store.engine.connect() as conn:
            rows = conn.exec_driver_sql("SELECT token_hash FROM inbox_sessions").fetchall()
        assert rows and all(token not in row[0] for row in rows)


@pytest.mark.asyncio
async def test_session_cookie_is_secure_when_configured(make_settings, sqlite_url) -> None:
    async with running_inbox(make_settings(sqlite_url, inbox_cookie_secure=True)) as client:
        form = await client.get("/login")
        login_cookie = form.cookies[LOGIN_CSRF_COOKIE]
        assert login_cookie["secure"] and login_cookie["httponly"] and login_cookie["samesite"] == "Strict"
        # A browser sends Secure cookies only over HTTPS; send it by hand over the loopback HTTP.
        token = CSRF_FIELD.search(await form.text()).group(1)
        response = await client.post(
            "/login",
            data={"csrf_token": token, "username": "staff", "password": ADMIN_PASSWORD},
            headers={"Cookie": f"{LOGIN_CSRF_COOKIE}={login_cookie.value}"},
            allow_redirects=False,
        )
        assert response.status == 303
        session_cookie = response.cookies[SESSION_COOKIE]
        assert session_cookie["secure"] and session_cookie["httponly"] and session_cookie["samesite"] == "Strict"


@pytest.mark.asyncio
async def test_login_without_csrf_is_forbidden(make_settings, sqlite_url) -> None:
    async with running_inbox(make_settings(sqlite_url)) as client:
        response = await client.post("/login", data={"username": "staff", "password": ADMIN_PASSWORD})
        assert response.status == 403
        await client.get("/login")  # sets the pre-session cookie, but a forged token still fails
        response = await client.post(
            "/login", data={"username": "staff", "password": ADMIN_PASSWORD, "csrf_token": "forged"}
        )
        assert response.status == 403
        assert (await client.get("/", allow_redirects=False)).status == 302


@pytest.mark.asyncio
async def test_repeated_failures_are_rate_limited(make_settings, sqlite_url) -> None:
    async with running_inbox(make_settings(sqlite_url)) as client:
        statuses = [(await sign_in(client, password="guess")).status for _ in range(4)]
        assert statuses == [401] * 4  # three free failures, the fourth starts a wait
        blocked = await sign_in(client)  # even the right password waits, from this address
        assert blocked.status == 429 and int(blocked.headers["Retry-After"]) >= 1
        assert (await client.get("/", allow_redirects=False)).status == 302


@pytest.mark.asyncio
async def test_logout_needs_csrf_and_ends_the_session(make_settings, sqlite_url) -> None:
    async with running_inbox(make_settings(sqlite_url)) as client:
        await sign_in(client)
        old_cookie = client.session.cookie_jar.filter_cookies(client.make_url("/"))[SESSION_COOKIE].value
        assert (await client.post("/logout", data={}, allow_redirects=False)).status == 403
        assert (await client.get("/", allow_redirects=False)).status == 200
        token = await page_csrf(client)
        response = await client.post("/logout", data={"csrf_token": token}, allow_redirects=False)
        assert response.status == 303 and response.headers["Location"] == "/login"
        # Replaying the old cookie does not work: the server-side session is gone.
        client.session.cookie_jar.update_cookies({SESSION_COOKIE: old_cookie})
        assert (await client.get("/", allow_redirects=False)).status == 302


@pytest.mark.asyncio
async def test_expired_session_is_signed_out(make_settings, sqlite_url) -> None:
    async with running_inbox(make_settings(sqlite_url)) as client:
        await sign_in(client)
        store = client.server.app[STATE].store
        with store.engine.begin() as conn:
            conn.exec_driver_sql("UPDATE inbox_sessions SET expires_at = ?", (time.time() - 1,))
        assert (await client.get("/", allow_redirects=False)).status == 302


# --- pages -----------------------------------------------------------------------------------------------------
@pytest.mark.asyncio
async def test_visitor_strings_are_escaped_on_list_lead_and_alert_pages(make_settings, database_url) -> None:
    async with running_inbox(make_settings(database_url)) as client:
        lead = lead_event(first_name=XSS_SCRIPT, concern=XSS_ATTR)
        lead["lead"]["reasons"] = [{"id": "r", "text": XSS_ATTR}]
        lead["lead"]["contraindications"][0]["answer"] = XSS_SCRIPT
        alert = alert_event(first_name=XSS_ATTR, message=XSS_SCRIPT)
        assert (await post_event(client, lead)).status == 201
        assert (await post_event(client, alert)).status == 201
        await sign_in(client)
        for path in ("/", f"/leads/{lead['id']}", f"/alerts/{alert['id']}"):
            response = await client.get(path)
            text = await response.text()
            assert response.status == 200, path
            assert "<script>" not in text and "<img" not in text, path
            assert "onerror=alert(1)>" not in text.replace("&gt;", ""), path
        list_text = await (await client.get("/")).text()
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in list_text
        lead_text = await (await client.get(f"/leads/{lead['id']}")).text()
        assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in lead_text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in lead_text
        alert_text = await (await client.get(f"/alerts/{alert['id']}")).text()
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in alert_text


@pytest.mark.asyncio
async def test_lead_page_shows_the_screening_and_status_history(make_settings, database_url) -> None:
    async with running_inbox(make_settings(database_url)) as client:
        lead = lead_event(first_name="Maya", crisis={"flagged": True, "categories": ["self_harm"]})
        await post_event(client, lead)
        await sign_in(client)
        text = await (await client.get(f"/leads/{lead['id']}")).text()
        for expected in (
            "qualified",
            "anxiety",
            "34",
            "GAD-7",
            "15",
            "PHQ-9",
            "12",
            "History of psychosis",
            "absolute",
            "GAD-7 in the severe range",
            "+18185550100",
            "ana@example.org",
            "rest",
            "self_harm",
            "Risk was flagged",
            "No changes yet.",
        ):
            assert expected in text, expected


@pytest.mark.asyncio
async def test_lead_page_shows_a_risk_check_answered_no(make_settings, database_url) -> None:
    async with running_inbox(make_settings(database_url)) as client:
        lead = lead_event(first_name="Ray", crisis={"flagged": False, "categories": [], "checks_denied": 1})
        await post_event(client, lead)
        plain = lead_event(first_name="Sam")
        await post_event(client, plain)
        await sign_in(client)
        text = await (await client.get(f"/leads/{lead['id']}")).text()
        assert "Risk check answered No" in text and "1 time(s)" in text and "Risk was flagged" not in text
        text = await (await client.get(f"/leads/{plain['id']}")).text()
        assert "Risk check answered No" not in text


@pytest.mark.asyncio
async def test_status_change_needs_csrf_and_records_who_and_when(make_settings, database_url) -> None:
    async with running_inbox(make_settings(database_url)) as client:
        lead = lead_event()
        await post_event(client, lead)
        await sign_in(client)
        path = f"/leads/{lead['id']}"
        no_csrf = await client.post(f"{path}/status", data={"status": "contacted"}, allow_redirects=False)
        assert no_csrf.status == 403
        bad_csrf = await client.post(
            f"{path}/status", data={"status": "contacted", "csrf_token": "nope"}, allow_redirects=False
        )
        assert bad_csrf.status == 403
        store = client.server.app[STATE].store
        assert store.get_event(lead["id"]).status == "new" and store.status_history(lead["id"]) == []
        token = await page_csrf(client, path)
        before = time.time()
        response = await client.post(
            f"{path}/status", data={"status": "contacted", "csrf_token": token}, allow_redirects=False
        )
        assert response.status == 303 and response.headers["Location"] == path
        history = store.status_history(lead["id"])
        assert len(history) == 1
        assert (history[0].from_status, history[0].to_status, history[0].changed_by) == ("new", "contacted", "staff")
        assert before - 1 <= history[0].changed_at <= time.time() + 1
        page = await (await client.get(path)).text()
        assert re.search(r"<td>[0-9-]+ [0-9:]+ UTC</td><td>staff</td><td>new</td><td>contacted</td>", page)
        invalid = await client.post(f"{path}/status", data={"status": "acknowledged", "csrf_token": token})
        assert invalid.status == 400
        assert store.get_event(lead["id"]).status == "contacted"


@pytest.mark.asyncio
async def test_alert_status_and_unknown_ids(make_settings, sqlite_url) -> None:
    async with running_inbox(make_settings(sqlite_url)) as client:
        alert, lead = alert_event(), lead_event()
        await post_event(client, alert)
        await post_event(client, lead)
        await sign_in(client)
        token = await page_csrf(client)
        response = await client.post(
            f"/alerts/{alert['id']}/status",
            data={"status": "acknowledged", "csrf_token": token},
            allow_redirects=False,
        )
        assert response.status == 303
        assert client.server.app[STATE].store.get_event(alert["id"]).status == "acknowledged"
        assert (await client.get("/leads/no-such-id")).status == 404
        assert (await client.get(f"/leads/{alert['id']}")).status == 404  # an alert is not a lead
        assert (await client.get(f"/alerts/{lead['id']}")).status == 404


@pytest.mark.asyncio
async def test_open_crisis_alerts_are_listed_above_leads(make_settings, database_url) -> None:
    async with running_inbox(make_settings(database_url)) as client:
        alert = alert_event(first_name="AlertPerson")
        await post_event(client, alert)
        await post_event(client, lead_event(first_name="OlderLead"))
        await post_event(client, lead_event(first_name="NewerLead"))  # received after the alert
        await sign_in(client)
        text = await (await client.get("/")).text()
        assert text.index("AlertPerson") < text.index("NewerLead") < text.index("OlderLead")
        assert re.search(r'<tr class="alert-open">.*?AlertPerson', text)
        token = await page_csrf(client)
        await client.post(f"/alerts/{alert['id']}/status", data={"status": "closed", "csrf_token": token})
        text = await (await client.get("/")).text()
        assert "No open crisis alerts." in text
        assert text.index("OlderLead") < text.index("AlertPerson")


@pytest.mark.asyncio
async def test_outbox_backlog_is_shown_to_staff_and_on_health(make_settings, sqlite_url) -> None:
    dead = [
        {
            "id": "dead-1",
            "type": "lead.created",
            "created_at": "2026-11-27T01:00:00Z",
            "attempts": 9,
            "last_error": XSS_SCRIPT,
        }
    ]
    async with running_inbox(make_settings(sqlite_url), outbox=FakeOutbox(pending=3, dead=dead)) as client:
        health = await client.get("/health")
        assert health.status == 200
        assert await health.json() == {"status": "ok", "outbox": {"pending": 3, "dead": 1}}
        await sign_in(client)
        text = await (await client.get("/")).text()
        assert "Pending deliveries: 3" in text and "undeliverable (dead): 1" in text
        assert "dead-1" in text and "&lt;script&gt;" in text and "<script>" not in text


@pytest.mark.asyncio
async def test_security_headers_on_pages_errors_and_api(make_settings, sqlite_url) -> None:
    async with running_inbox(make_settings(sqlite_url)) as client:
        responses = [await client.get("/login"), await client.get("/api/leads"), await client.get("/health")]
        await sign_in(client)
        responses += [await client.get("/"), await client.get("/leads/missing"), await client.get("/export.csv")]
        for response in responses:
            assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            assert response.headers["Referrer-Policy"] == "no-referrer"
            assert response.headers["Cache-Control"] == "no-store"
        css = await client.get("/static/inbox.css")
        assert css.status == 200 and css.content_type == "text/css"
        assert "default-src 'none'" in css.headers["Content-Security-Policy"]
        page = await (await client.get("/")).text()
        assert "<script" not in page and "style=" not in page


@pytest.mark.asyncio
async def test_csv_export_quotes_formulas_and_keeps_markup_inert(make_settings, database_url) -> None:
    async with running_inbox(make_settings(database_url)) as client:
        xss = lead_event(first_name=XSS_SCRIPT, concern=XSS_ATTR)
        formula = lead_event(first_name='=HYPERLINK("http://evil")', concern="@SUM(A1)")
        formula["lead"]["contact"]["email"] = "-2+3"
        await post_event(client, xss)
        await post_event(client, formula)
        await post_event(client, alert_event(first_name="NotALead"))
        await sign_in(client)
        response = await client.get("/export.csv")
        assert response.status == 200 and response.content_type == "text/csv"
        assert response.headers["Content-Disposition"].startswith("attachment")
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        rows = list(csv.DictReader(io.StringIO(await response.text())))
        assert len(rows) == 2  # leads only
        by_id = {row["id"]: row for row in rows}
        assert by_id[xss["id"]]["first_name"] == XSS_SCRIPT
        assert by_id[xss["id"]]["concern"] == XSS_ATTR  # one intact cell: the quote inside is CSV-escaped
        assert by_id[formula["id"]]["first_name"] == '\'=HYPERLINK("http://evil")'
        assert by_id[formula["id"]]["concern"] == "'@SUM(A1)"
        assert by_id[formula["id"]]["email"] == "'-2+3"
        assert by_id[formula["id"]]["phone"] == "'+18185550100"
        assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row.values())


# --- JSON API --------------------------------------------------------------------------------------------------
@pytest.mark.asyncio
async def test_api_refuses_missing_or_wrong_tokens(make_settings, sqlite_url) -> None:
    async with running_inbox(make_settings(sqlite_url)) as client:
        lead = lead_event()
        await post_event(client, lead)
        for path in ("/api/leads", f"/api/leads/{lead['id']}", "/api/alerts"):
            for headers in ({}, api_headers("wrong"), {"Authorization": API_TOKEN}, {"Authorization": "Bearer "}):
                response = await client.get(path, headers=headers)
                assert response.status == 401, (path, headers)
                assert (await response.json()) == {"error": "unauthorized"}
        # A signed-in browser session is not an API credential.
        await sign_in(client)
        assert (await client.get("/api/leads")).status == 401


@pytest.mark.asyncio
async def test_api_answers_401_to_everyone_when_no_token_is_configured(make_settings, sqlite_url) -> None:
    async with running_inbox(make_settings(sqlite_url, inbox_api_token="")) as client:
        for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Bearer x"}):
            assert (await client.get("/api/leads", headers=headers)).status == 401


@pytest.mark.asyncio
async def test_api_lists_leads_newest_first_filters_and_404s(make_settings, database_url) -> None:
    async with running_inbox(make_settings(database_url)) as client:
        first, second, alert = lead_event("First"), lead_event("Second"), alert_event()
        for event in (first, second, alert):
            await post_event(client, event)
        response = await client.get("/api/leads", headers=api_headers())
        assert response.status == 200 and response.headers["Cache-Control"] == "no-store"
        leads = (await response.json())["leads"]
        assert [item["id"] for item in leads] == [second["id"], first["id"]]
        assert leads[0]["event"] == second and leads[0]["status"] == "new"
        client.server.app[STATE].store.change_status(first["id"], "scheduled", "staff")
        filtered = await (await client.get("/api/leads?status=scheduled", headers=api_headers())).json()
        assert [item["id"] for item in filtered["leads"]] == [first["id"]]
        assert (await client.get("/api/leads?status=bogus", headers=api_headers())).status == 400
        one = await (await client.get(f"/api/leads/{first['id']}", headers=api_headers())).json()
        assert one["status"] == "scheduled" and one["history"][0]["by"] == "staff"
        assert one["history"][0]["from"] == "new" and one["history"][0]["to"] == "scheduled"
        missing = await client.get("/api/leads/nope", headers=api_headers())
        assert missing.status == 404 and (await missing.json())["error"]
        assert (await client.get(f"/api/leads/{alert['id']}", headers=api_headers())).status == 404
        alerts = await (await client.get("/api/alerts", headers=api_headers())).json()
        assert [item["id"] for item in alerts["alerts"]] == [alert["id"]]


# --- the deliverer (its own process now) ----------------------------------------------------------------------
def test_our_modules_are_imported_plainly_so_a_missing_one_fails_at_import() -> None:
    # No `try/except ImportError` around our own modules: without the outbox the app does not even import.
    code = "import sys; sys.modules['bot.handoff.outbox'] = None; import services.inbox.app"
    result = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "bot.handoff.outbox" in result.stderr


@pytest.mark.asyncio
async def test_the_inbox_runs_no_deliverer(make_settings, sqlite_url) -> None:
    from bot.handoff.outbox import Outbox

    port = free_port()
    settings = make_settings(sqlite_url, inbox_port=port)
    async with running_inbox(settings, real_outbox=True, port=port) as client:
        producer = Outbox(sqlite_url)
        try:
            assert producer.enqueue(lead_event("Waiting"))
            # The deliverer would pick it up within its 0.5 s poll; give it ample time to (wrongly) do so.
            await asyncio.sleep(2.0)
            assert _count(client) == 0
            health = await (await client.get("/health")).json()
            assert health == {"status": "ok", "outbox": {"pending": 1, "dead": 0}}
        finally:
            producer.close()


@pytest.mark.asyncio
async def test_the_deliverer_moves_outbox_events_into_the_bundled_inbox(make_settings, database_url) -> None:
    from bot.handoff.outbox import Outbox
    from services.deliverer import Deliverer

    port = free_port()
    settings = make_settings(database_url, inbox_port=port, handoff_timeout_s=5.0)
    assert settings.delivery_url == f"http://127.0.0.1:{port}/api/events"
    async with running_inbox(settings, real_outbox=True, port=port) as client:
        producer = Outbox(database_url)  # what the action server does in its own process
        deliverer_outbox = Outbox(database_url)  # and the deliverer in its own
        stop = asyncio.Event()
        task = asyncio.create_task(Deliverer.from_settings(deliverer_outbox, settings).run_forever(stop))
        try:
            lead, alert = lead_event("Delivered"), alert_event()
            assert producer.enqueue(lead) and producer.enqueue(alert)
            store = client.server.app[STATE].store
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and _count(client) < 2:
                await asyncio.sleep(0.1)
            assert store.get_event(lead["id"]).body == lead
            assert store.get_event(alert["id"]).status == "open"
            while time.monotonic() < deadline and producer.stats()["pending"]:
                await asyncio.sleep(0.1)
            assert producer.stats()["pending"] == 0 and producer.stats()["delivered"] == 2
            health = await (await client.get("/health")).json()
            assert health == {"status": "ok", "outbox": {"pending": 0, "dead": 0}}
        finally:
            stop.set()
            await asyncio.wait_for(task, timeout=15)
            producer.close()
            deliverer_outbox.close()
