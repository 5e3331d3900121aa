"""Events on their way into the outbox: a durable local spool and one writer thread, so that neither a locked
SQLite file nor a PostgreSQL outage loses a crisis alert or a lead, or stalls the action server.

`StoreWriter.submit` writes the event to DATA_DIR/spool (one file each: temporary file, fsync, rename, fsync of
the directory) and wakes the writer thread, which moves spooled events into the outbox (crisis alerts first,
then oldest first) and deletes each file once the outbox has the event. While the store answers, `submit` waits
for that (at most `wait_s`) and says STORED; when the store is slow or down it says QUEUED at once: the event is
on disk and the writer retries with a growing pause (1, 2, 4... at most `retry_cap_s` seconds) for as long as
the outage lasts. A restarted action server finds the spool and carries on. The outbox keeps the first copy of
an id, so an event written twice (a retry after a write that did land) is stored once.

Several action servers (RASA_INSTANCES > 1) share one DATA_DIR/spool, each with its own writer: any writer may
store any file. Two writers storing the same file at once store it once (the outbox keeps the first copy), a
file another writer already removed or set aside is skipped without error, and a `submit` whose file another
writer stored says STORED (its own writer finds the file gone and knows why). Whatever any instance left is
drained by whichever action server runs next, so fewer instances after a restart lose nothing.

Logs name only the event id, its type and the exception's type: event bodies are health information.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Protocol

from bot.handoff.events import validate_event
from bot.handoff.outbox import priority_for

logger = logging.getLogger(__name__)

STORED, QUEUED = "stored", "queued"
DEFAULT_MAX_EVENTS = 10_000
SHARED_SPOOL_POLL_S = 0.05  # how often a waiting submit looks whether another writer stored its file


class SpoolFull(OSError):
    """The spool holds its maximum number of events: the store has been down a long time."""


class EventStore(Protocol):
    def enqueue(self, event: dict) -> bool: ...


class EventSpool:
    """One JSON file per event, named `<priority>-<time ns>-<hash of id>.json` so a listing sorts crisis
    alerts first and then oldest first, and no file name carries an id or anything a visitor typed."""

    def __init__(self, directory: Path, max_events: int = DEFAULT_MAX_EVENTS) -> None:
        self.directory = directory
        self.max_events = max_events
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)

    def add(self, event: dict) -> Path:
        if self.count() >= self.max_events:
            raise SpoolFull(f"the event spool holds {self.max_events} events")
        digest = hashlib.sha256(str(event["id"]).encode()).hexdigest()[:16]
        name = f"{priority_for(str(event['type'])):02d}-{time.time_ns():020d}-{digest}.json"
        path = self.directory / name
        temporary = self.directory / f".{name}.tmp"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(json.dumps(event, ensure_ascii=False).encode("utf-8"))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        self._sync_directory()
        return path

    def pending(self) -> List[Path]:
        return sorted(self.directory.glob("[0-9]*.json"))

    def count(self) -> int:
        return len(self.pending())

    @staticmethod
    def load(path: Path) -> dict:
        event = json.loads(path.read_bytes().decode("utf-8"))
        if not isinstance(event, dict):
            raise ValueError("a spooled event is not a JSON object")
        return event

    def remove(self, path: Path) -> None:
        path.unlink(missing_ok=True)
        self._sync_directory()

    def set_aside(self, path: Path) -> None:
        """A file that cannot be read as an event stays for a person to look at, out of the retry loop.
        Another writer sharing the spool may have stored or set it aside already: nothing left to do then."""
        try:
            os.replace(path, self.set_aside_path(path))
        except FileNotFoundError:
            return

    @staticmethod
    def set_aside_path(path: Path) -> Path:
        return path.with_suffix(".unreadable")

    def _sync_directory(self) -> None:
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class StoreWriter:
    """Moves spooled events into the store from one background thread (see the module docstring)."""

    def __init__(
        self,
        store: Callable[[], EventStore],
        spool: EventSpool,
        *,
        retry_base_s: float = 1.0,
        retry_cap_s: float = 30.0,
        idle_check_s: float = 5.0,
    ) -> None:
        self._store = store  # called on the writer thread: a store that cannot even connect is retried too
        self.spool = spool
        self.retry_base_s = retry_base_s
        self.retry_cap_s = retry_cap_s
        # An idle writer still looks at the spool this often: files another instance's writer could not store
        # (its database connection broken) are picked up here without waiting for a submit of our own.
        self.idle_check_s = idle_check_s
        self.store_answering = True  # False from a failed or slow write until the next successful one
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._waiting: Dict[Path, threading.Event] = {}
        self._thread: Optional[threading.Thread] = None

    def start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="event-store-writer", daemon=True)
                self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def submit(self, event: dict, wait_s: float) -> str:
        """Spool `event` and return STORED once the store has it (waiting at most `wait_s`, and not at all while
        the store is known to be down) or QUEUED. Raises ValueError for an event that breaks the contract and
        OSError when even the spool cannot take it (the caller tells the visitor it was not sent)."""
        problems = validate_event(event)
        if problems:
            raise ValueError("event does not match the handoff contract: " + "; ".join(problems))
        done = threading.Event()
        with self._lock:
            path = self.spool.add(event)
            self._waiting[path] = done
        self.start()
        self._wake.set()
        stored = self._wait_stored(path, done, wait_s) if self.store_answering else False
        with self._lock:
            self._waiting.pop(path, None)
            if not (stored or done.is_set()):
                self.store_answering = False  # slow counts as down: the next caller does not wait either
        return STORED if stored or done.is_set() else QUEUED

    def _wait_stored(self, path: Path, done: threading.Event, wait_s: float) -> bool:
        """Wait at most `wait_s` for the event to be stored: by this writer (it sets `done`) or by another
        writer sharing the spool (the file is gone and was not set aside)."""
        deadline = time.monotonic() + wait_s
        while True:
            if done.wait(min(SHARED_SPOOL_POLL_S, max(0.0, deadline - time.monotonic()))):
                return True
            if not path.exists() and not self.spool.set_aside_path(path).exists():
                return True
            if time.monotonic() >= deadline:
                return False

    def _run(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            self._wake.clear()
            paths = self.spool.pending()
            if not paths:
                self._wake.wait(self.idle_check_s)
                continue
            for path in paths:
                if self._stopping.is_set():
                    return
                if not self._write(path):
                    failures += 1
                    delay = min(self.retry_cap_s, self.retry_base_s * 2.0 ** (failures - 1))
                    logger.warning(
                        "%d event(s) wait in the spool for the store; next try in %g s", self.spool.count(), delay
                    )
                    self._stopping.wait(delay)
                    break
                failures = 0

    def _write(self, path: Path) -> bool:
        """Store one spooled event; False when the store failed (the file stays for the next try)."""
        try:
            event = self.spool.load(path)
        except FileNotFoundError:
            # Another writer sharing DATA_DIR/spool got there first: it removes a file only once the outbox has
            # the event (or sets it aside as unreadable). A submit waiting on this file hears the truth.
            if not self.spool.set_aside_path(path).exists():
                self._stored(path)
            return True
        except (OSError, ValueError):
            logger.error("spooled file %s is unreadable; set aside", path.name)
            self.spool.set_aside(path)
            return True
        event_id, event_type = event.get("id"), event.get("type")
        try:
            self._store().enqueue(event)
        except ValueError:
            # Checked before spooling, so only a contract changed under a spooled file gets here.
            logger.error("spooled event %s (%s) breaks the handoff contract; set aside", event_id, event_type)
            self.spool.set_aside(path)
            return True
        except Exception as exc:  # noqa: BLE001 - any store failure is retried; its text may hold the event body
            self.store_answering = False
            logger.error("could not store event %s (%s): %s", event_id, event_type, type(exc).__name__)
            return False
        self.spool.remove(path)
        logger.info("stored event %s (%s) for delivery", event_id, event_type)
        self._stored(path)
        return True

    def _stored(self, path: Path) -> None:
        self.store_answering = True
        with self._lock:
            done = self._waiting.get(path)
        if done is not None:
            done.set()
