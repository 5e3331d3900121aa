"""Bounded retention for conversation transcripts (health information): forget what has been idle too long."""

from __future__ import annotations

from typing import Dict, List


def expired(last_seen: Dict[str, float], now: float, retention_s: float) -> List[str]:
    """Keys idle for longer than `retention_s` (times are seconds on one monotonic clock)."""
    return [key for key, seen in last_seen.items() if now - seen > retention_s]
