"""Point-set geometry shared by the landmark correspondence and blendshape fitting.

MediaPipe gives pixels (x right, y down, z away from the viewer); the rig is in centimetres with y up
and z toward the viewer: :data:`PIXELS_TO_RIG_AXES` flips one into the other, and :func:`similarity`
finds the scale, rotation and shift between two sets of matching points.
"""

from __future__ import annotations

import numpy as np

PIXELS_TO_RIG_AXES = np.array([1.0, -1.0, -1.0])  # image (x right, y down, z away) → rig (y up, z toward viewer)


def similarity(source: np.ndarray, target: np.ndarray, weights: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Weighted Umeyama: ``s, R (3, 3), t (3,)`` minimising ``sum_i w_i |s R source_i + t - target_i|²``."""
    w = weights / weights.sum()
    mu_s, mu_t = w @ source, w @ target
    a, b = source - mu_s, target - mu_t
    covariance = (b * w[:, None]).T @ a
    u, sigma, vt = np.linalg.svd(covariance)
    d = np.ones(3)
    d[2] = np.sign(np.linalg.det(u @ vt)) or 1.0
    rotation = u @ np.diag(d) @ vt
    scale = float((sigma * d).sum() / (w @ (a**2).sum(1)))
    return scale, rotation, mu_t - scale * rotation @ mu_s
