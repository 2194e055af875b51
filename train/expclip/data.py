"""Training pairs over cached text features: each sample's candidate texts, and a Dataset drawing one.

Candidates are the sources' texts (for half of the samples the AU text names the AUs by FACS number
and name instead: all of them, or the strongest few the way people type them, "AU4 + AU23", "brow
lowerer and lip tightener"), and augmented rewrites. Text augmentation cannot run per step when text features are
cached, so each sample gets ``augment_variants`` EDA rewrites of its transcript and situation up
front; their features are cached like the originals and drawn like any other candidate text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from expclip import facs
from expclip.tead import TeadSample
from train.augment import BlendshapeAugment, TextAugment

AUGMENTED_SOURCES = ("transcript", "situation")
AU_NAME_SHARE = 0.5  # how often a sample's AU text names the AUs (``au_name_text``) instead of describing them
FULL_NAME_LIST_SHARE = 0.4  # how often the AU-name text lists every AU; otherwise the 1-3 strongest
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


@dataclass
class TextTable:
    """Unique texts, and for each sample the rows of its candidate texts: ``rows`` (N, K), -1 = none."""

    texts: list[str]
    rows: np.ndarray
    counts: np.ndarray


def build_text_table(samples: Sequence[TeadSample], sources: Sequence[str], augment_variants: int = 0,
                     seed: int = 0, augment: TextAugment | None = None) -> TextTable:
    if augment_variants and augment is None:
        augment = TextAugment()
    index: dict[str, int] = {}
    per_sample: list[list[int]] = []
    for i, sample in enumerate(samples):
        candidates = [sample.text(source) or sample.transcript for source in sources]
        rng = np.random.default_rng([seed, i])
        if "au_text" in sources and rng.random() < AU_NAME_SHARE:  # so that "AU4 and AU23" prompts work
            candidates[list(sources).index("au_text")] = au_name_text(sample.aus, rng)
        for k in range(augment_variants):
            eda_rng = np.random.default_rng([seed, i, k])
            candidates += [augment(sample.text(s), eda_rng) for s in AUGMENTED_SOURCES if s in sources and sample.text(s)]
        per_sample.append([index.setdefault(text, len(index)) for text in dict.fromkeys(candidates)])
    width = max(len(r) for r in per_sample)
    rows = np.full((len(samples), width), -1, dtype=np.int64)
    for i, r in enumerate(per_sample):
        rows[i, :len(r)] = r
    return TextTable(list(index), rows, np.array([len(r) for r in per_sample]))


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
        row = self.table.rows[index, rng.integers(self.table.counts[index])]
        weights = self.weights[index]
        if self.augment is not None:
            weights = self.augment(weights, rng, self.table.texts[row])
        return torch.from_numpy(self.features[row].astype(np.float32)), torch.from_numpy(np.ascontiguousarray(weights))
