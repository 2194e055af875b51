"""How a prompt is read before and after ExpCLIP decodes it: strength words, and the side it names.

    reading = read_prompt("a huge wink with my right eye")
    reading.text                      # "a huge wink with my left eye": what the text encoder and P_text see
    reading.plain                     # "a wink with my left eye": the same without its strength words
    face = reading.face(decoded, decoded_plain)   # (52,): held to the strength words, mirrored to the right

The model learns one-sided faces on the subject's left only (:mod:`expclip.side_words`), and its strength only
roughly (:mod:`expclip.strength_words`); this is where the side is put back and the strength words are held to.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from expclip.side_words import names_only_right, swap_sides
from expclip.strength_words import read_strength, strengthen
from head.arkit import mirror


@dataclass(frozen=True)
class PromptReading:
    """``text``: what the model reads; ``plain``: ``text`` without its strength words; ``mirrored``: the prompt
    names only the right, so both have their sides swapped and the face is mirrored back; ``band``: the
    strength words' band (``plain``, ``low``, ``high``)."""

    prompt: str
    text: str
    plain: str
    mirrored: bool
    band: str

    def face(self, decoded: np.ndarray, decoded_plain: np.ndarray | None = None) -> np.ndarray:
        """The face the prompt asks for from the faces decoded from ``text`` and ``plain`` (the same face when
        ``plain`` is ``text`` or is not at hand): (..., 52) → (..., 52)."""
        face = strengthen(decoded, decoded if decoded_plain is None else decoded_plain, self.band)
        return mirror(face) if self.mirrored else face


def read_prompt(prompt: str) -> PromptReading:
    """``"slightly raising my right eyebrow"`` → text ``"slightly raising my left eyebrow"``, plain ``"raising my
    left eyebrow"``, mirrored, band low."""
    strength = read_strength(prompt)
    mirrored = names_only_right(prompt)
    swapped = swap_sides if mirrored else (lambda text: text)
    return PromptReading(prompt, swapped(prompt), swapped(strength.text), mirrored, strength.band)
