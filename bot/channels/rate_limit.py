"""Per-client limits for the chat channel: new conversations per address and messages per conversation.

Pure and bounded: sliding windows of timestamps (each at most `limit` long) in LRU maps of at most `max_keys`
keys, so a flood of addresses or sender ids costs a fixed amount of memory. The defaults are far above what a
person does (a screening is one conversation of ~60 messages over several minutes); they stop scripts.
The client address is the peer's, or, when the peer is a trusted reverse proxy, the last X-Forwarded-For hop
that is not itself a trusted proxy (the left part of the header is whatever the client chose to send).
"""

from __future__ import annotations

import ipaddress
import math
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Deque, Optional, Sequence, Union

Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]

DEFAULT_NEW_CONVERSATIONS_PER_MINUTE = 20
DEFAULT_MESSAGES_PER_CONVERSATION_PER_MINUTE = 60
DEFAULT_MAX_TRACKED_KEYS = 50_000
WINDOW_S = 60.0


def parse_networks(items: Sequence[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in items)


def _is_trusted(address: str, trusted: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip.version == net.version and ip in net for net in trusted)


def client_address(peer: str, forwarded_for: Optional[str], trusted: Sequence[Network]) -> str:
    """Whose request this is. X-Forwarded-For counts only when the peer is a trusted proxy."""
    if not forwarded_for or not _is_trusted(peer, trusted):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted):
            return hop
    return hops[0] if hops else peer


class SlidingWindows:
    """At most `limit` events per key within `window_s`; least recently used keys beyond `max_keys` go."""

    def __init__(self, limit: int, window_s: float = WINDOW_S, max_keys: int = DEFAULT_MAX_TRACKED_KEYS) -> None:
        self.limit = limit
        self.window_s = window_s
        self.max_keys = max_keys
        self._windows: OrderedDict[str, Deque[float]] = OrderedDict()

    def retry_after(self, key: str, now: float) -> float:
        """0 when one more event for `key` is allowed now, else the seconds until it is. A limit of 0 is off."""
        if self.limit <= 0:
            return 0.0
        window = self._windows.get(key)
        if window is None:
            return 0.0
        while window and now - window[0] >= self.window_s:
            window.popleft()
        if len(window) < self.limit:
            return 0.0
        return max(0.0, self.window_s - (now - window[0]))

    def record(self, key: str, now: float) -> None:
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = deque(maxlen=max(1, self.limit))
        self._windows.move_to_end(key)
        window.append(now)
        while len(self._windows) > self.max_keys:
            self._windows.popitem(last=False)

    def __contains__(self, key: str) -> bool:
        return key in self._windows

    def __len__(self) -> int:
        return len(self._windows)


@dataclass(frozen=True)
class Limited:
    """A refused request: why (safe to show) and when to try again."""

    reason: str
    retry_after_s: int


class ChatRateLimiter:
    """`check(address, sender, now)` records an allowed message and returns None, or returns why it is refused."""

    def __init__(
        self,
        new_conversations_per_minute: int = DEFAULT_NEW_CONVERSATIONS_PER_MINUTE,
        messages_per_conversation_per_minute: int = DEFAULT_MESSAGES_PER_CONVERSATION_PER_MINUTE,
        max_keys: int = DEFAULT_MAX_TRACKED_KEYS,
    ) -> None:
        self.new_conversations = SlidingWindows(new_conversations_per_minute, max_keys=max_keys)
        self.messages = SlidingWindows(messages_per_conversation_per_minute, max_keys=max_keys)

    def check(self, address: str, sender: str, now: float) -> Optional[Limited]:
        is_new = sender not in self.messages  # not seen lately: a new conversation for this address
        if is_new:
            wait = self.new_conversations.retry_after(address, now)
            if wait:
                return Limited("too many new conversations from this address", math.ceil(wait))
        wait = self.messages.retry_after(sender, now)
        if wait:
            return Limited("too many messages in this conversation", math.ceil(wait))
        if is_new:
            self.new_conversations.record(address, now)
        self.messages.record(sender, now)
        return None
