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

SPLIT_SEEDS = {"train": 0, "test": 1}


class ClipFeatures:
    """The clips of one split with their audio features ``(frames, audio_dim)`` and weights ``(frames, 52)``."""

    def __init__(self, directory: str | Path, split: str, audio_encoder, limit: int = 0, progress: bool = True,
                 room_noise: float = 0.0, seed: int = 0) -> None:
        self.directory = Path(directory)
        self.records = clips.read_records(directory, split)
        if limit:
            self.records = self.records[:limit]
        if not self.records:
            raise clips.ClipsError(f"{directory} has no {split} clips.")
        self.features: list[np.ndarray] = []
        self.weights: list[np.ndarray] = []
        for index, record in enumerate(tqdm(self.records, desc=f"{split} audio features", unit="clip",
                                            disable=not progress)):
            samples = clips.load_audio(directory, record)
            rng = np.random.default_rng((seed, SPLIT_SEEDS[split], index))
            if rng.random() < room_noise:
                samples = add_room_noise(samples, rng)
            features = audio_encoder.encode(samples).cpu().numpy()
            weights = clips.load_weights(directory, record)
            frames = min(len(features), len(weights))  # the two agree to a frame; never trust more than both have
            self.features.append(features[:frames].astype(np.float16))
            self.weights.append(weights[:frames])

    def __len__(self) -> int:
        return len(self.records)


class ClipWindows(Dataset):
    """Random fixed-length windows: item → (audio (window, audio_dim) float32, weights (window, 52) float32)."""

    def __init__(self, data: ClipFeatures, window: int, windows_per_clip: int = 1, seed: int = 0,
                 augment: bool = False) -> None:
        self.data = data
        self.window = window
        self.long_enough = [i for i, w in enumerate(data.weights) if len(w) >= window]
        if not self.long_enough:
            raise clips.ClipsError(f"No clip in {data.directory} has {window} frames; lower `window` in the config.")
        self.windows_per_clip = windows_per_clip
        self.seed = seed
        self.augment = augment
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
        features = self.data.features[clip][start:stop].astype(np.float32)
        if self.augment:
            features = augment_levels(features, rng)
        return torch.from_numpy(features), torch.from_numpy(self.data.weights[clip][start:stop])


def augment_levels(features: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A logmel window ``(frames, 3 · 80)`` as another microphone and room might give it: every band's level
    moved by one random gain (±10 dB), a spectral tilt (±6 dB from the lowest to the highest band) and two
    broad random bumps (±3 dB). Digital silence (the floor, -2) stays at the floor, and no level goes below it.
    Levels are ``(dB + 20) / 20`` (:mod:`expclip.encoders.audio`), so 1.0 is 20 dB."""
    from expclip.encoders.audio import LOGMEL_BANDS, LOGMEL_CENTRE_DB, LOGMEL_FLOOR_DB, LOGMEL_SCALE_DB

    floor = (LOGMEL_FLOOR_DB - LOGMEL_CENTRE_DB) / LOGMEL_SCALE_DB
    bands = np.linspace(-1.0, 1.0, LOGMEL_BANDS)
    offset_db = rng.uniform(-10, 10) + rng.uniform(-3, 3) * bands
    for _ in range(2):
        offset_db = offset_db + rng.uniform(-3, 3) * np.exp(-0.5 * ((bands - rng.uniform(-1, 1)) / 0.3) ** 2)
    offset = np.tile(offset_db / LOGMEL_SCALE_DB, features.shape[1] // LOGMEL_BANDS).astype(np.float32)
    silent = features <= floor + 1e-3
    return np.where(silent, features, np.maximum(features + offset, floor)).astype(np.float32)


def add_room_noise(samples: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """16 kHz ``samples (n,)`` as if recorded in a room: steady coloured noise (power ∝ 1/f^β, β ~ U[0, 2],
    white to brown, its lowest 60 Hz cut) at a signal-to-noise ratio ~ U[15, 45] dB against the speech's
    RMS (the frames within 30 dB of the loudest), and sometimes (a third of clips) mains hum at 50 or 60 Hz
    with two harmonics 10 dB under the noise. Synthetic voices pause in digital silence, which no microphone
    in a room records."""
    n = len(samples)
    if n < 400:
        return samples
    frames = samples[: n // 400 * 400].reshape(-1, 400).astype(np.float64)
    level = (frames ** 2).mean(axis=1)
    speech_power = level[level >= level.max() * 1e-3].mean() if level.max() > 0 else 1e-6
    spectrum = rng.standard_normal(n // 2 + 1) + 1j * rng.standard_normal(n // 2 + 1)
    freqs = np.fft.rfftfreq(n, 1 / 16000)
    spectrum *= np.where(freqs < 60, 0.0, np.maximum(freqs, 60) ** (-rng.uniform(0, 2) / 2))
    noise = np.fft.irfft(spectrum, n)
    noise_power = speech_power / 10 ** (rng.uniform(15, 45) / 10)
    noise *= np.sqrt(noise_power / max((noise ** 2).mean(), 1e-20))
    if rng.random() < 1 / 3:
        t = np.arange(n) / 16000
        mains, phase = rng.choice([50.0, 60.0]), rng.uniform(0, 2 * np.pi)
        hum = sum(np.sin(2 * np.pi * mains * k * t + phase * k) / k for k in (1, 2, 3))
        noise += hum * np.sqrt(0.1 * noise_power / max((hum ** 2).mean(), 1e-20))
    return (samples + noise).astype(np.float32)
