from __future__ import annotations

import dataclasses

from bot.settings import load_settings
from services.launcher import ENDPOINTS, SERVICES_VENV, child_environment, plan, port_problems, ready_banner

EVERY_ADDRESS = "0.0.0.0"  # noqa: S104 - what publishing looks like: the test checks only the chat gets it


def settings(tmp_path, monkeypatch, **env):
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.delenv("HANDOFF_URL", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return load_settings()


def test_rasa_http_api_stays_off_without_a_token(tmp_path, monkeypatch):
    s = settings(tmp_path, monkeypatch, RASA_AUTH_TOKEN="")
    rasa = next(c for c in plan(s, tmp_path / "m.tar.gz") if c.name == "rasa")
    assert "--enable-api" not in rasa.argv
    s = dataclasses.replace(s, rasa_auth_token="t0ken")
    rasa = next(c for c in plan(s, tmp_path / "m.tar.gz") if c.name == "rasa")
    # The token reaches Rasa through its environment (services/rasa_server.py), never its command line.
    assert not any("t0ken" in argument for argument in rasa.argv) and "--auth-token" not in rasa.argv
    assert rasa.extra_env == {"RASA_AUTH_TOKEN": "t0ken"}
    assert "services.rasa_server" in rasa.argv


def test_rasa_server_adds_the_api_flags_in_process_only_with_a_token(tmp_path):
    from services.rasa_server import auth_token, rasa_arguments

    assert rasa_arguments(["--port", "1", "--enable-api", "--auth-token", "x"], "") == ["run", "--port", "1"]
    assert rasa_arguments(["--port", "1"], "s3cret")[-3:] == ["--enable-api", "--auth-token", "s3cret"]
    token_file = tmp_path / "token"
    token_file.write_text("from-a-file\n")
    assert auth_token({"RASA_AUTH_TOKEN_FILE": str(token_file)}) == "from-a-file"
    assert auth_token({"RASA_AUTH_TOKEN": "env", "RASA_AUTH_TOKEN_FILE": str(token_file)}) == "env"


def test_only_the_chat_follows_host_the_staff_app_follows_inbox_host(tmp_path, monkeypatch):
    s = settings(tmp_path, monkeypatch, HOST=EVERY_ADDRESS, INBOX_HOST="")
    children = {c.name: c for c in plan(s, tmp_path / "m.tar.gz")}
    rasa = children["rasa"].argv
    assert rasa[rasa.index("--interface") + 1] == EVERY_ADDRESS
    inbox = children["inbox"].argv
    assert inbox[inbox.index("--host") + 1] == "127.0.0.1"
    assert children["actions"].extra_env == {"SANIC_HOST": "127.0.0.1"}
    assert "--host" not in children["deliverer"].argv


def test_ports_come_from_the_environment(tmp_path, monkeypatch):
    s = settings(tmp_path, monkeypatch, RASA_PORT="6101", ACTION_PORT="6102", INBOX_PORT="6103")
    children = {c.name: c for c in plan(s, tmp_path / "m.tar.gz")}
    assert "6101" in children["rasa"].argv
    assert children["actions"].health_url == "http://127.0.0.1:6102/health"
    assert children["actions"].extra_env == {"SANIC_HOST": "127.0.0.1"}
    assert children["inbox"].health_url == "http://127.0.0.1:6103/health"
    # Rasa reads the project's endpoints.yml, which takes the action server's port from the child environment.
    rasa = children["rasa"].argv
    assert rasa[rasa.index("--endpoints") + 1] == str(ENDPOINTS)
    assert child_environment(s, base={})["ACTION_PORT"] == "6102"
    assert not (tmp_path / "endpoints.yml").exists()  # nothing is written at start-up any more


def test_endpoints_variables_come_from_the_settings(tmp_path, monkeypatch):
    s = settings(tmp_path, monkeypatch, ACTION_PORT="6102", TRANSCRIPT_RETENTION_MINUTES="90")
    env = child_environment(s, base={"TRANSCRIPT_RETENTION_MINUTES": "stale", "PATH": "/bin"})
    assert env["ACTION_PORT"] == "6102"
    assert env["TRANSCRIPT_RETENTION_MINUTES"] == "90"
    assert env["PATH"] == "/bin" and env["RASA_TELEMETRY_ENABLED"] == "false"
    s = settings(tmp_path, monkeypatch, TRANSCRIPT_RETENTION_MINUTES="")
    assert child_environment(s, base={})["TRANSCRIPT_RETENTION_MINUTES"] == "1440"


def test_the_deliverer_is_its_own_child_ready_by_liveness(tmp_path, monkeypatch):
    children = {c.name: c for c in plan(settings(tmp_path, monkeypatch), tmp_path / "m.tar.gz")}
    assert list(children) == ["actions", "inbox", "deliverer", "rasa"]  # Rasa stops first, the actions last
    deliverer = children["deliverer"]
    assert deliverer.argv == [str(SERVICES_VENV / "bin" / "python"), "-m", "services.deliverer"]
    assert deliverer.health_url is None
    assert children["inbox"].argv[1:3] == ["-m", "services.inbox"]


def test_rasa_and_the_action_server_run_quietly_and_a_developer_can_turn_the_noise_back_on(tmp_path, monkeypatch):
    s = settings(tmp_path, monkeypatch)
    children = {c.name: c for c in plan(s, tmp_path / "m.tar.gz")}
    for name, module in (("rasa", "services.rasa_server"), ("actions", "services.action_server")):
        assert children[name].argv[1:4] == ["-m", "services.quiet", module]
    assert child_environment(s, base={})["TF_CPP_MIN_LOG_LEVEL"] == "2"
    assert child_environment(s, base={"TF_CPP_MIN_LOG_LEVEL": "0"})["TF_CPP_MIN_LOG_LEVEL"] == "0"


def test_a_handoff_url_needs_a_secret(tmp_path, monkeypatch):
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HANDOFF_URL", "https://crm.example/hook")
    monkeypatch.setenv("HANDOFF_SECRET", "")
    try:
        load_settings()
    except SystemExit as exit_:
        assert "HANDOFF_SECRET" in str(exit_)
    else:
        raise AssertionError("a HANDOFF_URL without HANDOFF_SECRET must not start")


def test_the_bundled_inbox_is_the_default_destination_with_a_generated_secret(tmp_path, monkeypatch):
    s = settings(tmp_path, monkeypatch, HANDOFF_SECRET="", INBOX_PORT="6200")
    assert s.delivery_url == "http://127.0.0.1:6200/api/events"
    assert len(s.handoff_secret) == 64
    assert load_settings().handoff_secret == s.handoff_secret  # kept, not regenerated
    assert (tmp_path / "handoff_secret").stat().st_mode & 0o777 == 0o600


def test_rasa_allows_cross_origin_chat_from_the_demo_page_and_the_clinic_site_only(tmp_path, monkeypatch):
    s = settings(tmp_path, monkeypatch, INBOX_PORT="6103", CHAT_ALLOWED_ORIGINS="https://www.clinic.example")
    rasa = next(c for c in plan(s, tmp_path / "m.tar.gz") if c.name == "rasa").argv
    start = rasa.index("--cors") + 1
    origins = []
    for value in rasa[start:]:
        if value.startswith("--"):
            break
        origins.append(value)
    assert origins == ["http://127.0.0.1:6103", "http://localhost:6103", "https://www.clinic.example"]
    assert "*" not in rasa


def test_the_stores_default_to_sqlite_in_the_data_dir_and_an_in_memory_lock(tmp_path, monkeypatch):
    monkeypatch.delenv("TRACKER_STORE_URL", raising=False)
    monkeypatch.delenv("LOCK_STORE_URL", raising=False)
    s = settings(tmp_path, monkeypatch)
    env = child_environment(s, base={})
    # Always set: endpoints.yml names both, and Rasa stops on an unset ${VARIABLE}.
    assert env["TRACKER_STORE_URL"] == f"sqlite:///{tmp_path.resolve() / 'conversations.db'}"
    assert env["LOCK_STORE_URL"] == ""
    assert s.rasa_instances == 1


def test_n_instances_each_get_their_own_rasa_and_action_server_on_consecutive_ports(tmp_path, monkeypatch):
    s = settings(
        tmp_path,
        monkeypatch,
        RASA_INSTANCES="2",
        RASA_PORT="6101",
        ACTION_PORT="6201",
        INBOX_PORT="6301",
        TRACKER_STORE_URL="postgresql://postgres@127.0.0.1:5432/haven",
        LOCK_STORE_URL="redis://127.0.0.1:6379/0",
    )
    children = {c.name: c for c in plan(s, tmp_path / "m.tar.gz")}
    # One inbox and one deliverer for all; Rasa servers stop first, the action servers last.
    assert list(children) == ["actions-0", "actions-1", "inbox", "deliverer", "rasa-0", "rasa-1"]
    for i in range(2):
        rasa, actions = children[f"rasa-{i}"], children[f"actions-{i}"]
        assert rasa.argv[rasa.argv.index("--port") + 1] == str(6101 + i)
        assert rasa.health_url == f"http://127.0.0.1:{6101 + i}/"
        # endpoints.yml's ${ACTION_PORT} comes from this Rasa's own environment: its own action server.
        assert rasa.extra_env is not None and rasa.extra_env["ACTION_PORT"] == str(6201 + i)
        assert actions.argv[actions.argv.index("--port") + 1] == str(6201 + i)
        assert actions.health_url == f"http://127.0.0.1:{6201 + i}/health"
    env = child_environment(s, base={})
    assert env["TRACKER_STORE_URL"] == "postgresql://postgres@127.0.0.1:5432/haven"
    assert env["LOCK_STORE_URL"] == "redis://127.0.0.1:6379/0"


def test_the_ready_banner_lists_every_instance_and_names_the_stores_without_their_urls(tmp_path, monkeypatch):
    s = settings(
        tmp_path,
        monkeypatch,
        RASA_INSTANCES="2",
        RASA_PORT="6101",
        ACTION_PORT="6201",
        TRACKER_STORE_URL="postgresql://haven:pa55word@db.internal:5432/haven",
        LOCK_STORE_URL="redis://:s3cret@cache.internal:6379/0",
    )
    banner = ready_banner(s)
    assert "http://127.0.0.1:6101/webhooks/rest/webhook" in banner
    assert "http://127.0.0.1:6102/webhooks/rest/webhook" in banner
    assert "http://127.0.0.1:6201/health, http://127.0.0.1:6202/health" in banner
    assert "conversations in postgresql, locks redis" in banner
    assert "pa55word" not in banner and "s3cret" not in banner and "internal" not in banner


def test_instances_whose_ports_overlap_are_refused(tmp_path, monkeypatch):
    s = settings(tmp_path, monkeypatch, RASA_INSTANCES="3", RASA_PORT="6100", ACTION_PORT="6102", INBOX_PORT="6400")
    assert len(port_problems(s)) == 1
    s = settings(tmp_path, monkeypatch, RASA_INSTANCES="3", RASA_PORT="6100", ACTION_PORT="6103", INBOX_PORT="6400")
    assert port_problems(s) == []
