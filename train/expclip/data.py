"""Training pairs over cached text features: each sample's candidate texts, and a Dataset drawing one.

Candidates are the sources' texts (for half of the samples the AU text names the AUs by FACS number
and name instead: all of them, or the strongest few the way people type them, "AU4 + AU23", "brow
lowerer and lip tightener"), the source ``look`` (the knowledge base's looks that the sample's transcript
or situation contains, on their own: "face like thunder", so that a look typed alone is learnt as that
face rather than through the emotion words and events around it), and augmented rewrites. Text augmentation cannot run per step when text features are
cached, so each sample gets ``augment_variants`` EDA rewrites of its transcript and situation up
front; their features are cached like the originals and drawn like any other candidate text.

Every one-sided face is learnt on the subject's left (:mod:`expclip.side_words`): a candidate that names only
the right is stored with its sides swapped and drawn with the sample's face mirrored, and so is a candidate
that names no side beside a face that is one-sided toward the right. Inference swaps and mirrors back
(:mod:`expclip.prompt_reading`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Mapping, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from expclip import facs
from expclip.emotions import KnowledgeBase, load_knowledge_base
from expclip.side_words import names_only_right, reads_mirrored, swap_sides
from expclip.tead import TEXT_SOURCES, TeadSample
from expclip.tead_offline import third_person
from head.arkit import mirror
from train.augment import BlendshapeAugment, TextAugment

LOOK_SOURCE = "look"  # derived from the transcript and situation, not a field of the sample

AUGMENTED_SOURCES = ("transcript", "situation")
AU_NAME_SHARE = 0.5  # how often a sample's AU text names the AUs (``au_name_text``) instead of describing them
FULL_NAME_LIST_SHARE = 0.4  # how often the AU-name text lists every AU; otherwise the 1-3 strongest
SHARE_STREAM = 1_000_003  # random stream of the source shares, apart from the EDA rewrites' [seed, i, k]
STRONGEST_COUNTS = ((1, 2, 3), (0.2, 0.45, 0.35))
AU_STYLES = ("AU{n}{paren}", "{name}{paren}", "AU{n} ({name}{comma})")  # paren: " (left)", comma: ", left"
AU_JOINS = (" + ", " and ", ", ")


def _and_join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def au_name_text(aus: dict[str, float], rng: np.random.Generator) -> str:
    """The AUs by FACS number and name: every AU (``facs.name_list``), or the strongest 1-3 in a style
    people type, ``"AU4 + AU23"``, ``"AU4 and AU23"``, ``"brow lowerer and lip tightener"``,
    ``"AU4 (brow lowerer), AU23 (lip tightener)"``; a one-sided AU gets its side: ``"AU12 (right)"``."""
    if not aus or rng.random() < FULL_NAME_LIST_SHARE:
        return facs.name_list(aus)
    sides: dict[int, dict[str, float]] = {}
    for key, value in facs.normalize_aus(aus).items():
        code = facs.parse_code(key)
        sides.setdefault(code.number, {})[code.side] = value
    count = int(rng.choice(STRONGEST_COUNTS[0], p=STRONGEST_COUNTS[1]))
    strongest = sorted(sides, key=lambda n: -max(sides[n].values()))[:count]
    style, join = AU_STYLES[int(rng.integers(len(AU_STYLES)))], AU_JOINS[int(rng.integers(len(AU_JOINS)))]
    parts = []
    for number in strongest:
        only = next(iter(sides[number])) if len(sides[number]) == 1 else ""
        side = {"L": "left", "R": "right"}.get(only, "")
        parts.append(style.format(n=number, name=facs.CATALOG[number].name.lower(), paren=f" ({side})" if side else "",
                                  comma=f", {side}" if side else ""))
    return _and_join(parts) if join == " and " else join.join(parts)


@lru_cache(maxsize=4)
def _look_patterns(kb: KnowledgeBase) -> dict[str | None, tuple[re.Pattern, dict[str, str]]]:
    """Per emotion (and for all of them, key None): one pattern for its looks in the first person and in
    the third ("her jaw clenched"), and the look each written form stands for."""
    def compiled(looks) -> tuple[re.Pattern, dict[str, str]]:
        forms: dict[str, str] = {}
        for look in looks:
            for form in (look, *(third_person(look, p) for p in ("she", "he", "they"))):
                forms.setdefault(form.lower(), look)
        alternatives = "|".join(re.escape(form) for form in sorted(forms, key=len, reverse=True))
        return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)"), forms

    patterns: dict[str | None, tuple[re.Pattern, dict[str, str]]] = {e.name: compiled(e.looks) for e in kb.emotions}
    patterns[None] = compiled([look for e in kb.emotions for look in e.looks])
    return patterns


def sample_looks(sample: TeadSample, kb: KnowledgeBase | None = None) -> list[str]:
    """The knowledge base's looks written in ``sample``'s transcript or situation, as the knowledge base
    words them (first person): ``"Me rn: on cloud nine!"`` → ``["on cloud nine"]``. Only the looks of
    the sample's emotions are searched when it names them (fast), else every look."""
    patterns = _look_patterns(kb or load_knowledge_base())
    text = f"{sample.transcript}\n{sample.situation}".lower()
    names = [name for name in sample.emotions if name in patterns] or [None]
    found: list[str] = []
    for name in names:
        pattern, forms = patterns[name]
        found += [forms[form] for form in pattern.findall(text)]
    return list(dict.fromkeys(found))


@dataclass
class TextTable:
    """Unique texts, and for each sample the rows of its candidate texts: ``rows`` (N, K), -1 = none;
    ``mirrored`` (N, K): the candidate is learnt with the sample's face mirrored."""

    texts: list[str]
    rows: np.ndarray
    counts: np.ndarray
    mirrored: np.ndarray


def build_text_table(samples: Sequence[TeadSample], sources: Sequence[str], augment_variants: int = 0,
                     seed: int = 0, augment: TextAugment | None = None,
                     shares: Mapping[str, float] | None = None) -> TextTable:
    """The candidate texts of each sample. ``shares`` gives a source to only that share of the samples
    (``{"situation": 0.5}``): fewer distinct texts to encode, at the cost of some variety."""
    unknown = [s for s in [*sources, *(shares or {})] if s not in (*TEXT_SOURCES, LOOK_SOURCE)]
    if unknown or not sources:
        raise ValueError(f"Training text sources must be chosen from {', '.join((*TEXT_SOURCES, LOOK_SOURCE))}; "
                         f"got {list(sources)}{f' and shares for {list(shares)}' if shares else ''}.")
    shares = dict(shares or {})
    if not all(0.0 <= v <= 1.0 for v in shares.values()):
        raise ValueError(f"Source shares must be between 0 and 1; got {shares}.")
    if augment_variants and augment is None:
        augment = TextAugment()
    fields = [s for s in sources if s != LOOK_SOURCE]
    index: dict[str, int] = {}
    per_sample: list[list[int]] = []
    for i, sample in enumerate(samples):
        candidates = [sample.text(source) or sample.transcript for source in fields]
        rng = np.random.default_rng([seed, i])
        if "au_text" in fields and rng.random() < AU_NAME_SHARE:  # so that "AU4 and AU23" prompts work
            candidates[fields.index("au_text")] = au_name_text(sample.aus, rng)
        draws = np.random.default_rng([seed, i, SHARE_STREAM]).random(len(sources))
        candidates = [text for text, source, draw in zip(candidates, fields, draws) if draw < shares.get(source, 1.0)]
        if LOOK_SOURCE in sources and draws[-1] < shares.get(LOOK_SOURCE, 1.0):
            candidates += sample_looks(sample)
        candidates = candidates or [sample.transcript]  # sources: [look] alone, and a sample without one
        for k in range(augment_variants):
            eda_rng = np.random.default_rng([seed, i, k])
            candidates += [augment(sample.text(s), eda_rng) for s in AUGMENTED_SOURCES if s in sources and sample.text(s)]
        learnt = {(swap_sides(t) if names_only_right(t) else t): reads_mirrored(t, sample.blendshapes)
                  for t in dict.fromkeys(candidates)}
        per_sample.append([(index.setdefault(text, len(index)), flip) for text, flip in learnt.items()])
    width = max(len(r) for r in per_sample)
    rows = np.full((len(samples), width), -1, dtype=np.int64)
    mirrored = np.zeros((len(samples), width), dtype=bool)
    for i, r in enumerate(per_sample):
        rows[i, :len(r)] = [row for row, _ in r]
        mirrored[i, :len(r)] = [flip for _, flip in r]
    return TextTable(list(index), rows, np.array([len(r) for r in per_sample]), mirrored)


class FeaturePairs(Dataset):
    """Items ``(text features (text_dim,), weights (52,))``, one candidate text drawn per item and epoch."""

    def __init__(self, features: np.ndarray, table: TextTable, weights: np.ndarray,
                 blendshape_augment: BlendshapeAugment | None = None, seed: int = 0) -> None:
        self.features = features
        self.table = table
        self.weights = weights.astype(np.float32)
        self.augment = blendshape_augment
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.weights)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        rng = np.random.default_rng([self.seed, self.epoch, index])
        k = rng.integers(self.table.counts[index])
        row = self.table.rows[index, k]
        weights = mirror(self.weights[index]) if self.table.mirrored[index, k] else self.weights[index]
        if self.augment is not None:
            weights = self.augment(weights, rng, self.table.texts[row])
        return torch.from_numpy(self.features[row].astype(np.float32)), torch.from_numpy(np.ascontiguousarray(weights))
