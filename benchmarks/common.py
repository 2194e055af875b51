"""What every benchmark shares: one JSON line per figure, and the median time of repeated calls."""

from __future__ import annotations

import json
import time
from typing import Callable


def emitter(bench: str, digits: int = 3) -> Callable[..., None]:
    """``emit(metric, value, unit, **extra)`` printing ``{"bench", "metric", "value", "unit", ...}`` as a line."""

    def emit(metric: str, value: float, unit: str, **extra) -> None:
        print(json.dumps({"bench": bench, "metric": metric, "value": round(value, digits), "unit": unit, **extra}),
              flush=True)

    return emit


def median_seconds(function: Callable[[], object], repeats: int) -> float:
    """The median wall time of ``repeats`` calls of ``function``."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]
