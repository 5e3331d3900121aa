"""`python -m services.inbox` as a real process: generated admin password (in a private file, never on the console),
sign-in, graceful SIGTERM, weak secrets refused at start."""

from __future__ import annotations

import asyncio
import os
import queue
import re
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Optional

import aiohttp
import pytest

from tests.services.inbox.inbox_helpers import CSRF_FIELD, HANDOFF_SECRET, free_port

PROJECT_ROOT = Path(__file__).resolve().parents[3]
PASSWORD_LINE = re.compile(r"username=(\S+); the password is in (\S+) ")


def _start(env: dict) -> tuple[subprocess.Popen, queue.Queue[str]]:
    """The process, and a queue of its stdout lines (each also kept in `printed`)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "services.inbox"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in process.stdout:
            PRINTED.append(line)
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return process, lines


PRINTED: list[str] = []


def _wait_for_password(lines: queue.Queue[str], timeout_s: float) -> Optional[re.Match]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            match = PASSWORD_LINE.search(lines.get(timeout=0.2))
        except queue.Empty:
            continue
        if match:
            return match
    return None


async def _wait_until_serving(base: str, process: subprocess.Popen, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            assert process.poll() is None, process.stderr.read()
            try:
                async with session.get(base + "/health") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("the inbox did not start")


def _stop(process: subprocess.Popen) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise


@pytest.mark.asyncio
async def test_module_generates_password_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'haven.db'}",
        "INBOX_PORT": str(port),
        "HOST": "127.0.0.1",
        "INBOX_ADMIN_USER": "frontdesk",
        "INBOX_ADMIN_PASSWORD_HASH": "",  # empty wins over any .env: forces the generated password
        "INBOX_API_TOKEN": "",
        "INBOX_COOKIE_SECURE": "false",  # this test client speaks plain http, so it must get the cookie back
        "HANDOFF_SECRET": HANDOFF_SECRET,
        "HANDOFF_URL": "",
        "PYTHONUNBUFFERED": "1",
    }
    process, lines = _start(env)
    try:
        match = _wait_for_password(lines, 20)
        assert match is not None, "the generated password's file was not named"
        username, password_file = match.group(1), Path(match.group(2))
        assert username == "frontdesk" and password_file.parent == tmp_path / "data"
        assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
        password = password_file.read_text().strip()
        base = f"http://127.0.0.1:{port}"
        await _wait_until_serving(base, process)
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            async with session.get(base + "/login?probe=QUERYMARKER") as response:
                token = CSRF_FIELD.search(await response.text()).group(1)
            form = {"csrf_token": token, "username": username, "password": password}
            async with session.post(base + "/login", data=form, allow_redirects=False) as response:
                assert response.status == 303
            async with session.get(base + "/", allow_redirects=False) as response:
                assert response.status == 200 and "Signed in as frontdesk" in await response.text()
        assert _stop(process) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    stderr = process.stderr.read()
    assert password not in stderr and password not in "".join(PRINTED)  # in the file only: not printed or logged
    assert "GET /login 200" in stderr and "QUERYMARKER" not in stderr  # access log without query strings
    hash_file = tmp_path / "data" / "inbox_admin.hash"
    assert hash_file.exists() and password not in hash_file.read_text()
    assert hash_file.read_text().startswith("scrypt$131072$8$1$")  # the real process uses the production cost

    # A second start reuses the stored hash and prints no new password.
    process, lines = _start(env)
    try:
        await _wait_until_serving(f"http://127.0.0.1:{port}", process)
        assert _stop(process) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    remaining = []
    while not lines.empty():
        remaining.append(lines.get())
    assert not any("password" in line for line in remaining)


def test_weak_secrets_stop_the_inbox_with_one_line_each(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'haven.db'}",
        "INBOX_PORT": str(free_port()),
        "HANDOFF_SECRET": "e2e-handoff-secret",
        "HANDOFF_URL": "",
        "INBOX_API_TOKEN": "short-token",
        "INBOX_SESSION_SECRET": "",  # generated under DATA_DIR: strong
    }
    result = subprocess.run(
        [sys.executable, "-m", "services.inbox"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert [line.split()[0] for line in lines] == ["HANDOFF_SECRET", "INBOX_API_TOKEN"], result.stderr
    assert "e2e-handoff-secret" not in result.stderr and "short-token" not in result.stderr


def test_no_deliverer_is_still_accepted_and_changes_nothing() -> None:
    from services.inbox.__main__ import parse_args

    # Scripts from when the inbox ran the deliverer pass it; the inbox never delivers now, with or without it.
    assert parse_args(["--no-deliverer", "--port", "8123"]).port == 8123
    assert parse_args([]).port is None
