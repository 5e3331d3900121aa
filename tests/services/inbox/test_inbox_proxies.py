"""services/inbox/proxies.py: X-Forwarded-For and X-Forwarded-Proto count only from TRUSTED_PROXIES."""

from __future__ import annotations

import pytest

from services.inbox.proxies import came_over_https, client_address, is_trusted

PROXIES = ("10.0.0.0/8", "::1/128")


@pytest.mark.parametrize(
    "peer,forwarded,client",
    [
        ("203.0.113.5", ["198.51.100.7"], "203.0.113.5"),  # not a proxy: its header is ignored
        ("10.0.0.2", ["198.51.100.7"], "198.51.100.7"),
        ("10.0.0.2", ["1.2.3.4, 198.51.100.7"], "198.51.100.7"),  # the client can prepend anything; we read right
        ("10.0.0.2", ["198.51.100.7, 10.0.0.9"], "198.51.100.7"),  # past a second trusted proxy
        ("10.0.0.2", ["198.51.100.7", "10.0.0.9"], "198.51.100.7"),  # the header sent twice
        ("10.0.0.2", ["not-an-ip, 10.0.0.9"], "10.0.0.9"),  # an unreadable hop: the proxy that added it
        ("10.0.0.2", [], "10.0.0.2"),
        ("10.0.0.2", ["10.0.0.3, 10.0.0.4"], "10.0.0.3"),
        ("::1", ["2001:db8::5"], "2001:db8::5"),
        ("::ffff:10.0.0.2", ["198.51.100.7"], "198.51.100.7"),  # a dual-stack socket's IPv4 peer
        (None, ["198.51.100.7"], "unknown"),
    ],
)
def test_the_client_address(peer, forwarded, client) -> None:
    assert client_address(peer, forwarded, PROXIES) == client


def test_no_trusted_proxies_means_headers_are_never_believed() -> None:
    assert client_address("10.0.0.2", ["198.51.100.7"], ()) == "10.0.0.2"
    assert not came_over_https(False, "10.0.0.2", ["https"], ())
    assert not is_trusted("10.0.0.2", ())


@pytest.mark.parametrize(
    "tls,peer,proto,https",
    [
        (True, "203.0.113.5", [], True),
        (False, "203.0.113.5", ["https"], False),  # anyone can send the header
        (False, "10.0.0.2", ["https"], True),
        (False, "10.0.0.2", ["HTTPS"], True),
        (False, "10.0.0.2", ["http"], False),
        (False, "10.0.0.2", ["https, http"], False),  # the nearest proxy's value counts
        (False, "10.0.0.2", [], False),
    ],
)
def test_came_over_https(tls, peer, proto, https) -> None:
    assert came_over_https(tls, peer, proto, PROXIES) is https
