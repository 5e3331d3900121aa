from __future__ import annotations

import pytest

from services.inbox.auth import (
    Refusal,
    Reservation,
    SignInThrottle,
    address_key,
    check_credentials,
    credential_fingerprint,
    login_csrf_token,
    session_is_live,
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


def test_a_session_is_live_only_within_both_timeouts_and_with_the_current_password() -> None:
    current = credential_fingerprint("scrypt$new", "secret")
    assert current != credential_fingerprint("scrypt$old", "secret")
    live = {"expires_at": 1000.0, "last_seen_at": 100.0, "idle_timeout_s": 60.0, "credential": current}
    assert session_is_live(now=150.0, current=current, **live)
    assert not session_is_live(now=161.0, current=current, **live)  # idle for longer than the idle timeout
    assert not session_is_live(now=1000.0, current=current, **{**live, "last_seen_at": 990.0})  # absolute expiry
    assert not session_is_live(now=150.0, current=credential_fingerprint("scrypt$other", "secret"), **live)
    assert not session_is_live(now=150.0, current=current, **{**live, "credential": ""})  # a pre-upgrade row


# --- the sign-in throttle --------------------------------------------------------------------------------------
def _fail(throttle: SignInThrottle, address: str, user: str, now: float) -> Reservation | Refusal:
    return throttle.reserve(address, user, now=now)  # a reservation that is never given back is a failure


def test_the_first_free_failures_cost_nothing_then_each_wait_doubles() -> None:
    throttle = SignInThrottle(free_failures_per_user=3, base_delay_s=1.0, max_delay_s=60.0)
    now = 0.0
    for _ in range(3):
        assert isinstance(_fail(throttle, "203.0.113.5", "staff", now), Reservation)
    waits = []
    for _ in range(9):
        attempt = _fail(throttle, "203.0.113.5", "staff", now)
        assert isinstance(attempt, Reservation)  # allowed: the previous wait was over
        refused = throttle.reserve("203.0.113.5", "staff", now=now)
        assert isinstance(refused, Refusal)
        waits.append(refused.retry_after_s)
        now += refused.retry_after_s
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60, 60]


def test_a_burst_reaches_the_check_only_free_failures_plus_one_times() -> None:
    throttle = SignInThrottle(free_failures_per_user=3)
    results = [throttle.reserve("203.0.113.5", "staff", now=10.0) for _ in range(100)]
    assert sum(isinstance(r, Reservation) for r in results) == 4
    assert all(isinstance(r, Refusal) and r.retry_after_s >= 1 for r in results[4:])


def test_failures_elsewhere_never_slow_another_address() -> None:
    throttle = SignInThrottle()
    for second in range(200):
        throttle.reserve("203.0.113.5", "staff", now=float(second))
        throttle.reserve(f"198.51.100.{second % 250}", "staff", now=float(second))
    assert isinstance(throttle.reserve("192.0.2.77", "staff", now=201.0), Reservation)


def test_spraying_usernames_from_one_address_is_throttled_per_address() -> None:
    throttle = SignInThrottle(free_failures_per_user=3, free_failures_per_address=10)
    results = [throttle.reserve("203.0.113.5", f"user{n}", now=5.0) for n in range(30)]
    assert sum(isinstance(r, Reservation) for r in results) == 11
    assert isinstance(throttle.reserve("203.0.113.6", "user1", now=5.0), Reservation)


def test_a_correct_sign_in_gives_the_reservation_back_and_clears_the_address() -> None:
    throttle = SignInThrottle(free_failures_per_user=3)
    for _ in range(3):
        _fail(throttle, "203.0.113.5", "staff", 0.0)
    right = throttle.reserve("203.0.113.5", "Staff ", now=0.0)  # usernames compare trimmed, case-folded
    assert isinstance(right, Reservation)
    throttle.succeeded(right)
    assert throttle.failures("addr:203.0.113.5") == 0
    assert [isinstance(throttle.reserve("203.0.113.5", "staff", now=0.0), Reservation) for _ in range(4)] == [True] * 4


def test_failures_are_forgotten_after_a_quiet_day() -> None:
    throttle = SignInThrottle(free_failures_per_user=0, forget_after_s=86400.0)
    _fail(throttle, "203.0.113.5", "staff", 0.0)
    assert isinstance(throttle.reserve("203.0.113.5", "staff", now=0.5), Refusal)
    _fail(throttle, "203.0.113.5", "staff", 10.0)
    assert throttle.failures("addr:203.0.113.5") == 2
    assert isinstance(throttle.reserve("203.0.113.5", "staff", now=10.0 + 86401.0), Reservation)
    assert throttle.failures("addr:203.0.113.5") == 1


def test_memory_is_bounded_under_a_spray_of_addresses() -> None:
    throttle = SignInThrottle(max_keys=10)
    for n in range(100):
        throttle.reserve(f"10.0.{n // 250}.{n % 250}", "staff", now=1.0)
    assert len(throttle._records) <= 10


@pytest.mark.parametrize(
    "address,key",
    [
        ("203.0.113.5", "203.0.113.5"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"),  # the same /64: one host, one key
        ("::ffff:203.0.113.5", "203.0.113.5"),  # IPv4 on a dual-stack socket: not one /64 for every IPv4 client
        ("unknown", "unknown"),
    ],
)
def test_ipv6_clients_are_throttled_by_their_64(address: str, key: str) -> None:
    assert address_key(address) == key
