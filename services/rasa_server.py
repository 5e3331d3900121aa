"""`rasa run` with the HTTP API's token from the environment or a file, never from the command line.

`/proc/<pid>/cmdline` is readable by every local user, and Rasa takes `--auth-token` only as an argument. The
launcher therefore starts `python -m services.quiet services.rasa_server <rasa run arguments>`; this reads
RASA_AUTH_TOKEN (or the file named by RASA_AUTH_TOKEN_FILE) and adds `--enable-api --auth-token` to the
arguments inside this process, installs rasa_ext/speedups.py's patches (docs/performance.md), then runs Rasa's
own command line here. Without a token the API stays off. It runs in the Rasa environment.
"""

from __future__ import annotations

import os
import runpy
import sys
from pathlib import Path
from typing import List, Mapping, Sequence

API_FLAGS = ("--enable-api",)
API_OPTIONS = ("--auth-token",)


def auth_token(env: Mapping[str, str]) -> str:
    token = env.get("RASA_AUTH_TOKEN", "").strip()
    path = env.get("RASA_AUTH_TOKEN_FILE", "").strip()
    if not token and path:
        token = Path(path).read_text().strip()
    return token


def rasa_arguments(arguments: Sequence[str], token: str) -> List[str]:
    """`rasa run` arguments with any API switch given on the command line dropped, and the API on iff a token."""
    kept: List[str] = []
    skip = False
    for argument in arguments:
        if skip:
            skip = False
            continue
        if argument in API_FLAGS:
            continue
        if argument in API_OPTIONS:
            skip = True
            continue
        if argument.startswith(tuple(option + "=" for option in API_OPTIONS)):
            continue
        kept.append(argument)
    return ["run", *kept, *(["--enable-api", "--auth-token", token] if token else [])]


def main(arguments: Sequence[str]) -> None:
    sys.argv = ["rasa", *rasa_arguments(arguments, auth_token(os.environ))]  # this process's memory only
    # Our version-guarded speed-ups of stock Rasa (docs/performance.md); none on another Rasa version.
    from bot.settings import rasa_speedups_enabled
    from rasa_ext import speedups

    speedups.install(enabled=rasa_speedups_enabled())
    runpy.run_module("rasa", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
