"""What the handoff deliverer and the staff notifier share: timing, backoff, the dead horizon and the loop.

Both claim due rows of a leased queue (bot/handoff/leased_queue.py) in batches, try each, and record a success,
a retry with backoff (full jitter, crisis alerts capped lower: someone may be at risk) or, past the horizon,
a dead row. Their loops go on through database trouble with a growing pause, and each process purges old done
rows every hour (`run_periodic`).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Awaitable, Callable, Optional

from bot.handoff.backoff import next_delay

if TYPE_CHECKING:
    from bot.settings import Settings

# After this many consecutive failures of the loop itself (e.g. database unreachable) stop growing the pause.
MAX_LOOP_PAUSE_S = 30.0
CRISIS_BACKOFF_CAP_S = 30.0
DEFAULT_BATCH_SIZE = 10
RETENTION_INTERVAL_S = 3600.0


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def retry_settings(settings: Settings) -> dict:
    """The keyword arguments of a RetryWorker from the settings: HANDOFF_TIMEOUT_S, HANDOFF_DEAD_AFTER_S and
    HANDOFF_BACKOFF_CAP_S (crisis alerts wait at most 30 s between tries)."""
    return {
        "timeout_s": settings.handoff_timeout_s,
        "dead_after_s": settings.handoff_dead_after_s,
        "backoff_cap_s": settings.handoff_backoff_cap_s,
        "crisis_backoff_cap_s": min(CRISIS_BACKOFF_CAP_S, settings.handoff_backoff_cap_s),
    }


class RetryWorker:
    """The timing both workers take as keyword arguments: `timeout_s` (one try), `dead_after_s` (the horizon from
    a row's created_at), `poll_interval_s`, `batch_size`, backoff `backoff_base_s` / `backoff_cap_s` /
    `crisis_backoff_cap_s`, and `clock` (tests pass a fake one)."""

    def __init__(
        self,
        *,
        timeout_s: float,
        dead_after_s: float,
        poll_interval_s: float = 0.5,
        batch_size: int = DEFAULT_BATCH_SIZE,
        backoff_base_s: float = 1.0,
        backoff_cap_s: float = 300.0,
        crisis_backoff_cap_s: float = CRISIS_BACKOFF_CAP_S,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        if timeout_s <= 0 or dead_after_s <= 0 or poll_interval_s <= 0 or batch_size <= 0:
            raise ValueError("timeout_s, dead_after_s, poll_interval_s and batch_size must be positive")
        self.timeout_s = timeout_s
        self.dead_after_s = dead_after_s
        self.poll_interval_s = poll_interval_s
        self.batch_size = batch_size
        self.backoff_base_s = backoff_base_s
        self.backoff_cap_s = backoff_cap_s
        # Someone may be at risk: after an outage a crisis alert should wait seconds, not minutes.
        self.crisis_backoff_cap_s = min(crisis_backoff_cap_s, backoff_cap_s)
        self._clock = clock
        # A claim must outlive the whole batch (each try ends by timeout_s), or a second worker could try the
        # same row meanwhile; two spare timeouts cover the database calls around the tries.
        self.lease_s = timeout_s * (batch_size + 2)

    def retry_delay(self, attempts: int, crisis: bool) -> float:
        """Seconds to wait after a failed try, `attempts` tries having been made before it."""
        cap = self.crisis_backoff_cap_s if crisis else self.backoff_cap_s
        return next_delay(attempts + 1, base=self.backoff_base_s, cap=cap)

    def retry_at(self, now: datetime, created_at: datetime, attempts: int, crisis: bool) -> Optional[datetime]:
        """When to try again after a failed try at `now`; None when the row is past its horizon (dead). The last
        retry lands on the horizon itself, so "dead" always follows a real final attempt."""
        horizon = created_at + timedelta(seconds=self.dead_after_s)
        if now >= horizon:
            return None
        return min(now + timedelta(seconds=self.retry_delay(attempts, crisis)), horizon)

    async def run_loop(
        self,
        stop: asyncio.Event,
        step: Callable[[], Awaitable[int]],
        sleep: Callable[[float], Awaitable[None]],
        log: logging.Logger,
        name: str,
    ) -> None:
        """Run `step` (one batch; returns how much it did) until `stop` is set: again at once after a batch that
        did something, else after the poll interval, and after errors with a pause that doubles up to
        MAX_LOOP_PAUSE_S. Never raises on errors of a step."""
        failures = 0
        while not stop.is_set():
            try:
                done = await step()
                failures = 0
            except Exception as exc:  # noqa: BLE001 - database trouble: keep the loop alive and retry
                failures += 1
                done = 0
                log.warning("%s loop error (%s); retrying", name, type(exc).__name__)
            if stop.is_set():
                break
            if done and failures == 0:
                continue  # there may be more due right now
            pause = (
                min(self.poll_interval_s * (2 ** min(failures, 6)), MAX_LOOP_PAUSE_S)
                if failures
                else self.poll_interval_s
            )
            await sleep(pause)


async def wait_for_stop(stop: asyncio.Event, seconds: float) -> None:
    """Sleep `seconds`, or less when `stop` is set meanwhile."""
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except asyncio.TimeoutError:
        pass


async def run_periodic(
    job: Callable[[], int],
    stop: asyncio.Event,
    interval_s: float,
    log: logging.Logger,
    removed_message: str,
    failed_message: str,
) -> None:
    """Run `job` (a purge in a worker thread; returns the rows removed) now, then every `interval_s`, until `stop`
    is set. Counts only in the log (`removed_message` % count); errors (`failed_message` % the exception's type)
    retry next round."""
    while not stop.is_set():
        try:
            removed = await asyncio.to_thread(job)
            if removed:
                log.info(removed_message, removed)
        except Exception as exc:  # noqa: BLE001 - keep delivering; try again next round
            log.warning(failed_message, type(exc).__name__)
        await wait_for_stop(stop, interval_s)
