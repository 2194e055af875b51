"""Dataclass configs read from YAML files in ``train/configs/`` (unknown keys are errors).

:func:`config_to_dict`, the way back to plain data, lives in the library (:mod:`expclip.configs`), whose
dataset builders record their configs too; it is imported here so that training code finds both in one place.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from expclip.configs import config_to_dict

__all__ = ["CONFIG_DIR", "ConfigError", "config_from_dict", "config_to_dict", "load_config"]

CONFIG_DIR = Path(__file__).with_name("configs")
T = TypeVar("T")


class ConfigError(ValueError):
    """A config file or value that does not fit its dataclass."""


def config_from_dict(cls: type[T], values: dict[str, Any], where: str = "config") -> T:
    """Build ``cls`` from a mapping, naming unknown keys and wrongly typed values."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; accepted: {', '.join(fields)}.")
    hints = typing.get_type_hints(cls)
    converted = {}
    for name, value in values.items():
        expected = hints[name]
        origin = typing.get_origin(expected) or expected
        if origin is tuple and isinstance(value, list):
            value = tuple(value)
        if origin is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if origin in (types.UnionType, typing.Union):  # e.g. ``str | None``: any of its members
            accepted = tuple(typing.get_origin(a) or a for a in typing.get_args(expected))
            if not isinstance(value, accepted):
                names = " or ".join("null" if a is type(None) else a.__name__ for a in accepted)
                raise ConfigError(f"{where}: {name} must be {names}, got {value!r}.")
        elif isinstance(origin, type) and not isinstance(value, origin):
            raise ConfigError(f"{where}: {name} must be {origin.__name__}, got {value!r}.")
        converted[name] = value
    return cls(**converted)


def load_config(cls: type[T], path: str | Path) -> T:
    """Read a YAML file into the dataclass ``cls``."""
    path = Path(path)
    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"Cannot read config {path}: {error}") from None
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: a config file must be a mapping of keys to values.")
    return config_from_dict(cls, values, str(path))
