"""TEAD on disk and in memory: the versioned format, readers for users' own files, a torch Dataset.

A TEAD directory (format version 1, documented in ``docs/tead.md``) holds

* ``train.jsonl`` and ``test.jsonl``: one sample per line with the keys ``transcript``, ``tags``
  (3–5 strings), ``aus`` (AU key → intensity in [0, 1], keys as in :mod:`expclip.facs`),
  ``au_text``, ``situation`` and ``blendshapes`` (the 52-key dict); an optional ``emotions``
  (category → intensity) records what the offline annotator mixed.
* ``meta.json``: ``format``, ``version``, ``seed``, ``annotator``, ``counts`` and build details.

Users' own TEAD can also be a single JSONL or CSV file. Where ``blendshapes`` is missing, it is
computed from ``aus`` by the AU rule; where ``au_text`` is missing, from :func:`expclip.facs.describe`.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from expclip import facs
from head import arkit
from head.files import replace_when_done, write_text_atomic

FORMAT_NAME = "tead"
FORMAT_VERSION = 1
SPLITS = ("train", "test")
TEXT_SOURCES = ("transcript", "tags", "situation", "au_text")


class TeadFormatError(ValueError):
    """A TEAD file or line that does not follow the format; the message names file and line."""


@dataclass
class TeadSample:
    """One TEAD quadruple; ``blendshapes`` has shape (52,), float32 in [0, 1]."""

    transcript: str
    tags: list[str]
    aus: dict[str, float]
    au_text: str
    situation: str
    blendshapes: np.ndarray
    emotions: dict[str, float] = field(default_factory=dict)

    def text(self, source: str) -> str:
        """The text of one source in :data:`TEXT_SOURCES` (tags joined with commas)."""
        if source == "tags":
            return ", ".join(self.tags)
        return getattr(self, source)

    def to_json(self) -> dict:
        obj = {
            "transcript": self.transcript,
            "tags": list(self.tags),
            "aus": {k: round(float(v), 3) for k, v in self.aus.items()},
            "au_text": self.au_text,
            "situation": self.situation,
            "blendshapes": {n: round(float(v), 4) for n, v in zip(arkit.BLENDSHAPE_NAMES, self.blendshapes)},
        }
        if self.emotions:
            obj["emotions"] = {k: round(float(v), 3) for k, v in self.emotions.items()}
        return obj


def sample_from_json(obj: object, where: str = "sample") -> TeadSample:
    """Check one decoded line and build a :class:`TeadSample`; errors start with ``where``."""
    if not isinstance(obj, dict):
        raise TeadFormatError(f"{where}: expected a JSON object, got {type(obj).__name__}.")
    try:
        transcript = obj.get("transcript")
        if not isinstance(transcript, str) or not transcript.strip():
            raise ValueError("'transcript' must be a non-empty string")
        tags = obj.get("tags", [])
        if isinstance(tags, str):
            tags = [t for t in (s.strip() for s in tags.replace(";", ",").split(",")) if t]
        if not isinstance(tags, list) or not all(isinstance(t, str) and t.strip() for t in tags):
            raise ValueError("'tags' must be a list of strings")
        if "aus" not in obj and "blendshapes" not in obj:
            raise ValueError("a sample needs 'aus' or 'blendshapes'")
        raw_aus = obj.get("aus", {})
        if isinstance(raw_aus, str):
            raw_aus = facs.parse_prototype(raw_aus)
        aus = facs.normalize_aus(raw_aus)
        if "blendshapes" in obj:
            blendshapes = arkit.from_dict(obj["blendshapes"])
        else:
            blendshapes = facs.aus_to_blendshapes(aus)
        situation = obj.get("situation", "")
        au_text = obj.get("au_text") or facs.describe(aus)
        if not isinstance(situation, str) or not isinstance(au_text, str):
            raise ValueError("'situation' and 'au_text' must be strings")
        emotions = obj.get("emotions", {}) or {}
        if not isinstance(emotions, dict):
            raise ValueError("'emotions' must map category names to intensities")
        emotions = {str(k): facs.parse_intensity(v, f"Intensity of emotion {k}") for k, v in emotions.items()}
    except (ValueError, TypeError) as error:
        message = str(error).rstrip(".")
        raise TeadFormatError(f"{where}: {message}.") from None
    return TeadSample(transcript.strip(), [t.strip() for t in tags], aus, au_text, situation.strip(),
                      blendshapes.astype(np.float32), emotions)


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, dict]]:
    """Decoded objects of a JSONL file with their line numbers; blank lines are skipped."""
    path = Path(path)
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8").strip()
                if line:
                    yield number, json.loads(line)
            except (UnicodeDecodeError, json.JSONDecodeError) as error:
                raise TeadFormatError(f"{path}:{number}: not a valid UTF-8 JSON line ({error}).") from None


def read_jsonl(path: str | Path) -> list[TeadSample]:
    """All samples of a TEAD JSONL file."""
    return [sample_from_json(obj, f"{path}:{number}") for number, obj in iter_jsonl(path)]


def read_csv(path: str | Path) -> list[TeadSample]:
    """A user's TEAD as CSV: ``transcript`` (or ``text``), ``tags`` (``;`` or ``,``), ``aus``
    (``"1B+4+15"`` or JSON), optional ``situation``/``au_text``, and optional blendshapes as 52
    named columns or one JSON ``blendshapes`` column."""
    path = Path(path)
    samples = []
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            columns = set(reader.fieldnames or ())
            named = [n for n in arkit.BLENDSHAPE_NAMES if n in columns]
            if named and len(named) != arkit.NUM_BLENDSHAPES:
                missing = sorted(set(arkit.BLENDSHAPE_NAMES) - columns)
                raise TeadFormatError(f"{path}: blendshape columns are incomplete; missing {', '.join(missing[:5])}.")
            for number, row in enumerate(reader, start=2):
                where = f"{path}:{number}"
                obj: dict = {"transcript": row.get("transcript") or row.get("text") or ""}
                for key in ("tags", "situation", "au_text", "emotions"):
                    if row.get(key):
                        obj[key] = _maybe_json(row[key]) if key == "emotions" else row[key]
                if row.get("aus"):
                    obj["aus"] = _maybe_json(row["aus"])
                if named:
                    obj["blendshapes"] = {n: _number(row[n], where, n) for n in named}
                elif row.get("blendshapes"):
                    obj["blendshapes"] = _maybe_json(row["blendshapes"])
                samples.append(sample_from_json(obj, where))
    except UnicodeDecodeError:
        raise TeadFormatError(f"{path}: not UTF-8 text; save the CSV as UTF-8.") from None
    return samples


def _maybe_json(text: str) -> object:
    text = text.strip()
    if text.startswith(("{", "[")):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            pass
    return text


def _number(text: str, where: str, column: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise TeadFormatError(f"{where}: column {column} holds {text!r}, not a number.") from None


def read_samples(path: str | Path, split: str = "train") -> list[TeadSample]:
    """A TEAD directory's split, or a single ``.jsonl`` / ``.csv`` file."""
    path = Path(path)
    if path.is_dir():
        if split not in SPLITS:
            raise TeadFormatError(f"Unknown split {split!r}; TEAD has {', '.join(SPLITS)}.")
        file = path / f"{split}.jsonl"
        if not file.exists():
            raise TeadFormatError(f"{path} is not a TEAD directory: {file.name} is missing.")
        return read_jsonl(file)
    if not path.exists():
        raise TeadFormatError(f"{path} does not exist; give a TEAD directory, a .jsonl or a .csv file.")
    if path.suffix.lower() == ".jsonl":
        return read_jsonl(path)
    if path.suffix.lower() == ".csv":
        return read_csv(path)
    raise TeadFormatError(f"{path}: unknown TEAD file type; accepted are a directory, .jsonl and .csv.")


def read_meta(directory: str | Path) -> dict:
    """``meta.json`` of a TEAD directory, checked for format and version."""
    path = Path(directory) / "meta.json"
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise TeadFormatError(f"{path}: cannot read TEAD metadata ({error}).") from None
    if meta.get("format") != FORMAT_NAME or meta.get("version") != FORMAT_VERSION:
        raise TeadFormatError(
            f"{path}: format {meta.get('format')!r} version {meta.get('version')!r} is not TEAD version {FORMAT_VERSION}."
        )
    return meta


def write_jsonl_atomic(path: Path, samples: Iterable[TeadSample]) -> int:
    """Write samples to ``path`` through a hidden partial file moved into place; returns the count."""
    count = 0
    with replace_when_done(path) as partial, partial.open("w", encoding="utf-8") as handle:
        for sample in samples:
            handle.write(json.dumps(sample.to_json(), ensure_ascii=False) + "\n")
            count += 1
        handle.flush()
        os.fsync(handle.fileno())
    return count


def write_tead(directory: str | Path, train: Sequence[TeadSample], test: Sequence[TeadSample], meta: dict) -> Path:
    """Write a TEAD directory; ``meta.json`` is written last, so its presence marks a complete build."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "meta.json").unlink(missing_ok=True)
    write_jsonl_atomic(directory / "train.jsonl", train)
    write_jsonl_atomic(directory / "test.jsonl", test)
    full = {"format": FORMAT_NAME, "version": FORMAT_VERSION, **meta, "counts": {"train": len(train), "test": len(test)}}
    write_text_atomic(directory / "meta.json", json.dumps(full, indent=2) + "\n")
    return directory


def split_by_seed(samples: Sequence[TeadSample], seed: int, test_share: float = 0.1) -> tuple[list, list]:
    """A seeded shuffle, then the first ``test_share`` of it is the test split."""
    order = np.random.default_rng(seed).permutation(len(samples))
    n_test = int(round(len(samples) * test_share))
    return [samples[i] for i in order[n_test:]], [samples[i] for i in order[:n_test]]


TextTransform = Callable[[str, np.random.Generator], str]
# Blendshape transforms also get the drawn text, so they can avoid changes the text contradicts.
BlendshapeTransform = Callable[[np.ndarray, np.random.Generator, str], np.ndarray]


class TeadDataset(Dataset):
    """TEAD for training: each item is one text drawn from {transcript, tags, situation, AU text}.

    Items are ``(text, blendshapes)`` with blendshapes a float32 tensor of shape (52,). The draw
    (and any augmentation) uses a generator seeded by ``(seed, epoch, index)``, so an epoch is the
    same whichever worker loads it; call :meth:`set_epoch` to get fresh draws.
    """

    def __init__(
        self,
        samples: Sequence[TeadSample],
        sources: Sequence[str] = TEXT_SOURCES,
        weights: Sequence[float] | None = None,
        seed: int = 0,
        text_transform: TextTransform | None = None,
        blendshape_transform: BlendshapeTransform | None = None,
    ) -> None:
        unknown = [s for s in sources if s not in TEXT_SOURCES]
        if unknown or not sources:
            raise ValueError(f"Text sources must be chosen from {', '.join(TEXT_SOURCES)}; got {list(sources)}.")
        probabilities = np.ones(len(sources)) if weights is None else np.asarray(weights, dtype=np.float64)
        if probabilities.shape != (len(sources),) or (probabilities < 0).any() or probabilities.sum() <= 0:
            raise ValueError("Source weights must be one non-negative number per source, not all zero.")
        self.samples = list(samples)
        self.sources = tuple(sources)
        self.probabilities = probabilities / probabilities.sum()
        self.seed = seed
        self.epoch = 0
        self.text_transform = text_transform
        self.blendshape_transform = blendshape_transform

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[str, torch.Tensor]:
        sample = self.samples[index]
        rng = np.random.default_rng([self.seed, self.epoch, index])
        source = self.sources[rng.choice(len(self.sources), p=self.probabilities)]
        text = sample.text(source) or sample.transcript
        weights = sample.blendshapes
        if self.text_transform is not None:
            text = self.text_transform(text, rng)
        if self.blendshape_transform is not None:
            weights = self.blendshape_transform(weights, rng, text)
        return text, torch.from_numpy(np.ascontiguousarray(weights, dtype=np.float32))
