"""`rasa test` on tests/test_stories.yml, against the shared stack's action server."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_rasa_test_stories_pass(stack, tmp_path):
    env = dict(stack.env)
    result = subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "rasa"),
            "test",
            "core",
            "--model",
            os.environ.get("RASA_MODEL", str(ROOT / "models" / "current.tar.gz")),
            "--stories",
            str(ROOT / "tests" / "test_stories.yml"),
            "--endpoints",
            str(stack.endpoints),
            "--out",
            str(tmp_path / "results"),
            "--fail-on-prediction-errors",
            # Parse the stories' user texts with the model too, so an FAQ story checks the topic it is answered.
            "--e2e",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    failed = tmp_path / "results" / "failed_test_stories.yml"
    details = failed.read_text() if failed.exists() else ""
    assert result.returncode == 0, f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}\n{details}"
