"""The chat limiter: sliding windows, bounded memory, X-Forwarded-For only from trusted proxies."""

from __future__ import annotations

from bot.channels.rate_limit import ChatRateLimiter, SlidingWindows, client_address, parse_networks

PROXIES = parse_networks(["10.0.0.0/8", "::1"])


def test_x_forwarded_for_counts_only_from_a_trusted_proxy():
    assert client_address("203.0.113.5", "198.51.100.1", PROXIES) == "203.0.113.5"
    assert client_address("10.0.0.2", "198.51.100.1", PROXIES) == "198.51.100.1"
    assert client_address("10.0.0.2", "1.2.3.4, 198.51.100.1, 10.0.0.3", PROXIES) == "198.51.100.1"
    assert client_address("10.0.0.2", None, PROXIES) == "10.0.0.2"
    assert client_address("::1", "2001:db8::1", PROXIES) == "2001:db8::1"
    assert client_address("10.0.0.2", "198.51.100.1", ()) == "10.0.0.2"


def test_new_conversations_per_address_slide_with_time():
    limiter = ChatRateLimiter(new_conversations_per_minute=2, messages_per_conversation_per_minute=100)
    assert limiter.check("a", "s1", 0.0) is None
    assert limiter.check("a", "s2", 1.0) is None
    limited = limiter.check("a", "s3", 2.0)
    assert limited and limited.retry_after_s == 58
    assert limiter.check("a", "s1", 2.5) is None  # an existing conversation goes on
    assert limiter.check("b", "s4", 3.0) is None  # another address is not affected
    assert limiter.check("a", "s3", 60.5) is None  # the first one left the window


def test_a_person_never_meets_the_defaults():
    limiter = ChatRateLimiter()
    # One screening: ~60 messages, a few seconds apart; then three family members on the same address.
    now = 0.0
    for sender in ("mom", "dad", "kid", "me"):
        for _ in range(60):
            assert limiter.check("home", sender, now) is None
            now += 3.0


def test_memory_is_bounded_by_max_keys():
    windows = SlidingWindows(limit=5, max_keys=100)
    for n in range(10_000):
        windows.record(f"key-{n}", float(n))
    assert len(windows) == 100 and "key-9999" in windows and "key-0" not in windows


def test_zero_turns_a_limit_off():
    limiter = ChatRateLimiter(new_conversations_per_minute=0, messages_per_conversation_per_minute=0)
    assert all(limiter.check("a", f"s{n}", 0.0) is None for n in range(1000))
