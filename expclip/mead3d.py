"""MEAD-3D: face images with their landmarks, 52 blendshape weights and emotion labels.

One layout serves the real MEAD-3D (frames of MEAD's videos, weights fitted from landmarks) and
the synthetic one (renders of the head with known weights)::

    DIR/meta.json                      written last: what built it and how many records per split
    DIR/train.jsonl, DIR/test.jsonl    one record per image (see :class:`Mead3DRecord`)
    DIR/images/<split>/<name>.jpg      the image
    DIR/images/<split>/<name>.npy      its MediaPipe landmarks, (478, 3) float16 pixels

Builders append records as they go (one fsynced line each), so a killed build resumes where it
stopped.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from head import arkit
from head.files import append_json_line, read_json_lines, write_text_atomic

SPLITS = ("train", "test")


class Mead3DError(ValueError):
    """A MEAD-3D directory that is missing or malformed."""


@dataclass
class Mead3DRecord:
    """One image. Paths are relative to the dataset directory; ``blendshapes`` is ``(52,)``."""

    image: str
    landmarks: str
    blendshapes: np.ndarray
    label: str = ""           # emotion (MEAD's eight, or a TEAD category for synthetic images)
    intensity: int = 0        # MEAD level 1-3 (0: unknown)
    text: str = ""            # a description (synthetic: the TEAD transcript of the expression)
    source: str = ""          # where it came from (video and frame, or "synthetic")
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        data = asdict(self)
        data["blendshapes"] = arkit.to_dict(self.blendshapes)
        return data

    @classmethod
    def from_json(cls, data: dict) -> "Mead3DRecord":
        values = dict(data)
        values["blendshapes"] = arkit.from_dict(values["blendshapes"])
        return cls(**values)


def append_record(path: Path, record: Mead3DRecord) -> None:
    """Append one record as a durable JSON line before the next image is made."""
    append_json_line(path, record.to_json())


def read_records(directory: str | Path, split: str) -> list[Mead3DRecord]:
    """All complete records of one split (a line torn by a crash is dropped)."""
    path = Path(directory) / f"{split}.jsonl"
    if not path.is_file():
        raise Mead3DError(f"{directory} has no {split}.jsonl; build it with `python -m train.mead3d synthetic` "
                          "or `python -m train.mead3d build`.")
    records = []
    for data in read_json_lines(path):
        try:
            records.append(Mead3DRecord.from_json(data))
        except (KeyError, TypeError):
            continue
    return records


def load_landmarks(directory: str | Path, records: list[Mead3DRecord]) -> np.ndarray:
    """Landmarks of the records, ``(N, 478, 3)`` float32 pixels."""
    root = Path(directory)
    return np.stack([np.load(root / r.landmarks).astype(np.float32) for r in records]) if records \
        else np.zeros((0, 478, 3), np.float32)


def iter_split(directory: str | Path, split: str) -> Iterator[tuple[Mead3DRecord, np.ndarray]]:
    root = Path(directory)
    for record in read_records(root, split):
        yield record, np.load(root / record.landmarks).astype(np.float32)


def write_meta(directory: str | Path, meta: dict) -> None:
    root = Path(directory)
    counts = {split: len(read_records(root, split)) for split in SPLITS if (root / f"{split}.jsonl").exists()}
    write_text_atomic(root / "meta.json", json.dumps({"format": 1, **meta, "records": counts}, indent=2) + "\n")


def read_meta(directory: str | Path) -> dict:
    path = Path(directory) / "meta.json"
    if not path.is_file():
        raise Mead3DError(f"{directory} is not a finished MEAD-3D build (no meta.json); run its build command again "
                          "to finish it.")
    return json.loads(path.read_text(encoding="utf-8"))
