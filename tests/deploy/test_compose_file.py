"""deploy/compose.yaml and the images agree with the launcher, the settings and the nginx config.

Docker cannot run here (no daemon, no compose plugin), so these are the checks that do not need it: the compose
file starts the launcher's own children with the contract's ports, only nginx publishes ports, nginx's upstream
lists every Rasa instance, the proxy's address is the one TRUSTED_PROXIES believes, and the images pin the Rasa
version the project runs, as a non-root user, without local state or secrets.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict

import pytest
import yaml

from bot.settings import load_settings
from services.launcher import plan

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEPLOY = PROJECT_ROOT / "deploy"
# Settings of issue 13's shared contract (docs/deployment.md), read by the stores' code rather than bot/settings.py.
CONTRACT_SETTINGS = {"TRACKER_STORE_URL", "LOCK_STORE_URL", "RETENTION_DAYS", "PURGE_INTERVAL_MINUTES"}


@pytest.fixture(scope="module")
def compose() -> Dict[str, Any]:
    return dict(yaml.safe_load((DEPLOY / "compose.yaml").read_text()))


def env_example(name: str) -> Dict[str, str]:
    pairs = {}
    for line in (DEPLOY / name).read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            pairs[key.strip()] = value.strip()
    return pairs


def test_only_nginx_publishes_ports(compose: Dict[str, Any]) -> None:
    publishing = sorted(name for name, service in compose["services"].items() if service.get("ports"))
    assert publishing == ["nginx"]


def test_containers_run_the_launchers_children_on_the_contracts_ports(
    compose: Dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "var"))
    names = {child.name for child in plan(load_settings(), Path("models/current.tar.gz"))}
    services = compose["services"]
    for name, service in services.items():
        if service.get("image", "").startswith("haven-"):
            # run.py takes the child of that name (or, when the plan numbers instances, its instance 0)
            assert names & {service["command"][0], f"{service['command'][0]}-0"}, name
    instances = sorted(name for name in services if name.startswith("rasa-"))
    assert instances == ["rasa-0", "rasa-1"]
    for index, name in enumerate(instances):
        rasa, actions = services[name], services[f"actions-{index}"]
        ports = {"RASA_PORT": str(5005 + index), "ACTION_PORT": str(5055 + index)}
        assert rasa["environment"] == ports and actions["environment"] == ports
        assert (rasa["command"], actions["command"]) == (["rasa"], ["actions"])
        # endpoints.yml calls the action server on 127.0.0.1: it shares its Rasa's network namespace.
        assert actions["network_mode"] == f"service:{name}"
        assert f"http://127.0.0.1:{ports['RASA_PORT']}/" in rasa["healthcheck"]["test"]
        assert f"http://127.0.0.1:{ports['ACTION_PORT']}/health" in actions["healthcheck"]["test"]
    # The deliverer's default delivery URL is the bundled inbox on loopback.
    assert services["deliverer"]["network_mode"] == "service:inbox"
    for name, service in services.items():
        assert not ("network_mode" in service and "networks" in service), name


def test_nginx_balances_over_every_instance_and_is_the_trusted_proxy(compose: Dict[str, Any]) -> None:
    nginx = compose["services"]["nginx"]
    servers = re.findall(r"server ([\w-]+):(\d+)", nginx["environment"]["HAVEN_RASA_SERVERS"])
    services = compose["services"]
    assert servers == [
        (name, services[name]["environment"]["RASA_PORT"]) for name in services if name.startswith("rasa-")
    ]
    mounted = {volume.split(":")[0] for volume in nginx["volumes"]}
    assert {"./nginx/haven.conf", "./nginx/haven-staff.conf"} <= mounted
    placeholders = set()
    for conf in ("haven.conf", "haven-staff.conf"):
        placeholders |= set(re.findall(r"\$\{(HAVEN_[A-Z_]+)\}", (DEPLOY / "nginx" / conf).read_text()))
    assert placeholders == set(nginx["environment"])
    address = nginx["networks"]["backend"]["ipv4_address"]
    assert env_example("compose.env.example")["TRUSTED_PROXIES"] == address


def test_the_settings_are_the_real_ones(compose: Dict[str, Any]) -> None:
    known = set(re.findall(r"^([A-Z_]+)=", (PROJECT_ROOT / ".env.example").read_text(), re.M))
    known |= set(re.findall(r"_env\w*\(\"([A-Z_]+)\"", (PROJECT_ROOT / "bot" / "settings.py").read_text()))
    settings = env_example("compose.env.example")
    assert set(settings) - known - CONTRACT_SETTINGS == set()
    assert settings["LOCK_STORE_URL"] == "redis://redis:6379/0"
    assert settings["DATABASE_URL"].startswith("postgresql://") and "@postgres:5432/" in settings["DATABASE_URL"]
    assert settings["RASA_AUTH_TOKEN"] == ""  # the API stays off unless an operator decides otherwise
    for service in compose["services"].values():
        if "env_file" in service:
            assert (DEPLOY / f"{service['env_file']}.example").exists()


def test_the_images_pin_our_rasa_and_run_as_a_user_without_local_state() -> None:
    rasa_pin = re.search(r"^rasa==(\S+)", (PROJECT_ROOT / "requirements.txt").read_text(), re.M)
    assert rasa_pin is not None
    for name in ("rasa.Dockerfile", "services.Dockerfile"):
        text = (DEPLOY / "docker" / name).read_text()
        users = re.findall(r"^USER (\S+)", text, re.M)
        assert users and users[-1] not in ("root", "0"), name
        assert not re.search(r"^(ENV|ARG).*(SECRET|TOKEN|PASSWORD)", text, re.M), name
        assert "COPY . " not in text, name  # what goes in is listed, never the whole tree
    assert re.search(
        rf"^FROM rasa/rasa:{re.escape(rasa_pin.group(1))}$", (DEPLOY / "docker" / "rasa.Dockerfile").read_text(), re.M
    )
    ignored = (PROJECT_ROOT / ".dockerignore").read_text().split()
    for entry in (".env", "var/", ".venv", ".venv-services", "deploy/compose.env", "deploy/tls/", "models/*"):
        assert entry in ignored, entry
    assert "!models/current.tar.gz" in ignored
