"""Training-time augmentation of TEAD pairs: EDA-style text edits and blendshape perturbations.

Both are callables for :class:`expclip.tead.TeadDataset` and draw only from the generator they
are given, so an epoch's augmentation is reproducible.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from expclip.asymmetry import is_one_sided
from expclip.emotions import KnowledgeBase, load_knowledge_base
from head import arkit

# Function words EDA may drop; negations are kept because dropping them flips the meaning.
STOP_WORDS = frozenset(
    "a an the and or so of to in on at for with by from as is am are was were be been being it its this "
    "that these those i me my we our you your he him his she her they them their just really very quite "
    "pretty kinda sort kind rather about up out all some any still then there here".split()
)
_TOKEN = re.compile(r"^(\W*)(.*?)(\W*)$")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_SIDE_WORDS = re.compile(r"\b(left|right)\b", re.IGNORECASE)


@dataclass
class TextAugmentConfig:
    """Chance of each edit per text, and ``alpha`` = share of words one edit touches (EDA)."""

    synonym: float = 0.3
    insertion: float = 0.1
    swap: float = 0.1
    deletion: float = 0.1
    stop_words: float = 0.1
    shuffle: float = 0.2
    alpha: float = 0.1


class TextAugment:
    """EDA (Wei & Zou, 2019) with the project's lexicon instead of WordNet, plus stop-word
    removal and sentence shuffling. ``augment(text, rng)`` → text."""

    def __init__(self, config: TextAugmentConfig | None = None, kb: KnowledgeBase | None = None) -> None:
        self.config = config or TextAugmentConfig()
        self.kb = kb or load_knowledge_base()

    def _count(self, words: list[str]) -> int:
        return max(1, int(round(self.config.alpha * len(words))))

    def _synonym_of(self, token: str, rng: np.random.Generator) -> str | None:
        lead, core, trail = _TOKEN.match(token).groups()
        options = self.kb.synonyms(core)
        if not core or not options:
            return None
        choice = options[int(rng.integers(len(options)))]
        return lead + (choice.capitalize() if core[:1].isupper() else choice) + trail

    def replace_synonyms(self, words: list[str], rng: np.random.Generator) -> list[str]:
        words = list(words)
        budget = self._count(words)
        for index in rng.permutation(len(words)):
            if budget == 0:
                break
            replacement = self._synonym_of(words[index], rng)
            if replacement is not None:
                words[index] = replacement
                budget -= 1
        return words

    def insert_synonyms(self, words: list[str], rng: np.random.Generator) -> list[str]:
        words = list(words)
        for _ in range(self._count(words)):
            candidates = [s for s in (self._synonym_of(w, rng) for w in words) if s is not None]
            if not candidates:
                break
            word = _TOKEN.match(candidates[int(rng.integers(len(candidates)))]).group(2).lower()
            words.insert(int(rng.integers(len(words) + 1)), word)
        return words

    def swap_words(self, words: list[str], rng: np.random.Generator) -> list[str]:
        words = list(words)
        if len(words) > 1:
            for _ in range(self._count(words)):
                i, j = rng.choice(len(words), size=2, replace=False)
                words[i], words[j] = words[j], words[i]
        return words

    def delete_words(self, words: list[str], rng: np.random.Generator) -> list[str]:
        kept = [w for w in words if rng.random() >= self.config.alpha]
        return kept or [words[int(rng.integers(len(words)))]]

    @staticmethod
    def remove_stop_words(words: list[str]) -> list[str]:
        kept = [w for w in words if _TOKEN.match(w).group(2).lower() not in STOP_WORDS]
        return kept or words

    @staticmethod
    def shuffle_sentences(text: str, rng: np.random.Generator) -> str:
        sentences = _SENTENCE.split(text.strip())
        return " ".join(sentences[i] for i in rng.permutation(len(sentences))) if len(sentences) > 1 else text

    def __call__(self, text: str, rng: np.random.Generator) -> str:
        cfg = self.config
        if rng.random() < cfg.shuffle:
            text = self.shuffle_sentences(text, rng)
        words = text.split()
        if not words:
            return text
        if rng.random() < cfg.synonym:
            words = self.replace_synonyms(words, rng)
        if rng.random() < cfg.insertion:
            words = self.insert_synonyms(words, rng)
        if rng.random() < cfg.swap:
            words = self.swap_words(words, rng)
        if rng.random() < cfg.deletion:
            words = self.delete_words(words, rng)
        if rng.random() < cfg.stop_words:
            words = self.remove_stop_words(words)
        return " ".join(words)


@dataclass
class BlendshapeAugmentConfig:
    """Noise on active shapes, left/right tilt, and whole-face mirroring of faces that are not one-sided;
    results clipped to [0, 1]."""

    noise: float = 0.03
    asymmetry_chance: float = 0.3
    asymmetry: float = 0.15
    mirror_chance: float = 0.5


class BlendshapeAugment:
    """``augment(weights, rng, text)`` → weights, shape (52,).

    Mirroring swaps the face's left and right, which keeps the expression's meaning unless the
    paired text names a side ("left lip corner pulled up") or the face is one-sided
    (:func:`expclip.asymmetry.is_one_sided`: a wink, a smirk, a sideways glance, whose side-free
    wordings mean the left); such pairs are never mirrored, so a text keeps one face.
    """

    _LEFT = np.array(["Left" in name for name in arkit.BLENDSHAPE_NAMES])
    _RIGHT = np.array(["Right" in name for name in arkit.BLENDSHAPE_NAMES])

    def __init__(self, config: BlendshapeAugmentConfig | None = None) -> None:
        self.config = config or BlendshapeAugmentConfig()

    def __call__(self, weights: np.ndarray, rng: np.random.Generator, text: str = "") -> np.ndarray:
        cfg = self.config
        out = np.asarray(weights, dtype=np.float32).copy()
        active = out > 0
        out[active] += rng.normal(0.0, cfg.noise, int(active.sum())).astype(np.float32)
        if rng.random() < cfg.asymmetry_chance:
            tilt = float(rng.uniform(-cfg.asymmetry, cfg.asymmetry))
            out[self._LEFT] *= 1.0 + tilt
            out[self._RIGHT] *= 1.0 - tilt
        if rng.random() < cfg.mirror_chance and not _SIDE_WORDS.search(text) and not is_one_sided(weights):
            out = out[arkit.MIRROR_PERMUTATION]
        return np.clip(out, 0.0, 1.0)
