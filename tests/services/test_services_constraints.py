"""constraints-services.txt pins the services environment fully: every requirement and every package those pull
in (transitively, as installed here) has an exact pin, and the pins match what the requirements ask for."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _lines(name: str) -> list[str]:
    text = (PROJECT_ROOT / name).read_text()
    return [line.split("#", 1)[0].strip() for line in text.splitlines() if line.split("#", 1)[0].strip()]


def _pins() -> dict[str, str]:
    pins = {}
    for line in _lines("constraints-services.txt"):
        requirement = Requirement(line)
        (specifier,) = requirement.specifier
        assert specifier.operator == "==", line
        pins[canonicalize_name(requirement.name)] = specifier.version
    return pins


def _closure(requirements: list[Requirement]) -> set[str]:
    """These packages and everything they depend on in this environment (markers evaluated here)."""
    seen: set[str] = set()
    todo = list(requirements)
    environment = {**default_environment(), "extra": ""}
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        if name in seen or (requirement.marker and not requirement.marker.evaluate(environment)):
            continue
        seen.add(name)
        todo.extend(Requirement(r) for r in importlib.metadata.requires(requirement.name) or [])
    return seen


def test_every_requirement_is_pinned_to_the_version_it_asks_for() -> None:
    pins = _pins()
    for line in _lines("requirements-services.txt"):
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement.name} is not in constraints-services.txt"
        assert requirement.specifier.contains(pins[name]), f"{line} vs {name}=={pins[name]}"


def test_every_dependency_installed_for_them_is_pinned_at_its_installed_version() -> None:
    pins = _pins()
    needed = _closure([Requirement(line) for line in _lines("requirements-services.txt")])
    missing = sorted(needed - set(pins))
    assert not missing, f"not pinned in constraints-services.txt: {missing}"
    for name in needed:
        assert importlib.metadata.version(name) == pins[name], name
