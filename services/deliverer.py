"""Deliver outbox events: signed POSTs, at-least-once, crisis alerts first, retries with backoff.

Its own process, `python -m services.deliverer` (the launcher supervises it beside the inbox, so crisis alerts
go out to HANDOFF_URL whether or not the staff inbox runs). It also runs the retention job (services/purge.py):
every PURGE_INTERVAL_MINUTES it deletes conversations idle for RETENTION_DAYS from the tracker store and events
delivered more than RETENTION_DAYS (OUTBOX_RETENTION_DAYS when set) ago from the outbox. Database calls run in a worker thread so the
event loop never waits on disk. Log lines carry event id and type only, never bodies.
The same process tells on-call staff of crisis alerts (and, with NOTIFY_LEADS, leads) by email and SMS
(services/notifications.py, docs/notifications.md).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable, Optional

import aiohttp

from bot import log_privacy
from bot.handoff.events import CRISIS_ALERT
from bot.handoff.notification_store import NotificationStore
from bot.handoff.notifications import notification_setup, off_reason
from bot.handoff.outbox import Outbox, OutboxItem
from bot.handoff.signing import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, sign
from services import purge
from services.notifications import Notifier
from services.notifications import describe as describe_notifications
from services.notifications import run_retention as run_notification_retention
from services.retry_worker import RETENTION_INTERVAL_S, RetryWorker, retry_settings, run_periodic
from services.retry_worker import utcnow as _utcnow

if TYPE_CHECKING:
    from bot.settings import Settings

USER_AGENT = "haven-prescreen/1"

logger = logging.getLogger("services.deliverer")  # also when run as __main__


class ReceiverUnreachable(Exception):
    """Timeout or connection error: the rest of a batch would fail the same way."""


class Deliverer(RetryWorker):
    @classmethod
    def from_settings(cls, outbox: Outbox, settings: Settings) -> Deliverer:
        """The deliverer `make run` uses: HANDOFF_URL (or the bundled inbox), its secret, timeouts and backoff."""
        return cls(outbox, settings.delivery_url, settings.handoff_secret, **retry_settings(settings))

    def __init__(
        self,
        outbox: Outbox,
        url: str,
        secret: str,
        **timing: Any,
    ) -> None:
        """`timing`: RetryWorker's keyword arguments (timeout_s and dead_after_s, the rest have defaults)."""
        if not url:
            raise ValueError("a delivery URL is required")
        if not secret:
            raise ValueError("a signing secret is required: receivers reject unsigned events")
        super().__init__(**timing)
        self.outbox = outbox
        self.url = url
        self._secret = secret
        self._session: Optional[aiohttp.ClientSession] = None
        self._wake: Optional[asyncio.Event] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._stop: Optional[asyncio.Event] = None

    # --- public ---------------------------------------------------------------------------------------------

    def wake(self) -> None:
        """Nudge a running `run_forever` to look now (safe from any thread; a no-op when not running)."""
        loop, wake = self._loop, self._wake
        if loop is None or wake is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            wake.set()
        else:
            loop.call_soon_threadsafe(wake.set)

    async def run_once(self) -> int:
        """Claim one batch of due events and try each; returns how many were delivered."""
        if self._session is not None and not self._session.closed:
            return await self._deliver_batch(self._session)
        async with self._new_session() as session:
            return await self._deliver_batch(session)

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set; an in-flight POST is finished first. Never raises on delivery errors."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._stop = stop
        try:
            async with self._new_session() as session:
                self._session = session
                await self.run_loop(
                    stop,
                    lambda: self._deliver_batch(session),
                    lambda pause: self._sleep(pause, stop),
                    logger,
                    "handoff deliverer",
                )
        finally:
            self._session = None
            self._wake = None
            self._loop = None
            self._stop = None

    # --- internals ------------------------------------------------------------------------------------------

    def _new_session(self) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.timeout_s),
            headers={"User-Agent": USER_AGENT},
        )

    async def _sleep(self, seconds: float, stop: asyncio.Event) -> None:
        wake = self._wake
        waiters = [asyncio.ensure_future(stop.wait())]
        if wake is not None:
            waiters.append(asyncio.ensure_future(wake.wait()))
        try:
            await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
            if wake is not None:
                wake.clear()

    async def _deliver_batch(self, session: aiohttp.ClientSession) -> int:
        items = await asyncio.to_thread(self.outbox.claim_due, self._clock(), self.batch_size, self.lease_s)
        delivered = 0
        for index, item in enumerate(items):
            if self._stop is not None and self._stop.is_set():
                await asyncio.to_thread(self.outbox.release, [i.id for i in items[index:]], self._clock())
                break
            try:
                if await self._deliver_one(session, item):
                    delivered += 1
            except ReceiverUnreachable as exc:
                rest = items[index + 1 :]
                if rest:  # don't spend a timeout on each one: they are due again after the same pause
                    retry_at = self._clock() + timedelta(seconds=self._delay(item))
                    await asyncio.to_thread(self.outbox.release, [i.id for i in rest], retry_at)
                    logger.info("handoff receiver unreachable (%s); %d more events wait", exc, len(rest))
                break
        return delivered

    def _delay(self, item: OutboxItem) -> float:
        return self.retry_delay(item.attempts, item.type == CRISIS_ALERT)

    async def _deliver_one(self, session: aiohttp.ClientSession, item: OutboxItem) -> bool:
        """POST one event and record the outcome. Raises ReceiverUnreachable after recording a failure."""
        error = await self._post(session, item)
        now = self._clock()
        if error is None:
            await asyncio.to_thread(self.outbox.mark_delivered, item.id, now)
            logger.info("handoff delivered id=%s type=%s attempt=%d", item.id, item.type, item.attempts + 1)
            return True
        retry_at = self.retry_at(now, item.created_at, item.attempts, item.type == CRISIS_ALERT)
        if retry_at is None:
            await asyncio.to_thread(self.outbox.mark_dead, item.id, error)
            logger.error(
                "handoff event dead after %d attempts id=%s type=%s last_error=%s",
                item.attempts + 1,
                item.id,
                item.type,
                error,
            )
        else:
            await asyncio.to_thread(self.outbox.mark_failed, item.id, error, retry_at)
            logger.warning(
                "handoff delivery failed id=%s type=%s attempt=%d error=%s",
                item.id,
                item.type,
                item.attempts + 1,
                error,
            )
        if error.startswith(("timeout", "connection error")):
            raise ReceiverUnreachable(error)
        return False

    async def _post(self, session: aiohttp.ClientSession, item: OutboxItem) -> Optional[str]:
        """None when the receiver has the event (2xx, or 409 = already had it); else a short error."""
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(item.body, self._secret),
            IDEMPOTENCY_HEADER: item.id,
            "User-Agent": USER_AGENT,
        }
        try:
            async with session.post(self.url, data=item.body, headers=headers, allow_redirects=False) as response:
                await response.read()  # drain so the connection can be reused; the body is not kept or logged
                if 200 <= response.status < 300 or response.status == 409:
                    return None
                return f"HTTP {response.status}"
        except asyncio.TimeoutError:
            return f"timeout after {self.timeout_s:g}s"
        except (aiohttp.ClientError, OSError) as exc:
            return f"connection error: {type(exc).__name__}"


# --- standalone process -------------------------------------------------------------------------------------


def purge_delivered(outbox: Outbox, retention_days: float, now: datetime) -> int:
    """Delete events delivered more than `retention_days` before `now`: the receiver has them, and their bodies
    are health information. Pending and dead events stay (the outbox never drops an undelivered event)."""
    return outbox.purge_delivered(before=now - timedelta(days=retention_days))


async def run_retention(
    outbox: Outbox,
    retention_days: float,
    stop: asyncio.Event,
    interval_s: float = RETENTION_INTERVAL_S,
    clock: Callable[[], datetime] = _utcnow,
) -> None:
    """Purge now, then every `interval_s`, until `stop` is set. Counts only in the log; errors retry next round."""
    await run_periodic(
        lambda: purge_delivered(outbox, retention_days, clock()),
        stop,
        interval_s,
        logger,
        "retention: removed %d delivered outbox events",
        "outbox retention purge failed (%s)",
    )


async def _serve(
    deliverer: Deliverer,
    retention_days: float,
    notifier: Optional[Notifier] = None,
    settings: Optional[Settings] = None,
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    # With the settings: the retention job (services/purge.py: old conversations and delivered outbox events,
    # every PURGE_INTERVAL_MINUTES); without: the outbox alone, hourly.
    retention = purge.run_forever(settings, stop) if settings else run_retention(deliverer.outbox, retention_days, stop)
    tasks = [deliverer.run_forever(stop), retention]
    if notifier is not None:
        tasks += [notifier.run_forever(stop), run_notification_retention(notifier.store, retention_days, stop)]
    await asyncio.gather(*tasks)


def _notifier(settings: Settings) -> Notifier:
    """Staff notifications: a half-configured channel is an error line and stays off (the handoff goes on);
    none configured is one info line."""
    setup = notification_setup(settings)
    for error in setup.errors:
        logger.error("%s", error)
    off = off_reason(setup.config)
    logger.info("%s", off or describe_notifications(setup.config))
    return Notifier.from_settings(NotificationStore(settings.database_url), setup.config, settings)


def _stop_during_start_up(signum: int, frame: object) -> None:
    raise SystemExit(0)  # SIGTERM before the event loop takes over (setting up the stores): a clean stop


def main() -> int:
    from bot.settings import handoff_problems, load_settings, refuse_to_start

    signal.signal(signal.SIGTERM, _stop_during_start_up)
    log_privacy.install()  # no visitor words, emails or phone numbers in any log line (bot/log_privacy.py)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = load_settings()
    refuse_to_start(handoff_problems(settings))  # plain http to a remote HANDOFF_URL, a weak HANDOFF_SECRET
    outbox = Outbox(settings.database_url)
    deliverer = Deliverer.from_settings(outbox, settings)
    # The URL may carry a token in its query: only where it goes is logged.
    logger.info("handoff deliverer started (to %s)", "HANDOFF_URL" if settings.handoff_url else "the staff inbox")
    notifier = _notifier(settings)
    try:
        asyncio.run(_serve(deliverer, settings.outbox_retention_days, notifier, settings))
    finally:
        notifier.store.close()
        outbox.close()
    logger.info("handoff deliverer stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
