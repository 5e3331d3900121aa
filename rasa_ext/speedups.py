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


PATCHES: Dict[str, Callable[[], None]] = {
    "cached_response_validator": _patch_response_validator,
    "cached_event_lookup": _patch_event_lookup,
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
