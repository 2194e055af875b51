"""Speech in: reading recordings, their loudness envelope and the frame alignment.

:func:`load_speech` turns anything ffmpeg reads (WAV, MP3, OGG, FLAC, M4A, a video's sound track; any
sample rate, stereo or mono) into ``(samples,)`` float32 at 16 kHz mono, or raises :class:`AudioError`
with one sentence. Silence is not an error: :func:`is_silent` and :func:`speech_envelope` tell it.

Frame alignment (the same everywhere in the project): animation frame ``k`` is the instant
``k / 30`` s, and a recording of ``S`` samples has ``num_frames(S) = floor(S * 30 / 16000 + 0.5)``
frames (``round`` with halves up), ``0 .. num_frames - 1``. Every audio feature of frame ``k`` and
:func:`speech_envelope` are centred on that instant; clip builders sample their weights there too.

The audio front ends of the encoder registry (``logmel``, ``wav2vec2``) are in
:mod:`expclip.encoders.audio`.
"""

from __future__ import annotations

import logging
import math
import subprocess
from pathlib import Path

import numpy as np
import torch

from head.media import ffmpeg_exe

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
FPS = 30.0
MIN_SECONDS = 0.2
MAX_SECONDS = 15 * 60.0
SILENCE_DB = -45.0  # a frame whose RMS stays below this (dBFS) carries no speech
_FLOOR_DB = -100.0
ACCEPTED = "WAV, MP3, OGG, FLAC, M4A/AAC or a video with a sound track"


class AudioError(ValueError):
    """A recording that cannot be used as speech; the message names the file and what is accepted."""


def num_frames(num_samples: int, fps: float = FPS, sample_rate: int = SAMPLE_RATE) -> int:
    """Frames of a recording: ``floor(num_samples * fps / sample_rate + 0.5)``."""
    if fps == FPS and sample_rate == SAMPLE_RATE:  # exact integer arithmetic for the project's rates
        return (int(num_samples) * 3 + 800) // 1600
    return math.floor(num_samples * fps / sample_rate + 0.5)


def frame_centres(frames: int, fps: float = FPS, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """The sample position of each frame's instant, ``k * sample_rate / fps``: ``(frames,)`` float64."""
    return np.arange(frames) * (sample_rate / fps)


# ---------------------------------------------------------------------------------------------- reading


def _describe(path: Path) -> str:
    return f"{path.name}" if len(str(path)) > 80 else str(path)


def prepare_speech(samples: np.ndarray, sample_rate: int, max_seconds: float = MAX_SECONDS,
                   name: str = "The recording") -> np.ndarray:
    """An array already in memory (``(samples,)`` or ``(samples, channels)``, any rate, int or float)
    → ``(samples,)`` float32 at 16 kHz mono, with the same checks as :func:`load_speech`."""
    audio = np.asarray(samples)
    if audio.ndim == 2:
        audio = audio.mean(axis=1 if audio.shape[1] <= 8 else 0)  # (samples, channels) or (channels, samples)
    if audio.ndim != 1:
        raise AudioError(f"{name} has shape {audio.shape}; give samples as (samples,) or (samples, channels).")
    if np.issubdtype(audio.dtype, np.integer):
        audio = audio.astype(np.float32) / float(np.iinfo(audio.dtype).max + 1)
    audio = audio.astype(np.float32)
    if not np.all(np.isfinite(audio)):
        raise AudioError(f"{name} contains NaN or infinite samples; audio samples must be finite numbers.")
    if sample_rate <= 0:
        raise AudioError(f"{name} has a sample rate of {sample_rate} Hz; give a positive rate such as 16000.")
    seconds = len(audio) / sample_rate
    _check_length(seconds, max_seconds, name)
    if sample_rate != SAMPLE_RATE:
        import torchaudio.functional as F

        audio = F.resample(torch.from_numpy(audio), int(sample_rate), SAMPLE_RATE).numpy()
    return np.clip(audio, -1.0, 1.0)


def _check_length(seconds: float, max_seconds: float, name: str) -> None:
    if seconds <= 0:
        raise AudioError(f"{name} holds no audio samples; give a recording of speech ({ACCEPTED}).")
    if seconds < MIN_SECONDS:
        raise AudioError(f"{name} lasts only {seconds:.2f} s; speech needs at least {MIN_SECONDS:.1f} s.")
    if seconds > max_seconds:
        raise AudioError(f"{name} lasts more than {_limit(max_seconds)}, the limit; cut it into shorter parts "
                         "or raise the limit (max_seconds).")


def _limit(seconds: float) -> str:
    if seconds >= 60 and seconds % 60 == 0:
        minutes = int(seconds // 60)
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{seconds:g} s"


def load_speech(path: str | Path, max_seconds: float = MAX_SECONDS) -> np.ndarray:
    """Any recording ffmpeg reads → ``(samples,)`` float32 in [-1, 1], 16 kHz mono.

    Stereo is averaged to mono and any sample rate is resampled (ffmpeg). At most ``max_seconds + 1`` s
    are decoded, so an over-long file fails fast. Raises :class:`AudioError` for a missing or empty
    file, a file that is not audio (or a video without sound), a corrupt file or unsupported codec, a
    recording shorter than :data:`MIN_SECONDS` or longer than ``max_seconds`` (default 15 minutes).
    """
    path = Path(path)
    name = _describe(path)
    if not path.exists():
        raise AudioError(f"Audio file {path} does not exist; give the path of a recording ({ACCEPTED}).")
    if path.is_dir():
        raise AudioError(f"{path} is a folder, not an audio file; give a recording ({ACCEPTED}).")
    if path.stat().st_size == 0:
        raise AudioError(f"Audio file {name} is empty (0 bytes); give a recording ({ACCEPTED}).")
    command = [ffmpeg_exe(), "-nostdin", "-v", "error", "-i", str(path), "-t", f"{max_seconds + 1:.3f}",
               "-vn", "-sn", "-dn", "-ac", "1", "-ar", str(SAMPLE_RATE), "-f", "s16le", "-"]
    result = subprocess.run(command, capture_output=True, check=False)
    error = result.stderr.decode(errors="replace")
    if result.returncode != 0:
        lowered = error.lower()
        if "does not contain any stream" in lowered or "matches no streams" in lowered:
            raise AudioError(f"{name} has no sound track; give a recording with audio ({ACCEPTED}).")
        if "decoder" in lowered and ("not found" in lowered or "unknown" in lowered) or "unsupported codec" in lowered:
            raise AudioError(f"{name} uses an audio codec that this ffmpeg cannot decode; convert it to WAV, MP3 or "
                             "FLAC first.")
        if "invalid data found" in lowered or "could not find codec parameters" in lowered:
            raise AudioError(f"{name} is not a readable audio file (ffmpeg finds no audio in it); give a recording "
                             f"({ACCEPTED}).")
        last = error.strip().splitlines()[-1] if error.strip() else f"ffmpeg exit code {result.returncode}"
        raise AudioError(f"{name} could not be decoded as audio ({last}); give a recording ({ACCEPTED}).")
    samples = np.frombuffer(result.stdout, np.int16).astype(np.float32) / 32768.0
    if not len(samples):
        raise AudioError(f"{name} holds no audio samples (it may be truncated or corrupt); give a recording "
                         f"({ACCEPTED}).")
    if error.strip():
        log.warning("ffmpeg reported problems while decoding %s: %s", name, error.strip().splitlines()[-1])
    _check_length(len(samples) / SAMPLE_RATE, max_seconds, f"Audio file {name}")
    return samples


# -------------------------------------------------------------------------------------------- loudness


def speech_envelope(samples: np.ndarray, fps: float = FPS, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """RMS level per frame in dBFS (a full-scale sine is -3 dB; floor -100): ``(num_frames,)`` float32.

    Frame ``k`` measures the samples within half a frame of its instant ``k / fps``.
    """
    audio = np.asarray(samples, np.float64).reshape(-1)
    frames = num_frames(len(audio), fps, sample_rate)
    if frames == 0:
        return np.zeros(0, np.float32)
    return frame_level_db(audio, np.arange(frames), 0, fps, sample_rate)


def frame_level_db(audio: np.ndarray, frames: np.ndarray, offset: int = 0, fps: float = FPS,
                   sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """:func:`speech_envelope`'s level of the given ``frames (n,)`` from a buffer ``audio`` that starts at sample
    ``offset`` of the recording (a live stream keeps only its tail): ``(n,)`` float32 dBFS. The samples a frame
    reads must be in the buffer, except past its end (not heard yet, as past a recording's end)."""
    audio = np.asarray(audio, np.float64).reshape(-1)
    energy = np.concatenate([[0.0], np.cumsum(audio**2)])
    half = sample_rate / fps / 2
    centres = np.asarray(frames, np.float64) * (sample_rate / fps)  # frame_centres of those frames
    start = np.clip(np.round(centres - half).astype(np.int64) - offset, 0, len(audio))
    end = np.clip(np.round(centres + half).astype(np.int64) - offset, 0, len(audio))
    mean = (energy[end] - energy[start]) / np.maximum(end - start, 1)
    return np.maximum(10 * np.log10(np.maximum(mean, 1e-12)), _FLOOR_DB).astype(np.float32)


def normalise_envelope(envelope_db: np.ndarray, floor_db: float = -55.0, peak_db: float | None = None) -> np.ndarray:
    """dBFS levels → [0, 1]: 0 at or below ``floor_db``, 1 at ``peak_db`` (default: the clip's 95th
    percentile, so that loud and quiet recordings both span the range). Silence stays at 0."""
    envelope_db = np.asarray(envelope_db, np.float32)
    if not len(envelope_db):
        return envelope_db
    peak = float(np.percentile(envelope_db, 95)) if peak_db is None else peak_db
    peak = max(peak, floor_db + 10.0)
    return np.clip((envelope_db - floor_db) / (peak - floor_db), 0.0, 1.0).astype(np.float32)


def is_silent(samples: np.ndarray, threshold_db: float = SILENCE_DB) -> bool:
    """True when (almost) no frame is louder than ``threshold_db`` dBFS: fewer than 2 % of the frames,
    and none at all for clips shorter than 50 frames."""
    envelope = speech_envelope(samples)
    loud = int((envelope > threshold_db).sum())
    return loud < max(1, math.ceil(0.02 * len(envelope)))
