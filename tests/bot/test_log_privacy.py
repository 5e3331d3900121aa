"""bot/log_privacy.py: log records are cleaned of visitor words and contact details when they are made."""

from __future__ import annotations

import io
import json
import logging

import pytest
import sqlalchemy as sa

from bot import log_privacy
from bot.log_privacy import clean

WORDS = "Jane Quux-Marker says hi"
EMAIL = "jane.quux@example.com"


@pytest.fixture
def captured():
    """A logger writing to a buffer, with the record factory installed (restored afterwards)."""
    before = logging.getLogRecordFactory()
    log_privacy._installed.clear()
    log_privacy.install()
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    logger = logging.getLogger("test.log_privacy")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield logger, buffer
    logger.removeHandler(handler)
    logging.setLogRecordFactory(before)
    log_privacy._installed.clear()


def test_a_failed_statement_keeps_its_sql_but_not_its_parameters(captured, tmp_path):
    """A real SQLAlchemy error, as a tracker store's save raises it and Rasa logs it with {error}."""
    logger, buffer = captured
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE events (id INTEGER PRIMARY KEY, data TEXT NOT NULL UNIQUE)"))
        conn.execute(sa.text("INSERT INTO events (data) VALUES ('x')"))
    data = json.dumps({"text": f"{WORDS}, call me at (818) 555-0134 or {EMAIL}"})
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO events (id, data) VALUES (1, :data)"), {"data": data})
    except sa.exc.IntegrityError as error:
        logger.error("could not save: %s", error)
        logger.exception("again, with the traceback")
    engine.dispose()
    out = buffer.getvalue()
    assert "INSERT INTO events" in out and "[parameters: [withheld]]" in out
    assert "Quux" not in out and "555-0134" not in out and EMAIL not in out


def test_rasa_messages_that_quote_a_typed_payload_are_withheld(captured):
    logger, buffer = captured
    logger.warning("Parsed an intent '%s' which is not defined in the domain.", "my name is Jane Quux")
    # What Rasa 3.6 printed in the leak audit for `/jane.quux@example.com` and `/inform{"name": "Jane Quux"`:
    logger.warning(
        "Failed to parse arguments in line '/jane.quux'. Expected the intent to be one of [['affirm', 'stop']] "
        "but found jane.quux.Continuing with given line as user text."
    )
    logger.warning(
        'Failed to parse arguments in line \'/inform{"name": "Jane Quux"\'. Failed to interpret some parts. '
        'Make sure ... Continuing without {"name": "Jane Quux". '
    )
    out = buffer.getvalue()
    assert "quux" not in out.lower() and "Parsed an intent [withheld] which is not defined" in out
    assert out.count("Failed to parse arguments in line [withheld]") == 2


def test_structlog_json_lines_withhold_the_text_keys(captured):
    logger, buffer = captured
    logger.error(json.dumps({"event": "rest.message.received.failure", "text": WORDS, "level": "error"}))
    out = buffer.getvalue()
    assert "Quux" not in out and "rest.message.received.failure" in out


@pytest.mark.parametrize(
    "contact",
    ["+18185550134", "(818) 555-0134", "818-555-0134", "818.555.0134", "+1 818 555 0134", EMAIL, "a.b+c@mail.co.uk"],
)
def test_contact_details_are_masked_anywhere(contact):
    assert contact not in clean(f"something about {contact} here")


@pytest.mark.parametrize(
    "kept",
    [
        "2026-12-01 15:38:49 INFO rasa.core.processor - Loading model models/current.tar.gz...",
        "timestamp 1764603600.123 port 5005 pid 12345 event 9f86d081884c7d65",
        "retention: purged 3 conversations (12 tracker events) and 1 delivered outbox events",
        "Running on http://127.0.0.1:5005 (CTRL + C to quit)",
    ],
)
def test_ordinary_lines_are_left_alone(kept):
    assert clean(kept) == kept


def test_a_warning_is_cleaned_too():
    cleaned = log_privacy.clean_warning(UserWarning(f"Parsed an intent '{WORDS}' which is not defined"))
    assert isinstance(cleaned, UserWarning) and "Quux" not in str(cleaned)
