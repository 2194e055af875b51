"""Phone-aware lips over a generator's mouth: closures on bilabials, rest in pauses, the style kept."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from expclip.articulation import articulate
from head import arkit

I = arkit.INDEX


@dataclass(frozen=True)
class Phone:
    label: str
    start: float
    end: float


def _gap(frames: np.ndarray) -> np.ndarray:
    return frames[:, I["jawOpen"]] - frames[:, I["mouthClose"]]


def test_a_mumbling_mouth_closes_on_b_rests_in_the_pause_and_keeps_its_smile() -> None:
    fps, frames = 30.0, np.zeros((60, 52), np.float32)
    frames[:, I["jawOpen"]] = 0.15  # lips a little apart throughout, as the generator does on real voices
    frames[:, [I["mouthSmileLeft"], I["mouthSmileRight"]]] = 0.6
    rest = np.zeros(52, np.float32)
    rest[[I["mouthSmileLeft"], I["mouthSmileRight"]]] = 0.6
    phones = [Phone("SIL", 0.0, 0.2), Phone("B", 0.2, 0.3), Phone("AA", 0.3, 0.6), Phone("SIL", 0.6, 1.3),
              Phone("AA", 1.3, 1.6), Phone("SIL", 1.6, 2.0)]
    out = articulate(frames, phones, fps, rest)
    assert out.shape == frames.shape and 0 <= out.min() and out.max() <= 1
    assert _gap(out)[6:9].min() < 0.005 and _gap(out)[6:9].mean() < 0.02  # the /b/: lips together
    assert _gap(out)[11:17].mean() > 0.15         # the /a/ opens wider than the mumble
    assert _gap(out)[26:33].max() < 0.03          # the pause rests
    np.testing.assert_allclose(out[:, I["mouthSmileLeft"]], 0.6)  # the style outside the speech shapes is kept


def test_without_phones_the_face_rests_at_its_style() -> None:
    frames = np.full((30, 52), 0.2, np.float32)
    out = articulate(frames, [Phone("SIL", 0.0, 1.0)], 30.0, np.zeros(52, np.float32))
    assert _gap(out).max() < 1e-6 and out[:, I["browInnerUp"]].min() == np.float32(0.2)
