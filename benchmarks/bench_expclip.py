"""Text → expression speed of the released checkpoint: load time, warm latency per prompt and per batch of 64.

Load is timed in fresh processes (the median of ``LOAD_RUNS``), in three figures: ``torch_import_s``
(importing torch), ``load_s`` (after torch: importing expclip, the MiniLM weights and the checkpoint)
and ``fresh_process_s`` (the whole ``python -c "import expclip; expclip.load()"``, interpreter start
and exit included).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import emitter, median_seconds

REPO = Path(__file__).resolve().parents[1]
LOAD_RUNS = 5
LOAD = ("import json, time; start = time.perf_counter(); import torch; torch_s = time.perf_counter() - start; "
        "import expclip; expclip.load(); "
        "print(json.dumps({'torch_import_s': torch_s, 'load_s': time.perf_counter() - start - torch_s}))")


emit = emitter("expclip", digits=2)


def fresh_load() -> dict[str, float]:
    """One fresh process loading the released pipeline: its ``torch_import_s``, ``load_s`` and ``fresh_process_s``."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", LOAD], cwd=REPO, capture_output=True, text=True, check=True)
    return {**json.loads(done.stdout.splitlines()[-1]), "fresh_process_s": time.perf_counter() - start}


def main() -> None:
    runs = [fresh_load() for _ in range(LOAD_RUNS)]
    for metric in ("torch_import_s", "load_s", "fresh_process_s"):
        emit(metric, statistics.median(run[metric] for run in runs), "s", runs=LOAD_RUNS)
    import expclip

    pipe = expclip.load()
    prompts = [f"a proud, beaming smile number {i}" for i in range(64)]
    pipe.weights(prompts)  # warm up
    emit("prompt_latency_ms", 1000 * median_seconds(lambda: pipe.weights("quietly furious"), 30), "ms")
    emit("batch64_latency_ms", 1000 * median_seconds(lambda: pipe.weights(prompts), 10), "ms")


if __name__ == "__main__":
    main()
