from __future__ import annotations

import dataclasses

from services.launcher import plan, write_endpoints
from bot.settings import load_settings


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
    assert rasa.argv[rasa.argv.index("--auth-token") + 1] == "t0ken"


def test_ports_come_from_the_environment(tmp_path, monkeypatch):
    s = settings(tmp_path, monkeypatch, RASA_PORT="6101", ACTION_PORT="6102", INBOX_PORT="6103")
    children = {c.name: c for c in plan(s, tmp_path / "m.tar.gz")}
    assert "6101" in children["rasa"].argv
    assert children["actions"].health_url == "http://127.0.0.1:6102/health"
    assert children["actions"].extra_env == {"SANIC_HOST": "127.0.0.1"}
    assert children["inbox"].health_url == "http://127.0.0.1:6103/health"
    assert "127.0.0.1:6102/webhook" in write_endpoints(s).read_text()


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
