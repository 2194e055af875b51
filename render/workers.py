"""Rendering for a server: one thread owns the EGL context (stills), another writes videos.

An EGL context is current in one thread only, so a multi-threaded server (Gradio runs handlers in
a thread pool) sends every still to a single render thread; videos get their own thread (each makes
its own context) so that a long video never holds up the stills.

    workers = RenderWorkers()
    front = workers.still(weights, "front", 512)                       # (512, 512, 3) uint8
    workers.video([frames], "out.mp4", fps=30, audio="speech.wav")
    workers.close()
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from head.identity import Identity
from render.renderer import close_thread_renderers, render_still
from render.video import render_video


class RenderWorkers:
    """A render thread (its :func:`render.renderer.render_still` renderers stay warm there) and a video thread."""

    def __init__(self) -> None:
        self._stills = ThreadPoolExecutor(1, thread_name_prefix="render")
        self._videos = ThreadPoolExecutor(1, thread_name_prefix="video")

    def still(self, weights: np.ndarray, view: str = "front", size: int = 512,
              identity: Identity | None = None) -> np.ndarray:
        """One anti-aliased render of ``weights (52,)`` on ``identity``'s face (default: the ICT head) →
        ``(size, size, 3)`` uint8, made on the render thread."""
        return self._stills.submit(render_still, np.asarray(weights, np.float32), view, size, False,
                                   identity).result()

    def video(self, sequences: list[np.ndarray], path: str | Path, **options) -> Path:
        """:func:`render.video.render_video` of ``sequences`` (each ``(frames, 52)``) on the video thread."""
        return self._videos.submit(render_video, sequences, path, **options).result()

    def close(self) -> None:
        """Release the GL contexts (on the thread that made them) and stop both threads."""
        self._stills.submit(close_thread_renderers).result()
        self._stills.shutdown(wait=False)
        self._videos.shutdown(wait=False)
