"""Text → expression speed of the released checkpoint: load time, warm latency per prompt and per batch of 64.

Load time is measured in a fresh process that has already imported torch, so it counts loading the
text encoder library, the MiniLM weights and the checkpoint.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LOAD = ("import time, torch; start = time.perf_counter(); import expclip; expclip.load(); "
        "print(time.perf_counter() - start)")


def emit(metric: str, value: float, unit: str) -> None:
    print(json.dumps({"bench": "expclip", "metric": metric, "value": round(value, 2), "unit": unit}), flush=True)


def _timed(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def main() -> None:
    seconds = float(subprocess.run([sys.executable, "-c", LOAD], cwd=REPO, capture_output=True, text=True,
                                   check=True).stdout.split()[-1])
    emit("load_s", seconds, "s")
    import expclip

    pipe = expclip.load()
    prompts = [f"a proud, beaming smile number {i}" for i in range(64)]
    pipe.weights(prompts)  # warm up
    emit("prompt_latency_ms", 1000 * _timed(lambda: pipe.weights("quietly furious"), 30), "ms")
    emit("batch64_latency_ms", 1000 * _timed(lambda: pipe.weights(prompts), 10), "ms")


if __name__ == "__main__":
    main()
