"""Strength words: the band a prompt's words put it in, the prompt without them, and the face they ask for."""

import numpy as np
import pytest

from expclip.face_actions import load_face_actions
from expclip.strength_words import HIGH_FACTOR_LIMIT, read_strength, strengthen


@pytest.mark.parametrize("prompt, band, text", [
    ("an enormous grin", "high", "a grin"), ("An exaggerated wink", "high", "A wink"),
    ("extremely happy", "high", "happy"), ("a huge beaming smile", "high", "a beaming smile"),
    ("slightly annoyed", "low", "annoyed"), ("a hint of a smile", "low", "a smile"),
    ("smiling, just slightly", "low", "smiling"), ("very subtly raising my brows", "low", "raising my brows"),
    ("extremely slightly sad", "low", "sad"), ("I just woke up", "plain", "I just woke up"),
    ("a wide yawn", "plain", "a wide yawn"), ("extremely", "plain", "extremely"), ("grinning", "plain", "grinning"),
])
def test_read_strength(prompt: str, band: str, text: str) -> None:
    reading = read_strength(prompt)
    assert (reading.band, reading.text) == (band, text)


def test_every_word_the_builder_writes_is_read_unless_it_is_listed_as_not_read() -> None:
    for band in ("low", "high"):
        words = load_face_actions().intensity[band]
        for word in (*words.adverbs, *words.adjectives):
            reading = read_strength(f"{word} smiling")
            expected = "plain" if word in words.not_read else band
            assert reading.band == expected, word


def test_low_caps_at_half_the_plain_face_and_high_lifts_a_weak_face() -> None:
    plain = np.zeros((2, 52), dtype=np.float32)
    plain[0, [3, 4]] = 0.6, 0.3
    plain[1, 5] = 0.05
    worded = plain.copy()
    worded[0, 3] = 0.1  # the model already made this one weak: kept
    low = strengthen(worded, plain, "low")
    assert (low <= 0.45 * plain + 1e-6).all() and np.isclose(low[0, 3], 0.1) and np.isclose(low[0, 4], 0.135)
    high = strengthen(plain, plain, "high")
    assert np.isclose(high[0, 3], 0.85) and np.isclose(high[0, 4] / high[0, 3], 0.5)  # the face keeps its shape
    assert np.isclose(high[1, 5], 0.05 * HIGH_FACTOR_LIMIT)  # a near-neutral face is not blown up
    strong = plain[:1] * 1.6
    assert np.allclose(strengthen(strong, plain[:1], "high"), strong)  # already strong: kept
    minor = plain[:1].copy()
    minor[0, 6] = 0.06  # a tenth of the largest weight: not lifted
    assert np.isclose(strengthen(minor, minor, "high")[0, 6], 0.06)
    assert (strengthen(worded, plain, "plain") == worded).all()
