"""The receiving endpoint when its store fails: 503 with a JSON body (the deliverer retries), and the log names
only the event id and the exception's type, never the event body (aiohttp's traceback would quote it)."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa

from tests.services.inbox.inbox_helpers import alert_event, post_event, running_inbox

VISITOR_TEXT = "i have the pills counted out on my desk"


@pytest.mark.asyncio
async def test_a_failing_store_answers_503_json_and_logs_no_event_text(make_settings, sqlite_url, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    async with running_inbox(make_settings(sqlite_url)) as client:
        engine = sa.create_engine(sqlite_url)
        with engine.begin() as conn:  # every insert now fails in the statement, its values bound
            conn.execute(
                sa.text("CREATE TRIGGER refuse BEFORE INSERT ON inbox_events BEGIN INSERT INTO gone VALUES (1); END")
            )
        engine.dispose()
        event = alert_event(message=VISITOR_TEXT)
        response = await post_event(client, event)
        assert response.status == 503
        assert (await response.json())["error"]
    assert VISITOR_TEXT not in caplog.text
    assert event["id"] in caplog.text and "OperationalError" in caplog.text
