"""How closed each eye is, measured on the eyelid landmarks rather than guessed from the whole face.

The lids' gap over the eye's width (three pairs of MediaPipe lid points over the corner-to-corner
distance) is nearly the same on every face, so it reads closed eyes and winks on people the learned
projector has never seen (it learned from renders of one head, and reads relaxed real eyes as half
shut). The ratio is mapped linearly onto ``eyeBlink``: :data:`OPEN_RATIO` (the rig's eyes at
eyeBlink 0, as MediaPipe sees its renders) gives 0 and :data:`CLOSED_RATIO` (eyeBlink 1) gives 1;
``tests/test_eyes.py`` re-measures both on renders.

Lids that are more than half closed by this measure set ``eyeBlink`` (closed eyes, a wink), plus half
the difference between the two eyes that the face's own reading has (a winking face squints its other
eye too, and the lids alone cannot tell a squint from a blink); lids less closed than that only cap it
(an eye cannot be more closed than its lids), so that a smile's narrowed eyes keep what the face's
expression says of them instead of reading as a blink.
"""

from __future__ import annotations

import numpy as np

from head.arkit import INDEX

# MediaPipe face-mesh indices: upper and lower lid points (pairs), and the two corners. "Left" is the
# subject's own left, as in ARKit (it appears on the right of the image).
EYES = {"Left": ((386, 385, 387), (374, 380, 373), (263, 362)),
        "Right": ((159, 158, 160), (145, 153, 144), (33, 133))}
OPEN_RATIO = 0.337    # the rig at eyeBlink 0 (mean of both eyes, 512 px front renders)
CLOSED_RATIO = 0.070  # the rig at eyeBlink 1
CLOSING = 0.5  # a measured eyeBlink from which the lids decide


def lid_ratios(points: np.ndarray) -> dict[str, float]:
    """``{"Left": r, "Right": r}``: the lid gap over the eye's width, from landmarks ``(478, 2|3)`` in pixels."""
    points = np.asarray(points, np.float64)[:, :2]
    ratios = {}
    for side, (upper, lower, corners) in EYES.items():
        gap = np.linalg.norm(points[list(upper)] - points[list(lower)], axis=1).mean()
        width = np.linalg.norm(points[corners[0]] - points[corners[1]])
        ratios[side] = float(gap / width) if width > 0 else float("nan")
    return ratios


def eyelid_blinks(points: np.ndarray) -> dict[str, float]:
    """``{"eyeBlinkLeft": w, "eyeBlinkRight": w}`` in [0, 1] from the lid ratios of landmarks ``(478, 2|3)``."""
    return {f"eyeBlink{side}": float(np.clip((OPEN_RATIO - r) / (OPEN_RATIO - CLOSED_RATIO), 0.0, 1.0))
            if np.isfinite(r) else 0.0 for side, r in lid_ratios(points).items()}


def with_measured_lids(weights: np.ndarray, points: np.ndarray) -> np.ndarray:
    """``weights (52,)`` with each eyeBlink set by the eyelid measure (and the face's left–right difference)
    when it says the eye is more than half closed, else capped by it (a new array)."""
    out = np.array(weights, np.float32, copy=True)
    left, right = INDEX["eyeBlinkLeft"], INDEX["eyeBlinkRight"]
    asymmetry = {left: 0.5 * (out[left] - out[right]), right: 0.5 * (out[right] - out[left])}
    for name, measured in eyelid_blinks(points).items():
        i = INDEX[name]
        out[i] = np.clip(measured + asymmetry[i], 0.0, 1.0) if measured >= CLOSING else min(out[i], measured)
    return out
