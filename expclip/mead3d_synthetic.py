"""Synthetic MEAD-3D: renders of the head making TEAD expressions, with their known weights.

Each image varies what a photo varies and an expression does not: the face (a random ICT-FaceKit
identity, its 30 coefficients drawn from ``N(0, identity_std²)``, plus a smooth random change of
shape, so that a model does not learn one face), head pose (yaw, pitch, roll), distance and position
in the frame, skin tone, the three lights and the ambient level, and a random gradient background
with noise; optionally (``eyebrows``) painted eyebrows, black to light brown, thick or sparse, which
ICT's head lacks (a P_img trained on them read fewer Yale photos right: checkpoints/expclip-small's card).
MediaPipe then finds the landmarks, as it would on a photo; renders where it finds no face are dropped.
Train images take their expressions from TEAD's train split and test images from its test split, so the
test expressions (and their texts) are unseen in training.
Everything is drawn from ``(seed, split, index)``, so a build is reproducible and resumable; the
identity and the eyebrows from streams of their own, so that ``identity_std = 0`` gives the images of
builds made before identities existed, and the other draws do not change with ``eyebrows``.

Built by ``python -m train.mead3d synthetic`` and, small, by the demo (``demo_data.py``). The library
draws no pictures itself (``tests/test_layers.py``): the caller hands over the renderer, which is
:class:`render.renderer.HeadRenderer`.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

import numpy as np
from PIL import Image
from tqdm import tqdm

from expclip.configs import config_to_dict
from expclip.mead3d import Mead3DRecord, append_record, read_meta, read_records, write_meta
from expclip.tead import TeadSample, read_samples
from head.files import drop_torn_line
from head.identity import NUM_IDENTITY_MODES, Identity


@dataclass
class SyntheticConfig:
    tead: str = "data/tead"
    train_size: int = 4000
    test_size: int = 800
    image_size: int = 320
    seed: int = 0
    max_yaw: float = 30.0     # degrees
    max_pitch: float = 15.0
    max_roll: float = 12.0
    identity_strength: float = 1.0  # smooth random shape change; 0: none
    identity_std: float = 1.0  # ICT identity coefficients ~ N(0, std²) per image; 0: the ICT head's own face
    eyebrows: bool = False  # paint eyebrows of a random colour and density (ICT's head has none)


class Renderer(Protocol):
    """What the builder needs of a renderer: a look to set, and RGBA ``(S, S, 4)`` uint8 of posed vertices."""

    def set_look(self, skin_tint, lights, ambient: float, brows=None) -> None: ...

    def render_vertices(self, vertices: np.ndarray) -> np.ndarray: ...


# Opens a renderer of ``rig`` as ``opener(rig, size=S, samples=0, background=None)``: HeadRenderer's signature.
RendererOpener = Callable[..., AbstractContextManager[Renderer]]


def _rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """Rotation ``(3, 3)`` from degrees: yaw about y, pitch about x, roll about z."""
    y, p, r = np.radians([yaw, pitch, roll])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return ry @ rx @ rz


def identity_offsets(neutral: np.ndarray, face_ids: np.ndarray, rng: np.random.Generator,
                     strength: float = 1.0) -> np.ndarray:
    """A smooth random face-shape change ``(V, 3)`` cm: per-axis stretch plus a few soft bumps."""
    centre = neutral[face_ids].mean(0)
    stretch = 1.0 + strength * rng.uniform(-0.07, 0.07, 3)
    offsets = (neutral - centre) * (stretch - 1.0)
    for anchor in rng.choice(face_ids, 6, replace=False):
        push = strength * rng.normal(0.0, 0.25, 3)
        weight = np.exp(-((neutral - neutral[anchor]) ** 2).sum(1) / (2 * 2.5**2))
        offsets += weight[:, None] * push
    return offsets.astype(np.float32)


def background(size: int, rng: np.random.Generator) -> np.ndarray:
    """A random two-colour gradient with coarse noise, ``(size, size, 3)`` float in [0, 1]."""
    a, b = rng.uniform(0.0, 1.0, 3), rng.uniform(0.0, 1.0, 3)
    angle = rng.uniform(0, 2 * np.pi)
    ys, xs = np.mgrid[0:size, 0:size] / size
    t = np.clip(0.5 + (xs - 0.5) * np.cos(angle) + (ys - 0.5) * np.sin(angle), 0, 1)[..., None]
    noise = np.asarray(Image.fromarray((rng.uniform(0, 255, (8, 8))).astype(np.uint8)).resize((size, size),
                                                                                             Image.Resampling.BICUBIC))
    return np.clip((1 - t) * a + t * b + (noise[..., None] / 255.0 - 0.5) * 0.25, 0, 1)


def _look(rng: np.random.Generator) -> dict:
    """Skin tint, lights and ambient level of one render."""
    tone = rng.uniform(0.35, 1.15)  # dark to light skin
    tint = tuple(float(v) for v in np.clip(tone * np.array([1.0, rng.uniform(0.9, 1.05), rng.uniform(0.85, 1.1)]), 0.2, 1.3))
    key = (rng.uniform(-1, 1), rng.uniform(-0.8, 0.2), -1.0)
    lights = [(key, rng.uniform(0.6, 1.3)), ((-key[0], rng.uniform(-0.5, 0.2), -0.6), rng.uniform(0.1, 0.5)),
              ((0.0, -0.5, 1.0), rng.uniform(0.2, 0.7))]
    return {"skin_tint": tint, "lights": lights, "ambient": float(rng.uniform(0.12, 0.35))}


class SyntheticBuilder:
    """Makes the images of one split; ``renderer`` draws RGBA, ``detector`` finds landmarks."""

    def __init__(self, config: SyntheticConfig, rig, renderer, detector) -> None:
        self.config = config
        self.rig = rig
        self.renderer = renderer
        self.detector = detector
        self.face_ids = np.unique(rig.parts["skin"])
        self.pivot = rig.neutral[self.face_ids].mean(0)

    def identity(self, split_id: int, index: int) -> Identity | None:
        """The face of image ``index`` of a split (None: the ICT head's own, when ``identity_std`` is 0)."""
        if self.config.identity_std <= 0:
            return None
        rng = np.random.default_rng([self.config.seed, split_id, index, 1])  # apart from the render's stream
        return Identity(rng.standard_normal(NUM_IDENTITY_MODES) * self.config.identity_std)

    def brows(self, split_id: int, index: int) -> tuple[float, float, float, float] | None:
        """The eyebrows of image ``index`` of a split: hair colour (black to light brown) and density, from a
        stream of their own (None when ``eyebrows`` is off)."""
        if not self.config.eyebrows:
            return None
        rng = np.random.default_rng([self.config.seed, split_id, index, 2])
        value = rng.uniform(0.02, 0.3)
        colour = value * np.array([1.0, rng.uniform(0.7, 0.9), rng.uniform(0.5, 0.75)])
        return (*(float(c) for c in colour), float(rng.uniform(0.5, 0.95)))

    def render(self, sample: TeadSample, rng: np.random.Generator, identity: Identity | None = None,
               brows: tuple[float, float, float, float] | None = None) -> tuple[np.ndarray, dict]:
        """One RGB image ``(S, S, 3)`` uint8 of ``sample``'s expression on ``identity``'s face with ``brows``
        (:meth:`brows`), and what was varied."""
        cfg = self.config
        pose = {"yaw": float(rng.uniform(-cfg.max_yaw, cfg.max_yaw)),
                "pitch": float(rng.uniform(-cfg.max_pitch, cfg.max_pitch)),
                "roll": float(rng.uniform(-cfg.max_roll, cfg.max_roll)),
                "zoom": float(rng.uniform(0.8, 1.2)),
                "shift": [float(v) for v in rng.uniform(-1.5, 1.5, 2)]}
        vertices = self.rig.vertices(sample.blendshapes, identity)
        vertices = vertices + identity_offsets(self.rig.neutral, self.face_ids, rng, cfg.identity_strength)
        rotation = _rotation(pose["yaw"], pose["pitch"], pose["roll"])
        vertices = (vertices - self.pivot) @ rotation.T * pose["zoom"] + self.pivot
        vertices[:, :2] += pose["shift"]
        look = _look(rng)
        self.renderer.set_look(**look, brows=brows)
        rgba = self.renderer.render_vertices(vertices).astype(np.float32) / 255.0
        alpha = rgba[..., 3:4]
        image = rgba[..., :3] * alpha + background(cfg.image_size, rng) * (1 - alpha)
        varied = {**pose, "skin_tint": look["skin_tint"]}
        if identity is not None:
            varied["identity"] = [round(float(c), 4) for c in identity.coefficients]
        if brows is not None:
            varied["brows"] = [round(v, 3) for v in brows]
        return (image * 255).round().astype(np.uint8), varied

    def build_split(self, out: Path, split: str, samples: list[TeadSample], count: int, progress: bool = True) -> int:
        """Append images ``0..count-1`` of ``split`` that are not there yet; returns how many were dropped."""
        folder = out / "images" / split
        folder.mkdir(parents=True, exist_ok=True)
        jsonl = out / f"{split}.jsonl"
        drop_torn_line(jsonl)
        done = {Path(r.image).stem for r in read_records(out, split)} if jsonl.exists() else set()
        dropped = 0
        split_id = {"train": 0, "test": 1}[split]
        for index in tqdm(range(count), desc=f"synthetic MEAD-3D {split}", unit="image", disable=not progress):
            name = f"{index:06d}"
            if name in done:
                continue
            rng = np.random.default_rng([self.config.seed, split_id, index])
            sample = samples[int(rng.integers(len(samples)))]
            image, varied = self.render(sample, rng, self.identity(split_id, index), self.brows(split_id, index))
            faces = self.detector.detect_all(image)
            if not faces:
                dropped += 1
                continue
            Image.fromarray(image).save(folder / f"{name}.jpg", quality=92)
            np.save(folder / f"{name}.npy", faces[0].astype(np.float16))
            emotion = next(iter(sample.emotions.items()), None)  # face-action and no-face samples name none
            label, intensity = ("", 0) if emotion is None else (emotion[0], 1 + int(min(emotion[1], 0.99) * 3))
            append_record(jsonl, Mead3DRecord(
                image=f"images/{split}/{name}.jpg", landmarks=f"images/{split}/{name}.npy",
                blendshapes=sample.blendshapes, label=label, intensity=intensity,
                text=sample.transcript, source="synthetic", extra=varied,
            ))
        return dropped


def build_synthetic(config: SyntheticConfig, out: str | Path, progress: bool = True, *,
                    renderer: RendererOpener) -> dict:
    """Build (or finish) the synthetic MEAD-3D in ``out``; returns its meta.

    ``renderer`` opens the renderer: pass :class:`render.renderer.HeadRenderer` (it is called with the rig,
    ``size=config.image_size``, no multisampling and a transparent background, which the builder fills).
    """
    from expclip.landmarks import LandmarkDetector
    from head.rig import load_rig

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rig = load_rig()
    detector = LandmarkDetector(max_faces=1)
    dropped = {}
    with renderer(rig, size=config.image_size, samples=0, background=None) as opened:
        builder = SyntheticBuilder(config, rig, opened, detector)
        for split, count in (("train", config.train_size), ("test", config.test_size)):
            dropped[split] = builder.build_split(out, split, read_samples(config.tead, split), count, progress)
    write_meta(out, {"builder": "synthetic", "config": config_to_dict(config), "dropped_without_face": dropped})
    return read_meta(out)
