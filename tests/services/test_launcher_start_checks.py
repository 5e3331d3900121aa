"""`make run` (python -m services.launcher) refuses weak secrets and an unsafe HANDOFF_URL before starting anything,
one line each, instead of leaving the deliverer and the inbox in a restart loop; the embedded defaults pass."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def run_launcher(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    full_env = {
        **os.environ,
        "DATA_DIR": str(tmp_path / "data"),
        "HANDOFF_URL": "",
        "HANDOFF_SECRET": "",
        "INBOX_API_TOKEN": "",
        "INBOX_SESSION_SECRET": "",
        "HANDOFF_ALLOW_INSECURE_HTTP": "",
        "RASA_INSTANCES": "",
        "TRACKER_STORE_URL": "",
        "LOCK_STORE_URL": "",
        "RASA_MODEL": str(tmp_path / "no-model.tar.gz"),  # the defaults pass the checks and stop here (exit 2)
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "services.launcher"],
        cwd=PROJECT_ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_weak_settings_stop_the_launcher_before_any_child_starts(tmp_path: Path) -> None:
    result = run_launcher(
        tmp_path,
        HANDOFF_URL="http://crm.example.org/hook",
        HANDOFF_SECRET="crm-shared-secret",
        INBOX_API_TOKEN="token123",
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert [line.split()[0] for line in lines] == ["HANDOFF_URL", "HANDOFF_SECRET", "INBOX_API_TOKEN"], result.stderr
    assert "crm-shared-secret" not in result.stderr and "token123" not in result.stderr
    assert "starting" not in result.stdout


def test_the_embedded_defaults_pass_the_checks(tmp_path: Path) -> None:
    result = run_launcher(tmp_path)
    assert result.returncode == 2 and "no trained model" in result.stderr, result.stderr


def test_several_instances_without_shared_stores_are_refused_with_one_line_each(tmp_path: Path) -> None:
    result = run_launcher(tmp_path, RASA_INSTANCES="2", LOCK_STORE_URL="", TRACKER_STORE_URL="")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2, result.stderr
    assert lines[0].startswith("RASA_INSTANCES > 1 needs LOCK_STORE_URL")
    assert lines[1].startswith("RASA_INSTANCES > 1 needs TRACKER_STORE_URL on PostgreSQL")
    assert "starting" not in result.stdout


def test_store_urls_are_checked_without_showing_them(tmp_path: Path) -> None:
    result = run_launcher(tmp_path, TRACKER_STORE_URL="mysql://u:hunter2@db/x", LOCK_STORE_URL="http://cache:6379")
    assert result.returncode == 1
    assert [line.split()[0] for line in result.stderr.strip().splitlines()] == ["TRACKER_STORE_URL", "LOCK_STORE_URL"]
    assert "hunter2" not in result.stderr


def test_two_instances_on_postgresql_and_redis_pass_the_checks(tmp_path: Path) -> None:
    result = run_launcher(
        tmp_path,
        RASA_INSTANCES="2",
        TRACKER_STORE_URL="postgresql://postgres@127.0.0.1:5432/test",
        LOCK_STORE_URL="redis://127.0.0.1:6379/11",
    )
    assert result.returncode == 2 and "no trained model" in result.stderr, result.stderr
