"""Rendering and video speed, one JSON line per figure.

Figures: rig load time, warm still latency (512x512, 4x anti-aliasing), sequence rendering fps
(512x512, anti-aliasing off, as videos use), and H.264 encode fps of pre-rendered frames.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

import numpy as np

from benchmarks.common import emitter
from head.rig import load_rig
from render.renderer import HeadRenderer
from render.video import write_video


emit = emitter("render", digits=2)


def random_frames(count: int, seed: int = 0) -> np.ndarray:
    """``(count, 52)`` smooth random weights, like a real animation."""
    rng = np.random.default_rng(seed)
    keys = rng.uniform(0.0, 0.6, size=(count // 10 + 2, 52))
    t = np.linspace(0, len(keys) - 1, count)
    return np.stack([np.interp(t, np.arange(len(keys)), keys[:, k]) for k in range(52)], axis=1).astype(np.float32)


def main() -> None:
    start = time.perf_counter()
    load_rig()  # the first load in this process reads the cached file
    emit("rig_load_ms", 1000 * (time.perf_counter() - start), "ms")

    frames = random_frames(150)
    with HeadRenderer(size=512, samples=4) as still:
        still.render(frames[0])
        times = []
        for weights in frames[:20]:
            start = time.perf_counter()
            still.render(weights)
            times.append(time.perf_counter() - start)
        emit("still_latency_ms_512_aa4", 1000 * float(np.median(times)), "ms")

    with HeadRenderer(size=512, samples=0) as fast:
        list(fast.render_sequence(frames[:2]))
        start = time.perf_counter()
        images = list(fast.render_sequence(frames))
        emit("sequence_fps_512", len(frames) / (time.perf_counter() - start), "frames/s")

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        write_video(images, Path(tmp) / "bench.mp4", fps=30)
        emit("video_encode_fps_512", len(images) / (time.perf_counter() - start), "frames/s")


if __name__ == "__main__":
    main()
