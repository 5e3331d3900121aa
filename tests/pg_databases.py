"""A throwaway PostgreSQL database on the test server (127.0.0.1:5432, trust): created fresh, dropped after, so a
test that shares one database between Rasa's tracker store and our tables disturbs nobody else's."""

from __future__ import annotations

import contextlib
import uuid
from typing import Iterator, Optional

import sqlalchemy as sa

SERVER_URL = "postgresql://postgres@127.0.0.1:5432/test"


def postgres_unavailable() -> Optional[str]:
    try:
        engine = sa.create_engine(SERVER_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:
        return f"PostgreSQL at {SERVER_URL} unreachable ({type(exc).__name__})"


@contextlib.contextmanager
def fresh_database(prefix: str = "haven_t") -> Iterator[str]:
    """Yields the URL of a new, empty database; drops it (closing whatever is still connected) afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(SERVER_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(
                sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"), {"name": name}
            )
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()
