"""Strength words in a prompt ("slightly", "a hint of", "a huge", "extremely") and the face they ask for.

The words are the face-action knowledge base's intensity bands (``expclip/data/face_actions.yaml``: the
words its builder writes into training texts, plus ``also_read``, less ``not_read``). A prompt with a strength
word is read without it, and the plain face that comes out is scaled as the band says, the way the builder
makes its strength samples: a low word gives the middle of the band's ``scale`` (at most half the plain face),
a high word lifts the largest weight to the middle of the band's ``floor`` (by 1.3 at least). Decoding the
plain prompt and scaling it makes strength exact, which the decoder alone learnt only roughly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from expclip.face_actions import HIGH_OTHERS, FaceActionBase, load_face_actions

HIGH_FACTOR_LIMIT = 2.5  # a near-neutral face ("very calm") is not blown up into a grimace
_ARTICLE_BEFORE = re.compile(r"(?<!\w)(a|an)\s+$", re.IGNORECASE)


@dataclass(frozen=True)
class StrengthReading:
    """A prompt's strength band (``"plain"``, ``"low"``, ``"high"``) and its text without the strength words."""

    band: str
    text: str


@lru_cache(maxsize=4)
def _pattern(base: FaceActionBase) -> tuple[re.Pattern, dict[str, str]]:
    band_of = {}
    for band in ("high", "low"):  # a word in both bands counts as low ("very subtly" is low, "very" high)
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


def strengthen(face: np.ndarray, band: str, base: FaceActionBase | None = None) -> np.ndarray:
    """The plain face (..., 52) at the strength of ``band``, clipped to [0, 1]: low scales every weight by the
    middle of the band's ``scale``; high scales the face until its largest weight reaches the middle of the
    band's ``floor`` (by :data:`HIGH_OTHERS` at least, :data:`HIGH_FACTOR_LIMIT` at most)."""
    face = np.asarray(face, dtype=np.float32)
    if band == "plain":
        return face
    words = (base or load_face_actions()).intensity[band]
    if band == "low":
        factor = np.full(face.shape[:-1] + (1,), float(np.mean(words.scale)), dtype=np.float32)
    else:
        top = np.maximum(face.max(axis=-1, keepdims=True), 1e-6)
        factor = np.clip(float(np.mean(words.floor)) / top, HIGH_OTHERS, HIGH_FACTOR_LIMIT)
    return np.clip(face * factor, 0.0, 1.0).astype(np.float32)
