"""Travelling between two prompts in the joint space: spherical interpolation, decoded to weights.

    from expclip.interpolation import interpolate
    frames, z = interpolate(pipe, "calm", "furious", steps=45)     # (45, 52) weights, (2, D) end points
"""

from __future__ import annotations

import numpy as np
import torch

from expclip.pipeline import TextToExpression, scale_weights


def slerp(a: torch.Tensor, b: torch.Tensor, ts: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation between the directions of ``a`` and ``b`` ``(D,)`` at ``ts (T,)`` → ``(T, D)``."""
    a, b = torch.nn.functional.normalize(a, dim=-1), torch.nn.functional.normalize(b, dim=-1)
    omega = torch.arccos((a * b).sum().clamp(-1 + 1e-6, 1 - 1e-6))
    if omega < 1e-4:
        return a.expand(len(ts), -1).clone()
    ts = ts[:, None]
    return (torch.sin((1 - ts) * omega) * a + torch.sin(ts * omega) * b) / torch.sin(omega)


def interpolate(pipe: TextToExpression, prompt_a: str, prompt_b: str, steps: int = 45,
                intensity: float = 1.0) -> tuple[np.ndarray, torch.Tensor]:
    """Weights along the great circle from ``prompt_a`` to ``prompt_b``: ``((steps, 52), z (2, D))``.

    Each decoded frame is finished as both prompts are read (strength, side), mixed by how far along it is,
    so that the ends are exactly ``pipe.weights`` of the two prompts."""
    if steps < 2:
        raise ValueError(f"An interpolation needs at least 2 steps (got {steps}).")
    reading_a, reading_b = pipe.read([prompt_a, prompt_b])
    z = pipe.embed([prompt_a, prompt_b]).float()
    ts = torch.linspace(0, 1, steps)
    decoded = pipe.decode(slerp(z[0], z[1], ts))
    worded = {reading_a.band, reading_b.band} != {"plain"}  # only strength words need the plain faces
    plain_a, plain_b = pipe.decode(pipe.embed_texts([reading_a.plain, reading_b.plain])) if worded else (None, None)
    t = ts.numpy()[:, None]
    frames = (1 - t) * reading_a.face(decoded, plain_a) + t * reading_b.face(decoded, plain_b)
    return scale_weights(frames, intensity), z


def round_trip(frames: np.ndarray, hold: int = 10) -> np.ndarray:
    """``(T, 52)`` → there, a pause of ``hold`` frames, back and a pause: ``(2T + 2·hold, 52)`` for a looping video."""
    return np.concatenate([frames, np.repeat(frames[-1:], hold, 0), frames[::-1], np.repeat(frames[:1], hold, 0)])
