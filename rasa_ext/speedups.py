"""Named, version-guarded speed-ups of stock Rasa 3.6.21, installed in the Rasa process (docs/performance.md).

Each patch replaces one Rasa function with one that gives the same result (the same events, the same errors)
for less CPU. They are written against Rasa 3.6.21 exactly: on any other version `install()` installs nothing
and logs an ERROR that says so (a stock Rasa is slower, never wrong), so an upgrade is a conscious step.

`services/rasa_server.py` calls `install()` before it runs Rasa's command line; `rasa train`, `rasa test` and
`rasa shell` run stock Rasa.

Patches:

- `cached_response_validator`: `RemoteAction._validate_action_result` checks every action server reply with
  `jsonschema.validate(result, schema)`, which first validates the schema itself against the JSON Schema
  meta-schema (`check_schema`) and builds a new validator, on every call (twice a form turn). The schema is a
  constant (`RemoteAction.action_response_format_spec()`, the events schema of rasa.shared), so it is checked
  once here and its validator kept; each reply is then validated exactly as `jsonschema.validate` does it
  (`best_match(validator.iter_errors(result))`, raised), with Rasa's own hint added to the message.
- `cached_event_lookup`: `Event.resolve_by_type(name)` finds an event's class by walking every subclass of
  `Event` (`all_subclasses`, recursive, with `inspect.isabstract` on each) for every event it deserialises: each
  turn the tracker store rebuilds the whole conversation from its events, and every action server reply is
  deserialised too. The class found for a name is remembered; a name not found yet goes the stock way (as do
  "topic", the default and the error for an unknown name). The event classes are Rasa's, all defined when
  rasa.shared.core.events is imported, so the first match for a name never changes afterwards.
- `incremental_applied_events`: `DialogueStateTracker.applied_events()` (the events minus what reverts, restarts
  and loop executions undo) walks the whole conversation, and a turn asks for it again and again on the same
  events: the session check, each policy's states, the memoization lookups, every prior tracker. The result is
  kept on the tracker with how many events it covered; when the same event deque has only grown since (the
  event it ended on is still there, at the same place) and the new events name no new loop, the stock loop body
  goes on from the kept result over the new events only, which is what a full pass computes (its loop walks the
  events in order; only the set of loop names, taken from all events, is global). Anything else (another deque,
  fewer events, another last event, a new loop name, a bounded history) is a full pass. Callers get a fresh list.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Dict, List, Optional

logger = logging.getLogger(__name__)

SUPPORTED_RASA = "3.6.21"
RESPONSE_HINT = (
    ". Failed to validate Action server response from API, "
    "make sure your response from the Action endpoint is valid. "
    "For more information about the format visit "
)

_installed: List[str] = []


def rasa_version() -> str:
    import rasa

    return str(rasa.__version__)


def response_validator() -> Callable[[Dict[str, Any]], None]:
    """Validate an action server reply as `jsonschema.validate(reply, RemoteAction.action_response_format_spec())`
    does (same checks, same error raised), with the schema checked and its validator built once."""
    from jsonschema import exceptions, validators
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    cls = validators.validator_for(schema)
    cls.check_schema(schema)  # what jsonschema.validate does on every call: here once
    validator = cls(schema)

    def validate(result: Dict[str, Any]) -> None:
        error = exceptions.best_match(validator.iter_errors(result))
        if error is not None:
            raise error

    return validate


def _patch_response_validator() -> None:
    from jsonschema import ValidationError
    from rasa.core.actions import action as rasa_action
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    stock = RemoteAction._validate_action_result
    stock_spec = RemoteAction.action_response_format_spec
    validate = response_validator()

    def _validate_action_result(self: Any, result: Dict[str, Any]) -> bool:
        if type(self).action_response_format_spec is not stock_spec:
            return bool(stock(self, result))  # a subclass with a schema of its own keeps Rasa's code
        try:
            validate(result)
            return True
        except ValidationError as e:
            e.message += f"{RESPONSE_HINT}{DOCS_BASE_URL}/custom-actions"
            raise e

    _validate_action_result.__doc__ = "rasa_ext.speedups cached_response_validator: stock checks, schema checked once."
    _validate_action_result.stock = stock  # type: ignore[attr-defined]
    rasa_action.RemoteAction._validate_action_result = _validate_action_result


def _patch_event_lookup() -> None:
    from rasa.shared.core import events

    event_class = events.Event
    stock = event_class.__dict__["resolve_by_type"].__func__
    by_name: Dict[str, Any] = {}

    def resolve_by_type(type_name: str, default: Optional[Any] = None) -> Optional[Any]:
        found = by_name.get(type_name)
        if found is not None:
            return found
        found = stock(type_name, default)  # the stock search: also "topic", the default and the error
        if found is not None and found is not default and getattr(found, "type_name", None) == type_name:
            by_name[type_name] = found
        return found

    resolve_by_type.stock = stock  # type: ignore[attr-defined]
    event_class.resolve_by_type = staticmethod(resolve_by_type)


class _Applied:
    """What `applied_events` found for a tracker's first `count` events (`last` the last of them)."""

    __slots__ = ("applied", "count", "events", "last", "loop_names")

    def __init__(self, events: Any, count: int, last: Any, loop_names: frozenset, applied: List[Any]) -> None:
        self.events = events
        self.count = count
        self.last = last
        self.loop_names = loop_names
        self.applied = applied


APPLIED_CACHE_ATTRIBUTE = "_speedups_applied_events"


def _patch_applied_events() -> None:
    import itertools

    from rasa.shared.core.events import (
        ActionExecuted,
        ActionReverted,
        ActiveLoop,
        Restarted,
        SessionStarted,
        UserUtteranceReverted,
        UserUttered,
    )
    from rasa.shared.core.trackers import DialogueStateTracker

    stock = DialogueStateTracker.applied_events

    def apply(tracker: Any, new_events: Any, applied: List[Any], loop_names: frozenset) -> List[Any]:
        """The body of stock `applied_events`' loop (rasa/shared/core/trackers.py), event by event."""
        for event in new_events:
            if isinstance(event, (Restarted, SessionStarted)):
                applied = []
            elif isinstance(event, ActionReverted):
                tracker._undo_till_previous(ActionExecuted, applied)
            elif isinstance(event, UserUtteranceReverted):
                tracker._undo_till_previous(UserUttered, applied)
                tracker._undo_till_previous(ActionExecuted, applied)
            elif (
                isinstance(event, ActionExecuted)
                and event.action_name in loop_names
                and not tracker._first_loop_execution_or_unhappy_path(event.action_name, applied)
            ):
                tracker._undo_till_previous_loop_execution(event.action_name, applied)
            else:
                applied.append(event)
        return applied

    def applied_events(self: Any) -> List[Any]:
        events = self.events
        count = len(events)
        if events.maxlen is not None:
            return list(stock(self))  # a bounded history drops events at the front: no reuse
        cached: Optional[_Applied] = self.__dict__.get(APPLIED_CACHE_ATTRIBUTE)
        reusable = (
            cached is not None
            and cached.events is events
            and count >= cached.count
            and (cached.count == 0 or events[cached.count - 1] is cached.last)
        )
        if reusable and cached is not None:
            new_events = list(itertools.islice(reversed(events), count - cached.count))[::-1]
            names = {e.name for e in new_events if isinstance(e, ActiveLoop) and e.name}
            if names <= cached.loop_names:
                applied = apply(self, new_events, list(cached.applied), cached.loop_names)
                self.__dict__[APPLIED_CACHE_ATTRIBUTE] = _Applied(
                    events, count, events[-1] if count else None, cached.loop_names, applied
                )
                return list(applied)
        loop_names = frozenset(e.name for e in events if isinstance(e, ActiveLoop) and e.name)
        applied = apply(self, events, [], loop_names)
        self.__dict__[APPLIED_CACHE_ATTRIBUTE] = _Applied(
            events, count, events[-1] if count else None, loop_names, applied
        )
        return list(applied)

    applied_events.__doc__ = stock.__doc__
    applied_events.stock = stock  # type: ignore[attr-defined]
    DialogueStateTracker.applied_events = applied_events


PATCHES: Dict[str, Callable[[], None]] = {
    "cached_response_validator": _patch_response_validator,
    "cached_event_lookup": _patch_event_lookup,
    "incremental_applied_events": _patch_applied_events,
}


def install(enabled: bool = True) -> List[str]:
    """Install every patch once; the names installed. Nothing on a Rasa other than SUPPORTED_RASA (an ERROR),
    nothing when not `enabled` (RASA_SPEEDUPS=off: a WARNING, stock Rasa runs)."""
    if _installed:
        return list(_installed)
    if not enabled:
        logger.warning("rasa_ext.speedups: RASA_SPEEDUPS is off: stock Rasa runs (slower, same behaviour)")
        return []
    version = rasa_version()
    if version != SUPPORTED_RASA:
        logger.error(
            "rasa_ext.speedups: written for Rasa %s, this is Rasa %s: no speed-up installed (stock Rasa runs, "
            "slower); check each patch in docs/performance.md against this version before allowing it",
            SUPPORTED_RASA,
            version,
        )
        return []
    for name, patch in PATCHES.items():
        patch()
        _installed.append(name)
    logger.info("rasa_ext.speedups installed: %s", ", ".join(_installed))
    return list(_installed)


def installed() -> List[str]:
    return list(_installed)
