"""Who texted STOP, kept durably (carriers require an opt-out to survive a restart).

A small SQLAlchemy Core table of its own in DATABASE_URL (SQLite under DATA_DIR by default), keyed by the
number's keyed hash (bot.channels.sms.number_key): the number itself is never stored. `conversation` counts
the opt-outs, so the conversation after START is a new one (bot.channels.sms.sender_id).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

TABLE_NAME = "sms_opt_outs"
SQLITE_BUSY_TIMEOUT_S = 15.0

metadata = sa.MetaData()
sms_opt_outs = sa.Table(
    TABLE_NAME,
    metadata,
    sa.Column("number_key", sa.String(64), primary_key=True),
    sa.Column("opted_out", sa.Boolean, nullable=False),
    sa.Column("conversation", sa.Integer, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)


@dataclass(frozen=True)
class OptOutState:
    opted_out: bool = False
    conversation: int = 0


def _create_engine(database_url: str) -> sa.engine.Engine:
    url = sa.engine.make_url(database_url)
    # hide_parameters: a failed statement's exception text never carries a phone number's key into a log.
    kwargs: dict = {"hide_parameters": True, **({"future": True} if sa.__version__.startswith("1.") else {})}
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False}
    else:
        kwargs["pool_pre_ping"] = True
    return sa.create_engine(url, **kwargs)


class OptOutStore:
    def __init__(self, database_url: str) -> None:
        self._engine = _create_engine(database_url)
        try:
            metadata.create_all(self._engine, checkfirst=True)
        except sa.exc.DBAPIError:  # another process created it at the same moment
            time.sleep(0.2)
            metadata.create_all(self._engine, checkfirst=True)

    def state(self, number_key: str) -> OptOutState:
        with self._engine.connect() as connection:
            row = connection.execute(
                sa.select(sms_opt_outs.c.opted_out, sms_opt_outs.c.conversation).where(
                    sms_opt_outs.c.number_key == number_key
                )
            ).first()
        return OptOutState() if row is None else OptOutState(bool(row[0]), int(row[1]))

    def opt_out(self, number_key: str) -> bool:
        """Record STOP; True if the number was not opted out before (so the one confirmation is due)."""
        return self._set(number_key, opted_out=True)

    def opt_in(self, number_key: str) -> bool:
        """Record START; True if the number was opted out before."""
        return self._set(number_key, opted_out=False)

    def _set(self, number_key: str, *, opted_out: bool) -> bool:
        for _ in range(2):  # a concurrent first insert of the same key: read again and update
            current = self.state(number_key)
            if current.opted_out == opted_out:
                return False
            values = {
                "opted_out": opted_out,
                # Each STOP ends the conversation; the next one starts afresh.
                "conversation": current.conversation + (1 if opted_out else 0),
                "updated_at": time.time(),
            }
            try:
                with self._engine.begin() as connection:
                    result = connection.execute(
                        sms_opt_outs.update()
                        .where(sms_opt_outs.c.number_key == number_key)
                        .where(sms_opt_outs.c.opted_out == current.opted_out)
                        .values(**values)
                    )
                    if result.rowcount == 0:
                        connection.execute(sms_opt_outs.insert().values(number_key=number_key, **values))
                return True
            except IntegrityError:
                continue
        return False

    def close(self) -> None:
        self._engine.dispose()
