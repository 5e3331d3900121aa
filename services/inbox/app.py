"""The bundled staff inbox: receives signed handoff events, shows them to signed-in staff, offers a JSON API.

It reads the outbox (pending and dead events, for /health and the staff page) but does not deliver it: the
deliverer is its own process (services/deliverer.py), which also purges the outbox. The inbox purges only its
own closed items.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as _dt
import functools
import inspect
import json
import logging
import math
import time
from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path
from typing import Any, Awaitable, Callable, Optional

from aiohttp import web, web_response
from aiohttp.abc import AbstractAccessLogger

from bot.handoff.notification_store import NotificationStore
from bot.handoff.outbox import Outbox
from bot.handoff.signing import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, verify
from bot.settings import inbox_secret_problems, refuse_to_start
from services.inbox import auth, chat, proxies, views
from services.inbox.events import (
    ALERT_TYPES,
    LEAD_STATUSES,
    LEAD_TYPES,
    InvalidEvent,
    statuses_for,
    validate_event,
)
from services.inbox.export import leads_csv
from services.inbox.passwords import (
    CURRENT_COST,
    ScryptCost,
    hash_password,
    needs_upgrade,
    resolve_admin_password_hash,
    store_upgraded_hash,
)
from services.inbox.store import InboxStore, StaffSession, StoredEvent, UnknownStatus

logger = logging.getLogger("services.inbox")

MAX_BODY_BYTES = 256 * 1024
DEAD_EVENTS_SHOWN = 50
STATIC_DIR = Path(__file__).resolve().parent / "static"
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HTML = "text/html"
# What the Server header says: no framework or Python version for a scanner to match against advisories.
SERVER_NAME = "haven-inbox"
# HSTS on answers that came over HTTPS (one year; no includeSubDomains: the clinic's other hosts are not ours).
STRICT_TRANSPORT_SECURITY = "max-age=31536000"
# scrypt at the current cost holds 128 MiB and a core for about half a second: a burst of sign-ins waits its turn
# here instead of exhausting memory and CPU (2 at once: this machine class has 2 cores).
MAX_CONCURRENT_PASSWORD_CHECKS = 2
ACCESS_LOG_PATH_LIMIT = 300


@dataclass
class InboxState:
    """Everything the handlers share. `outbox` may be replaced before startup (tests inject a fake)."""

    settings: Any
    store: InboxStore
    admin_password_hash: str
    throttle: auth.SignInThrottle = dc_field(default_factory=auth.SignInThrottle)
    password_cost: ScryptCost = CURRENT_COST
    password_checks: asyncio.Semaphore = dc_field(
        default_factory=lambda: asyncio.Semaphore(MAX_CONCURRENT_PASSWORD_CHECKS)
    )
    password_upgrade: asyncio.Lock = dc_field(default_factory=asyncio.Lock)
    outbox: Any = None
    notifications: Any = None  # the deliverer's staff-notification rows (bot/handoff/notification_store.py)

    @property
    def credential(self) -> str:
        """The current password's fingerprint: sessions opened with another one are signed out."""
        return auth.credential_fingerprint(self.admin_password_hash, self.settings.inbox_session_secret)


STATE = web.AppKey("inbox_state", InboxState)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class StaffRequest:
    """The signed-in staff member's session and, for POSTs, the submitted form."""

    session: StaffSession
    form: Any = None

    @property
    def page_context(self) -> dict:
        return {"user": self.session.username, "csrf_token": self.session.csrf_token}


StaffHandler = Callable[[web.Request, StaffRequest], Awaitable[web.StreamResponse]]


async def _in_thread(fn: Callable[..., Any], *args: Any) -> Any:
    """Run blocking database work off the event loop; await the result too if it is a coroutine."""
    result = await asyncio.to_thread(fn, *args)
    if inspect.isawaitable(result):
        result = await result
    return result


def _state(request: web.Request) -> InboxState:
    return request.app[STATE]


def _json_error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _html(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type=HTML, charset="utf-8")


def _redirect(location: str) -> web.Response:
    """A 303 that can carry cookies (returning HTTPException objects is deprecated in aiohttp)."""
    return web.Response(status=303, headers={"Location": location})


def _iso(epoch: float) -> str:
    return _dt.datetime.fromtimestamp(epoch, tz=_dt.timezone.utc).isoformat()


# --- response headers and access log ---------------------------------------------------------------------
def _came_over_https(request: web.Request) -> bool:
    settings = _state(request).settings
    forwarded = request.headers.getall("X-Forwarded-Proto", [])
    return proxies.came_over_https(request.secure, request.remote, forwarded, settings.trusted_proxies)


def _client_address(request: web.Request) -> str:
    settings = _state(request).settings
    forwarded = request.headers.getall("X-Forwarded-For", [])
    return proxies.client_address(request.remote, forwarded, settings.trusted_proxies)


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    headers = response.headers
    headers["Server"] = SERVER_NAME
    if _came_over_https(request):
        headers["Strict-Transport-Security"] = STRICT_TRANSPORT_SECURITY
    # The public chat demo page runs the widget (its script, its fetch to the chat server); every other page
    # is a staff page with no script at all.
    is_chat_page = request.path == chat.CHAT_PATH and request.method in ("GET", "HEAD")
    headers["Content-Security-Policy"] = (
        chat.chat_page_csp(_state(request).settings) if is_chat_page else CONTENT_SECURITY_POLICY
    )
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "no-referrer"
    headers["X-Frame-Options"] = "DENY"
    if not request.path.startswith("/static/"):
        # Pages and API answers carry health information: never keep them in a browser or proxy cache.
        headers["Cache-Control"] = "no-store"


def _escape_char(char: str) -> str:
    if char == "\\":
        return "\\\\"
    if " " < char < "\x7f":
        return char
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def loggable_path(raw_path: str, limit: int = ACCESS_LOG_PATH_LIMIT) -> str:
    """The path as sent (percent-escapes left as they are, so `%0a` stays three characters), without the query
    string, with anything but printable ASCII written as an escape: no request can start a forged log line."""
    path = raw_path.split("?", 1)[0]
    escaped = "".join(_escape_char(char) for char in path[:limit])
    return escaped + "..." if len(path) > limit else escaped


class PathOnlyAccessLogger(AbstractAccessLogger):
    """Method, raw path (never the query string), status and time: no bodies, no visitor data."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info("%s %s %s %.3fs", request.method, loggable_path(request.raw_path), response.status, time)


# --- sessions and CSRF -----------------------------------------------------------------------------------
async def _current_session(request: web.Request) -> Optional[StaffSession]:
    """The live session of this request's cookie: not expired, not idle too long, opened with the current
    password. A session that fails is deleted; a live one has its last use recorded."""
    token = request.cookies.get(auth.SESSION_COOKIE)
    if not token or len(token) > 200:
        return None
    state = _state(request)
    token_hash = auth.session_token_hash(token, state.settings.inbox_session_secret)
    session = await _in_thread(state.store.get_session, token_hash)
    if session is None:
        return None
    now = time.time()
    live = auth.session_is_live(
        now=now,
        expires_at=session.expires_at,
        last_seen_at=session.last_seen_at,
        idle_timeout_s=state.settings.inbox_session_idle_minutes * 60.0,
        credential=session.credential,
        current=state.credential,
    )
    if not live:
        await _in_thread(state.store.delete_session, token_hash)
        return None
    if now - session.last_seen_at >= auth.SESSION_TOUCH_INTERVAL_S:
        await _in_thread(state.store.touch_session, token_hash, now)
    return session


async def _read_form(request: web.Request) -> Optional[Any]:
    """The posted form, or None when it cannot be parsed (bad encoding, broken multipart, unknown charset): the
    caller answers 400. A body over the size cap still raises 413."""
    try:
        return await request.post()
    except web.HTTPException:
        raise
    except (ValueError, LookupError) as exc:  # UnicodeDecodeError is a ValueError
        logger.info("unreadable form on %s (%s)", request.method, type(exc).__name__)
        return None


def _set_cookie(response: web.StreamResponse, settings: Any, name: str, value: str, max_age: int, path: str) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=path,
        httponly=True,
        secure=bool(settings.inbox_cookie_secure),
        samesite="Strict",
    )


def staff_only(handler: StaffHandler) -> Handler:
    """Signed-out GETs go to /login (302), signed-out POSTs get 401; every POST needs the session's CSRF token."""

    @functools.wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        session = await _current_session(request)
        if session is None:
            if request.method in ("GET", "HEAD"):
                raise web.HTTPFound("/login")
            return _html(views.message_page("Signed out", "Please sign in again."), status=401)
        form = None
        if request.method == "POST":
            form = await _read_form(request)
            if form is None:
                return _html(views.message_page("Bad request", "The form could not be read; reload the page."), 400)
            given = form.get("csrf_token")
            if not isinstance(given, str) or not auth.tokens_match(session.csrf_token, given):
                return _html(views.message_page("Forbidden", "The form expired; reload the page."), status=403)
        return await handler(request, StaffRequest(session, form))

    return wrapper


# --- sign-in -------------------------------------------------------------------------------------------------
def _login_response(request: web.Request, error: Optional[str] = None, status: int = 200) -> web.Response:
    settings = _state(request).settings
    cookie = request.cookies.get(auth.LOGIN_CSRF_COOKIE)
    if not cookie or len(cookie) > 200:
        cookie = auth.new_token()
    response = _html(views.login_page(auth.login_csrf_token(cookie, settings.inbox_session_secret), error), status)
    _set_cookie(response, settings, auth.LOGIN_CSRF_COOKIE, cookie, auth.LOGIN_CSRF_TTL_S, "/login")
    return response


async def login_form(request: web.Request) -> web.StreamResponse:
    if await _current_session(request) is not None:
        raise web.HTTPFound("/")
    return _login_response(request)


def _wait_words(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    return f"{math.ceil(seconds / 60)} minutes"


async def _upgrade_password_hash(state: InboxState, password: str) -> None:
    """After a correct sign-in with a hash cheaper than the current cost: re-hash, keep it, move the sessions of
    the old hash over (same password, so nobody is signed out). A failure leaves the old hash in use."""
    async with state.password_upgrade:
        if not needs_upgrade(state.admin_password_hash, state.password_cost):
            return  # a concurrent sign-in upgraded it
        settings = state.settings
        try:
            async with state.password_checks:
                new_hash = await _in_thread(hash_password, password, state.password_cost)
            await _in_thread(store_upgraded_hash, settings.inbox_admin_password_hash, settings.data_dir, new_hash)
        except (OSError, ValueError, MemoryError) as exc:
            logger.warning("staff password hash upgrade failed (%s); the old hash stays in use", type(exc).__name__)
            return
        old_credential = state.credential
        state.admin_password_hash = new_hash
        await _in_thread(state.store.rebind_sessions, old_credential, state.credential)
        cost = state.password_cost
        logger.info("staff password hash upgraded to scrypt N=%d r=%d p=%d", cost.n, cost.r, cost.p)
        if settings.inbox_admin_password_hash.strip():
            logger.warning(
                "INBOX_ADMIN_PASSWORD_HASH has an older scrypt cost; the upgraded hash is kept in DATA_DIR. "
                "Replace the setting with a new hash (python -m services.inbox.passwords)."
            )


async def login_submit(request: web.Request) -> web.StreamResponse:
    state = _state(request)
    settings = state.settings
    form = await _read_form(request)
    if form is None:
        return _login_response(request, "The sign-in form could not be read. Reload the page and try again.", 400)
    cookie = request.cookies.get(auth.LOGIN_CSRF_COOKIE)
    given = form.get("csrf_token")
    expected = auth.login_csrf_token(cookie, settings.inbox_session_secret) if cookie else None
    if not isinstance(given, str) or not auth.tokens_match(expected, given):
        return _html(views.message_page("Forbidden", "The sign-in form expired; reload the page."), status=403)
    username = form.get("username")
    password = form.get("password")
    if not isinstance(username, str) or not isinstance(password, str) or len(username) > 200 or len(password) > 1024:
        return _login_response(request, "Enter your username and password.", status=400)
    # The attempt is reserved (counted as a failure) before the password check, so concurrent guesses from one
    # address see each other; only a correct password gives it back.
    attempt = state.throttle.reserve(_client_address(request), username)
    if isinstance(attempt, auth.Refusal):
        wait = _wait_words(attempt.retry_after_s)
        response = _login_response(request, f"Too many failed tries. Wait {wait} and try again.", status=429)
        response.headers["Retry-After"] = str(attempt.retry_after_s)
        return response
    async with state.password_checks:
        ok = await _in_thread(
            auth.check_credentials, username, password, settings.inbox_admin_user, state.admin_password_hash
        )
    if not ok:
        logger.info("inbox sign-in failed")
        return _login_response(request, "Wrong username or password.", status=401)
    state.throttle.succeeded(attempt)
    if needs_upgrade(state.admin_password_hash, state.password_cost):
        await _upgrade_password_hash(state, password)
    token, csrf_token = auth.new_token(), auth.new_token()
    expires_at = time.time() + auth.SESSION_TTL_S
    await _in_thread(
        state.store.create_session,
        auth.session_token_hash(token, settings.inbox_session_secret),
        username,
        csrf_token,
        expires_at,
        state.credential,
    )
    response = _redirect("/")
    _set_cookie(response, settings, auth.SESSION_COOKIE, token, auth.SESSION_TTL_S, "/")
    response.del_cookie(auth.LOGIN_CSRF_COOKIE, path="/login")
    return response


@staff_only
async def logout(request: web.Request, staff: StaffRequest) -> web.StreamResponse:
    state = _state(request)
    token = request.cookies.get(auth.SESSION_COOKIE, "")
    await _in_thread(state.store.delete_session, auth.session_token_hash(token, state.settings.inbox_session_secret))
    response = _redirect("/login")
    response.del_cookie(auth.SESSION_COOKIE, path="/")
    return response


# --- staff pages ---------------------------------------------------------------------------------------------
async def _backlog(state: InboxState) -> views.OutboxBacklog:
    if state.outbox is None:
        return views.OutboxBacklog(available=False)
    try:
        stats = await _in_thread(state.outbox.stats)
        dead = await _in_thread(state.outbox.list_dead, DEAD_EVENTS_SHOWN)
        dead_rows = [row if isinstance(row, dict) else getattr(row, "__dict__", {}) for row in (dead or [])]
        return views.OutboxBacklog(
            available=True,
            pending=stats.get("pending"),
            dead=stats.get("dead"),
            oldest_pending_age_s=stats.get("oldest_pending_age_s"),
            dead_events=dead_rows,
        )
    except Exception as exc:  # noqa: BLE001 - the list must still show leads when the outbox is unreadable
        logger.warning("outbox stats unavailable: %s", type(exc).__name__)
        return views.OutboxBacklog(available=False)


async def _with_notifications(state: InboxState, backlog: views.OutboxBacklog) -> views.OutboxBacklog:
    if state.notifications is None or not backlog.available:
        return backlog
    try:
        stats = await _in_thread(state.notifications.stats)
        dead = await _in_thread(state.notifications.list_dead, DEAD_EVENTS_SHOWN)
    except Exception as exc:  # noqa: BLE001 - the list must still show when the notifications are unreadable
        logger.warning("notification stats unavailable: %s", type(exc).__name__)
        return backlog
    return dataclasses.replace(
        backlog,
        notifications_pending=stats.get("pending"),
        notifications_dead=stats.get("dead"),
        dead_notifications=dead,
    )


@staff_only
async def index(request: web.Request, staff: StaffRequest) -> web.StreamResponse:
    state = _state(request)
    alerts = await _in_thread(state.store.list_events, ALERT_TYPES)
    leads = await _in_thread(state.store.list_events, LEAD_TYPES)
    backlog = await _with_notifications(state, await _backlog(state))
    open_alerts = [a for a in alerts if a.status == "open"]
    earlier_alerts = [a for a in alerts if a.status != "open"]
    return _html(views.list_page(open_alerts, leads, earlier_alerts, backlog, **staff.page_context))


async def _event_of_kind(request: web.Request, types: tuple) -> Optional[StoredEvent]:
    event = await _in_thread(_state(request).store.get_event, request.match_info["id"])
    return event if event is not None and event.type in types else None


def _not_found(staff: StaffRequest) -> web.Response:
    return _html(views.message_page("Not found", "No such item.", **staff.page_context), status=404)


@staff_only
async def lead_detail(request: web.Request, staff: StaffRequest) -> web.StreamResponse:
    event = await _event_of_kind(request, LEAD_TYPES)
    if event is None:
        return _not_found(staff)
    history = await _in_thread(_state(request).store.status_history, event.id)
    return _html(views.lead_page(event, history, **staff.page_context))


@staff_only
async def alert_detail(request: web.Request, staff: StaffRequest) -> web.StreamResponse:
    event = await _event_of_kind(request, ALERT_TYPES)
    if event is None:
        return _not_found(staff)
    history = await _in_thread(_state(request).store.status_history, event.id)
    return _html(views.alert_page(event, history, **staff.page_context))


async def _change_status(request: web.Request, staff: StaffRequest, types: tuple) -> web.StreamResponse:
    event = await _event_of_kind(request, types)
    if event is None:
        return _not_found(staff)
    to_status = staff.form.get("status")
    if not isinstance(to_status, str) or to_status not in statuses_for(event.type):
        return _html(views.message_page("Bad request", "Unknown status.", **staff.page_context), status=400)
    try:
        await _in_thread(_state(request).store.change_status, event.id, to_status, staff.session.username)
    except UnknownStatus:
        return _html(views.message_page("Bad request", "Unknown status.", **staff.page_context), status=400)
    return _redirect(views.event_path(event))


@staff_only
async def lead_status(request: web.Request, staff: StaffRequest) -> web.StreamResponse:
    return await _change_status(request, staff, LEAD_TYPES)


@staff_only
async def alert_status(request: web.Request, staff: StaffRequest) -> web.StreamResponse:
    return await _change_status(request, staff, ALERT_TYPES)


@staff_only
async def export_csv(request: web.Request, staff: StaffRequest) -> web.StreamResponse:
    leads = await _in_thread(_state(request).store.list_events, LEAD_TYPES)
    return web.Response(
        text=leads_csv(leads),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": 'attachment; filename="haven-leads.csv"'},
    )


# --- the web chat widget (public) ------------------------------------------------------------------------
async def chat_demo(request: web.Request) -> web.StreamResponse:
    return _html(chat.chat_page(_state(request).settings))


# --- receiving events ----------------------------------------------------------------------------------------
async def receive_event(request: web.Request) -> web.StreamResponse:
    state = _state(request)
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        return _json_error(413, "body too large")
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return _json_error(413, "body too large")
    # Authenticate the raw bytes before anything looks inside them.
    if not verify(body, request.headers.get(SIGNATURE_HEADER), state.settings.handoff_secret):
        return _json_error(401, "bad or missing signature")
    try:
        event = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return _json_error(400, "body is not UTF-8 JSON")
    try:
        envelope = validate_event(event, request.headers.get(IDEMPOTENCY_HEADER))
    except InvalidEvent as exc:
        return _json_error(400, str(exc))
    try:
        stored = await _in_thread(state.store.add_event, envelope.id, envelope.type, envelope.created_at, event)
    except Exception as exc:  # noqa: BLE001 - a store error's text can quote the event body: type and id only
        logger.error("could not store event %s (%s): %s", envelope.id, envelope.type, type(exc).__name__)
        return _json_error(503, "store unavailable, retry later")
    if not stored:
        return web.json_response({"status": "duplicate"}, status=200)
    logger.info("stored %s event", envelope.type)
    return web.json_response({"status": "stored"}, status=201)


# --- JSON API --------------------------------------------------------------------------------------------------
def api_token_required(handler: Handler) -> Handler:
    @functools.wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        expected = _state(request).settings.inbox_api_token
        header = request.headers.get("Authorization", "")
        scheme, _, given = header.partition(" ")
        if not expected or scheme.lower() != "bearer" or not auth.tokens_match(expected, given.strip()):
            return web.json_response(
                {"error": "unauthorized"}, status=401, headers={"WWW-Authenticate": 'Bearer realm="haven-inbox"'}
            )
        return await handler(request)

    return wrapper


def _event_json(event: StoredEvent) -> dict:
    return {
        "id": event.id,
        "type": event.type,
        "status": event.status,
        "received_at": _iso(event.received_at),
        "event": event.body,
    }


@api_token_required
async def api_leads(request: web.Request) -> web.StreamResponse:
    status = request.query.get("status") or None
    if status is not None and status not in LEAD_STATUSES:
        return _json_error(400, "status must be one of " + ", ".join(LEAD_STATUSES))
    leads = await _in_thread(_state(request).store.list_events, LEAD_TYPES, status)
    return web.json_response({"leads": [_event_json(e) for e in leads]})


@api_token_required
async def api_lead(request: web.Request) -> web.StreamResponse:
    event = await _event_of_kind(request, LEAD_TYPES)
    if event is None:
        return _json_error(404, "no such lead")
    history = await _in_thread(_state(request).store.status_history, event.id)
    payload = _event_json(event)
    payload["history"] = [
        {"from": c.from_status, "to": c.to_status, "by": c.changed_by, "at": _iso(c.changed_at)} for c in history
    ]
    return web.json_response(payload)


@api_token_required
async def api_alerts(request: web.Request) -> web.StreamResponse:
    alerts = await _in_thread(_state(request).store.list_events, ALERT_TYPES)
    return web.json_response({"alerts": [_event_json(e) for e in alerts]})


async def health(request: web.Request) -> web.StreamResponse:
    backlog = await _backlog(_state(request))
    return web.json_response({"status": "ok", "outbox": {"pending": backlog.pending, "dead": backlog.dead}})


# --- lifecycle -----------------------------------------------------------------------------------------------
def _store_context() -> Callable[[web.Application], Any]:
    async def context(app: web.Application) -> Any:
        state = app[STATE]
        await _in_thread(state.store.create_tables)
        revoked = await _in_thread(state.store.delete_sessions_not_opened_with, state.credential)
        if revoked:
            logger.info("signed out %d staff sessions opened with another password", revoked)
        yield
        await _in_thread(state.store.dispose)

    return context


def _notifications_context() -> Callable[[web.Application], Any]:
    async def context(app: web.Application) -> Any:
        state = app[STATE]
        created_here = None
        if state.notifications is None:
            try:
                state.notifications = created_here = await _in_thread(NotificationStore, state.settings.database_url)
            except Exception as exc:  # noqa: BLE001 - the inbox serves without the notification view
                logger.warning("notification store unavailable: %s", type(exc).__name__)
        yield
        if created_here is not None:
            await _in_thread(created_here.close)

    return context


def _outbox_context() -> Callable[[web.Application], Any]:
    async def context(app: web.Application) -> Any:
        state = app[STATE]
        created_here = None
        if state.outbox is None:
            # The constructor creates its tables: blocking work, so off the event loop.
            state.outbox = created_here = await _in_thread(Outbox, state.settings.database_url)
        yield
        if created_here is not None:
            await _in_thread(created_here.close)

    return context


HOUSEKEEPING_INTERVAL_S = 3600.0


async def purge_expired(state: InboxState, now: float) -> None:
    """Bounded retention of the inbox: closed leads and alerts go INBOX_RETENTION_DAYS after they arrived (the
    deliverer purges the outbox). Counts only in the log."""
    closed = await _in_thread(state.store.purge_closed, now - state.settings.inbox_retention_days * 86400.0)
    if closed:
        logger.info("retention: removed %d closed inbox items", closed)


def _housekeeping_context() -> Callable[[web.Application], Any]:
    async def context(app: web.Application) -> Any:
        state = app[STATE]

        async def loop() -> None:
            while True:
                try:
                    await purge_expired(state, _dt.datetime.now(tz=_dt.timezone.utc).timestamp())
                except Exception as exc:  # noqa: BLE001 - keep serving; try again next round
                    logger.warning("retention purge failed (%s)", type(exc).__name__)
                await asyncio.sleep(HOUSEKEEPING_INTERVAL_S)

        task = asyncio.ensure_future(loop())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return context


def _hide_server_version() -> None:
    """aiohttp answers a request it cannot parse (400) before any app hook runs, with its module default
    `Server: Python/3.x aiohttp/3.y`; that default is the only place such an answer reads it from."""
    web_response.SERVER_SOFTWARE = SERVER_NAME


def create_app(
    settings: Any, *, password_cost: ScryptCost = CURRENT_COST, throttle: Optional[auth.SignInThrottle] = None
) -> web.Application:
    """The inbox app. Weak secrets stop it here (one line each). `password_cost` and `throttle` exist for tests
    (a cheaper scrypt, a throttle with other limits); the process always runs the defaults."""
    refuse_to_start(inbox_secret_problems(settings))
    _hide_server_version()
    admin_hash = resolve_admin_password_hash(
        settings.inbox_admin_password_hash,
        settings.data_dir,
        settings.inbox_admin_user,
        announce=lambda message: print(message, flush=True),
        cost=password_cost,
    )
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app[STATE] = InboxState(
        settings=settings,
        store=InboxStore(settings.database_url),
        admin_password_hash=admin_hash,
        throttle=throttle or auth.SignInThrottle(),
        password_cost=password_cost,
    )
    app.on_response_prepare.append(_security_headers)
    app.cleanup_ctx.append(_store_context())
    app.cleanup_ctx.append(_outbox_context())
    app.cleanup_ctx.append(_notifications_context())
    app.cleanup_ctx.append(_housekeeping_context())
    app.router.add_get("/login", login_form)
    app.router.add_post("/login", login_submit)
    app.router.add_post("/logout", logout)
    app.router.add_get("/", index)
    app.router.add_get("/leads/{id}", lead_detail)
    app.router.add_post("/leads/{id}/status", lead_status)
    app.router.add_get("/alerts/{id}", alert_detail)
    app.router.add_post("/alerts/{id}/status", alert_status)
    app.router.add_get("/export.csv", export_csv)
    app.router.add_post("/api/events", receive_event)
    app.router.add_get("/api/leads", api_leads)
    app.router.add_get("/api/leads/{id}", api_lead)
    app.router.add_get("/api/alerts", api_alerts)
    app.router.add_get("/health", health)
    app.router.add_get(chat.CHAT_PATH, chat_demo)
    for path in chat.WIDGET_FILES:
        app.router.add_get(path, chat.widget_file)
    app.router.add_static("/static/", STATIC_DIR)
    return app
