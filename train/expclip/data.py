"""Training pairs over cached text features: each sample's candidate texts, and a Dataset drawing one.

Candidates are the sources' texts, the AUs by FACS number and name when ``au_text`` is a source,
and augmented rewrites. Text augmentation cannot run per step when text features are cached, so each sample gets
``augment_variants`` EDA rewrites of its transcript and situation up front; their features are
cached like the originals and drawn like any other candidate text.
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
        if "au_text" in sources:  # the AUs also by number and FACS name, so "AU4 and AU23" prompts work
            candidates.append(facs.name_list(sample.aus))
        for k in range(augment_variants):
            rng = np.random.default_rng([seed, i, k])
            candidates += [augment(sample.text(s), rng) for s in AUGMENTED_SOURCES if s in sources and sample.text(s)]
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
