"""How one-sided a face is, and how much of a target's one-sidedness a prediction keeps.

A face's side difference is ``L − R`` over the 26 mirror pairs of :mod:`head.arkit` (``eyeBlinkLeft`` −
``eyeBlinkRight``, ``eyeLookOutLeft`` − ``eyeLookOutRight``, ``jawLeft`` − ``jawRight``…), shape (..., 26).
"""

from __future__ import annotations

import numpy as np

from head.arkit import INDEX, MIRROR_PAIRS

LEFT = np.array([INDEX[left] for left, _ in MIRROR_PAIRS])
RIGHT = np.array([INDEX[right] for _, right in MIRROR_PAIRS])
# eyeLookIn of the right eye turns the gaze to the subject's left: that pair counts the other way round.
TOWARD_LEFT = np.array([-1.0 if left == "eyeLookInLeft" else 1.0 for left, _ in MIRROR_PAIRS], dtype=np.float32)
ONE_SIDED_GAP = 0.15  # a pair this far apart…
ONE_SIDED_SHARE = 0.5  # …and by at least this share of its sum makes a face one-sided


def side_difference(weights: np.ndarray) -> np.ndarray:
    """``L − R`` per mirror pair: weights (..., 52) → (..., 26)."""
    weights = np.asarray(weights, dtype=np.float32)
    return weights[..., LEFT] - weights[..., RIGHT]


def leaning(weights: np.ndarray) -> np.ndarray:
    """Which side a face favours, (..., 52) → (...): positive toward the subject's left (a left wink, a glance
    to the left), negative toward the right, 0 for a symmetric face."""
    return (side_difference(weights) * TOWARD_LEFT).sum(axis=-1)


def is_one_sided(weights: np.ndarray, gap: float = ONE_SIDED_GAP, share: float = ONE_SIDED_SHARE) -> np.ndarray:
    """Whether some pair differs by ``gap`` or more and by ``share`` of its sum: (..., 52) → bool (...).

    A wink, a smirk or a sideways glance is one-sided; the ±25 % left/right tilt of an emotion is not.
    """
    weights = np.asarray(weights, dtype=np.float32)
    difference = np.abs(side_difference(weights))
    total = weights[..., LEFT] + weights[..., RIGHT]
    return ((difference >= gap) & (difference >= share * total)).any(axis=-1)


def kept_asymmetry(predicted: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The share of the target's side difference the prediction keeps, (..., 52) pairs → (...).

    ``⟨d_pred, d_target⟩ / ⟨d_target, d_target⟩`` with ``d = L − R``: 1 keeps it all on the right side, 0 is a
    symmetric face, a negative value puts it on the wrong side; NaN where the target is symmetric.
    """
    d_pred, d_target = side_difference(predicted), side_difference(target)
    norm = (d_target * d_target).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norm > 1e-8, (d_pred * d_target).sum(axis=-1) / norm, np.nan)
