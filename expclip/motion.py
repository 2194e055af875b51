"""Motion that speech does not drive: natural blinks, deterministic from a seed.

Used by the talking-corpus builder (``train/talking``) to make training clips look alive and by
:mod:`expclip.animation`, which adds blinks to generated clips: blink timing is not predictable from
speech, so a generator trained on it learns only a faint average.
"""

from __future__ import annotations

import numpy as np

BLINK_INTERVAL_S = (2.0, 6.0)  # seconds between blinks, drawn uniformly
BLINK_LENGTH_S = (0.15, 0.25)  # close and reopen


def blink_track(frames: int, fps: float, seed: int = 0, first_within_s: float = 1.5) -> np.ndarray:
    """Eyelid closure per frame, ``(frames,)`` in [0, 1]: raised-cosine blinks at random intervals."""
    rng = np.random.default_rng(seed)
    track = np.zeros(frames, np.float32)
    time = rng.uniform(0.3, first_within_s)
    seconds = frames / fps
    while time < seconds:
        length = rng.uniform(*BLINK_LENGTH_S)
        start, stop = int(round(time * fps)), int(round((time + length) * fps)) + 1
        phase = (np.arange(start, stop) / fps - time) / length  # 0 → 1 across the blink
        shape = np.clip(np.sin(np.pi * np.clip(phase, 0.0, 1.0)) ** 0.6, 0.0, 1.0)
        inside = slice(max(start, 0), min(stop, frames))
        track[inside] = np.maximum(track[inside], shape[inside.start - start:inside.stop - start])
        time += length + rng.uniform(*BLINK_INTERVAL_S)
    return track
