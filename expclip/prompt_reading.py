"""How a prompt is read before and after ExpCLIP decodes it: strength words, and the side it names.

    reading = read_prompt("a huge wink with my right eye")
    reading.text                      # "a wink with my left eye": what the text encoder and P_text see
    face = reading.face(decoded)      # (52,): the decoded plain face lifted to strength, mirrored to the right

The model learns one-sided faces on the subject's left only (:mod:`expclip.side_words`) and plain strength
(:mod:`expclip.strength_words`); this is where both are put back.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from expclip.side_words import names_only_right, swap_sides
from expclip.strength_words import read_strength, strengthen
from head.arkit import mirror


@dataclass(frozen=True)
class PromptReading:
    """``text``: what the model reads; ``mirrored``: the prompt names only the right, so ``text`` has its sides
    swapped and the face is mirrored back; ``band``: the strength words' band (``plain``, ``low``, ``high``)."""

    prompt: str
    text: str
    mirrored: bool
    band: str

    def face(self, decoded: np.ndarray) -> np.ndarray:
        """The face the prompt asks for from the face decoded from ``text``: (..., 52) → (..., 52)."""
        face = strengthen(decoded, self.band)
        return mirror(face) if self.mirrored else face


def read_prompt(prompt: str) -> PromptReading:
    """``"slightly raising my right eyebrow"`` → text ``"raising my left eyebrow"``, mirrored, band low."""
    strength = read_strength(prompt)
    mirrored = names_only_right(strength.text)
    return PromptReading(prompt, swap_sides(strength.text) if mirrored else strength.text, mirrored, strength.band)
