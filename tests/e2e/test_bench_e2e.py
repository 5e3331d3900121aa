"""`make bench`'s run against the shared stack, as small as it gets: one whole screening and two floor visitors
through scripts/bench.py's own code, the stack's processes found in /proc, and the report rendered. Nothing
about speed is asserted; only that every reply was right and every figure came from a real turn."""

from __future__ import annotations

from scripts.bench import (
    ConfigResult,
    MemorySampler,
    run_floor,
    run_screenings,
    stack_processes,
    table_rows,
)


def test_one_screening_and_the_floor_run_through_the_bench_without_an_error(stack):
    processes = stack_processes(stack.process.pid, stack.rasa_port, stack.action_port)
    assert {"launcher", "rasa 0", "actions 0", "inbox", "deliverer"} <= set(processes)
    sampler = MemorySampler(lambda: processes)
    sampler.measuring = True
    sampler.sample()
    assert sampler.peak["rasa 0"] > 100 * 1024  # kB: a loaded model is far above 100 MB
    assert sampler.during["rasa 0"] <= sampler.peak["rasa 0"]

    screening = run_screenings(stack, n=1, cap_s=900, timeout_s=120)
    assert not screening.errors, screening.errors
    assert (screening.started, screening.completed, screening.incomplete, screening.leads_delivered) == (1, 1, 0, 1)
    assert screening.turns >= 30  # "hi" and every answer of a whole screening, each timed

    floor = run_floor(stack, n=2, turns_each=3, cap_s=600, timeout_s=120)
    assert not floor.errors, floor.errors
    assert (floor.completed, floor.turns) == (2, 6)  # the untimed first turn of each is not counted

    config = ConfigResult("1 instance (embedded)", 1, "test stack", phases=[screening, floor])
    rows = table_rows([config])[2:]  # one row per N: the screening's 1, the floor's 2
    assert rows[0].startswith("| 1 instance (embedded) | 1 | 1/1 |") and rows[1].startswith(
        "| 1 instance (embedded) | 2 | - |"
    )
