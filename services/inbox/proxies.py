"""Who is asking, and over what: believe X-Forwarded-For / X-Forwarded-Proto only from TRUSTED_PROXIES.

Pure functions over header values, so the sign-in throttle and HSTS get the same answer as the tests do.
"""

from __future__ import annotations

import functools
import ipaddress
from typing import Optional, Sequence, Tuple, Union

Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]
Address = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]


@functools.lru_cache(maxsize=8)
def _networks(trusted: Tuple[str, ...]) -> Tuple[Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in trusted)


def _address(text: str) -> Optional[Address]:
    try:
        address = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    # A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d: compare them as the IPv4 address they are.
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    return mapped or address


def is_trusted(peer: Optional[str], trusted: Tuple[str, ...]) -> bool:
    address = _address(peer or "")
    return address is not None and any(address in network for network in _networks(trusted))


def _hops(header_values: Sequence[str]) -> list[str]:
    return [hop.strip() for value in header_values for hop in value.split(",") if hop.strip()]


def client_address(peer: Optional[str], forwarded_for: Sequence[str], trusted: Tuple[str, ...]) -> str:
    """The address of whoever is asking. A trusted proxy's X-Forwarded-For is read from the right (each proxy
    appends the address it saw) past the other trusted proxies; the first hop that is not one is the client. An
    unreadable hop stops the walk at the proxy that added it, so a forged header can only name the proxy."""
    current = peer or "unknown"
    if not is_trusted(current, trusted):
        return current
    for hop in reversed(_hops(forwarded_for)):
        if _address(hop) is None:
            return current
        current = str(_address(hop))
        if not is_trusted(current, trusted):
            return current
    return current


def came_over_https(tls: bool, peer: Optional[str], forwarded_proto: Sequence[str], trusted: Tuple[str, ...]) -> bool:
    """TLS to us, or a trusted proxy saying it received the request over HTTPS (its own value, the last one)."""
    if tls:
        return True
    hops = _hops(forwarded_proto)
    return bool(hops) and is_trusted(peer, trusted) and hops[-1].lower() == "https"
