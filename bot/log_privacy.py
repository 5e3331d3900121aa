"""A safety net under every log line: visitor words, email addresses and phone numbers never reach a log.

Our own code logs ids, types and counts only, and the guarded channels never log message text. Libraries are
another matter: Rasa echoes a typed `/payload` in a warning ("Parsed an intent '...'"), its structlog events
carry `text=...` on a failed message, SQLAlchemy errors print a failed statement's `[parameters: ...]` (a
tracker event's JSON: the visitor's words) and a store error reaches Rasa's log through `{error}`.

`install()` (services/quiet.py for Rasa and the action server; the inbox and deliverer at start) sets a log
record factory, so every record of every logger is cleaned when it is made, its traceback text too, and
`clean_warning()` does the same for warnings. Cleaning: SQL parameters are withheld; the values of structlog's
text-bearing keys (the same list Rasa's own anonymiser uses) are withheld; the quoted part of Rasa's messages
that quote a visitor's input is withheld; any email address or phone number left is masked. Standard library
only: both environments import it.
"""

from __future__ import annotations

import json
import logging
import re
import traceback
from typing import Any, Callable

WITHHELD = "[withheld]"
# SQLAlchemy: "... [SQL: INSERT ...] [parameters: ('sender', 'user', 1.0, ..., '{"text": "..."}')]".
_SQL_PARAMETERS = re.compile(r"\[parameters: .*?\](?=\s*(?:\(Background on this error|$|\n))", re.DOTALL)
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
# A phone number as people write it: +1 818 555 0134, (818) 555-0134, 818.555.0134, +18185550134. Plain runs of
# digits without separators or a + (epoch times, ports, ids) are left alone.
_PHONE = re.compile(r"(?<![\w.])(?:\+\d{7,15}|(?:\+?1[\s.\-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.\-])\d{3}[\s.\-]\d{4})(?![\w])")
# Rasa messages that quote what a visitor typed: the intent or entity of a `/payload` (the quoted part is
# withheld), and the warnings about a `/payload` that does not parse, which quote it, its parts and the parser's
# error all through (everything after the phrase is withheld).
_QUOTED_NAME = re.compile(r"(Parsed an (?:intent|entity) )('[^']*'|\"[^\"]*\")")
_QUOTING_WHOLE = re.compile(
    r"(Failed to parse arguments in line|Failed to parse intent end entities from|Invalid entity specification|"
    r"Expected confidence to be)\b.*",
    re.DOTALL,
)
# Rasa's structlog events name the visitor's words with these keys (rasa/utils/log_utils.py _anonymizer).
TEXT_KEYS = frozenset(
    "text response_text user_text slot_values parse_data_text parse_data_entities prediction_events "
    "tracker_latest_message prefilled_slots message response slot_candidates rasa_event rasa_events "
    "tracker_states current_states old_states successes current_entity next_entity states entity token_text "
    "user_message json_message".split()
)


def _clean_structured(text: str) -> str:
    """A JSON log line (structlog's renderer): withhold the values of the text-bearing keys."""
    stripped = text.strip()
    if not (stripped.startswith("{") and stripped.endswith("}")):
        return text
    try:
        data = json.loads(stripped)
    except ValueError:
        return text
    if not isinstance(data, dict):
        return text
    return json.dumps({key: (WITHHELD if key in TEXT_KEYS else value) for key, value in data.items()})


def clean(text: str) -> str:
    """`text` with visitor words and contact details withheld (see the module docstring)."""
    if not text:
        return text
    text = _clean_structured(text)
    text = _SQL_PARAMETERS.sub("[parameters: " + WITHHELD + "]", text)
    text = _QUOTED_NAME.sub(lambda m: m.group(1) + WITHHELD, text)
    text = _QUOTING_WHOLE.sub(lambda m: m.group(1) + " " + WITHHELD, text)
    text = _EMAIL.sub("[email]", text)
    return _PHONE.sub("[phone]", text)


def clean_record(record: logging.LogRecord) -> logging.LogRecord:
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a record whose arguments do not format: keep only its template
        message = str(record.msg)
    record.msg, record.args = clean(message), ()
    if record.exc_info and record.exc_info[0] is not None:
        record.exc_text = clean("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
    if record.stack_info:
        record.stack_info = clean(record.stack_info)
    return record


_installed: list[Callable[..., logging.LogRecord]] = []


def install() -> None:
    """Clean every log record this process makes (idempotent)."""
    if _installed:
        return
    make = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return clean_record(make(*args, **kwargs))

    _installed.append(make)
    logging.setLogRecordFactory(factory)


def clean_warning(message: Warning | str) -> Warning | str:
    """A warning's text cleaned (the warnings module prints outside logging)."""
    text = str(message)
    cleaned = clean(text)
    if cleaned == text:
        return message
    return type(message)(cleaned) if isinstance(message, Warning) else cleaned
