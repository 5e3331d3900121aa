"""Fill a tracker store with Rasa's own SQLTrackerStore (run in the Rasa environment by the services tests).

`python -m tests.rasa_tracker_fill '<store kwargs json>' '<conversations json>'`: each conversation is
[sender_id, first_epoch, last_epoch]; a user message at the first time and a bot reply at the last time.
"""

from __future__ import annotations

import asyncio
import json
import sys

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker


async def fill(store_kwargs: dict, conversations: list) -> None:
    store = SQLTrackerStore(Domain.empty(), **store_kwargs)
    for sender, first, last in conversations:
        tracker = DialogueStateTracker(sender, [])
        tracker.update(UserUttered("Jane Doe 555-0100", intent={"name": "inform", "confidence": 1.0}, timestamp=first))
        tracker.update(ActionExecuted("screening_form", timestamp=first))
        tracker.update(BotUttered("How old are you?", timestamp=last))
        tracker.update(ActionExecuted("action_listen", timestamp=last))
        await store.save(tracker)
    store.engine.dispose()


if __name__ == "__main__":
    asyncio.run(fill(json.loads(sys.argv[1]), json.loads(sys.argv[2])))
