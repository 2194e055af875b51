"""The phone → viseme rule on ARPAbet phones (as the aligner gives them): lips meet on bilabials, rest in pauses."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from expclip.visemes import ARPABET, PHONEMES, phones_to_espeak, rule_face
from head import arkit


@dataclass(frozen=True)
class Phone:
    label: str
    start: float
    end: float


def test_every_arpabet_phone_maps_to_a_known_espeak_phoneme() -> None:
    assert set(ARPABET.values()) <= set(PHONEMES)
    assert phones_to_espeak([Phone("B", 0.1, 0.2), Phone("AA", 0.2, 0.4)]) == [(0.1, "b"), (0.2, "A:")]


def test_the_rule_closes_the_lips_on_m_opens_on_aa_and_rests_in_a_pause() -> None:
    phones = [Phone("SIL", 0.0, 0.3), Phone("M", 0.3, 0.4), Phone("AA", 0.4, 0.7), Phone("SIL", 0.7, 1.4),
              Phone("AA", 1.4, 1.7), Phone("SIL", 1.7, 2.0)]
    face = rule_face(phones, 2.0, fps=30.0)
    assert face.shape == (60, 52)
    gap = face[:, arkit.INDEX["jawOpen"]] - face[:, arkit.INDEX["mouthClose"]]
    assert gap[10:12].max() < 0.02  # the /m/ (frames 9–11): lips together
    assert gap[15:19].mean() > 0.3  # the /a/
    assert gap[28:36].max() < 0.05 and gap[:5].max() < 0.02  # the pause and the start rest
    assert np.isfinite(face).all() and 0 <= face.min() and face.max() <= 1
