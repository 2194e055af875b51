"""Motion that speech does not drive: natural blinks, deterministic from a random generator.

Used by the talking-corpus builder (``train/talking``) to make training clips look alive, and by
:mod:`expclip.animation`, which adds the same blinks to generated clips: blink timing is not
predictable from speech, so a generator trained on it learns only a faint average.
"""

from __future__ import annotations

import numpy as np


def smoothstep(x: np.ndarray) -> np.ndarray:
    """0 below 0, 1 above 1, and a smooth S-curve between: the same shape as ``x``."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def blinks(times: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, list[float]]:
    """Eyelid closure ``(T, 2)`` (left, right) of natural blinks at ``times`` (seconds, ``(T,)``), and
    their start times: every 2-6 s, 0.15-0.25 s each, a fast close and a slower opening."""
    out = np.zeros((len(times), 2))
    starts = []
    t = float(rng.uniform(0.2, 3.0))
    end = float(times[-1]) if len(times) else 0.0
    while t < end:
        duration = float(rng.uniform(0.15, 0.25))
        close = 0.4 * duration
        depth = float(rng.uniform(0.85, 1.0))
        shut = np.where(times < t + close, smoothstep((times - t) / close),
                        1 - smoothstep((times - t - close) / (duration - close)))
        shut = np.where((times >= t) & (times <= t + duration), shut, 0.0)
        out[:, 0] = np.maximum(out[:, 0], depth * shut)
        out[:, 1] = np.maximum(out[:, 1], depth * float(rng.uniform(0.92, 1.0)) * shut)
        starts.append(round(t, 3))
        t += duration + float(rng.uniform(2.0, 6.0))
    return out, starts
