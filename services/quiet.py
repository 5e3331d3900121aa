"""Run a library's command with the notices a person cannot act on left out: `python -m services.quiet rasa run ...`.

The launcher starts Rasa and the action server this way, so that `make run`'s console shows our start-up lines and
errors rather than dozens of third-party deprecation notices (distutils, pkg_resources, pyparsing via matplotlib,
SQLAlchemy 2.0, jax). PYTHONWARNINGS cannot hide those: Sanic re-enables DeprecationWarning with a filter of its own
when it is imported. So they are dropped where warnings are shown instead: a DeprecationWarning,
PendingDeprecationWarning or FutureWarning raised from a file outside this project (a library's own notice) is not
printed; every other warning, and every warning pointing at our code, is. A PYTHONWARNINGS setting switches this
off (`PYTHONWARNINGS=default make run` shows everything). Standard library only: it runs in the Rasa environment.

Whatever else, every log record and warning of the process is cleaned of visitor words, email addresses and
phone numbers first (bot/log_privacy.py), PYTHONWARNINGS or not: Rasa, Sanic, rasa_sdk and SQLAlchemy included.
"""

from __future__ import annotations

import logging
import os
import runpy
import sys
import warnings
from pathlib import Path
from typing import Callable, Dict, List, Optional, TextIO, Type

from bot import log_privacy

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEPRECATION_NOTICES = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)
# Rasa warnings about what we chose on purpose. The clinic FAQ is a retrieval intent whose answers come from the
# clinic profile, not from `utter_faq/<topic>` responses in the domain (docs/architecture.md, Interruptions), so
# Rasa warns about every FAQ example at training and every FAQ topic at run time; nothing there to act on.
EXPECTED_RASA_WARNINGS = (
    "Your training data contains an example ",  # ... "for the 'faq/<topic>' intent": checked below
    "Unable to fetch responses for faq/",
    "The following duplicated intents have been found across multiple domain files: faq",
    "Action 'utter_faq' is listed as a response action in the domain file",
)
# Library loggers whose INFO lines say nothing a person acts on.
NOISY_LOGGERS: Dict[str, int] = {
    "rasa_sdk.executor": logging.WARNING,  # one "Registered function for ..." line per action at start-up
}


def is_ours(filename: str) -> bool:
    return filename.startswith(str(PROJECT_ROOT) + os.sep) and "site-packages" not in filename


def is_library_notice(category: Type[Warning], filename: str, message: str = "") -> bool:
    if is_ours(filename):
        return False
    if issubclass(category, DEPRECATION_NOTICES):
        return True
    if message.startswith(EXPECTED_RASA_WARNINGS[0]):
        return "for the 'faq/" in message
    return message.startswith(EXPECTED_RASA_WARNINGS)


def _wrap_showwarning(shown: Callable[[Warning | str, Type[Warning], str], Optional[Warning | str]]) -> None:
    """Put `shown` in front of the current `warnings.showwarning`: it gives the message to print, or None to drop
    the warning."""
    show = warnings.showwarning

    def showwarning(
        message: Warning | str,
        category: Type[Warning],
        filename: str,
        lineno: int,
        file: Optional[TextIO] = None,
        line: Optional[str] = None,
    ) -> None:
        kept = shown(message, category, filename)
        if kept is not None:
            show(kept, category, filename, lineno, file, line)

    warnings.showwarning = showwarning


def hide_library_notices() -> None:
    _wrap_showwarning(
        lambda message, category, filename: None if is_library_notice(category, filename, str(message)) else message
    )
    for name, level in NOISY_LOGGERS.items():
        logging.getLogger(name).setLevel(level)


def clean_warnings() -> None:
    """Every warning printed without visitor words or contact details."""
    _wrap_showwarning(lambda message, _category, _filename: log_privacy.clean_warning(message))


def main(argv: List[str]) -> None:
    if not argv:
        raise SystemExit("usage: python -m services.quiet <module> [arguments...]")
    log_privacy.install()
    clean_warnings()
    if not os.environ.get("PYTHONWARNINGS"):
        hide_library_notices()
    module, arguments = argv[0], argv[1:]
    sys.argv = [module, *arguments]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
