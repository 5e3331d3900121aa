from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from services.inbox.passwords import (
    GENERATED_HASH_FILE,
    hash_password,
    parse_hash,
    resolve_admin_password_hash,
    verify_password,
)

PROJECT_ROOT = Path(__file__).resolve().parents[3]


def test_hash_has_documented_format_and_verifies() -> None:
    encoded = hash_password("s3cret-password")
    scheme, n, r, p, salt, key = encoded.split("$")
    assert (scheme, n, r, p) == ("scrypt", "16384", "8", "1")
    assert len(bytes.fromhex(salt)) == 16 and len(bytes.fromhex(key)) == 32
    assert verify_password("s3cret-password", encoded)
    assert not verify_password("s3cret-passwore", encoded)
    assert not verify_password("", encoded)


def test_same_password_gets_different_salts() -> None:
    assert hash_password("same") != hash_password("same")


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "plain",
        "bcrypt$16384$8$1$00$00",
        "scrypt$16384$8$1$zz$00",
        "scrypt$1000$8$1$" + "00" * 16 + "$" + "00" * 32,  # n not a power of two
        "scrypt$1073741824$8$1$" + "00" * 16 + "$" + "00" * 32,  # n far too large
        "scrypt$16384$8$1$" + "00" * 16 + "$" + "00" * 4,  # key too short
    ],
)
def test_malformed_hashes_never_match_and_never_raise(bad: str) -> None:
    assert parse_hash(bad) is None
    assert verify_password("anything", bad) is False


def test_configured_hash_wins_and_bad_configured_hash_stops_startup(tmp_path: Path) -> None:
    encoded = hash_password("pw-configured")
    said: list[str] = []
    assert resolve_admin_password_hash(encoded, tmp_path, "staff", said.append) == encoded
    assert said == [] and not (tmp_path / GENERATED_HASH_FILE).exists()
    with pytest.raises(SystemExit):
        resolve_admin_password_hash("not-a-hash", tmp_path, "staff", said.append)


def test_generated_password_is_announced_once_and_only_its_hash_is_kept(tmp_path: Path) -> None:
    said: list[str] = []
    first = resolve_admin_password_hash("", tmp_path, "frontdesk", said.append)
    assert len(said) == 1 and "username=frontdesk" in said[0]
    password = said[0].split("password=")[1].split()[0]
    assert verify_password(password, first)
    path = tmp_path / GENERATED_HASH_FILE
    assert path.read_text().strip() == first
    assert password not in path.read_text()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    again = resolve_admin_password_hash("", tmp_path, "frontdesk", said.append)
    assert again == first and len(said) == 1


def test_password_cli_prints_a_hash_for_the_password_on_stdin() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "services.inbox.passwords"],
        input="a long enough password\n",
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert verify_password("a long enough password", result.stdout.strip())


def test_password_cli_refuses_short_passwords() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "services.inbox.passwords"],
        input="short\n",
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=60,
    )
    assert result.returncode != 0 and result.stdout == ""
