"""Text → expression speed of the released checkpoint: load time, warm latency per prompt and per batch of 64.

Load time is measured in a fresh process that has already imported torch, so it counts loading the
text encoder library, the MiniLM weights and the checkpoint.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from benchmarks.common import emitter, median_seconds

REPO = Path(__file__).resolve().parents[1]
LOAD = ("import time, torch; start = time.perf_counter(); import expclip; expclip.load(); "
        "print(time.perf_counter() - start)")


emit = emitter("expclip", digits=2)



def main() -> None:
    seconds = float(subprocess.run([sys.executable, "-c", LOAD], cwd=REPO, capture_output=True, text=True,
                                   check=True).stdout.split()[-1])
    emit("load_s", seconds, "s")
    import expclip

    pipe = expclip.load()
    prompts = [f"a proud, beaming smile number {i}" for i in range(64)]
    pipe.weights(prompts)  # warm up
    emit("prompt_latency_ms", 1000 * median_seconds(lambda: pipe.weights("quietly furious"), 30), "ms")
    emit("batch64_latency_ms", 1000 * median_seconds(lambda: pipe.weights(prompts), 10), "ms")


if __name__ == "__main__":
    main()
