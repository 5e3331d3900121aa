"""A Redis ticket-lock store whose every change is one atomic Redis script.

Rasa Open Source's `RedisLockStore` issues a ticket by GET, change in Python, SET (RasaHQ/rasa#9213): two Rasa
instances taking a message for the same conversation at the same moment can both read the lock before either
writes it, so both get the same ticket, both are "now serving", and the conversation's turns run at once, one
overwriting the other's tracker. `finish_serving` and `cleanup` race the same way (a finished instance can
write back a ticket another one just removed, or delete a lock someone just queued on).

This store keeps Rasa's lock format (the JSON `TicketLock` reads), so Rasa's own waiting loop
(`LockStore._acquire_lock`) works unchanged, but issues, finishes and expires tickets in Lua scripts, which
Redis runs one at a time. Ticket numbers come from a per-conversation counter that outlives the lock, so a
number is never issued twice even after the lock was deleted and made again.

endpoints.yml names `UrlLockStore` with `url: ${LOCK_STORE_URL}`: this store when the URL is set, Rasa's
InMemoryLockStore when it is empty (one instance). Rasa's substitution cannot make a section conditional, so
the choice is made here, at start-up, once. Naming this store directly works too:

    lock_store:
      type: rasa_ext.lock_store.AtomicRedisLockStore
      url: redis://127.0.0.1:6379/1
"""

from __future__ import annotations

import json
import time
from typing import Any, Optional
from urllib.parse import urlparse

import redis
from rasa.core.lock import TicketLock
from rasa.core.lock_store import DEFAULT_REDIS_LOCK_STORE_KEY_PREFIX, InMemoryLockStore, LockError, LockStore
from rasa.utils.endpoints import EndpointConfig

# A counter lives this long after its conversation's last ticket: far longer than any lock lifetime, so
# numbers never repeat while a waiter could still hold an old one, and idle conversations leave no keys.
COUNTER_TTL_SECONDS = 24 * 3600

# KEYS[1] lock, KEYS[2] counter; ARGV[1] conversation id, ARGV[2] now, ARGV[3] expires, ARGV[4] counter TTL.
# Drops expired tickets, appends a ticket with the next counter value, returns its number. As in Rasa's
# format (TicketLock.dumps), each ticket is itself a JSON string inside the lock's JSON.
_ISSUE = """
local raw = redis.call('GET', KEYS[1])
local lock
if raw then lock = cjson.decode(raw) else lock = {conversation_id = ARGV[1], tickets = {}} end
local now = tonumber(ARGV[2])
local kept = {}
for _, raw_ticket in ipairs(lock.tickets or {}) do
  local t = cjson.decode(raw_ticket)
  if tonumber(t.expires) >= now then table.insert(kept, raw_ticket) end
end
local number = redis.call('INCR', KEYS[2]) - 1
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[4]))
table.insert(kept, cjson.encode({number = number, expires = tonumber(ARGV[3])}))
lock.tickets = kept
redis.call('SET', KEYS[1], cjson.encode(lock))
return number
"""

# KEYS[1] lock; ARGV[1] now, ARGV[2] ticket number to remove (or -1 for none).
# Drops expired tickets and the given one; deletes the lock when no ticket is left (no one is waiting).
# Returns how many tickets remain.
_PRUNE = """
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local lock = cjson.decode(raw)
local now = tonumber(ARGV[1])
local drop = tonumber(ARGV[2])
local kept = {}
for _, raw_ticket in ipairs(lock.tickets or {}) do
  local t = cjson.decode(raw_ticket)
  if tonumber(t.expires) >= now and tonumber(t.number) ~= drop then table.insert(kept, raw_ticket) end
end
if #kept == 0 then
  redis.call('DEL', KEYS[1])
  return 0
end
lock.tickets = kept
redis.call('SET', KEYS[1], cjson.encode(lock))
return #kept
"""

_NO_TICKET = -1


class AtomicRedisLockStore(LockStore):
    """Rasa's ticket lock in Redis, with atomic issue / finish / expire (see the module docstring)."""

    def __init__(
        self,
        endpoint_config: Optional[EndpointConfig] = None,
        *,
        url: Optional[str] = None,
        key_prefix: Optional[str] = None,
        socket_timeout: float = 10.0,
    ) -> None:
        kwargs: dict[str, Any] = dict(endpoint_config.kwargs) if endpoint_config else {}
        url = url or (endpoint_config.url if endpoint_config else None) or "redis://127.0.0.1:6379/1"
        if urlparse(url).scheme not in ("redis", "rediss", "unix"):
            raise ValueError("the lock store url must start with redis://, rediss:// or unix://")
        prefix = key_prefix or kwargs.get("key_prefix")
        if prefix is not None and not (isinstance(prefix, str) and prefix.isalnum()):
            raise ValueError("the lock store key_prefix must be letters and digits only")
        self.red = redis.Redis.from_url(url, socket_timeout=float(kwargs.get("socket_timeout", socket_timeout)))
        self.key_prefix = (
            f"{prefix}:{DEFAULT_REDIS_LOCK_STORE_KEY_PREFIX}" if prefix else DEFAULT_REDIS_LOCK_STORE_KEY_PREFIX
        )
        self._issue = self.red.register_script(_ISSUE)
        self._prune = self.red.register_script(_PRUNE)
        super().__init__()

    def _lock_key(self, conversation_id: str) -> str:
        return self.key_prefix + conversation_id

    def _counter_key(self, conversation_id: str) -> str:
        return self.key_prefix + "ticket_counter:" + conversation_id

    # Reads are single GETs, atomic already; Rasa's waiting loop uses them as they are.
    def get_lock(self, conversation_id: str) -> Optional[TicketLock]:
        raw = self.red.get(self._lock_key(conversation_id))
        return TicketLock.from_dict(json.loads(raw)) if raw else None

    def delete_lock(self, conversation_id: str) -> None:
        self.red.delete(self._lock_key(conversation_id))

    def save_lock(self, lock: TicketLock) -> None:
        # Rasa's base class only saves through the methods overridden below; a direct save is a plain SET.
        self.red.set(self._lock_key(lock.conversation_id), lock.dumps())

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = 60) -> int:
        now = time.time()
        try:
            keys = [self._lock_key(conversation_id), self._counter_key(conversation_id)]
            args = [conversation_id, repr(now), repr(now + float(lock_lifetime)), COUNTER_TTL_SECONDS]
            return int(self._issue(keys=keys, args=args))
        except redis.RedisError as exc:
            raise LockError(f"Error while acquiring lock ({type(exc).__name__}).") from exc

    def update_lock(self, conversation_id: str) -> None:
        self._prune(keys=[self._lock_key(conversation_id)], args=[repr(time.time()), _NO_TICKET])

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        self._prune(keys=[self._lock_key(conversation_id)], args=[repr(time.time()), int(ticket_number)])

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        # One script removes the ticket and, when no one else holds one, the lock: nothing can be queued
        # between the check and the delete.
        self.finish_serving(conversation_id, ticket_number)


class UrlLockStore(LockStore):
    """AtomicRedisLockStore for a redis:// URL, InMemoryLockStore for an empty one (LOCK_STORE_URL unset).

    Every storage method goes to the chosen store, so its own atomic versions are the ones used; Rasa's
    waiting loop (`lock`, `_acquire_lock`) runs here on top of them, as it would on the store itself.
    """

    def __init__(self, endpoint_config: Optional[EndpointConfig] = None, *, url: Optional[str] = None) -> None:
        url = (url if url is not None else (endpoint_config.url if endpoint_config else None)) or ""
        self.store: LockStore = (
            AtomicRedisLockStore(endpoint_config, url=url.strip()) if url.strip() else InMemoryLockStore()
        )
        super().__init__()

    def get_lock(self, conversation_id: str) -> Optional[TicketLock]:
        return self.store.get_lock(conversation_id)

    def delete_lock(self, conversation_id: str) -> None:
        self.store.delete_lock(conversation_id)

    def save_lock(self, lock: TicketLock) -> None:
        self.store.save_lock(lock)

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = 60) -> int:
        return self.store.issue_ticket(conversation_id, lock_lifetime)

    def update_lock(self, conversation_id: str) -> None:
        self.store.update_lock(conversation_id)

    def get_or_create_lock(self, conversation_id: str) -> TicketLock:
        return self.store.get_or_create_lock(conversation_id)

    def is_someone_waiting(self, conversation_id: str) -> bool:
        return self.store.is_someone_waiting(conversation_id)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        self.store.finish_serving(conversation_id, ticket_number)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        self.store.cleanup(conversation_id, ticket_number)
