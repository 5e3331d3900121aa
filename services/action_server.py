"""The action server (`rasa_sdk`), with the event spool's writer started before the first request.

`python -m services.quiet services.action_server --actions actions --port N` loads the settings (so a DATA_DIR
that is not private stops start-up here, with its one-line reason), starts the writer thread, which first moves
whatever a previous run left in DATA_DIR/spool into the outbox (events kept while the store was down, then the
action server restarted), and then runs rasa_sdk's own command line in this process. Runs in the Rasa
environment.
"""

from __future__ import annotations

import runpy
import sys
from typing import Sequence


def main(arguments: Sequence[str]) -> None:
    from actions import runtime

    runtime.store_writer()
    sys.argv = ["rasa_sdk", *arguments]
    runpy.run_module("rasa_sdk", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
