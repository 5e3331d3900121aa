"""A container's one process: the same command and environment `make run` (services/launcher.py) gives it.

`python deploy/docker/run.py rasa|actions|inbox|deliverer` takes the child of that name from the launcher's own
plan (so a container and `make run` can never start a process differently), adds the environment the launcher
gives its children, and replaces itself with that process (exec: it gets the container's signals directly, and
the container's restart policy does what the launcher's supervision does on one machine). The images link
/app/.venv (and /app/.venv-services) to their Python, where the plan expects them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from bot.settings import load_settings
from services.launcher import DEFAULT_MODEL, child_environment, plan


def main(arguments: list[str]) -> int:
    settings = load_settings()
    model = Path(os.environ.get("RASA_MODEL", str(DEFAULT_MODEL)))
    children = {child.name: child for child in plan(settings, model)}
    wanted = arguments[0] if arguments else ""
    child = children.get(wanted) or children.get(f"{wanted}-0")
    if child is None:
        print(f"usage: run.py {'|'.join(children)}", file=sys.stderr)
        return 2
    if child.name.startswith("rasa") and not model.exists():
        print(
            f"no trained model at {model} (the image copies models/current.tar.gz: run `make train`)", file=sys.stderr
        )
        return 2
    env = {**child_environment(settings), **(child.extra_env or {})}
    os.chdir(Path(__file__).resolve().parents[2])
    os.execve(child.argv[0], child.argv, env)  # noqa: S606 - the launcher's own plan, no shell


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
