"""The expression map: TEAD expressions embedded by E, laid out in 2-D, drawn as a picture that can be clicked.

    from expclip.manifold import ExpressionMap
    emap = ExpressionMap.from_tead(pipe.model, "data/tead/test.jsonl")     # t-SNE (PCA without scikit-learn)
    picture = emap.plot({"calm": pipe.embed(["calm"])[0].numpy()})         # (H, W, 3) RGB with a marked prompt
    index = emap.pick(412.0, 230.0)                                        # the point under a click, or ValueError
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from expclip.model import ExpCLIP
from expclip.tead import read_jsonl

MAP_POINTS = 1500
COLOURED_LABELS = 12
PICK_RADIUS_PX = 20.0
MARK_NEIGHBOURS = 5


@dataclass(frozen=True)
class MapFrame:
    """Where the plot's axes lie in the image: data ``(x, y)`` ↔ image pixels (x right, y down)."""

    left: float
    top: float
    width: float
    height: float
    xlim: tuple[float, float]
    ylim: tuple[float, float]

    def to_pixels(self, points: np.ndarray) -> np.ndarray:
        """``(N, 2)`` data coordinates → ``(N, 2)`` pixel coordinates."""
        u = (points[:, 0] - self.xlim[0]) / (self.xlim[1] - self.xlim[0])
        v = (points[:, 1] - self.ylim[0]) / (self.ylim[1] - self.ylim[0])
        return np.stack([self.left + u * self.width, self.top + (1 - v) * self.height], axis=1)


def project_2d(z: np.ndarray) -> tuple[np.ndarray, str]:
    """t-SNE of ``z (N, D)`` → ``((N, 2), "t-SNE")``; PCA (numpy SVD) when scikit-learn is missing."""
    try:
        from sklearn.manifold import TSNE
    except ImportError:
        centred = z - z.mean(0)
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        return (centred @ vt[:2].T).astype(np.float32), "PCA"
    points = TSNE(2, perplexity=min(30.0, (len(z) - 1) / 3), init="pca", random_state=0,
                  max_iter=500).fit_transform(z)
    return points.astype(np.float32), "t-SNE"


def plot_map(points: np.ndarray, labels: list[str], method: str,
             marked: dict[str, np.ndarray]) -> tuple[np.ndarray, MapFrame]:
    """The map as an RGB image ``(H, W, 3)`` and its :class:`MapFrame` (the same for any ``marked``).

    ``points (N, 2)`` are coloured by their ``labels`` (the most frequent ones; the rest grey);
    ``marked`` maps a caption to a 2-D position drawn as a star (two stars are joined by a line).
    """
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    names, counts = np.unique(labels, return_counts=True)
    top = [names[i] for i in np.argsort(-counts)[:COLOURED_LABELS]]
    figure = Figure(figsize=(7, 6), dpi=90)
    axes = figure.subplots()
    labels_array = np.asarray(labels)
    rest = ~np.isin(labels_array, top)
    axes.scatter(points[rest, 0], points[rest, 1], s=5, c="#cccccc", label="other")
    colours = matplotlib.colormaps["tab20"]
    for i, name in enumerate(top):
        mask = labels_array == name
        axes.scatter(points[mask, 0], points[mask, 1], s=6, color=colours(i % 20), label=name)
    for label, (x, y) in marked.items():
        axes.scatter([x], [y], marker="*", s=300, c="black", edgecolors="white", zorder=5)
        axes.annotate(label[:30], (x, y), textcoords="offset points", xytext=(8, 8), fontsize=10, weight="bold")
    if len(marked) == 2:
        (x0, y0), (x1, y1) = marked.values()
        axes.plot([x0, x1], [y0, y1], "k--", lw=1)
    axes.set_title(f"Click two points. TEAD test expressions, {method} of E's embeddings", fontsize=9, loc="left")
    lows, highs = points.min(0), points.max(0)
    margin = 0.04 * (highs - lows) + 1e-6
    axes.set_xlim(lows[0] - margin[0], highs[0] + margin[0])  # fixed, so that marks never move the frame
    axes.set_ylim(lows[1] - margin[1], highs[1] + margin[1])
    axes.set_xticks([])
    axes.set_yticks([])
    axes.legend(fontsize=7, markerscale=2, loc="center left", bbox_to_anchor=(1, 0.5))
    figure.set_layout_engine("none")
    figure.subplots_adjust(left=0.02, right=0.76, bottom=0.02, top=0.94)
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    box = axes.get_window_extent()
    frame = MapFrame(box.x0, canvas.get_width_height()[1] - box.y1, box.width, box.height,
                     axes.get_xlim(), axes.get_ylim())
    return np.asarray(canvas.buffer_rgba())[..., :3].copy(), frame


@dataclass
class ExpressionMap:
    """Expressions with their joint embeddings ``z (N, D)``, 2-D ``points (N, 2)``, labels and texts."""

    z: np.ndarray
    points: np.ndarray
    labels: list[str]
    texts: list[str]
    method: str
    frame: MapFrame
    image: np.ndarray  # the plain map (no marks), drawn once

    @classmethod
    def from_tead(cls, model: ExpCLIP, tead_jsonl: str | Path, points: int = MAP_POINTS, seed: int = 0) -> ExpressionMap:
        """Up to ``points`` samples of a TEAD split, embedded by the model's expression encoder E."""
        samples = read_jsonl(tead_jsonl)
        if not samples:
            raise ValueError(f"{tead_jsonl} holds no TEAD samples to draw a map from.")
        rng = np.random.default_rng(seed)
        chosen = sorted(rng.choice(len(samples), min(points, len(samples)), replace=False))
        samples = [samples[i] for i in chosen]
        labels = [max(s.emotions, key=s.emotions.get) if s.emotions else (s.tags[0] if s.tags else "?")
                  for s in samples]
        with torch.inference_mode():
            z = model.embed_expression(torch.tensor(np.stack([s.blendshapes for s in samples]))).float().numpy()
        xy, method = project_2d(z)
        image, frame = plot_map(xy, labels, method, {})
        return cls(z, xy, labels, [s.transcript for s in samples], method, frame, image)

    def place(self, z: np.ndarray) -> np.ndarray:
        """Where a joint embedding ``(D,)`` lies on the map: the mean of its nearest neighbours' points, ``(2,)``."""
        nearest = np.argsort(-(self.z @ z))[:MARK_NEIGHBOURS]
        return self.points[nearest].mean(0)

    def plot(self, marks: dict[str, np.ndarray] | None = None, picked: dict[str, int] | None = None) -> np.ndarray:
        """The map with prompts (``marks``: caption → embedding ``(D,)``) and picked points (caption → index)."""
        if not marks and not picked:
            return self.image
        marked = {label: self.place(z) for label, z in (marks or {}).items()}
        marked.update({label: self.points[index] for label, index in (picked or {}).items()})
        return plot_map(self.points, self.labels, self.method, marked)[0]

    def pick(self, x: float, y: float) -> int:
        """The index of the point nearest the image pixel ``(x, y)`` (within 20 px), else a ValueError."""
        pixels = self.frame.to_pixels(self.points)
        distances = np.hypot(pixels[:, 0] - x, pixels[:, 1] - y)
        index = int(np.argmin(distances))
        if distances[index] > PICK_RADIUS_PX:
            raise ValueError("No expression there; click on one of the coloured dots.")
        return index
