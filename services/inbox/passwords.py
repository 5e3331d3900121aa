"""Staff password hashes: `scrypt$<n>$<r>$<p>$<salt-hex>$<hash-hex>` (standard library only).

`python -m services.inbox.passwords` reads a password (getpass on a terminal, else one line of stdin) and prints a
hash to put in `.env` as INBOX_ADMIN_PASSWORD_HASH.
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import os
import secrets
import sys
from pathlib import Path
from typing import Callable, Optional

SCHEME = "scrypt"
DEFAULT_N = 2**14
DEFAULT_R = 8
DEFAULT_P = 1
SALT_BYTES = 16
KEY_BYTES = 32
# Upper bounds on parameters read from a hash, so a malformed setting cannot make one login eat the machine.
MAX_N = 2**20
MAX_R = 32
MAX_P = 16
GENERATED_HASH_FILE = "inbox_admin.hash"


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    # maxmem must cover 128 * r * n bytes plus some slack, or OpenSSL refuses larger parameters.
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=dklen, maxmem=256 * r * n + 2**20)


def hash_password(password: str, *, n: int = DEFAULT_N, r: int = DEFAULT_R, p: int = DEFAULT_P) -> str:
    salt = secrets.token_bytes(SALT_BYTES)
    key = _scrypt(password, salt, n, r, p, KEY_BYTES)
    return f"{SCHEME}${n}${r}${p}${salt.hex()}${key.hex()}"


def parse_hash(encoded: str) -> Optional[tuple[int, int, int, bytes, bytes]]:
    """(n, r, p, salt, key) or None when the text is not a usable hash."""
    parts = (encoded or "").strip().split("$")
    if len(parts) != 6 or parts[0] != SCHEME:
        return None
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt, key = bytes.fromhex(parts[4]), bytes.fromhex(parts[5])
    except ValueError:
        return None
    n_is_power_of_two = n > 1 and (n & (n - 1)) == 0
    if not (n_is_power_of_two and n <= MAX_N and 0 < r <= MAX_R and 0 < p <= MAX_P and salt and 16 <= len(key) <= 64):
        return None
    return n, r, p, salt, key


def verify_password(password: str, encoded: str) -> bool:
    """Constant-time check; a malformed hash never matches (and never raises)."""
    parsed = parse_hash(encoded)
    if parsed is None or not isinstance(password, str):
        return False
    n, r, p, salt, key = parsed
    try:
        candidate = _scrypt(password, salt, n, r, p, len(key))
    except (ValueError, MemoryError):
        return False
    return hmac.compare_digest(candidate, key)


def generate_password() -> str:
    return secrets.token_urlsafe(15)


def resolve_admin_password_hash(
    configured_hash: str, data_dir: Path, username: str, announce: Callable[[str], None]
) -> str:
    """The admin hash to use: the configured one, else one generated once and kept in DATA_DIR.

    On the first start without a configured hash a random password is generated, only its hash is written
    (mode 0600), and the password is announced once so the person who ran `make run` can sign in.
    """
    if configured_hash.strip():
        if parse_hash(configured_hash) is None:
            raise SystemExit("INBOX_ADMIN_PASSWORD_HASH is not a valid scrypt$n$r$p$salt$hash value")
        return configured_hash.strip()
    path = Path(data_dir) / GENERATED_HASH_FILE
    if path.exists():
        stored = path.read_text().strip()
        if parse_hash(stored) is None:
            raise SystemExit(f"{path} does not hold a valid password hash; delete it to generate a new password")
        return stored
    password = generate_password()
    encoded = hash_password(password)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(encoded + "\n")
    announce(
        f"Haven inbox: generated staff sign-in (shown once) username={username} password={password}\n"
        f"Haven inbox: only its hash is kept in {path}; delete that file to generate a new password."
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
    if len(password) < 8:
        raise SystemExit("use a password of at least 8 characters")
    print(hash_password(password))


if __name__ == "__main__":
    main()
