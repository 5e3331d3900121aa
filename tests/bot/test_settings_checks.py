"""bot/settings.py's start-up checks: weak secrets, an unsafe HANDOFF_URL and bad TRUSTED_PROXIES stop a process
with one line that names the setting and never shows its value."""

from __future__ import annotations

import dataclasses
import secrets
from pathlib import Path

import pytest

from bot.settings import (
    handoff_problems,
    handoff_url_problem,
    inbox_secret_problems,
    load_settings,
    parse_trusted_proxies,
    refuse_to_start,
    secret_problem,
)


@pytest.mark.parametrize(
    "value",
    [
        secrets.token_urlsafe(32),  # what .env.example and the docs tell people to run
        secrets.token_hex(32),  # what the embedded defaults generate under DATA_DIR
        "A1b2" + secrets.token_urlsafe(40),
    ],
)
def test_32_random_bytes_pass(value: str) -> None:
    assert secret_problem("HANDOFF_SECRET", value) is None


@pytest.mark.parametrize(
    "value",
    [
        "",
        "e2e-handoff-secret",
        "test-secret-not-for-production",  # 30 characters
        secrets.token_hex(16),  # 32 characters but only 16 bytes
        secrets.token_urlsafe(24),  # 32 characters, 24 bytes
        "x" * 80,  # long but not random
        "changeme" * 8,
    ],
)
def test_short_or_placeholder_secrets_are_refused_without_showing_them(value: str) -> None:
    problem = secret_problem("INBOX_SESSION_SECRET", value)
    assert problem is not None and "INBOX_SESSION_SECRET" in problem
    assert "\n" not in problem and "token_urlsafe(32)" in problem
    if value:
        assert value not in problem


@pytest.mark.parametrize(
    "url",
    [
        "",
        "https://clinic.example.org/haven/events",
        "https://10.0.0.5:8443/events",
        "http://127.0.0.1:8080/events",
        "http://127.9.9.9/events",
        "http://localhost:8080/",
        "http://[::1]:8080/events",
    ],
)
def test_https_or_loopback_handoff_urls_pass(url: str) -> None:
    assert handoff_url_problem(url, allow_insecure_http=False) is None


@pytest.mark.parametrize(
    "url",
    ["http://clinic.example.org/events", "http://10.0.0.5/events", "http://0.0.0.0:8080/", "http://[::ffff:10.0.0.1]/"],
)
def test_plain_http_elsewhere_is_refused_unless_allowed(url: str) -> None:
    problem = handoff_url_problem(url, allow_insecure_http=False)
    assert problem is not None and "https://" in problem and "HANDOFF_ALLOW_INSECURE_HTTP" in problem
    assert handoff_url_problem(url, allow_insecure_http=True) is None


@pytest.mark.parametrize("url", ["ftp://clinic.example.org/", "clinic.example.org/events", "https://", "http://[::1/"])
def test_other_urls_are_refused_even_when_insecure_http_is_allowed(url: str) -> None:
    assert handoff_url_problem(url, allow_insecure_http=True) is not None


def test_trusted_proxies_are_addresses_or_networks() -> None:
    assert parse_trusted_proxies("") == ()
    assert parse_trusted_proxies(" 10.0.0.5 , 192.168.0.0/16,::1") == ("10.0.0.5/32", "192.168.0.0/16", "::1/128")
    with pytest.raises(SystemExit) as exit_:
        parse_trusted_proxies("10.0.0.5, proxy.example.org")
    assert "TRUSTED_PROXIES" in str(exit_.value)


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    for name, value in {
        "DATA_DIR": str(tmp_path / "data"),
        "HANDOFF_URL": "",
        "HANDOFF_SECRET": "",
        "INBOX_SESSION_SECRET": "",
        "INBOX_API_TOKEN": "",
        "HANDOFF_ALLOW_INSECURE_HTTP": "",
        "TRUSTED_PROXIES": "",
    }.items():
        monkeypatch.setenv(name, value)
    return load_settings(env_file=tmp_path / "absent.env")


def test_the_embedded_defaults_pass_both_checks(settings) -> None:
    # A fresh machine: secrets generated under DATA_DIR, events to the bundled inbox on loopback.
    assert handoff_problems(settings) == [] and inbox_secret_problems(settings) == []
    refuse_to_start([])  # nothing to refuse


def test_each_weak_value_is_named_once_per_line(settings) -> None:
    weak = dataclasses.replace(
        settings,
        handoff_url="http://clinic.example.org/events",
        handoff_secret="short",
        inbox_api_token="also-short",
    )
    assert [p.split()[0] for p in handoff_problems(weak)] == ["HANDOFF_URL", "HANDOFF_SECRET"]
    assert [p.split()[0] for p in inbox_secret_problems(weak)] == ["HANDOFF_SECRET", "INBOX_API_TOKEN"]
    with pytest.raises(SystemExit) as exit_:
        refuse_to_start(handoff_problems(weak) + inbox_secret_problems(weak))
    lines = str(exit_.value).splitlines()
    assert [line.split()[0] for line in lines] == ["HANDOFF_URL", "HANDOFF_SECRET", "INBOX_API_TOKEN"]
    assert "short" not in str(exit_.value).replace("too short", "")


def test_an_unset_api_token_is_not_a_problem_it_turns_the_api_off(settings) -> None:
    assert inbox_secret_problems(dataclasses.replace(settings, inbox_api_token="")) == []


def test_settings_read_the_new_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HANDOFF_ALLOW_INSECURE_HTTP", "true")
    monkeypatch.setenv("TRUSTED_PROXIES", "10.1.2.3")
    monkeypatch.setenv("INBOX_SESSION_IDLE_MINUTES", "15")
    loaded = load_settings(env_file=tmp_path / "absent.env")
    assert loaded.handoff_allow_insecure_http is True
    assert loaded.trusted_proxies == ("10.1.2.3/32",)
    assert loaded.inbox_session_idle_minutes == 15.0
