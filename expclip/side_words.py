"""Which side of the face a text names, and the same text for the other side.

ExpCLIP reads every one-sided face as if it were on the subject's left: MiniLM gives "a left wink" and "a
right wink" nearly the same features, so a model trained on both sides answers either with a two-eyed
squint. Instead a text that names only the right is read with its sides swapped ("winking my right eye" →
"winking my left eye") and the face that comes out is mirrored back (:mod:`expclip.prompt_reading`); in
training, the same swap is made and the face mirrored to match (:func:`reads_mirrored`).

Sides are the subject's own, as in ARKit and :mod:`expclip.face_actions`. A text names a side with the
words left/right (leftward, rightwards…), AU codes with a side letter (``L12``, ``R12A``, ``AU46R``,
``12L``) and the eye-movement codes AU61 (eyes turn left) and AU62 (eyes turn right).
"""

from __future__ import annotations

import re

import numpy as np

from expclip.asymmetry import is_one_sided, leaning

_WORD = re.compile(r"\b(left|right)(wards?)?\b", re.IGNORECASE)
# L12, R12A, AU L12, AU46R, 12L: the side letter is a capital unless the code starts with "AU".
_CODE_BEFORE = re.compile(r"\b((?:[Aa][Uu]\s?)?)([LR])(\d{1,2}[A-E]?)\b|\b([Aa][Uu]\s?)([lr])(\d{1,2}[A-Ea-e]?)\b")
_CODE_AFTER = re.compile(r"\b((?:[Aa][Uu]\s?)?\d{1,2}[A-E]?)([LR])\b|\b([Aa][Uu]\s?\d{1,2}[A-Ea-e]?)([lr])\b")
_EYES_TURN = re.compile(r"\b([Aa][Uu]\s?)6([12])\b")
_OTHER = {"left": "right", "right": "left", "L": "R", "R": "L", "l": "r", "r": "l", "1": "2", "2": "1"}


def named_sides(text: str) -> frozenset[str]:
    """The sides ``text`` names: a subset of ``{"L", "R"}``. ``"a wink with my right eye"`` → ``{"R"}``,
    ``"AU12L + AU2R"`` → ``{"L", "R"}``, ``"AU62"`` → ``{"R"}``, ``"a wink"`` → ``{}``."""
    sides = {match.group(1)[0].upper() for match in _WORD.finditer(text)}
    for match in _CODE_BEFORE.finditer(text):
        sides.add((match.group(2) or match.group(5)).upper())
    for match in _CODE_AFTER.finditer(text):
        sides.add((match.group(2) or match.group(4)).upper())
    sides.update("L" if match.group(2) == "1" else "R" for match in _EYES_TURN.finditer(text))
    return frozenset(sides)


def _swap_case(word: str, like: str) -> str:
    if like.isupper():
        return word.upper()
    return word.capitalize() if like[:1].isupper() else word


def swap_sides(text: str) -> str:
    """``text`` with left and right swapped in words and AU codes: ``"Right eye winks (AU46R)"`` →
    ``"Left eye winks (AU46L)"``, ``"AU61"`` → ``"AU62"``; a text that names no side comes back unchanged."""
    text = _WORD.sub(lambda m: _swap_case(_OTHER[m.group(1).lower()], m.group(1)) + (m.group(2) or ""), text)
    text = _CODE_BEFORE.sub(lambda m: (f"{m.group(1)}{_OTHER[m.group(2)]}{m.group(3)}" if m.group(2)
                                       else f"{m.group(4)}{_OTHER[m.group(5)]}{m.group(6)}"), text)
    text = _CODE_AFTER.sub(lambda m: (f"{m.group(1)}{_OTHER[m.group(2)]}" if m.group(2)
                                      else f"{m.group(3)}{_OTHER[m.group(4)]}"), text)
    return _EYES_TURN.sub(lambda m: f"{m.group(1)}6{_OTHER[m.group(2)]}", text)


def names_only_right(text: str) -> bool:
    """Whether ``text`` names the right side and not the left: the texts read with their sides swapped."""
    return named_sides(text) == {"R"}


def reads_mirrored(text: str, face: np.ndarray) -> bool:
    """Whether a training pair of ``text`` and ``face`` (52,) is learnt mirrored, so that every one-sided face
    the model learns is on the left: the text names only the right (it is learnt swapped), or it names no
    side and the face is one-sided toward the right (a side-free "a smirk" means the left one)."""
    if names_only_right(text):
        return True
    return not named_sides(text) and bool(is_one_sided(face)) and float(leaning(face)) < 0.0
