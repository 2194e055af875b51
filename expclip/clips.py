"""Talking clips: speech with its per-frame blendshape weights, the generator's one dataset format.

Every source of training data for the speech generator (the espeak-ng talking corpus, BEAT, videos
fitted frame by frame) is converted into this layout, and training reads nothing else::

    DIR/meta.json                       written last: what built it, fps, sample rate, clips per split
    DIR/train.jsonl, DIR/test.jsonl     one record per clip (see :class:`ClipRecord`)
    DIR/audio/<split>/<id>.wav          16 kHz mono 16-bit PCM
    DIR/weights/<split>/<id>.npy        (frames, 52) float16 weights at ``fps`` frames per second

Builders append records as they go (one fsynced line each, after the clip's files are complete), so
a killed build resumes where it stopped.
"""

from __future__ import annotations

import json
import wave
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from head import arkit
from head.files import append_json_line, read_json_lines, replace_when_done, write_text_atomic

SPLITS = ("train", "test")
FPS = 30.0
SAMPLE_RATE = 16_000


class ClipsError(ValueError):
    """A clips directory or clip that is missing or malformed."""


@dataclass
class ClipRecord:
    """One clip. ``audio`` and ``weights`` are relative to the dataset directory."""

    id: str
    audio: str
    weights: str
    frames: int
    seconds: float
    emotion: str = ""      # the clip's emotion label ("" when unknown), e.g. a TEAD category or BEAT's
    intensity: float = 0.0  # how strongly the emotion shows, 0-1 (0: unknown or neutral)
    prompt: str = ""       # a text describing the clip's expression (for evaluating text-driven style)
    speaker: str = ""      # a voice or person id
    text: str = ""         # what is said
    source: str = ""       # where it came from ("espeak", "beat:<file>", a video path)
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "ClipRecord":
        return cls(**data)


def clip_paths(split: str, clip_id: str) -> tuple[str, str]:
    """The relative (audio, weights) paths of a clip."""
    return f"audio/{split}/{clip_id}.wav", f"weights/{split}/{clip_id}.npy"


def write_wav(path: str | Path, samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> None:
    """Mono float samples in [-1, 1], ``(samples,)`` → 16-bit PCM WAV, written atomically."""
    pcm = (np.clip(np.asarray(samples, np.float32), -1.0, 1.0) * 32767.0).astype("<i2")
    with replace_when_done(path) as partial:
        with wave.open(str(partial), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(sample_rate)
            out.writeframes(pcm.tobytes())


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """A 16-bit PCM WAV written by :func:`write_wav` → (float32 samples ``(samples,)``, sample rate)."""
    with wave.open(str(path), "rb") as src:
        if src.getsampwidth() != 2:
            raise ClipsError(f"{path} is not 16-bit PCM; clips hold 16-bit mono WAV files.")
        pcm = np.frombuffer(src.readframes(src.getnframes()), dtype="<i2")
        channels, rate = src.getnchannels(), src.getframerate()
    samples = pcm.reshape(-1, channels).mean(axis=1) / 32767.0
    return samples.astype(np.float32), rate


def add_clip(directory: str | Path, split: str, record: ClipRecord, samples: np.ndarray, weights: np.ndarray,
             sample_rate: int = SAMPLE_RATE) -> ClipRecord:
    """Write a clip's audio ``(samples,)`` and weights ``(frames, 52)``, then append its record.

    ``record.audio``, ``record.weights``, ``frames`` and ``seconds`` are filled in here.
    """
    root = Path(directory)
    weights = arkit.validate(np.asarray(weights, np.float32), what=f"Weights of clip {record.id}")
    if weights.ndim != 2:
        raise ClipsError(f"Weights of clip {record.id} have shape {weights.shape}; clips need (frames, 52).")
    record.audio, record.weights = clip_paths(split, record.id)
    record.frames = int(len(weights))
    record.seconds = round(len(samples) / sample_rate, 4)
    write_wav(root / record.audio, samples, sample_rate)
    with replace_when_done(root / record.weights) as partial, partial.open("wb") as fh:
        np.save(fh, weights.astype(np.float16))
    append_json_line(root / f"{split}.jsonl", record.to_json())
    return record


def read_records(directory: str | Path, split: str) -> list[ClipRecord]:
    """All complete records of one split (a line torn by a crash is dropped)."""
    path = Path(directory) / f"{split}.jsonl"
    if not path.is_file():
        raise ClipsError(f"{directory} has no {split}.jsonl; build clips with `python -m train.talking build` "
                         "(or convert BEAT or videos with `python -m train.talking beat|videos`).")
    records = []
    for data in read_json_lines(path):
        try:
            records.append(ClipRecord.from_json(data))
        except TypeError:
            continue
    return records


def load_weights(directory: str | Path, record: ClipRecord) -> np.ndarray:
    """A clip's weights, ``(frames, 52)`` float32."""
    return np.load(Path(directory) / record.weights).astype(np.float32)


def load_audio(directory: str | Path, record: ClipRecord) -> np.ndarray:
    """A clip's audio, ``(samples,)`` float32 at :data:`SAMPLE_RATE`."""
    samples, rate = read_wav(Path(directory) / record.audio)
    if rate != SAMPLE_RATE:
        raise ClipsError(f"{record.audio} is at {rate} Hz; clips hold {SAMPLE_RATE} Hz audio.")
    return samples


def write_meta(directory: str | Path, meta: dict) -> None:
    root = Path(directory)
    counts = {split: len(read_records(root, split)) for split in SPLITS if (root / f"{split}.jsonl").exists()}
    body = {"format": "expclip-clips", "version": 1, "fps": FPS, "sample_rate": SAMPLE_RATE, **meta,
            "clips": counts}
    write_text_atomic(root / "meta.json", json.dumps(body, indent=2) + "\n")


def read_meta(directory: str | Path) -> dict:
    path = Path(directory) / "meta.json"
    if not path.is_file():
        raise ClipsError(f"{directory} is not a finished clips build (no meta.json); run its build command again "
                         "to finish it.")
    return json.loads(path.read_text(encoding="utf-8"))
