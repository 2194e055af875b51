"""Speech in: reading recordings, their loudness envelope, and the audio front ends of the registry.

:func:`load_speech` turns anything ffmpeg reads (WAV, MP3, OGG, FLAC, M4A, a video's sound track; any
sample rate, stereo or mono) into ``(samples,)`` float32 at 16 kHz mono, or raises :class:`AudioError`
with one sentence. Silence is not an error: :func:`is_silent` and :func:`speech_envelope` tell it.

Frame alignment (the same everywhere in the project): animation frame ``k`` is the instant
``k / 30`` s, and a recording of ``S`` samples has ``num_frames(S) = floor(S * 30 / 16000 + 0.5)``
frames (``round`` with halves up), ``0 .. num_frames - 1``. Every audio feature of frame ``k`` and
:func:`speech_envelope` are centred on that instant; clip builders sample their weights there too.

Audio front ends (``list_encoders("audio")``; ``create_encoder(name, kind="audio")``), frozen
``nn.Module`` s with ``name``, ``dim``, ``fps`` (30.0), ``sample_rate`` (16000),
``num_frames(num_samples)`` and ``encode(samples (batch, samples) float32 at 16 kHz) → (batch,
num_frames(samples), dim)``:

* ``logmel`` (default, offline, no parameters): an 80-band log-mel spectrogram (25 ms Hann window,
  10 ms hop, 20-7600 Hz, frames centred on their time) read at three instants around each 30 fps frame
  (``k/30 - 10 ms``, ``k/30``, ``k/30 + 10 ms``, linear interpolation between the 100 fps frames) and
  stacked: ``dim = 240``. Levels are fixed, not per utterance: ``(max(dB, -60) + 20) / 20`` with dB =
  10·log10 of the mel power, so that speech recorded near -20 dBFS falls in about [-2, 2] and digital
  silence is exactly -2. Each frame depends only on the audio within ±35 ms of its instant, so a
  window cut at a multiple of 1600 samples (0.1 s, 3 frames) gives the same features as the whole clip
  except within two frames of its edges: windowed and streaming inference need no special case.
* ``wav2vec2``: the frozen ``Wav2Vec2Model`` of ``facebook/wav2vec2-base-960h`` (the paper's choice),
  from the Hugging Face cache or a local folder (``pretrained=`` or ``EXPCLIP_WAV2VEC2_WEIGHTS``),
  never downloaded here. Input is normalised per utterance (zero mean, unit variance, as its feature
  extractor does); its 50 fps hidden states (frame ``j`` centred on sample ``320 j + 200``) are
  interpolated linearly to the 30 fps instants: ``dim = 768``. Long inputs are encoded in 20 s pieces
  with 1 s of context on each side, so memory stays flat for a 10-minute file.
"""

from __future__ import annotations

import logging
import math
import os
import subprocess
from pathlib import Path

import numpy as np
import torch
from torch import nn

from expclip.encoders import EncoderUnavailable, _offline, register

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


def _ffmpeg() -> str:
    from render.video import ffmpeg_exe

    return ffmpeg_exe()


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
    command = [_ffmpeg(), "-nostdin", "-v", "error", "-i", str(path), "-t", f"{max_seconds + 1:.3f}",
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
    energy = np.concatenate([[0.0], np.cumsum(audio**2)])
    half = sample_rate / fps / 2
    centres = frame_centres(frames, fps, sample_rate)
    start = np.clip(np.round(centres - half).astype(np.int64), 0, len(audio))
    end = np.clip(np.round(centres + half).astype(np.int64), 0, len(audio))
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


# -------------------------------------------------------------------------------------- front ends


def _interpolate_frames(features: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """Read ``features (batch, n, dim)`` at fractional frame ``positions (frames,)`` (clamped to the
    ends, linear in between) → ``(batch, frames, dim)``."""
    n = features.shape[1]
    positions = positions.clamp(0, max(n - 1, 0))
    low = positions.floor().long().clamp(max=max(n - 1, 0))
    high = (low + 1).clamp(max=max(n - 1, 0))
    weight = (positions - low.to(positions.dtype)).to(features.dtype)[None, :, None]
    return features[:, low] * (1 - weight) + features[:, high] * weight


class FrozenAudioEncoder(nn.Module):
    """Base of the audio front ends: ``encode(samples)`` → ``(batch, num_frames(samples), dim)`` float32.

    ``samples`` is a ``(batch, samples)`` float32 tensor (or array) at 16 kHz; a ``(samples,)`` input gives
    ``(frames, dim)``.
    """

    name: str = ""
    dim: int = 0
    fps: float = FPS
    sample_rate: int = SAMPLE_RATE

    def num_frames(self, num_samples: int) -> int:
        return num_frames(num_samples, self.fps, self.sample_rate)

    @property
    def device(self) -> torch.device:
        for tensor in (*self.parameters(), *self.buffers()):
            return tensor.device
        return torch.device("cpu")

    def _encode(self, samples: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    @torch.no_grad()
    def encode(self, samples: torch.Tensor | np.ndarray) -> torch.Tensor:
        samples = torch.as_tensor(samples, dtype=torch.float32)
        single = samples.ndim == 1
        if single:
            samples = samples[None]
        if samples.ndim != 2:
            raise ValueError(f"Audio for {self.name} has shape {tuple(samples.shape)}; give (batch, samples) at "
                             f"{self.sample_rate} Hz.")
        frames = self.num_frames(samples.shape[1])
        if frames == 0:
            out = torch.zeros(len(samples), 0, self.dim)
        else:
            out = self._encode(samples.to(self.device)).float()
        assert out.shape[1] == frames, (out.shape, frames)
        return out[0] if single else out


LOGMEL_BANDS = 80
LOGMEL_OFFSETS = (-1.0, 0.0, 1.0)  # read the 100 fps spectrogram 10 ms before, at and after each frame
LOGMEL_FLOOR_DB, LOGMEL_CENTRE_DB, LOGMEL_SCALE_DB = -60.0, -20.0, 20.0


@register("logmel", "audio", LOGMEL_BANDS * len(LOGMEL_OFFSETS),
          "80-band log-mel spectrogram (torchaudio), 3 stacked 10 ms readings per 30 fps frame (offline, default)")
class LogMelFrontEnd(FrozenAudioEncoder):
    name, dim = "logmel", LOGMEL_BANDS * len(LOGMEL_OFFSETS)
    hop = 160  # samples (10 ms)

    def __init__(self, pretrained: str | None = None) -> None:
        super().__init__()
        if pretrained is not None:
            raise EncoderUnavailable("The logmel audio front end has no weights; leave its weights option empty.")
        import torchaudio.transforms as T

        self.mel = T.MelSpectrogram(sample_rate=SAMPLE_RATE, n_fft=400, win_length=400, hop_length=self.hop,
                                    f_min=20.0, f_max=7600.0, n_mels=LOGMEL_BANDS, power=2.0, center=True,
                                    pad_mode="constant")

    def _encode(self, samples: torch.Tensor) -> torch.Tensor:
        power = self.mel(samples).transpose(1, 2)  # (batch, samples // 160 + 1, 80), frame j centred on 160 j
        db = 10 * torch.log10(power.clamp(min=1e-10))
        levels = (db.clamp(min=LOGMEL_FLOOR_DB) - LOGMEL_CENTRE_DB) / LOGMEL_SCALE_DB
        frames = self.num_frames(samples.shape[1])
        centres = torch.arange(frames, dtype=torch.float64, device=samples.device) * (SAMPLE_RATE / FPS / self.hop)
        return torch.cat([_interpolate_frames(levels, centres + offset) for offset in LOGMEL_OFFSETS], dim=-1)


W2V2_DEFAULT = "facebook/wav2vec2-base-960h"


@register("wav2vec2", "audio", 768, "frozen wav2vec 2.0 base (facebook/wav2vec2-base-960h, transformers), the "
          "paper's choice; needs its weights")
class Wav2Vec2FrontEnd(FrozenAudioEncoder):
    name, dim = "wav2vec2", 768
    stride, receptive_field = 320, 400  # samples per hidden state, samples seen by the first one
    piece_seconds, context_seconds = 20.0, 1.0

    def __init__(self, pretrained: str | None = None) -> None:
        super().__init__()
        source = pretrained or os.environ.get("EXPCLIP_WAV2VEC2_WEIGHTS") or W2V2_DEFAULT
        local = Path(source).expanduser()
        is_path = local.exists() or source.startswith(("/", ".", "~"))
        if is_path and not (local / "config.json").is_file():
            raise EncoderUnavailable(f"No wav2vec 2.0 model folder at {source}; give a folder with config.json and "
                                     "the weights (as saved by transformers' save_pretrained).")
        try:
            import transformers
            from transformers import Wav2Vec2Model

            level = transformers.logging.get_verbosity()
            transformers.logging.set_verbosity_error()  # the CTC head of base-960h is dropped on purpose
            try:
                with _offline():
                    self.model = Wav2Vec2Model.from_pretrained(str(local) if is_path else source)
            finally:
                transformers.logging.set_verbosity(level)
        except (OSError, ValueError, ImportError) as error:
            raise EncoderUnavailable(
                f"wav2vec 2.0 weights '{source}' are not on this machine ({type(error).__name__}); fetch them once "
                f"with `huggingface-cli download {W2V2_DEFAULT}` or pass a local model folder (pretrained= or "
                "EXPCLIP_WAV2VEC2_WEIGHTS), or use the offline logmel front end."
            ) from None
        self.dim = int(self.model.config.hidden_size)

    def _hidden(self, samples: torch.Tensor) -> torch.Tensor:
        """Normalised ``(batch, samples)`` → 50 fps hidden states ``(batch, n, dim)``."""
        if samples.shape[1] < self.receptive_field:
            samples = nn.functional.pad(samples, (0, self.receptive_field - samples.shape[1]))
        return self.model(samples).last_hidden_state

    def _read(self, hidden: torch.Tensor, first_frame: int, frames: int) -> torch.Tensor:
        """Hidden states of a piece that starts at sample ``1600 * m`` → 30 fps frames ``first_frame ..``
        counted from the piece's start."""
        centres = (torch.arange(first_frame, first_frame + frames, dtype=torch.float64, device=hidden.device)
                   * (SAMPLE_RATE / FPS))
        return _interpolate_frames(hidden, (centres - self.receptive_field / 2) / self.stride)

    def _encode(self, samples: torch.Tensor) -> torch.Tensor:
        total, frames = samples.shape[1], self.num_frames(samples.shape[1])
        samples = (samples - samples.mean(1, keepdim=True)) / (samples.std(1, keepdim=True) + 1e-7)  # whole utterance
        piece, context = int(self.piece_seconds * 10) * 1600, int(self.context_seconds * 10) * 1600
        if total <= piece + 2 * context:
            return self._read(self._hidden(samples), 0, frames)
        out = []
        for start in range(0, total, piece):  # starts at multiples of 1600 samples = 3 frames
            first = start * 3 // 1600
            last = min(frames, (start + piece) * 3 // 1600)
            if first >= last:
                break
            lo = max(0, start - context)
            hidden = self._hidden(samples[:, lo:min(total, start + piece + context)])
            out.append(self._read(hidden, first - lo * 3 // 1600, last - first))
        return torch.cat(out, dim=1)
