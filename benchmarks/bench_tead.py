"""TEAD offline build: wall time and peak memory of the default 50k build, one JSON line per figure.

The build runs in a child process (the CLI a user runs), so its peak resident memory is measured alone.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from benchmarks.common import emitter

REPO = Path(__file__).resolve().parents[1]


emit = emitter("tead", digits=2)


def main(size: int = 50000) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "train.tead", "build", "--annotator", "offline", "--size", str(size),
                        "--seed", "0", "--out", str(Path(tmp) / "tead"), "--quiet"], cwd=REPO, check=True,
                       stdout=subprocess.DEVNULL)
        seconds = time.perf_counter() - start
        peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        megabytes = sum(f.stat().st_size for f in (Path(tmp) / "tead").iterdir()) / 2**20
    emit(f"offline_build_{size}_s", seconds, "s")
    emit(f"offline_build_{size}_peak_rss_mb", peak_kib / 1024, "MB")
    emit(f"offline_build_{size}_disk_mb", megabytes, "MB")


if __name__ == "__main__":
    main()
