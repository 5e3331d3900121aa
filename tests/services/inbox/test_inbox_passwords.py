from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from services.inbox.passwords import (
    GENERATED_HASH_FILE,
    GENERATED_PASSWORD_FILE,
    UPGRADED_HASH_FILE,
    ScryptCost,
    hash_password,
    needs_upgrade,
    parse_hash,
    resolve_admin_password_hash,
    store_upgraded_hash,
    verify_password,
)
from tests.services.inbox.inbox_helpers import TEST_COST

OLD_COST = ScryptCost(n=2**14, r=8, p=1)  # what hashes were made with before OWASP's current cost

PROJECT_ROOT = Path(__file__).resolve().parents[3]


def test_new_hashes_use_owasps_current_cost_and_verify() -> None:
    encoded = hash_password("s3cret-password")  # the production cost: N=2^17, r=8, p=1 (128 MiB)
    scheme, n, r, p, salt, key = encoded.split("$")
    assert (scheme, n, r, p) == ("scrypt", "131072", "8", "1")
    assert len(bytes.fromhex(salt)) == 16 and len(bytes.fromhex(key)) == 32
    assert verify_password("s3cret-password", encoded)
    assert not verify_password("s3cret-passwore", encoded)
    assert not needs_upgrade(encoded)


def test_old_cheaper_hashes_still_verify_and_need_an_upgrade() -> None:
    old = hash_password("s3cret-password", OLD_COST)
    assert old.split("$")[1] == "16384"
    assert verify_password("s3cret-password", old) and not verify_password("", old)
    assert needs_upgrade(old) and needs_upgrade(hash_password("x", ScryptCost(2**17, 4, 1)))
    stronger = "scrypt$262144$8$1$" + "00" * 16 + "$" + "00" * 32
    assert parse_hash(stronger) is not None and not needs_upgrade(stronger)  # never weakened


def test_same_password_gets_different_salts() -> None:
    assert hash_password("same", TEST_COST) != hash_password("same", TEST_COST)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "plain",
        "bcrypt$16384$8$1$00$00",
        "scrypt$16384$8$1$zz$00",
        "scrypt$1000$8$1$" + "00" * 16 + "$" + "00" * 32,  # n not a power of two
        "scrypt$1073741824$8$1$" + "00" * 16 + "$" + "00" * 32,  # n far too large
        "scrypt$524288$8$1$" + "00" * 16 + "$" + "00" * 32,  # 512 MiB for one sign-in
        "scrypt$16384$8$64$" + "00" * 16 + "$" + "00" * 32,  # p: 64 passes
        "scrypt$16384$8$1$" + "00" * 16 + "$" + "00" * 4,  # key too short
    ],
)
def test_malformed_hashes_never_match_and_never_raise(bad: str) -> None:
    assert parse_hash(bad) is None
    assert verify_password("anything", bad) is False


def test_configured_hash_wins_and_bad_configured_hash_stops_startup(tmp_path: Path) -> None:
    encoded = hash_password("pw-configured", TEST_COST)
    said: list[str] = []
    assert resolve_admin_password_hash(encoded, tmp_path, "staff", said.append) == encoded
    assert said == [] and not (tmp_path / GENERATED_HASH_FILE).exists()
    with pytest.raises(SystemExit):
        resolve_admin_password_hash("not-a-hash", tmp_path, "staff", said.append)


def test_generated_password_goes_to_a_private_file_whose_path_is_announced_once(tmp_path: Path) -> None:
    said: list[str] = []
    first = resolve_admin_password_hash("", tmp_path, "frontdesk", said.append, cost=TEST_COST)
    password_file = tmp_path / GENERATED_PASSWORD_FILE
    assert len(said) == 1 and "username=frontdesk" in said[0] and str(password_file) in said[0]
    password = password_file.read_text().strip()
    assert len(password) >= 20 and password not in said[0]  # the announcement names the file, never the password
    assert verify_password(password, first)
    path = tmp_path / GENERATED_HASH_FILE
    assert path.read_text().strip() == first
    assert password not in path.read_text()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(password_file).st_mode) == 0o600
    again = resolve_admin_password_hash("", tmp_path, "frontdesk", said.append, cost=TEST_COST)
    assert again == first and len(said) == 1


def test_an_upgrade_replaces_the_generated_hash(tmp_path: Path) -> None:
    old = resolve_admin_password_hash("", tmp_path, "staff", lambda _: None, cost=TEST_COST)
    password = (tmp_path / GENERATED_PASSWORD_FILE).read_text().strip()
    new = hash_password(password, ScryptCost(2**11, 8, 1))
    store_upgraded_hash("", tmp_path, new)
    assert resolve_admin_password_hash("", tmp_path, "staff", lambda _: None) == new != old
    assert stat.S_IMODE(os.stat(tmp_path / GENERATED_HASH_FILE).st_mode) == 0o600


def test_an_upgrade_of_a_configured_hash_is_kept_beside_it_until_the_setting_changes(tmp_path: Path) -> None:
    configured = hash_password("pw-configured", TEST_COST)
    new = hash_password("pw-configured", ScryptCost(2**11, 8, 1))
    store_upgraded_hash(configured, tmp_path, new)
    assert stat.S_IMODE(os.stat(tmp_path / UPGRADED_HASH_FILE).st_mode) == 0o600
    assert resolve_admin_password_hash(configured, tmp_path, "staff", lambda _: None) == new
    # The clinic sets a new password hash: it wins over the upgrade of the old one at once.
    replaced = hash_password("another-password", TEST_COST)
    assert resolve_admin_password_hash(replaced, tmp_path, "staff", lambda _: None) == replaced


def test_password_cli_prints_a_hash_for_the_password_on_stdin() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "services.inbox.passwords"],
        input="a long enough password\n",  # 22 characters
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
        input="eleven-char\n",  # 11: one short of the minimum
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=60,
    )
    assert result.returncode != 0 and result.stdout == ""
    assert "at least 12 characters" in result.stderr
