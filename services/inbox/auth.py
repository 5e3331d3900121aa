"""Staff sign-in pieces that need no web framework: credentials, session tokens, CSRF tokens, rate limiting."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import deque
from typing import Deque, Dict, Optional

from services.inbox.passwords import verify_password

SESSION_COOKIE = "haven_session"
LOGIN_CSRF_COOKIE = "haven_login_csrf"
SESSION_TTL_S = 8 * 3600
LOGIN_CSRF_TTL_S = 3600


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


def check_credentials(username: str, password: str, admin_user: str, admin_password_hash: str) -> bool:
    """Both checks always run, so a wrong username costs the same time as a wrong password."""
    password_ok = verify_password(password, admin_password_hash)
    user_ok = hmac.compare_digest(username.encode("utf-8"), admin_user.encode("utf-8"))
    return password_ok and user_ok


class LoginRateLimiter:
    """At most `max_failures` failed sign-ins per key (client address, username) within `window_s`."""

    def __init__(self, max_failures: int = 5, window_s: float = 300.0, max_keys: int = 10_000) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.max_keys = max_keys
        self._failures: Dict[str, Deque[float]] = {}

    def _recent(self, key: str, now: float) -> Deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def is_blocked(self, key: str, now: Optional[float] = None) -> bool:
        current = time.monotonic() if now is None else now
        return len(self._recent(key, current)) >= self.max_failures

    def record_failure(self, key: str, now: Optional[float] = None) -> None:
        current = time.monotonic() if now is None else now
        if key not in self._failures and len(self._failures) >= self.max_keys:
            # Forget the oldest key rather than grow without bound under a spray of addresses.
            self._failures.pop(next(iter(self._failures)))
        self._recent(key, current)
        self._failures.setdefault(key, deque()).append(current)

    def reset(self, key: str) -> None:
        self._failures.pop(key, None)
