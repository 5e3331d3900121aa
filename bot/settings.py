"""One place for every setting: the environment, then `.env` (python-dotenv), then embedded defaults.

Both Python environments (Rasa's and the services') import this module, so it uses only the standard
library and python-dotenv. Secrets that the embedded default stack needs but nobody configured are generated
once and kept under DATA_DIR, so `make run` works on a fresh machine without weakening anything.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Tuple
from urllib.parse import urlsplit

from dotenv import load_dotenv

from bot.data_dir import prepare_data_dir
from bot.web_chat import InvalidOrigin, default_chat_server_url, origin_of, parse_origins

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _env(name: str, default: str = "") -> str:
    value = os.environ.get(name)
    return default if value is None else value.strip()


def _env_int(name: str, default: int) -> int:
    raw = _env(name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SystemExit(f"setting {name} must be a whole number, got {raw!r}") from exc


def _env_float(name: str, default: float) -> float:
    raw = _env(name)
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise SystemExit(f"setting {name} must be a number, got {raw!r}") from exc


def _env_positive(name: str, default: float) -> float:
    value = _env_float(name, default)
    if value <= 0:
        raise SystemExit(f"setting {name} must be more than 0, got {value:g}")
    return value


# Conversations (by last activity) and delivered outbox events; the purge runs this often in `make run`.
DEFAULT_RETENTION_DAYS = 1.0
DEFAULT_PURGE_INTERVAL_MINUTES = 60.0


def _env_bool(name: str, default: bool) -> bool:
    raw = _env(name).lower()
    if not raw:
        return default
    return raw in {"1", "true", "yes", "on"}


def rasa_speedups_enabled() -> bool:
    """RASA_SPEEDUPS (default on): rasa_ext/speedups.py's version-guarded patches of stock Rasa in the Rasa
    process (docs/performance.md). `off` runs stock Rasa: slower, same behaviour (to measure, or rule them out)."""
    return _env_bool("RASA_SPEEDUPS", True)


def generated_secret(data_dir: Path, name: str) -> str:
    """A random secret kept in DATA_DIR/<name> (mode 0600), created on first use."""
    path = data_dir / name
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    value = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value


# --- checks a process makes at start (each problem is one line, safe to show: it never contains the value) -----
SECRET_MIN_BYTES = 32
MAKE_A_SECRET = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'  # noqa: S105 - a command
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
# Fewer distinct characters than this is a placeholder ("xxxx...", "changeme changeme..."), not random bytes.
_MIN_DISTINCT_CHARS = 10


def secret_problem(name: str, value: str) -> Optional[str]:
    """Why `value` cannot be SECRET_MIN_BYTES random bytes, or None. Hex carries 4 bits a character, so it needs 64
    characters; anything else (token_urlsafe, base64) at most about 6, so it needs 43."""
    bits_per_char = 4 if value and set(value) <= _HEX_DIGITS else 6
    enough_chars = len(value) * bits_per_char >= SECRET_MIN_BYTES * 8
    if enough_chars and len(set(value)) >= _MIN_DISTINCT_CHARS:
        return None
    return f"{name} must be at least {SECRET_MIN_BYTES} random bytes (43+ characters, 64+ if hex); make one with: {MAKE_A_SECRET}"


def _is_loopback_host(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def handoff_url_problem(url: str, allow_insecure_http: bool) -> Optional[str]:
    """HANDOFF_URL carries health information: https://, or http:// only to this machine's loopback (or when the
    operator says so with HANDOFF_ALLOW_INSECURE_HTTP). Empty means the bundled inbox on loopback: fine."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return "HANDOFF_URL is not a valid URL"
    if parts.scheme not in ("https", "http") or not host:
        return "HANDOFF_URL must be an https:// URL with a host name"
    if parts.scheme == "http" and not _is_loopback_host(host) and not allow_insecure_http:
        return (
            "HANDOFF_URL must start with https:// (http:// only to 127.0.0.1, ::1 or localhost, "
            "or set HANDOFF_ALLOW_INSECURE_HTTP=true on a private network you trust)"
        )
    return None


def parse_trusted_proxies(raw: str) -> Tuple[str, ...]:
    """TRUSTED_PROXIES: comma-separated addresses or networks (10.0.0.5, 10.0.0.0/8, ::1) of the reverse proxies
    whose X-Forwarded-For and X-Forwarded-Proto are believed. Empty: none (the peer address is the client)."""
    networks = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        try:
            networks.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError as exc:
            raise SystemExit(f"setting TRUSTED_PROXIES: {item!r} is not an IP address or network") from exc
    return tuple(networks)


def handoff_problems(settings: Settings) -> List[str]:
    """What stops the deliverer from sending events: an unsafe HANDOFF_URL or a weak HANDOFF_SECRET."""
    found = [
        handoff_url_problem(settings.handoff_url, settings.handoff_allow_insecure_http),
        secret_problem("HANDOFF_SECRET", settings.handoff_secret),
    ]
    return [problem for problem in found if problem]


def inbox_secret_problems(settings: Settings) -> List[str]:
    """What stops the staff inbox: a weak HANDOFF_SECRET, INBOX_SESSION_SECRET or (when set) INBOX_API_TOKEN."""
    found = [
        secret_problem("HANDOFF_SECRET", settings.handoff_secret),
        secret_problem("INBOX_SESSION_SECRET", settings.inbox_session_secret),
        secret_problem("INBOX_API_TOKEN", settings.inbox_api_token) if settings.inbox_api_token else None,
    ]
    return [problem for problem in found if problem]


def _url_scheme(url: str) -> str:
    try:
        return urlsplit(url).scheme.lower()
    except ValueError:
        return ""


def store_problems(settings: Settings) -> List[str]:
    """What stops `make run` from starting its Rasa servers: unusable store URLs, or several instances without
    stores they can share. Each line names the setting, never its value (a URL may carry a password)."""
    found: List[str] = []
    tracker_scheme = _url_scheme(settings.tracker_store_url)
    if not (tracker_scheme.startswith("postgresql") or tracker_scheme.startswith("sqlite")):
        found.append("TRACKER_STORE_URL must be a postgresql:// or sqlite:/// URL (SQLAlchemy form)")
    lock_scheme = _url_scheme(settings.lock_store_url)
    if settings.lock_store_url and lock_scheme not in ("redis", "rediss", "unix"):
        found.append("LOCK_STORE_URL must be a redis://, rediss:// or unix:// URL (or empty: in memory)")
    if settings.rasa_instances < 1:
        found.append("RASA_INSTANCES must be at least 1")
    elif settings.rasa_instances > 1:
        if not settings.lock_store_url:
            found.append(
                "RASA_INSTANCES > 1 needs LOCK_STORE_URL (Redis): without a shared lock two instances run turns of "
                "one conversation at once"
            )
        if tracker_scheme.startswith("sqlite"):
            found.append(
                "RASA_INSTANCES > 1 needs TRACKER_STORE_URL on PostgreSQL: on SQLite the instances queue for one "
                "file's write lock, and a save that times out is kept in one instance's memory only (a lost turn)"
            )
    return found


def refuse_to_start(problems: List[str]) -> None:
    """Stop the process with one line per problem (SystemExit prints it to stderr and exits 1)."""
    if problems:
        raise SystemExit("\n".join(dict.fromkeys(problems)))


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    host: str
    rasa_port: int
    action_port: int
    inbox_port: int
    rasa_auth_token: str
    database_url: str
    handoff_url: str
    handoff_secret: str
    handoff_timeout_s: float
    handoff_dead_after_s: float
    handoff_backoff_cap_s: float
    inbox_admin_user: str
    inbox_admin_password_hash: str
    inbox_api_token: str
    inbox_session_secret: str
    inbox_cookie_secure: bool
    max_message_chars: int
    # Retention (docs/operations.md): RETENTION_DAYS is the setting; the older names, when set, override it for
    # their store (TRANSCRIPT_RETENTION_MINUTES: conversations, OUTBOX_RETENTION_DAYS: delivered outbox events).
    transcript_retention_minutes: float
    outbox_retention_days: float
    inbox_retention_days: float
    clinic_profile: Path
    # The web chat widget: the public URL of the Rasa server (empty: this host's loopback) and the clinic
    # site origins Rasa's CORS allows besides the staff web app's demo page (bot/web_chat.py).
    chat_public_url: str = ""
    chat_allowed_origins: Tuple[str, ...] = ()
    # SMS through Twilio (rasa_ext/sms.py, docs/sms.md): the token verifies X-Twilio-Signature against
    # PUBLIC_URL + the webhook's path; SMS_ALLOW_UNSIGNED lets development run without a token (never in use).
    twilio_auth_token: str = ""
    public_url: str = ""
    sms_allow_unsigned: bool = False
    # Security hardening (docs/inbox.md): plain http to a non-loopback HANDOFF_URL only when said explicitly; the
    # reverse proxies whose X-Forwarded-For/-Proto are believed; staff sessions end after this long unused.
    handoff_allow_insecure_http: bool = False
    trusted_proxies: Tuple[str, ...] = ()
    inbox_session_idle_minutes: float = 30.0
    # Staff notifications of crisis alerts (and, with NOTIFY_LEADS, leads) by email and SMS, sent by the
    # deliverer (bot/handoff/notifications.py checks them; docs/notifications.md). Empty: notifications off.
    smtp_host: str = ""
    smtp_port: int = 0  # 0: 465 with SMTP_SSL, 587 with SMTP_STARTTLS, else 25
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = True
    smtp_ssl: bool = False
    alert_email_from: str = ""
    alert_email_to: str = ""
    alert_sms_to: str = ""
    alert_sms_from: str = ""
    twilio_account_sid: str = ""
    twilio_api_base: str = "https://api.twilio.com"
    notify_leads: bool = False
    rasa_speedups: bool = True
    inbox_public_url: str = ""
    # Event spool (bot/handoff/spool.py): how long an action waits for the store before it answers "saved, may
    # be late", and how many events may wait for a store that is down before new ones are refused.
    store_wait_s: float = 2.0
    spool_max_events: int = 10_000
    # Publish only the chat: HOST is the chat server's address, the staff web app listens on INBOX_HOST.
    inbox_host: str = "127.0.0.1"
    # The chat server's abuse limits (docs/operations.md): the largest request body Sanic reads (413 above it,
    # before reading), new conversations per client address and messages per conversation per minute (0: off),
    # and how many conversations the in-memory tracker store keeps (the least recently active go first).
    chat_max_body_bytes: int = 64 * 1024
    chat_new_conversations_per_minute: int = 20
    chat_messages_per_conversation_per_minute: int = 60
    tracker_max_conversations: int = 10_000
    # The retention job (services/purge.py): RETENTION_DAYS as given and how often `make run` purges.
    retention_days: float = 1.0
    purge_interval_minutes: float = 60.0
    # Production stores (docs/operations.md "Scaling out"): Rasa's conversations in an SQL database (empty:
    # SQLite in DATA_DIR), its per-conversation ticket lock in Redis (empty: in memory, one instance only),
    # and how many Rasa servers (each with its own action server) `make run` starts.
    tracker_store_url: str = ""
    lock_store_url: str = ""
    rasa_instances: int = 1

    @property
    def chat_server_url(self) -> str:
        return self.chat_public_url or default_chat_server_url(self.rasa_port)

    @property
    def action_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.action_port}/webhook"

    @property
    def inbox_events_url(self) -> str:
        """Where events go when HANDOFF_URL is unset: the bundled inbox's receiving endpoint."""
        return f"http://127.0.0.1:{self.inbox_port}/api/events"

    @property
    def delivery_url(self) -> str:
        return self.handoff_url or self.inbox_events_url


def _chat_settings() -> dict:
    try:
        public_url = _env("CHAT_PUBLIC_URL").rstrip("/")
        if public_url:
            origin_of(public_url)
        return {"chat_public_url": public_url, "chat_allowed_origins": parse_origins(_env("CHAT_ALLOWED_ORIGINS"))}
    except InvalidOrigin as exc:
        raise SystemExit(f"setting CHAT_PUBLIC_URL / CHAT_ALLOWED_ORIGINS: {exc}") from exc


def load_settings(env_file: Optional[Path] = None) -> Settings:
    """Read settings; values already in the environment win over `.env`."""
    load_dotenv(env_file or PROJECT_ROOT / ".env", override=False)
    # Private (0700, umask 0077) or start-up stops here: it holds health information and secrets.
    data_dir = prepare_data_dir(Path(_env("DATA_DIR", str(PROJECT_ROOT / "var"))).resolve())
    retention_days = _env_positive("RETENTION_DAYS", DEFAULT_RETENTION_DAYS)
    handoff_url = _env("HANDOFF_URL")
    handoff_secret = _env("HANDOFF_SECRET")
    if not handoff_secret:
        if handoff_url:
            raise SystemExit("HANDOFF_SECRET must be set when HANDOFF_URL is set (the receiver verifies it)")
        handoff_secret = generated_secret(data_dir, "handoff_secret")
    return Settings(
        data_dir=data_dir,
        host=_env("HOST", "127.0.0.1"),
        rasa_port=_env_int("RASA_PORT", 5005),
        action_port=_env_int("ACTION_PORT", 5055),
        inbox_port=_env_int("INBOX_PORT", 8000),
        rasa_auth_token=_env("RASA_AUTH_TOKEN"),
        database_url=_env("DATABASE_URL") or f"sqlite:///{data_dir / 'haven.db'}",
        handoff_url=handoff_url,
        handoff_secret=handoff_secret,
        handoff_timeout_s=_env_float("HANDOFF_TIMEOUT_S", 10.0),
        handoff_dead_after_s=_env_float("HANDOFF_DEAD_AFTER_S", 72 * 3600.0),
        handoff_backoff_cap_s=_env_float("HANDOFF_BACKOFF_CAP_S", 300.0),
        inbox_admin_user=_env("INBOX_ADMIN_USER", "staff"),
        inbox_admin_password_hash=_env("INBOX_ADMIN_PASSWORD_HASH"),
        inbox_api_token=_env("INBOX_API_TOKEN"),
        inbox_session_secret=_env("INBOX_SESSION_SECRET") or generated_secret(data_dir, "inbox_session_secret"),
        inbox_cookie_secure=_env_bool("INBOX_COOKIE_SECURE", True),
        max_message_chars=_env_int("MAX_MESSAGE_CHARS", 2000),
        transcript_retention_minutes=_env_float("TRANSCRIPT_RETENTION_MINUTES", retention_days * 24 * 60.0),
        outbox_retention_days=_env_float("OUTBOX_RETENTION_DAYS", retention_days),
        inbox_retention_days=_env_float("INBOX_RETENTION_DAYS", 180.0),
        clinic_profile=Path(_env("CLINIC_PROFILE", str(PROJECT_ROOT / "data" / "clinic" / "clinic_profile.yml"))),
        twilio_auth_token=_env("TWILIO_AUTH_TOKEN"),
        public_url=_env("PUBLIC_URL").rstrip("/"),
        sms_allow_unsigned=_env_bool("SMS_ALLOW_UNSIGNED", False),
        handoff_allow_insecure_http=_env_bool("HANDOFF_ALLOW_INSECURE_HTTP", False),
        trusted_proxies=parse_trusted_proxies(_env("TRUSTED_PROXIES")),
        inbox_session_idle_minutes=_env_float("INBOX_SESSION_IDLE_MINUTES", 30.0),
        smtp_host=_env("SMTP_HOST"),
        smtp_port=_env_int("SMTP_PORT", 0),
        smtp_username=_env("SMTP_USERNAME"),
        smtp_password=_env("SMTP_PASSWORD"),
        smtp_starttls=_env_bool("SMTP_STARTTLS", True),
        smtp_ssl=_env_bool("SMTP_SSL", False),
        alert_email_from=_env("ALERT_EMAIL_FROM"),
        alert_email_to=_env("ALERT_EMAIL_TO"),
        alert_sms_to=_env("ALERT_SMS_TO"),
        alert_sms_from=_env("ALERT_SMS_FROM"),
        twilio_account_sid=_env("TWILIO_ACCOUNT_SID"),
        twilio_api_base=_env("TWILIO_API_BASE", "https://api.twilio.com").rstrip("/"),
        notify_leads=_env_bool("NOTIFY_LEADS", False),
        rasa_speedups=rasa_speedups_enabled(),
        inbox_public_url=_env("INBOX_PUBLIC_URL").rstrip("/"),
        store_wait_s=_env_float("STORE_WAIT_S", 2.0),
        spool_max_events=_env_int("SPOOL_MAX_EVENTS", 10_000),
        inbox_host=_env("INBOX_HOST") or "127.0.0.1",
        chat_max_body_bytes=_env_int("CHAT_MAX_BODY_BYTES", 64 * 1024),
        chat_new_conversations_per_minute=_env_int("CHAT_NEW_CONVERSATIONS_PER_MINUTE", 20),
        chat_messages_per_conversation_per_minute=_env_int("CHAT_MESSAGES_PER_CONVERSATION_PER_MINUTE", 60),
        tracker_max_conversations=_env_int("TRACKER_MAX_CONVERSATIONS", 10_000),
        retention_days=retention_days,
        purge_interval_minutes=_env_positive("PURGE_INTERVAL_MINUTES", DEFAULT_PURGE_INTERVAL_MINUTES),
        tracker_store_url=_env("TRACKER_STORE_URL") or f"sqlite:///{data_dir / 'conversations.db'}",
        lock_store_url=_env("LOCK_STORE_URL"),
        rasa_instances=_env_int("RASA_INSTANCES", 1),
        **_chat_settings(),
    )
