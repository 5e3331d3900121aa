"""Reading the YAML data files a clinic reviews (data/clinic/*.yml), with one clear error on failure."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Type, Union

import yaml


def read_yaml(path: Union[str, Path], error: Type[Exception], what: str) -> Any:
    """The parsed document; `error("cannot read <what> <path>: ...")` when the file is missing or malformed."""
    try:
        return yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise error(f"cannot read {what} {path}: {exc}") from exc


def read_yaml_mapping(path: Union[str, Path], error: Type[Exception], what: str) -> Dict[str, Any]:
    data = read_yaml(path, error, what)
    if not isinstance(data, dict):
        raise error(f"{what} {path} must be a YAML mapping")
    return data
