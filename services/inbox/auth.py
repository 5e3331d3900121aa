"""Staff sign-in pieces that need no web framework: credentials, session tokens, CSRF tokens, sign-in throttling."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import secrets
import time
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

from services.inbox.passwords import verify_password

SESSION_COOKIE = "haven_session"
LOGIN_CSRF_COOKIE = "haven_login_csrf"
SESSION_TTL_S = 8 * 3600
LOGIN_CSRF_TTL_S = 3600
# A session's last-seen time is written at most this often (every staff request would be a write otherwise);
# the idle timeout is therefore exact to within this much.
SESSION_TOUCH_INTERVAL_S = 60.0


def new_token() -> str:
    return secrets.token_urlsafe(32)


def tokens_match(expected: Optional[str], given: Optional[str]) -> bool:
    """Constant-time equality of two secrets; a missing value never matches."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


def session_token_hash(token: str, session_secret: str) -> str:
    """What the database keeps instead of the cookie value (a leaked table cannot be replayed as cookies)."""
    return hmac.new(session_secret.encode("utf-8"), b"session:" + token.encode("utf-8"), hashlib.sha256).hexdigest()


def login_csrf_token(cookie_value: str, session_secret: str) -> str:
    """The login form's CSRF token, bound to the pre-session cookie (signed double submit)."""
    return hmac.new(
        session_secret.encode("utf-8"), b"login-csrf:" + cookie_value.encode("utf-8"), hashlib.sha256
    ).hexdigest()


def credential_fingerprint(password_hash: str, session_secret: str) -> str:
    """Which password a session was opened with: a session whose fingerprint is not the current one is revoked,
    so changing the password hash signs everyone out."""
    return hmac.new(
        session_secret.encode("utf-8"), b"credential:" + password_hash.encode("utf-8"), hashlib.sha256
    ).hexdigest()


def session_is_live(
    *, now: float, expires_at: float, last_seen_at: float, idle_timeout_s: float, credential: str, current: str
) -> bool:
    """Within its absolute lifetime, used within the idle timeout, and opened with the current password."""
    return now < expires_at and now - last_seen_at < idle_timeout_s and hmac.compare_digest(credential, current)


def check_credentials(username: str, password: str, admin_user: str, admin_password_hash: str) -> bool:
    """Both checks always run, so a wrong username costs the same time as a wrong password."""
    password_ok = verify_password(password, admin_password_hash)
    user_ok = hmac.compare_digest(username.encode("utf-8"), admin_user.encode("utf-8"))
    return password_ok and user_ok


# --- throttling ------------------------------------------------------------------------------------------------
def address_key(address: str) -> str:
    """The throttle's key for a client address: IPv4 as is, IPv6 by its /64 (one host usually holds a whole /64)."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address[:100]
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        return str(parsed.ipv4_mapped)  # an IPv4 client of a dual-stack socket: its own key, not a shared /64
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


@dataclass
class _Record:
    failures: int
    blocked_until: float
    last_failure_at: float


@dataclass(frozen=True)
class Reservation:
    """An attempt that may go to the password check; it already counts as a failure until `succeeded`."""

    keys: Tuple[str, ...]


@dataclass(frozen=True)
class Refusal:
    retry_after_s: int


class SignInThrottle:
    """Growing delays per client address and per address + username, never per username alone (so failures from
    one address never lock staff out from another).

    `reserve` is called before the password check and counts the attempt as a failure at once: concurrent guesses
    see each other, so a burst from one address reaches the check only `free_failures + 1` times. After
    `free_failures` failures each further one doubles the wait (base_delay_s, 2x, 4x... up to max_delay_s); a key
    is forgotten `forget_after_s` after its last failure, or at once on a successful sign-in.
    """

    def __init__(
        self,
        *,
        free_failures_per_user: int = 3,
        free_failures_per_address: int = 10,
        base_delay_s: float = 1.0,
        max_delay_s: float = 900.0,
        forget_after_s: float = 86400.0,
        max_keys: int = 10_000,
    ) -> None:
        self.free_failures = {"user": free_failures_per_user, "addr": free_failures_per_address}
        self.base_delay_s = base_delay_s
        self.max_delay_s = max_delay_s
        self.forget_after_s = forget_after_s
        self.max_keys = max_keys
        self._records: Dict[str, _Record] = {}

    def delay_after(self, failures: int, kind: str) -> float:
        """How long a key with this many failures waits before its next attempt."""
        beyond = failures - self.free_failures[kind]
        if beyond <= 0:
            return 0.0
        return min(self.max_delay_s, self.base_delay_s * 2.0 ** min(beyond - 1, 40))

    @staticmethod
    def keys_for(address: str, username: str) -> Tuple[str, str]:
        client = address_key(address)
        return f"addr:{client}", f"user:{client}|{username.strip().casefold()[:200]}"

    def _record(self, key: str, now: float) -> Optional[_Record]:
        record = self._records.get(key)
        if record is not None and now - record.last_failure_at > self.forget_after_s:
            del self._records[key]
            return None
        return record

    def reserve(self, address: str, username: str, now: Optional[float] = None) -> Reservation | Refusal:
        current = time.monotonic() if now is None else now
        keys = self.keys_for(address, username)
        waits = [record.blocked_until - current for record in (self._record(k, current) for k in keys) if record]
        longest = max(waits, default=0.0)
        if longest > 0:
            return Refusal(retry_after_s=max(1, math.ceil(longest)))
        for key in keys:
            self._count_failure(key, current)
        return Reservation(keys)

    def _count_failure(self, key: str, now: float) -> None:
        record = self._records.pop(key, None)  # re-inserted last: the dict stays in order of last failure
        if record is None:
            if len(self._records) >= self.max_keys:
                self._records.pop(next(iter(self._records)))  # forget the stalest key, never grow without bound
            record = _Record(failures=0, blocked_until=now, last_failure_at=now)
        record.failures += 1
        record.last_failure_at = now
        record.blocked_until = now + self.delay_after(record.failures, key.split(":", 1)[0])
        self._records[key] = record

    def succeeded(self, reservation: Reservation) -> None:
        for key in reservation.keys:
            self._records.pop(key, None)

    def failures(self, key: str) -> int:
        record = self._records.get(key)
        return record.failures if record else 0
