"""What a TEAD build holds: tag counts, AU frequencies, mean blendshapes per emotion (tables + heat map)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from expclip import facs
from expclip.emotions import KnowledgeBase, load_knowledge_base
from expclip.tead import SPLITS, TeadSample, read_samples
from head import arkit

# Shapes shown in the text table, left and right averaged (the heat map shows all 52).
SUMMARY_SHAPES = ("mouthSmile", "cheekSquint", "jawOpen", "eyeWide", "browInnerUp", "browOuterUp", "browDown",
                  "noseSneer", "mouthUpperUp", "mouthFrown", "mouthPress", "eyeSquint", "eyeBlink", "mouthStretch")


@dataclass
class TeadStats:
    """Counts over all splits; ``means[emotion]`` has shape (52,)."""

    samples: int
    tags: Counter
    au_share: dict[int, float]
    emotion_counts: Counter
    means: dict[str, np.ndarray]

    def shape_mean(self, emotion: str, shape: str) -> float:
        """Mean weight of a shape for an emotion; a two-sided base (``mouthSmile``) averages both sides."""
        names = [shape] if shape in arkit.INDEX else [shape + "Left", shape + "Right"]
        return float(np.mean([self.means[emotion][arkit.INDEX[n]] for n in names]))


def emotion_of(sample: TeadSample, kb: KnowledgeBase) -> str | None:
    """The sample's dominant emotion: from ``emotions`` if recorded, else the first tag the KB knows."""
    if sample.emotions:
        return max(sample.emotions.items(), key=lambda item: item[1])[0]
    for tag in sample.tags:
        emotion = kb.category_of(tag)
        if emotion is not None:
            return emotion.name
    return None


def compute_stats(samples: list[TeadSample], kb: KnowledgeBase | None = None) -> TeadStats:
    kb = kb or load_knowledge_base()
    tags: Counter = Counter(tag for s in samples for tag in s.tags)
    au_counts: Counter = Counter(facs.parse_code(key).number for s in samples for key in s.aus)
    sums: dict[str, np.ndarray] = {}
    counts: Counter = Counter()
    for sample in samples:
        emotion = emotion_of(sample, kb) or "unknown"
        sums[emotion] = sums.get(emotion, np.zeros(arkit.NUM_BLENDSHAPES)) + sample.blendshapes
        counts[emotion] += 1
    n = max(len(samples), 1)
    return TeadStats(
        samples=len(samples),
        tags=tags,
        au_share={number: au_counts[number] / n for number in facs.CATALOG},
        emotion_counts=counts,
        means={e: sums[e] / counts[e] for e in sorted(sums)},
    )


def load_stats(path: str | Path) -> TeadStats:
    """Statistics of a TEAD directory (train and test together) or of a single file."""
    path = Path(path)
    samples = [s for split in SPLITS for s in read_samples(path, split)] if path.is_dir() else read_samples(path)
    return compute_stats(samples)


def format_stats(stats: TeadStats, top: int = 25) -> str:
    """Three Markdown tables: tags, AU frequencies, mean blendshapes per emotion."""
    lines = [f"# TEAD statistics: {stats.samples} samples", "", f"## Top {top} tags", "", "| tag | count |", "|---|---|"]
    lines += [f"| {tag} | {count} |" for tag, count in stats.tags.most_common(top)]
    lines += ["", "## AU frequency (share of samples, any side)", "", "| AU | name | share |", "|---|---|---|"]
    for number, share in sorted(stats.au_share.items(), key=lambda item: -item[1]):
        lines.append(f"| {number} | {facs.CATALOG[number].name} | {share:.3f} |")
    lines += ["", "## Mean blendshapes per emotion (left/right averaged)", "",
              "| emotion | n | " + " | ".join(SUMMARY_SHAPES) + " |", "|---|---|" + "---|" * len(SUMMARY_SHAPES)]
    for emotion in stats.means:
        values = " | ".join(f"{stats.shape_mean(emotion, s):.2f}" for s in SUMMARY_SHAPES)
        lines.append(f"| {emotion} | {stats.emotion_counts[emotion]} | {values} |")
    return "\n".join(lines) + "\n"


def save_heatmap(stats: TeadStats, path: str | Path) -> Path:
    """A PNG heat map of mean blendshapes: emotions as rows, the 52 shapes as columns."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    emotions = list(stats.means)
    matrix = np.stack([stats.means[e] for e in emotions])
    figure, axis = plt.subplots(figsize=(16, 0.28 * len(emotions) + 3))
    image = axis.imshow(matrix, aspect="auto", cmap="magma", vmin=0.0, vmax=max(0.5, float(matrix.max())))
    axis.set_xticks(range(arkit.NUM_BLENDSHAPES), arkit.BLENDSHAPE_NAMES, rotation=90, fontsize=7)
    axis.set_yticks(range(len(emotions)), [f"{e} ({stats.emotion_counts[e]})" for e in emotions], fontsize=7)
    axis.set_title(f"Mean blendshape weight per emotion ({stats.samples} samples)")
    figure.colorbar(image, ax=axis, fraction=0.02)
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
