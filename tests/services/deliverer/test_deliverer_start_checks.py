"""`python -m services.deliverer` refuses to start on an unsafe HANDOFF_URL or a weak HANDOFF_SECRET, with one line
per problem that never shows the secret; an explicit HANDOFF_ALLOW_INSECURE_HTTP lets plain http through."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.handoff_fixtures import SECRET

PROJECT_ROOT = Path(__file__).resolve().parents[3]


def run_deliverer(tmp_path: Path, timeout_s: float = 60, **env: str) -> subprocess.CompletedProcess:
    full_env = {
        **os.environ,
        "DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'haven.db'}",
        "HANDOFF_ALLOW_INSECURE_HTTP": "",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "services.deliverer"],
        cwd=PROJECT_ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )


@pytest.mark.parametrize(
    "url,secret,refused",
    [
        ("http://clinic.example.org/events", SECRET, ["HANDOFF_URL"]),
        ("https://clinic.example.org/events", "e2e-handoff-secret", ["HANDOFF_SECRET"]),
        ("http://10.0.0.5/events", "short", ["HANDOFF_URL", "HANDOFF_SECRET"]),
    ],
)
def test_unsafe_handoff_settings_stop_the_deliverer(tmp_path: Path, url: str, secret: str, refused: list) -> None:
    result = run_deliverer(tmp_path, HANDOFF_URL=url, HANDOFF_SECRET=secret)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert [line.split()[0] for line in lines] == refused, result.stderr
    assert secret not in result.stderr.replace("HANDOFF_SECRET", "")


def test_insecure_http_only_when_said_explicitly(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'haven.db'}",
        "HANDOFF_URL": "http://10.255.255.1:9/events",
        "HANDOFF_SECRET": SECRET,
        "HANDOFF_ALLOW_INSECURE_HTTP": "true",
        "PYTHONUNBUFFERED": "1",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "services.deliverer"],
        cwd=PROJECT_ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first_line = process.stderr.readline()  # the deliverer's first log line, once it runs
        assert "handoff deliverer started" in first_line, first_line
    finally:
        process.send_signal(signal.SIGTERM)  # it may not have its own handler yet: any exit will do
        process.wait(timeout=30)
