"""Training windows of talking clips: (speech features, true frames) pairs of a fixed length.

The audio features of every clip are computed once with the frozen front end and kept in memory as
float16; each epoch draws ``windows_per_clip`` random windows of ``window`` frames from every clip
long enough, reproducibly from the seed and the epoch.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset
from tqdm import tqdm

from expclip import clips


class ClipFeatures:
    """The clips of one split with their audio features ``(frames, audio_dim)`` and weights ``(frames, 52)``."""

    def __init__(self, directory: str | Path, split: str, audio_encoder, limit: int = 0, progress: bool = True) -> None:
        self.directory = Path(directory)
        self.records = clips.read_records(directory, split)
        if limit:
            self.records = self.records[:limit]
        if not self.records:
            raise clips.ClipsError(f"{directory} has no {split} clips.")
        self.features: list[np.ndarray] = []
        self.weights: list[np.ndarray] = []
        for record in tqdm(self.records, desc=f"{split} audio features", unit="clip", disable=not progress):
            features = audio_encoder.encode(clips.load_audio(directory, record)).cpu().numpy()
            weights = clips.load_weights(directory, record)
            frames = min(len(features), len(weights))  # the two agree to a frame; never trust more than both have
            self.features.append(features[:frames].astype(np.float16))
            self.weights.append(weights[:frames])

    def __len__(self) -> int:
        return len(self.records)


class ClipWindows(Dataset):
    """Random fixed-length windows: item → (audio (window, audio_dim) float32, weights (window, 52) float32)."""

    def __init__(self, data: ClipFeatures, window: int, windows_per_clip: int = 1, seed: int = 0) -> None:
        self.data = data
        self.window = window
        self.long_enough = [i for i, w in enumerate(data.weights) if len(w) >= window]
        if not self.long_enough:
            raise clips.ClipsError(f"No clip in {data.directory} has {window} frames; lower `window` in the config.")
        self.windows_per_clip = windows_per_clip
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.long_enough) * self.windows_per_clip

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        clip = self.long_enough[index % len(self.long_enough)]
        rng = np.random.default_rng((self.seed, self.epoch, index))
        start = int(rng.integers(len(self.data.weights[clip]) - self.window + 1))
        stop = start + self.window
        return (torch.from_numpy(self.data.features[clip][start:stop].astype(np.float32)),
                torch.from_numpy(self.data.weights[clip][start:stop]))
