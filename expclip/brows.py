"""How far each brow is lowered, measured on the brow and eye landmarks of a photo.

Neither the learned projector nor the fit reads a scowl on a real face: both learned or were calibrated on renders
of the ICT head, which has no brow hair, so MediaPipe barely sees its brows move (on the 600 test renders the
projector's browDown correlates 0.46 with the truth). On real faces MediaPipe follows the brows well, and a real
scowl moves them a long way: the inner brow ends drop by about a tenth of the eye distance, more than twice what
ICT's browDown does at full weight.

So, as :mod:`expclip.eyes` does for the lids, this module measures it: each inner brow end's height above its eye's
inner corner, over the distance between the eyes, in the face's own frame (:func:`expclip.landmarks.normalise`: a
tilted or turned head measures the same). A brow that sits lower than on MediaPipe's mean real face
(:func:`expclip.real_face.load_canonical_face`) by more than :data:`RELAXED_SPREAD` (how far relaxed faces' brows
sit below the mean: the 10th percentile over ICT's random identities) reads as ``browDown``, one full weight per
:data:`FULL_DOWN` (ICT's browDown at full weight, measured on the rig's landmark model). Relaxed brows, even low
ones, read nothing, and the reading only ever raises what the rest of the image path says.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from head.arkit import INDEX

# MediaPipe face-mesh indices: the two points at each brow's inner end (upper and lower edge) and that eye's inner
# corner. "Left" is the subject's own left, as in ARKit.
BROWS = {"Left": ((336, 285), 362), "Right": ((107, 55), 133)}
FULL_DOWN = 0.045       # how much ICT's browDown at 1 lowers the inner brow ends, over the eye distance
RELAXED_SPREAD = 0.026  # mean − 10th percentile of that height over 2 000 random ICT identities at rest


def brow_heights(points: np.ndarray) -> dict[str, float]:
    """``{"Left": h, "Right": h}``: each inner brow end's height above its eye's inner corner, over the distance
    between the eyes, from landmarks ``(478, 3)`` (pixels, y down) in the face's own frame."""
    from expclip.landmarks import normalise

    local = normalise(np.asarray(points, np.float64))
    return {side: float(local[list(brow), 1].mean() - local[corner, 1]) for side, (brow, corner) in BROWS.items()}


@lru_cache(maxsize=1)
def relaxed_heights() -> dict[str, float]:
    """The brow heights of MediaPipe's mean real face (the canonical face; raises ``AssetError`` when not cached)."""
    from expclip.real_face import load_canonical_face

    canonical = load_canonical_face().astype(np.float64) * np.array([1.0, -1.0, -1.0])  # y up → pixels' y down
    points = np.concatenate([canonical, np.repeat(canonical[:1], 10, axis=0)])  # the irises are not measured
    return brow_heights(points)


def measured_brows_down(points: np.ndarray, relaxed: dict[str, float] | None = None) -> dict[str, float]:
    """``{"browDownLeft": w, "browDownRight": w}`` in [0, 1] from landmarks ``(478, 3)``: how much lower than on the
    ``relaxed`` face (default :func:`relaxed_heights`) each brow sits, beyond :data:`RELAXED_SPREAD`."""
    relaxed = relaxed or relaxed_heights()
    return {f"browDown{side}": float(np.clip((relaxed[side] - height - RELAXED_SPREAD) / FULL_DOWN, 0.0, 1.0))
            for side, height in brow_heights(points).items()}


def with_measured_brows(weights: np.ndarray, points: np.ndarray, relaxed: dict[str, float] | None = None
                        ) -> np.ndarray:
    """``weights (52,)`` with each ``browDown`` raised to the measured one where that is stronger (a new array)."""
    out = np.array(weights, np.float32, copy=True)
    for name, measured in measured_brows_down(points, relaxed).items():
        out[INDEX[name]] = max(out[INDEX[name]], measured)
    return out
