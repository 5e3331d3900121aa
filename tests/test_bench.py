"""`make bench`'s pure parts (scripts/bench.py): statistics, /proc parsing, labels, the report. No timing here: the
figures are made up; the run itself is smoke-tested against the shared stack (tests/e2e/test_bench_e2e.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter

import pytest

from scripts.bench import (
    Budget,
    ConfigResult,
    PhaseResult,
    RoundRobin,
    descendants,
    floor_reply,
    headline,
    parse_ns,
    parse_stat,
    parse_status,
    percentile,
    process_label,
    process_table,
    ratio,
    render_report,
    stack_processes,
    table_rows,
    training_lines,
)


def test_percentiles_interpolate_between_ranks_like_numpy():
    values = list(range(1, 101))  # 1..100
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 95) == pytest.approx(95.05)
    assert percentile(values, 99) == pytest.approx(99.01)
    assert percentile(values, 0) == 1 and percentile(values, 100) == 100
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0  # order of arrival does not matter
    assert percentile([0.25], 99) == 0.25
    assert percentile([], 50) is None


def test_ratio_is_value_over_floor_and_missing_when_either_is():
    assert ratio(0.7, 0.1) == pytest.approx(7.0)
    assert ratio(None, 0.1) is None
    assert ratio(0.7, None) is None
    assert ratio(0.7, 0.0) is None


STATUS = """Name:\tpython
Umask:\t0022
State:\tS (sleeping)
Pid:\t4242
VmPeak:\t 4123456 kB
VmSize:\t 4000000 kB
VmHWM:\t  912340 kB
VmRSS:\t  850001 kB
Threads:\t31
"""


def test_status_memory_lines_are_read_in_kb():
    memory = parse_status(STATUS)
    assert memory["VmHWM"] == 912340
    assert memory["VmRSS"] == 850001
    assert "Threads" not in memory and "Pid" not in memory
    assert parse_status("Name:\tkthreadd\n") == {}


def test_stat_gives_parent_and_cpu_ticks_even_with_parentheses_in_the_name():
    fields = ["S", "77", "4242", "4242", "0", "-1", "4194560", "100", "0", "0", "0", "1500", "250"]
    text = "4243 (python (rasa) x) " + " ".join(fields) + " 0 0 20 0 31 0 12345"
    assert parse_stat(text) == (77, 1750)


def test_descendants_walk_the_whole_tree_below_the_root_only():
    parents = {10: 1, 11: 10, 12: 10, 13: 11, 20: 1, 21: 20}
    assert descendants(parents, 10) == [11, 12, 13]
    assert descendants(parents, 13) == []


def test_launcher_children_are_named_by_their_command_line():
    rasa = ["/x/.venv/bin/python", "-m", "services.quiet", "services.rasa_server", "--model", "m", "--port", "7001"]
    actions = ["/x/.venv/bin/python", "-m", "services.quiet", "services.action_server", "--port", "7011"]
    assert process_label(rasa, rasa_port=7000, action_port=7010) == "rasa 1"
    assert process_label(actions, rasa_port=7000, action_port=7010) == "actions 1"
    assert process_label(["/y/python", "-m", "services.inbox", "--host", "127.0.0.1"], 7000, 7010) == "inbox"
    assert process_label(["/y/python", "-m", "services.deliverer"], 7000, 7010) == "deliverer"
    assert process_label(["/bin/sh", "-c", "true"], 7000, 7010) is None


def test_a_process_tree_is_found_in_proc():
    # The real /proc, on a tree of our own (not this test process: a session's e2e stack may be its child): a
    # root whose children look like a Rasa instance and a deliverer, and one that is neither.
    code = (
        "import subprocess, sys, time\n"
        "argvs = [['services.rasa_server', '--port', '7001'], ['services.deliverer'], ['something.else']]\n"
        "kids = [subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)', *a]) for a in argvs]\n"
        "print('started', flush=True)\n"
        "time.sleep(60)\n"
    )
    root = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert root.stdout is not None and root.stdout.readline().strip() == "started"
        found = stack_processes(root.pid, 7000, 7010)
        assert set(found) == {"launcher", "rasa 1", "deliverer"}
        assert found["launcher"] == root.pid
    finally:
        for pid in descendants({pid: parent for pid, (parent, _) in process_table().items()}, root.pid):
            os.kill(pid, signal.SIGKILL)
        root.kill()
        root.wait()


def test_round_robin_alternates_like_a_load_balancer():
    balancer = RoundRobin(2)
    assert [balancer.next() for _ in range(5)] == [0, 1, 0, 1, 0]
    assert [RoundRobin(1).next() for _ in range(2)] == [0, 0]


def test_n_values_are_sorted_positive_integers():
    assert parse_ns("50, 1,10") == [1, 10, 50]
    with pytest.raises(Exception):  # noqa: B017 - argparse's own type error
        parse_ns("0,10")


def test_a_phase_cap_leaves_room_for_what_is_still_to_run():
    import time

    budget = Budget(deadline=time.monotonic() + 500, phase_s=240, reserve_s=30)
    assert budget.cap(phases_left=6, configs_left=0) == 240  # 500 - 5 x 30 left for the others: the cap itself
    assert 169 < budget.cap(phases_left=6, configs_left=1) <= 170  # 500 - 180 (a stack to start) - 5 x 30
    assert budget.cap(phases_left=12, configs_left=0) <= 170  # 11 phases after this one keep 330 s
    assert budget.cap(phases_left=1, configs_left=10) == 15  # over budget: the minimum, never 0


def test_the_floor_reply_is_the_domain_response_in_plain_words():
    text = floor_reply()
    assert "not a person" in text and "988" in text


def phase(kind, n, latencies, wall_s, **kwargs):
    return PhaseResult(kind, n, latencies=list(latencies), wall_s=wall_s, started=n, **kwargs)


def sample_configs():
    config = ConfigResult("1 instance", 1, "1 Rasa on PostgreSQL and Redis", startup_s=80.0)
    config.phases = [
        phase(
            "screening", 10, [0.7] * 90 + [1.4] * 10, 20.0, completed=9, incomplete=1, errors=Counter({"HTTP 500": 2})
        ),
        phase("floor", 10, [0.1] * 100, 5.0, completed=10),
    ]
    config.phases[0].cpu_s = {"rasa 0": 14.0, "actions 0": 3.0, "inbox": 0.1}
    config.phases[0].leads_delivered = 9
    config.phases[0].wrong = Counter({"sub-threshold review: persona has no answer for crisis_risk_check": 1})
    config.phases[1].cpu_s = {"rasa 0": 2.0, "actions 0": 0.0}
    config.peak_rss_kb = {"rasa 0": 1024 * 900, "actions 0": 1024 * 200, "launcher": 1024 * 20}
    config.run_rss_kb = {"rasa 0": 1024 * 850}
    return [config]


def test_table_has_the_ratios_of_screening_to_floor():
    rows = table_rows(sample_configs())
    assert rows[0].startswith("| config | N |")
    assert rows[1].count("---") == rows[0].count(" | ") + 1  # one separator per column
    row = rows[2]
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert len(cells) == rows[0].count(" | ") + 1
    assert cells[:4] == ["1 instance", "10", "9/10 (1 cut)", "100"]
    assert cells[4] == "700"  # p50 ms
    assert cells[8] == "2 (HTTP 500 2)"
    assert cells[-4] == "7.00x"  # p50 ratio 700 / 100 ms
    assert cells[-1] == "0.25x"  # 5 turns/s against the floor's 20


def test_report_has_every_section_and_the_machine_and_training_facts():
    configs = sample_configs()
    machine = {"date": "2026-12-01 16:00 UTC", "commit": "abc1234", "CPU": "Test CPU", "cores": "2"}
    training = training_lines({"seconds": 412, "finished": "2026-12-01T15:50:00Z", "cores": 2})
    report = render_report(configs, machine, training, {"profile": "production"})
    for heading in ("## Results", "## CPU per turn", "## Memory per process", "## Training time", "## Machine"):
        assert heading in report
    assert "## How to read it" in report
    assert "`make train` (rasa data validate + rasa train): 412 s on 2 cores" in report
    assert "- CPU: Test CPU" in report and "commit abc1234" in report
    assert "| 1 instance | 10 | 140.0 | 30.0 | 20.0 | 0.0 | 7.00x | 9/9 |" in report  # CPU ms per turn, leads
    assert "| 1 instance | rasa 0 | 900 | 850 |" in report
    assert report.index("| 1 instance | rasa 0 |") < report.index("| 1 instance | launcher |")
    assert "start-up 80 s" in report
    assert (
        "  - wrong replies, screening N=10: sub-threshold review: persona has no answer for crisis_risk_check (1)"
        in report
    )


def test_headline_is_the_largest_n_against_its_floor():
    (line,) = headline(sample_configs())
    assert line.startswith("- 1 instance, N=10: screening p95 1400 ms against the floor's 100 ms (14.00x)")
    assert "9/10 screenings done, 2 errors" in line


def test_training_lines_say_when_nothing_was_recorded():
    assert "not recorded" in training_lines(None)[0]
    lines = training_lines(None, fresh_s=301.4)
    assert lines[1].endswith("(BENCH_TRAIN=1): 301 s")


def test_production_stores_are_a_fresh_database_and_an_empty_redis_db_both_cleared_after():
    # The real PostgreSQL (127.0.0.1:5432, trust) and Redis (127.0.0.1:6379) of these machines.
    import psycopg2
    import redis

    from scripts.bench import PG_ADMIN_URL, production_stores, tracker_events_in

    client = redis.Redis.from_url("redis://127.0.0.1:6379/12")
    with production_stores(redis_db=12) as env:
        assert env["TRACKER_STORE_URL"] == env["DATABASE_URL"]
        assert env["LOCK_STORE_URL"] == "redis://127.0.0.1:6379/12"
        database = env["TRACKER_STORE_URL"].rsplit("/", 1)[1]
        assert tracker_events_in(env["TRACKER_STORE_URL"]) is None  # fresh: no Rasa table yet
        with psycopg2.connect(env["TRACKER_STORE_URL"]) as connection, connection.cursor() as cursor:
            cursor.execute("CREATE TABLE events (id serial PRIMARY KEY)")
            cursor.execute("INSERT INTO events DEFAULT VALUES")
        connection.close()
        assert tracker_events_in(env["TRACKER_STORE_URL"]) == 1
        client.set("lock:bench-test", "1")
    assert client.dbsize() == 0
    with psycopg2.connect(PG_ADMIN_URL) as admin, admin.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_database WHERE datname = %s", (database,))
        assert cursor.fetchone() == (0,)
    admin.close()
