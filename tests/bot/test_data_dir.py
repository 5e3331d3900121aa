"""DATA_DIR is private or nothing starts: created 0700 under a 0077 umask, an accessible one refused in one line."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from bot.data_dir import DataDirNotPrivate, prepare_data_dir
from bot.settings import PROJECT_ROOT


@pytest.fixture(autouse=True)
def keep_umask():
    previous = os.umask(0o022)
    os.umask(previous)
    yield
    os.umask(previous)


def test_a_new_data_dir_is_0700_and_files_made_after_are_0600(tmp_path):
    data_dir = prepare_data_dir(tmp_path / "var" / "nested")
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    (data_dir / "haven.db").write_text("x")
    assert stat.S_IMODE((data_dir / "haven.db").stat().st_mode) == 0o600


@pytest.mark.parametrize("mode", [0o750, 0o705, 0o755, 0o777])
def test_a_group_or_world_accessible_data_dir_is_refused_with_a_one_line_reason(tmp_path, mode):
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    data_dir.chmod(mode)
    with pytest.raises(DataDirNotPrivate) as refused:
        prepare_data_dir(data_dir)
    reason = str(refused.value)
    assert "\n" not in reason and str(data_dir) in reason and "chmod 700" in reason


def test_every_process_refuses_through_load_settings(tmp_path):
    """The launcher, Rasa, the action server, the inbox and the deliverer all load settings first."""
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    data_dir.chmod(0o755)
    env = {**os.environ, "DATA_DIR": str(data_dir), "PYTHONPATH": str(PROJECT_ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", "from bot.settings import load_settings; load_settings()"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert done.stderr.strip().splitlines()[-1].startswith("DATA_DIR ")
    assert not list(data_dir.iterdir())  # no secret was written into the open directory


def test_load_settings_makes_the_generated_secrets_private(tmp_path, monkeypatch):
    from bot.settings import load_settings

    monkeypatch.setenv("DATA_DIR", str(tmp_path / "fresh"))
    settings = load_settings(env_file=Path(os.devnull))
    assert stat.S_IMODE(settings.data_dir.stat().st_mode) == 0o700
    for secret in settings.data_dir.iterdir():
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600
