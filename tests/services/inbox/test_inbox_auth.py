from __future__ import annotations

from services.inbox.auth import (
    LoginRateLimiter,
    check_credentials,
    login_csrf_token,
    session_token_hash,
    tokens_match,
)
from tests.services.inbox.inbox_helpers import ADMIN_PASSWORD, ADMIN_USER, admin_hash


def test_credentials_need_both_user_and_password() -> None:
    assert check_credentials(ADMIN_USER, ADMIN_PASSWORD, ADMIN_USER, admin_hash())
    assert not check_credentials(ADMIN_USER, ADMIN_PASSWORD + "x", ADMIN_USER, admin_hash())
    assert not check_credentials("someone", ADMIN_PASSWORD, ADMIN_USER, admin_hash())
    assert not check_credentials(ADMIN_USER, ADMIN_PASSWORD, ADMIN_USER, "")


def test_tokens_match_rejects_missing_values() -> None:
    assert tokens_match("abc", "abc")
    assert not tokens_match("abc", "abd")
    assert not tokens_match("", "")
    assert not tokens_match(None, "abc")
    assert not tokens_match("abc", None)


def test_session_hash_and_login_csrf_depend_on_the_secret() -> None:
    assert session_token_hash("t", "s1") != session_token_hash("t", "s2")
    assert session_token_hash("t", "s1") != "t"
    assert login_csrf_token("cookie", "s1") != login_csrf_token("cookie", "s2")
    assert login_csrf_token("cookie", "s1") != login_csrf_token("other", "s1")


def test_rate_limiter_blocks_after_max_failures_within_window() -> None:
    limiter = LoginRateLimiter(max_failures=3, window_s=60)
    for second in range(3):
        assert not limiter.is_blocked("addr:1", now=100 + second)
        limiter.record_failure("addr:1", now=100 + second)
    assert limiter.is_blocked("addr:1", now=103)
    assert not limiter.is_blocked("addr:2", now=103)
    assert not limiter.is_blocked("addr:1", now=161)  # the first failure left the window
    limiter.reset("addr:1")
    assert not limiter.is_blocked("addr:1", now=104)


def test_rate_limiter_memory_is_bounded() -> None:
    limiter = LoginRateLimiter(max_failures=1, window_s=60, max_keys=10)
    for n in range(100):
        limiter.record_failure(f"addr:{n}", now=1)
    assert len(limiter._failures) <= 10
    assert limiter.is_blocked("addr:99", now=2)
