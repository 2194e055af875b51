"""Frozen text features cached on disk, keyed by encoder and text, so epochs never re-encode.

One store per encoder under ``CACHE/ENCODER/``: ``features.f16`` (rows of float16, appended) and
``index.jsonl`` (one ``{"sha1": ..., "row": n}`` per line, appended after its row is written).
A crash can only leave rows without index lines, which the next run overwrites.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from expclip.encoders import FrozenTextEncoder


def text_key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


class FeatureCache:
    """``features(texts)`` → (N, dim) float16 rows, encoding only texts not seen before."""

    def __init__(self, root: str | Path, encoder: FrozenTextEncoder, weights_id: str = "") -> None:
        name = encoder.name + (f"-{text_key(weights_id)[:8]}" if weights_id else "")
        self.dir = Path(root) / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.encoder = encoder
        self.dim = encoder.dim
        self.rows: dict[str, int] = {}
        self.encoded = 0  # texts this object has encoded (the rest came from the cache)
        index = self.dir / "index.jsonl"
        if index.exists():
            for line in index.read_text(encoding="utf-8").splitlines():
                try:
                    entry = json.loads(line)
                    self.rows[entry["sha1"]] = entry["row"]
                except (json.JSONDecodeError, KeyError):
                    break  # a line torn by a crash: everything after it is re-encoded
        self._data_path = self.dir / "features.f16"

    def _matrix(self) -> np.ndarray:
        if not self._data_path.exists():
            return np.zeros((0, self.dim), dtype=np.float16)
        return np.memmap(self._data_path, dtype=np.float16, mode="r").reshape(-1, self.dim)

    def features(self, texts: Sequence[str], batch_size: int = 256, progress: bool = True) -> np.ndarray:
        keys = [text_key(t) for t in texts]
        missing = sorted(dict.fromkeys(t for t, k in zip(texts, keys) if k not in self.rows), key=len)
        if missing:
            self._encode(missing, batch_size, progress)
        matrix = self._matrix()
        return np.asarray(matrix[[self.rows[k] for k in keys]])

    def _encode(self, texts: list[str], batch_size: int, progress: bool) -> None:
        """Append features of ``texts`` (sorted by length, so batches carry little padding)."""
        from tqdm import tqdm

        start = len(self.rows)
        with self._data_path.open("r+b" if self._data_path.exists() else "wb") as data, \
                (self.dir / "index.jsonl").open("a", encoding="utf-8") as index:
            data.seek(start * self.dim * 2)
            for offset in tqdm(range(0, len(texts), batch_size), desc=f"caching {self.encoder.name} features",
                               unit="batch", disable=not progress):
                chunk = texts[offset:offset + batch_size]
                features = self.encoder.encode(chunk, batch_size=batch_size).numpy().astype(np.float16)
                data.write(features.tobytes())
                data.flush()
                os.fsync(data.fileno())
                for i, text in enumerate(chunk):
                    row = start + offset + i
                    self.rows[text_key(text)] = row
                    index.write(json.dumps({"sha1": text_key(text), "row": row}) + "\n")
                index.flush()
                self.encoded += len(chunk)
