"""Strength words in a prompt ("slightly", "a hint of", "a huge", "extremely") and the face they ask for.

The words are the face-action knowledge base's intensity bands (``expclip/data/face_actions.yaml``: the
words its builder writes into training texts, plus ``also_read``, less ``not_read``). The model decodes the
prompt as written and also without its strength words; the band then bounds the answer the way the builders
make their strength samples: a low word keeps every weight at most the top of the band's ``scale`` times the
plain face (at most half of it), a high word lifts a face whose largest weight is below the band's ``floor`` to
it. The decoder alone learnt strength only roughly ("slightly smiling" 0.38 against 0.65 for "smiling");
within those bounds its own answer is kept, which is closer to the held-out TEAD faces than a fixed factor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from expclip.face_actions import FaceActionBase, load_face_actions

HIGH_FACTOR_LIMIT = 2.5  # a near-neutral face ("utterly calm") is not blown up into a grimace
MAIN_SHARE, MINOR_SHARE = 0.5, 0.2  # of the largest weight: a high word lifts main shapes, not minor ones
_ARTICLE_BEFORE = re.compile(r"(?<!\w)(a|an)\s+$", re.IGNORECASE)


@dataclass(frozen=True)
class StrengthReading:
    """A prompt's strength band (``"plain"``, ``"low"``, ``"high"``) and its text without the strength words."""

    band: str
    text: str


@lru_cache(maxsize=4)
def _pattern(base: FaceActionBase) -> tuple[re.Pattern, dict[str, str]]:
    band_of = {}
    for band in ("high", "low"):  # a word in both bands counts as low
        band_of.update({word.lower(): band for word in base.intensity[band].read_words})
    alternatives = "|".join(re.escape(w) for w in sorted(band_of, key=lambda w: (-len(w), w)))
    return re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])", re.IGNORECASE), band_of


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def read_strength(prompt: str, base: FaceActionBase | None = None) -> StrengthReading:
    """``"a huge beaming smile"`` → high, ``"a beaming smile"``; ``"slightly annoyed"`` → low, ``"annoyed"``;
    ``"a hint of a smile"`` → low, ``"a smile"``. Low wins over high ("very slightly"); a prompt that would
    be left with no words ("extremely") is plain and kept as it is."""
    pattern, band_of = _pattern(base or load_face_actions())
    bands, pieces, position = set(), [], 0
    for match in pattern.finditer(prompt):
        bands.add(band_of[match.group(0).lower()])
        pieces.append(prompt[position:match.start()])
        position = match.end()
        kept = "".join(pieces)
        article, following = _ARTICLE_BEFORE.search(kept), re.match(r"\s*(\w)", prompt[position:])
        if article and following:  # "an enormous grin" → "a grin"
            word = _article(following.group(1))
            pieces = [kept[:article.start(1)] + (word.capitalize() if article.group(1)[0].isupper() else word) + " "]
    pieces.append(prompt[position:])
    if not bands:
        return StrengthReading("plain", prompt)
    text = re.sub(r"\s*,\s*(?=[,.!?]|$)", "", "".join(pieces))  # the comma of a removed suffix
    text = re.sub(r"\s+([,.!?])", r"\1", re.sub(r"\s+", " ", text)).strip(" ,")
    if not re.search(r"\w", text):
        return StrengthReading("plain", prompt)
    return StrengthReading("low" if "low" in bands else "high", text)


def strengthen(face: np.ndarray, plain: np.ndarray, band: str, base: FaceActionBase | None = None) -> np.ndarray:
    """The face decoded from a prompt (..., 52) held to its strength ``band``, given the face decoded from the
    prompt without its strength words (same shape); clipped to [0, 1]. Low: at most the top of the band's
    ``scale`` times ``plain``, weight by weight. High: its main shapes scaled up (by :data:`HIGH_FACTOR_LIMIT` at
    most) until the largest weight reaches the bottom of the band's ``floor``, if it is below."""
    face, plain = np.asarray(face, dtype=np.float32), np.asarray(plain, dtype=np.float32)
    if band == "plain":
        return face
    words = (base or load_face_actions()).intensity[band]
    if band == "low":
        return np.clip(np.minimum(face, words.scale[1] * plain), 0.0, 1.0).astype(np.float32)
    top = np.maximum(face.max(axis=-1, keepdims=True), 1e-6)
    factor = np.clip(words.floor[0] / top, 1.0, HIGH_FACTOR_LIMIT)
    # Only the face's main shapes grow: a weight at half the largest or more by the whole factor, one below a
    # fifth of it not at all, so that the small leftovers of a strong frown (a trace of smile) stay small.
    main = np.clip((face / top - MINOR_SHARE) / (MAIN_SHARE - MINOR_SHARE), 0.0, 1.0)
    return np.clip(face * (1.0 + (factor - 1.0) * main), 0.0, 1.0).astype(np.float32)
