"""Run services.launcher's supervision on children from a JSON spec, the way `make run` runs the real stack:
`python -m tests.services.launcher_harness spec.json`. The spec is {"children": [{name, argv, health_url, crash_loop_stops_stack}],
"policy": {RestartPolicy fields}}. Used by test_launcher_supervision.py."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from services.launcher import Child, RestartPolicy, Supervisor, supervise


def main(spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text())
    children = [
        Child(c["name"], c["argv"], c.get("health_url"), crash_loop_stops_stack=c.get("crash_loop_stops_stack", True))
        for c in spec["children"]
    ]
    supervisor = Supervisor(
        children, dict(os.environ), policy=RestartPolicy(**spec["policy"]), cwd=Path(spec_path).parent
    )
    return supervise(supervisor, startup_timeout_s=60.0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
