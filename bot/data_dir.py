"""DATA_DIR holds health information (the SQLite stores, the event spool) and secrets: it is private or we stop.

Every process (launcher, Rasa, the action server, inbox, deliverer) reaches this through `load_settings()`, so
one function decides: files are created under a 0077 umask (0600 files, 0700 directories), the directory is
created 0700, and a directory that the group or other users can open stops start-up with a one-line reason.
Standard library only: both Python environments import it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

PRIVATE_UMASK = 0o077
PRIVATE_DIR_MODE = 0o700


class DataDirNotPrivate(SystemExit):
    """DATA_DIR is group- or world-accessible (or not a directory); `str(error)` is the one-line reason."""


def exposed_bits(mode: int) -> int:
    """The permission bits that let someone other than the owner in (0 for a private directory)."""
    return stat.S_IMODE(mode) & 0o077


def prepare_data_dir(path: Path) -> Path:
    """Set this process's umask to 0077, create `path` 0700 if missing, and refuse an accessible one."""
    os.umask(PRIVATE_UMASK)
    path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    info = path.stat()
    if not stat.S_ISDIR(info.st_mode):
        raise DataDirNotPrivate(f"DATA_DIR {path} is not a directory")
    bits = exposed_bits(info.st_mode)
    if bits:
        raise DataDirNotPrivate(
            f"DATA_DIR {path} is readable by other users (mode {stat.S_IMODE(info.st_mode):04o}); "
            f"it holds health information: run `chmod 700 {path}`"
        )
    return path
