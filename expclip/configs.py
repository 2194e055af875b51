"""Dataclass configs as plain data, for the ``meta.json`` of a dataset build and a checkpoint's training record."""

from __future__ import annotations

import dataclasses
from typing import Any


def config_to_dict(config: Any) -> dict[str, Any]:
    """A config as plain JSON/YAML-ready values (tuples become lists)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(config).items()}
