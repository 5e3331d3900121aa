"""Staff password hashes: `scrypt$<n>$<r>$<p>$<salt-hex>$<hash-hex>` (standard library only).

New hashes use OWASP's current scrypt cost (N=2^17, r=8, p=1: 128 MiB and about half a second each); older, cheaper
hashes still verify and are replaced by a new one on the next successful sign-in (`store_upgraded_hash`).

`python -m services.inbox.passwords` reads a password (getpass on a terminal, else one line of stdin; at least
12 characters) and prints a hash to put in `.env` as INBOX_ADMIN_PASSWORD_HASH.
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

SCHEME = "scrypt"
SALT_BYTES = 16
KEY_BYTES = 32
MIN_PASSWORD_CHARS = 12
# Upper bounds on parameters read from a hash, so a malformed setting cannot make one sign-in eat the machine.
MAX_MEMORY_BYTES = 256 * 2**20
MAX_P = 4
GENERATED_HASH_FILE = "inbox_admin.hash"
GENERATED_PASSWORD_FILE = "inbox_admin_password.txt"  # noqa: S105 - a file name
# Where the upgrade of a *configured* hash is kept (the inbox cannot rewrite .env): the new hash, with a
# fingerprint of the configured value it replaces, so setting a new INBOX_ADMIN_PASSWORD_HASH wins at once.
UPGRADED_HASH_FILE = "inbox_admin_upgraded.hash"


@dataclass(frozen=True)
class ScryptCost:
    n: int
    r: int
    p: int

    def is_weaker_than(self, other: ScryptCost) -> bool:
        return self.n < other.n or self.r < other.r or self.p < other.p


# OWASP Password Storage Cheat Sheet (scrypt: N=2^17, r=8, p=1).
CURRENT_COST = ScryptCost(n=2**17, r=8, p=1)


def _scrypt(password: str, salt: bytes, cost: ScryptCost, dklen: int) -> bytes:
    # OpenSSL refuses unless maxmem covers 128 * r * (n + p + 2) bytes; 1 MiB of slack on top.
    maxmem = 128 * cost.r * (cost.n + cost.p + 2) + 2**20
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=cost.n, r=cost.r, p=cost.p, dklen=dklen, maxmem=maxmem)


def hash_password(password: str, cost: ScryptCost = CURRENT_COST) -> str:
    salt = secrets.token_bytes(SALT_BYTES)
    key = _scrypt(password, salt, cost, KEY_BYTES)
    return f"{SCHEME}${cost.n}${cost.r}${cost.p}${salt.hex()}${key.hex()}"


def parse_hash(encoded: str) -> Optional[tuple[ScryptCost, bytes, bytes]]:
    """(cost, salt, key) or None when the text is not a usable hash."""
    parts = (encoded or "").strip().split("$")
    if len(parts) != 6 or parts[0] != SCHEME:
        return None
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt, key = bytes.fromhex(parts[4]), bytes.fromhex(parts[5])
    except ValueError:
        return None
    n_is_power_of_two = n > 1 and (n & (n - 1)) == 0
    bounded = r > 0 and 0 < p <= MAX_P and 128 * n * r <= MAX_MEMORY_BYTES
    if not (n_is_power_of_two and bounded and salt and 16 <= len(key) <= 64):
        return None
    return ScryptCost(n, r, p), salt, key


def verify_password(password: str, encoded: str) -> bool:
    """Constant-time check; a malformed hash never matches (and never raises)."""
    parsed = parse_hash(encoded)
    if parsed is None or not isinstance(password, str):
        return False
    cost, salt, key = parsed
    try:
        candidate = _scrypt(password, salt, cost, len(key))
    except (ValueError, MemoryError):
        return False
    return hmac.compare_digest(candidate, key)


def needs_upgrade(encoded: str, cost: ScryptCost = CURRENT_COST) -> bool:
    """True when the hash is cheaper to attack than `cost` (a stronger hash is never weakened)."""
    parsed = parse_hash(encoded)
    return parsed is not None and parsed[0].is_weaker_than(cost)


def password_problem(password: str) -> Optional[str]:
    if len(password) < MIN_PASSWORD_CHARS:
        return f"use a password of at least {MIN_PASSWORD_CHARS} characters"
    return None


def generate_password() -> str:
    return secrets.token_urlsafe(15)  # 20 characters, 120 random bits


def _fingerprint(configured_hash: str) -> str:
    return hashlib.sha256(configured_hash.strip().encode("utf-8")).hexdigest()


def _write_private(path: Path, text: str) -> None:
    """Write a file only this user can read (0600), atomically: a crash leaves the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.unlink(missing_ok=True)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(temporary, path)


def _upgraded_hash_for(configured_hash: str, data_dir: Path) -> Optional[str]:
    path = Path(data_dir) / UPGRADED_HASH_FILE
    try:
        replaces, encoded = path.read_text().split()
    except (OSError, ValueError):
        return None
    if not hmac.compare_digest(replaces, _fingerprint(configured_hash)) or parse_hash(encoded) is None:
        return None  # left from an earlier INBOX_ADMIN_PASSWORD_HASH: the configured value wins
    return encoded


def store_upgraded_hash(configured_hash: str, data_dir: Path, new_hash: str) -> None:
    """Keep a re-hashed password: over the generated hash file, or beside a configured hash."""
    if configured_hash.strip():
        _write_private(Path(data_dir) / UPGRADED_HASH_FILE, f"{_fingerprint(configured_hash)}\n{new_hash}\n")
    else:
        _write_private(Path(data_dir) / GENERATED_HASH_FILE, new_hash + "\n")


def resolve_admin_password_hash(
    configured_hash: str,
    data_dir: Path,
    username: str,
    announce: Callable[[str], None],
    cost: ScryptCost = CURRENT_COST,
) -> str:
    """The admin hash to use: the configured one (or its upgrade), else one generated once and kept in DATA_DIR.

    On the first start without a configured hash a random password is generated and written to a file only this
    user can read (DATA_DIR/inbox_admin_password.txt, 0600); `announce` gets that file's path, never the password,
    so the password reaches no console, journal or log.
    """
    if configured_hash.strip():
        if parse_hash(configured_hash) is None:
            raise SystemExit("INBOX_ADMIN_PASSWORD_HASH is not a valid scrypt$n$r$p$salt$hash value")
        return _upgraded_hash_for(configured_hash, data_dir) or configured_hash.strip()
    path = Path(data_dir) / GENERATED_HASH_FILE
    if path.exists():
        stored = path.read_text().strip()
        if parse_hash(stored) is None:
            raise SystemExit(f"{path} does not hold a valid password hash; delete it to generate a new password")
        return stored
    password = generate_password()
    encoded = hash_password(password, cost)
    password_path = Path(data_dir) / GENERATED_PASSWORD_FILE
    # The password first: a crash before the hash is written just generates a new pair on the next start.
    _write_private(password_path, password + "\n")
    _write_private(path, encoded + "\n")
    announce(
        f"Haven inbox: generated a staff sign-in for username={username}; the password is in {password_path} "
        "(only this user can read it).\n"
        f"Haven inbox: sign in, keep the password somewhere safe, then delete that file. To make a new password, "
        f"stop the inbox and delete {path}."
    )
    return encoded


def _read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Repeat: "):
            raise SystemExit("passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def main() -> None:
    password = _read_password()
    problem = password_problem(password)
    if problem:
        raise SystemExit(problem)
    print(hash_password(password))


if __name__ == "__main__":
    main()
