from __future__ import annotations

import pytest

from bot.settings import load_settings
from bot.web_chat import InvalidOrigin, cors_origins, origin_of, parse_origins


def test_allowed_origins_are_origins_and_never_a_wildcard():
    assert parse_origins("https://www.clinic.example, https://clinic.example/  http://localhost:3000") == (
        "https://www.clinic.example",
        "https://clinic.example",
        "http://localhost:3000",
    )
    assert parse_origins("") == ()
    for bad in ("*", "https://*.clinic.example", "https://clinic.example/chat", "clinic.example", "ftp://x.example"):
        with pytest.raises(InvalidOrigin):
            parse_origins(bad)


def test_cors_allows_the_demo_page_on_both_loopback_names_and_the_clinic_site():
    assert cors_origins(8000, ("https://www.clinic.example", "http://localhost:8000")) == (
        "http://127.0.0.1:8000",
        "http://localhost:8000",
        "https://www.clinic.example",
    )


def test_the_chat_server_url_defaults_to_loopback_and_a_public_url_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("RASA_PORT", "6201")
    monkeypatch.delenv("CHAT_PUBLIC_URL", raising=False)
    assert load_settings(tmp_path / "absent.env").chat_server_url == "http://127.0.0.1:6201"
    monkeypatch.setenv("CHAT_PUBLIC_URL", "https://chat.clinic.example/")
    monkeypatch.setenv("CHAT_ALLOWED_ORIGINS", "https://www.clinic.example")
    settings = load_settings(tmp_path / "absent.env")
    assert settings.chat_server_url == "https://chat.clinic.example"
    assert settings.chat_allowed_origins == ("https://www.clinic.example",)
    assert origin_of("https://chat.clinic.example:8443/path") == "https://chat.clinic.example:8443"
    monkeypatch.setenv("CHAT_ALLOWED_ORIGINS", "*")
    with pytest.raises(SystemExit, match="CHAT_ALLOWED_ORIGINS"):
        load_settings(tmp_path / "absent.env")
