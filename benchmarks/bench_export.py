"""Export speed and size for a 10 s clip at 30 fps, one JSON line per figure.

Figures: the GLB's one-off head build per process (mesh, looks, sparse morph targets), the GLB write
time once built, its size, and the Live Link Face CSV's write time and size.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.bench_render import random_frames
from benchmarks.common import emitter
from head.arkit import write_csv
from head.rig import load_rig
from render.gltf import write_glb

SECONDS, FPS = 10, 30


emit = emitter("export", digits=2)


def main() -> None:
    rig = load_rig()
    frames = random_frames(SECONDS * FPS)
    with tempfile.TemporaryDirectory() as tmp:
        glb = Path(tmp) / "clip.glb"
        start = time.perf_counter()
        write_glb(glb, frames[:1], rig=rig)
        emit("glb_head_build_s", time.perf_counter() - start, "s")
        times = []
        for _ in range(5):
            start = time.perf_counter()
            write_glb(glb, frames, fps=FPS, rig=rig)
            times.append(time.perf_counter() - start)
        emit("glb_write_ms_10s_30fps", 1000 * float(np.median(times)), "ms")
        emit("glb_size_mb_10s_30fps", glb.stat().st_size / 1e6, "MB")

        csv = Path(tmp) / "clip.csv"
        start = time.perf_counter()
        write_csv(csv, frames, live_link_face=True, fps=FPS)
        emit("live_link_face_csv_write_ms_10s_30fps", 1000 * (time.perf_counter() - start), "ms")
        emit("live_link_face_csv_size_mb_10s_30fps", csv.stat().st_size / 1e6, "MB")


if __name__ == "__main__":
    main()
