"""Text (EDA) and blendshape augmentation."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from expclip import facs
from expclip.emotions import load_knowledge_base
from head import arkit
from train.augment import BlendshapeAugment, BlendshapeAugmentConfig, TextAugment, TextAugmentConfig

OFF = dict(synonym=0.0, insertion=0.0, swap=0.0, deletion=0.0, stop_words=0.0, shuffle=0.0)


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def test_synonym_replacement_uses_the_project_lexicon() -> None:
    kb = load_knowledge_base()
    anger = kb["anger"].words["mid"]
    augment = TextAugment(TextAugmentConfig(**{**OFF, "synonym": 1.0, "alpha": 0.5}))
    text = f"I am {anger[0]} today"
    outputs = {augment(text, _rng(seed)) for seed in range(30)}
    replaced = [o for o in outputs if o.split()[2] != anger[0]]
    assert replaced, "the emotion word was never replaced"
    for output in replaced:
        assert len(output.split()) == 4 and output.split()[2] in kb.synonyms(anger[0])


def test_deletion_swap_and_insertion_keep_words_sensible() -> None:
    words = "this is a fairly long sentence about my day at work".split()
    augment = TextAugment(TextAugmentConfig(**{**OFF, "alpha": 0.3}))
    deleted = augment.delete_words(words, _rng())
    assert 1 <= len(deleted) < len(words) and all(w in words for w in deleted)
    assert augment.delete_words(["one"], _rng()) == ["one"]
    swapped = augment.swap_words(words, _rng())
    assert Counter(swapped) == Counter(words) and swapped != words
    kb_word = load_knowledge_base().lexicon[0][0]
    inserted = augment.insert_synonyms([kb_word, "and", "more"], _rng())
    assert len(inserted) == 4 and set(inserted) - {kb_word, "and", "more"} <= set(load_knowledge_base().lexicon[0])


def test_stop_words_and_sentence_shuffle() -> None:
    assert TextAugment.remove_stop_words("I am not happy with the result".split()) == ["not", "happy", "result"]
    assert TextAugment.remove_stop_words(["the", "a"]) == ["the", "a"]
    text = "First one. Second one! Third one?"
    shuffled = {TextAugment.shuffle_sentences(text, _rng(s)) for s in range(10)}
    assert len(shuffled) > 1
    assert all(Counter(s.split()) == Counter(text.split()) for s in shuffled)


def test_text_augmentation_is_reproducible_and_can_be_off() -> None:
    augment = TextAugment()
    text = "Honestly so thrilled that my sister got the job!! Can't stop smiling."
    assert augment(text, _rng(7)) == augment(text, _rng(7))
    assert len({augment(text, _rng(s)) for s in range(20)}) > 5
    assert TextAugment(TextAugmentConfig(**OFF))(text, _rng()) == text


def test_blendshape_perturbation_mirror_and_clip() -> None:
    weights = facs.aus_to_blendshapes({"L12": "D", "R12": "E", "6": "C", "26": "E"})
    plain = BlendshapeAugment(BlendshapeAugmentConfig(noise=0.0, asymmetry_chance=0.0, mirror_chance=1.0))
    mirrored = plain(weights, _rng(), "so happy")
    assert mirrored[arkit.INDEX["mouthSmileRight"]] == pytest.approx(0.8)
    assert mirrored[arkit.INDEX["mouthSmileLeft"]] == 1.0
    kept = plain(weights, _rng(), "left lip corner pulled up")
    np.testing.assert_array_equal(kept, weights)

    noisy = BlendshapeAugment(BlendshapeAugmentConfig(noise=0.5, asymmetry_chance=1.0, mirror_chance=0.0))
    weights = facs.aus_to_blendshapes({"L12": "E", "6": "C", "26": "E"})
    out = noisy(weights, _rng(3))
    assert out.min() >= 0.0 and out.max() <= 1.0 and out.dtype == np.float32
    assert (out[weights == 0] == 0).all(), "noise touches only active shapes"
    assert not np.allclose(out, weights)
    default = BlendshapeAugment()
    assert np.array_equal(default(weights, _rng(1)), default(weights, _rng(1)))
    small = BlendshapeAugment(BlendshapeAugmentConfig(noise=0.03, asymmetry_chance=0.0, mirror_chance=0.0))
    assert 0 < np.abs(small(weights, _rng(1)) - weights).max() < 0.2


def test_one_sided_faces_are_never_mirrored() -> None:
    """A side-free wording of a wink, a smirk or a glance means the left: mirroring would teach both sides."""
    plain = BlendshapeAugment(BlendshapeAugmentConfig(noise=0.0, asymmetry_chance=0.0, mirror_chance=1.0))
    for aus in ({"L46": "E"}, {"L12": "B", "L14": "B"}, {"61": "D"}, {"L2": "D", "4": "B"}):
        weights = facs.aus_to_blendshapes(aus)
        np.testing.assert_array_equal(plain(weights, _rng(), "giving a sly wink"), weights)
    tilted = facs.aus_to_blendshapes({"L12": 0.8, "R12": 0.6, "6": "C"})  # an emotion's tilt is not one-sided
    assert plain(tilted, _rng(), "so happy")[arkit.INDEX["mouthSmileLeft"]] == pytest.approx(0.6)
