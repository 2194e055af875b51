"""BEAT (the paper's data) → talking clips: English speech with 52-D ARKit weights, at 30 fps.

BEAT v0.2.1 (PantoMatrix, ``beat_english_v0.2.1/<speaker id>/``) holds per take ``<take>.wav`` (16 kHz),
``<take>.json`` (ARKit blendshape weights at 60 fps), ``.bvh``, ``.TextGrid`` (words), ``.txt`` and
``.csv``. A take is named ``<speaker id>_<name>_<type>_<start>_<end>``, e.g. ``2_scott_0_65_65``:
recording type 0 English speech, 1 English conversation (2-7: Chinese, Spanish, Japanese speech and
conversation); for English speech the sequence number gives the acted emotion (1-64 neutral, 65-72
happiness, 73-80 anger, 81-86 sadness, 87-94 contempt, 95-102 surprise, 103-110 fear, 111-118
disgust); conversations are neutral. The face JSON is::

    {"names": ["browDownLeft", ...], "frames": [{"time": 0.0, "weights": [...], "rotation": [...]}, ...]}

with the names in the order of the weights (BEAT has 51, without ``tongueOut``, which stays 0 here).
Names are matched case-insensitively (:func:`head.arkit.canonical_name`); others (head rotation)
are ignored and listed in ``meta.json``. Without ``names``, 52 weights are read in the project's
(alphabetical) order and 51 in the same order without ``tongueOut``.

Each take's weights are interpolated linearly at the 30 fps instants ``k / 30`` (``k <
num_frames(audio)``, see :mod:`expclip.audio`) using the frames' own ``time`` stamps (a first stamp
beyond one second is taken for a capture clock and subtracted). A face track that ends up to 0.5 s
before the audio holds its last frame; one that ends earlier cuts the audio. Long takes (the
conversations last about ten minutes) are cut into pieces of at most ``max_clip_seconds`` at
multiples of 0.1 s, where audio samples and frames coincide exactly.

Splits (whole takes, so test speech never shares a take with training): ``official`` (default) puts
BEAT's own test takes in ``test`` (``0_1``-``0_8``, the first take of each emotion, ``0_65`` ...
``0_111``, and ``1_1``; for the one-hour speakers ``0_1``-``0_4`` and the same emotion takes whole,
where BEAT uses their first halves) and the rest, BEAT's validation takes included, in ``train``;
``speakers`` holds out whole speakers (``test_speakers``); ``random`` sends ``test_share`` of the
takes to ``test`` by a hash of their name. Unreadable takes are listed in ``meta.json`` and skipped;
the build resumes after a kill.

    python -m train.talking beat --source ~/data/beat_english_v0.2.1 --out data/talking-beat
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from expclip.audio import SAMPLE_RATE, AudioError, load_speech, num_frames
from expclip.clips import SPLITS, ClipRecord, add_clip, read_meta, read_records, write_meta
from head import arkit
from head.files import drop_torn_line

BEAT_EMOTIONS = ("neutral", "happiness", "anger", "sadness", "contempt", "surprise", "fear", "disgust")
_EMOTION_BLOCKS = ((0, 64, 0), (65, 72, 1), (73, 80, 2), (81, 86, 3), (87, 94, 4), (95, 102, 5), (103, 110, 6),
                   (111, 118, 7))
RECORDING_TYPES = {0: ("english", "speech"), 1: ("english", "conversation"), 2: ("chinese", "speech"),
                   3: ("chinese", "conversation"), 4: ("spanish", "speech"), 5: ("spanish", "conversation"),
                   6: ("japanese", "speech"), 7: ("japanese", "conversation")}
FOUR_HOUR_SPEAKERS = frozenset({1, 2, 3, 4, 6, 7, 8, 9, 11, 21})
_OFFICIAL_TEST = {"4h": {(0, n) for n in range(1, 9)}, "1h": {(0, n) for n in range(1, 5)}}
for _group in _OFFICIAL_TEST.values():
    _group.update({(0, n) for n in (65, 73, 81, 87, 95, 103, 111)} | {(1, 1)})
_TAKE = re.compile(r"^(\d+)_([A-Za-z]+)_(\d+)_(\d+)_(\d+)$")
MAX_HOLD_SECONDS = 0.5
SOURCE_FPS = 60.0


class BeatError(ValueError):
    """A BEAT file that cannot be converted; the message names it and the problem."""


@dataclass(frozen=True)
class BeatTake:
    """What a take's name says: ``2_scott_0_65_65`` → speaker 2 (scott), English speech, happiness."""

    stem: str
    speaker_id: int
    speaker_name: str
    recording_type: int
    start: int
    end: int

    @property
    def speaker(self) -> str:
        return f"{self.speaker_id}_{self.speaker_name}"

    @property
    def language(self) -> str:
        return RECORDING_TYPES.get(self.recording_type, ("unknown", ""))[0]

    @property
    def scenario(self) -> str:
        return RECORDING_TYPES.get(self.recording_type, ("", "unknown"))[1]

    @property
    def emotion_id(self) -> int | None:
        """BEAT's emotion id 0-7, or None where the name does not tell (speech in other languages)."""
        if self.scenario == "conversation":
            return 0
        if self.recording_type != 0:
            return None
        for low, high, emotion in _EMOTION_BLOCKS:
            if low <= self.start <= high:
                return emotion
        return None

    @property
    def emotion(self) -> str:
        emotion = self.emotion_id
        return "" if emotion is None else BEAT_EMOTIONS[emotion]

    def official_split(self) -> str:
        group = "4h" if self.speaker_id in FOUR_HOUR_SPEAKERS else "1h"
        return "test" if (self.recording_type, self.start) in _OFFICIAL_TEST[group] else "train"


def parse_take(stem: str) -> BeatTake | None:
    """The take a BEAT file name describes, or None for names that are not BEAT takes."""
    match = _TAKE.match(stem)
    if not match:
        return None
    speaker_id, name, kind, start, end = match.groups()
    return BeatTake(stem, int(speaker_id), name.lower(), int(kind), int(start), int(end))


@dataclass
class FaceTrack:
    """A take's face: ``weights (T, 52)`` at ``times (T,)`` seconds, plus the names not used."""

    weights: np.ndarray
    times: np.ndarray
    ignored: tuple[str, ...]
    missing: tuple[str, ...]

    @property
    def fps(self) -> float:
        steps = np.diff(self.times)
        return float(1.0 / np.median(steps)) if len(steps) else SOURCE_FPS

    @property
    def seconds(self) -> float:
        """How long the track lasts: its last stamp plus one frame."""
        return float(self.times[-1] + 1.0 / self.fps) if len(self.times) else 0.0


def _columns(names: Sequence[str] | None, count: int, where: str) -> tuple[list[int | None], list[str], list[str]]:
    """For each weight column, its index among the 52 (None: ignored); plus ignored and missing names."""
    if names is None:
        order = arkit.BLENDSHAPE_NAMES if count == arkit.NUM_BLENDSHAPES else tuple(
            n for n in arkit.BLENDSHAPE_NAMES if n != "tongueOut")
        if count != len(order):
            raise BeatError(f"{where} has {count} weights per frame and no 'names'; without names only 52 (ARKit) or "
                            "51 (BEAT, no tongueOut) weights in alphabetical order can be read.")
        names = order
    if len(names) != count:
        raise BeatError(f"{where} names {len(names)} blendshapes but has {count} weights per frame.")
    columns, ignored = [], []
    for name in names:
        try:
            columns.append(arkit.INDEX[arkit.canonical_name(str(name))])
        except arkit.BlendshapeError:
            columns.append(None)
            ignored.append(str(name))
    found = {c for c in columns if c is not None}
    if not found:
        raise BeatError(f"{where} names none of the 52 ARKit blendshapes (e.g. {', '.join(map(str, names[:3]))}).")
    missing = [arkit.BLENDSHAPE_NAMES[i] for i in range(arkit.NUM_BLENDSHAPES) if i not in found]
    return columns, ignored, missing


def read_face_json(path: str | Path) -> FaceTrack:
    """A BEAT face JSON → :class:`FaceTrack` (weights in the project's order, 0 for names it lacks)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BeatError(f"{path.name} is not readable JSON ({type(error).__name__}).") from None
    frames = data.get("frames") if isinstance(data, dict) else None
    if not isinstance(frames, list) or not frames:
        raise BeatError(f"{path.name} has no 'frames' list; BEAT face files hold {{'names': [...], 'frames': "
                        "[{'time': t, 'weights': [...]}, ...]}.")
    try:
        raw = np.asarray([frame["weights"] for frame in frames], np.float64)
        times = np.asarray([frame.get("time", np.nan) for frame in frames], np.float64)
    except (KeyError, TypeError, ValueError):
        raise BeatError(f"{path.name} has frames without a list of numbers under 'weights'.") from None
    if raw.ndim != 2:
        raise BeatError(f"{path.name} has frames with different numbers of weights.")
    if not np.all(np.isfinite(raw)):
        raise BeatError(f"{path.name} has NaN or infinite weights.")
    columns, ignored, missing = _columns(data.get("names"), raw.shape[1], path.name)
    weights = np.zeros((len(raw), arkit.NUM_BLENDSHAPES), np.float64)
    for source, target in enumerate(columns):
        if target is not None:
            weights[:, target] = raw[:, source]
    if not np.all(np.isfinite(times)):
        times = np.arange(len(raw)) / SOURCE_FPS  # no stamps: BEAT's nominal 60 fps
    order = np.argsort(times, kind="stable")
    times, weights = times[order], weights[order]
    keep = np.concatenate([[True], np.diff(times) > 0])  # a repeated stamp keeps its first frame
    times, weights = times[keep], weights[keep]
    if times[0] > 1.0:
        times = times - times[0]
    return FaceTrack(np.clip(weights, 0.0, 1.0).astype(np.float32), times, tuple(ignored), tuple(missing))


def resample(track: FaceTrack, frames: int, fps: float = 30.0) -> np.ndarray:
    """The track's weights at the instants ``k / fps``, ``k < frames`` (linear; the ends are held): ``(frames, 52)``."""
    instants = np.arange(frames) / fps
    if len(track.times) == 1:
        return np.repeat(track.weights, frames, axis=0)
    upper = np.clip(np.searchsorted(track.times, instants, side="right"), 1, len(track.times) - 1)
    lower = upper - 1
    span = track.times[upper] - track.times[lower]
    t = np.clip((instants - track.times[lower]) / span, 0.0, 1.0)[:, None]
    return (track.weights[lower] * (1 - t) + track.weights[upper] * t).astype(np.float32)


def read_words(path: Path, start: float = 0.0, stop: float = float("inf")) -> str:
    """The words of a Praat TextGrid (long text format) whose intervals start in [start, stop)."""
    if not path.is_file():
        return ""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    words = []
    for xmin, mark in re.findall(r'xmin\s*=\s*([-\d.eE+]+)\s*\n\s*xmax\s*=\s*[-\d.eE+]+\s*\n\s*text\s*=\s*"((?:[^"]|"")*)"',
                                 text):
        mark = mark.replace('""', '"').strip()
        if mark and start <= float(xmin) < stop:
            words.append(mark)
    return " ".join(words)


def _choose_split(take: BeatTake, split: str, test_speakers: Sequence[int], test_share: float) -> str:
    if split == "official":
        return take.official_split()
    if split == "speakers":
        return "test" if take.speaker_id in set(test_speakers) else "train"
    digest = int(hashlib.sha1(take.stem.encode()).hexdigest()[:8], 16)
    return "test" if digest / 0xFFFFFFFF < test_share else "train"


def _pieces(samples: int, max_clip_seconds: float | None) -> list[tuple[int, int]]:
    """Sample ranges of at most ``max_clip_seconds``, cut at multiples of 1600 samples (0.1 s = 3 frames)."""
    if not max_clip_seconds or samples <= max_clip_seconds * SAMPLE_RATE:
        return [(0, samples)]
    step = max(1, int(max_clip_seconds * 10)) * 1600
    count = -(-samples // step)
    step = -(-samples // count // 1600) * 1600  # equal pieces, still on 0.1 s boundaries
    return [(a, min(samples, a + step)) for a in range(0, samples, step)]


def convert_take(json_path: Path, wav_path: Path) -> tuple[np.ndarray, np.ndarray, FaceTrack, dict]:
    """One take → (audio ``(S,)`` 16 kHz, weights ``(num_frames(S), 52)`` at 30 fps, face track, notes)."""
    track = read_face_json(json_path)
    audio = load_speech(wav_path, max_seconds=3 * 3600)
    audio_seconds = len(audio) / SAMPLE_RATE
    notes = {"source_fps": round(track.fps, 3), "face_seconds": round(track.seconds, 3),
             "audio_seconds": round(audio_seconds, 3)}
    if track.seconds + MAX_HOLD_SECONDS < audio_seconds:
        keep = int(track.seconds * 10) * 1600  # cut the audio where the face ends, on a 0.1 s boundary
        if keep < 0.2 * SAMPLE_RATE:
            raise BeatError(f"{json_path.name} covers only {track.seconds:.2f} s of its {audio_seconds:.1f} s audio.")
        audio = audio[:keep]
        notes["audio_cut_to_face"] = True
    weights = resample(track, num_frames(len(audio)))
    return audio, weights, track, notes


def build_from_beat(source: str | Path, out: str | Path, split: str = "official", test_speakers: Sequence[int] = (),
                    test_share: float = 0.1, speakers: Sequence[int] | None = None,
                    languages: Sequence[str] = ("english",), max_clip_seconds: float | None = 60.0,
                    limit: int | None = None, progress: bool = True) -> dict:
    """Convert (or finish converting) the BEAT takes under ``source`` into clips in ``out``; returns the meta.

    Args:
        split: ``official``, ``speakers`` (``test_speakers`` held out) or ``random`` (``test_share``).
        speakers: speaker ids to keep (None: all). ``languages``: of the recording types to keep.
        max_clip_seconds: longer takes are cut into equal pieces (None: never).
        limit: convert at most this many takes (for a quick look).
    """
    source, out = Path(source), Path(out)
    if not source.is_dir():
        raise BeatError(f"{source} is not a folder; give BEAT's beat_english_v0.2.1 folder (or one speaker's folder).")
    if split not in ("official", "speakers", "random"):
        raise BeatError(f"Unknown split {split!r}; use official, speakers or random.")
    if split == "speakers" and not test_speakers:
        raise BeatError("The speakers split needs the test speakers' ids (e.g. --test-speakers 2 4).")
    languages = tuple(language.lower() for language in languages)
    takes: list[tuple[BeatTake, Path]] = []
    for path in sorted(source.rglob("*.json")):
        if any(part.startswith(".") for part in path.relative_to(source).parts):
            continue
        take = parse_take(path.stem)
        if take is None or take.language not in languages or (speakers is not None and take.speaker_id not in speakers):
            continue
        takes.append((take, path))
    if not takes:
        raise BeatError(f"{source} holds no BEAT takes ({'/'.join(languages)}, e.g. 2_scott_0_1_1.json beside "
                        "2_scott_0_1_1.wav).")
    takes = takes[:limit] if limit else takes
    out.mkdir(parents=True, exist_ok=True)
    existing: set[str] = set()  # clip ids already written (a killed build resumes piece by piece)
    done: dict[str, int] = {}
    pieces_of: dict[str, int] = {}
    for name in SPLITS:
        drop_torn_line(out / f"{name}.jsonl")
        if (out / f"{name}.jsonl").exists():
            for record in read_records(out, name):
                stem = record.extra.get("take", record.id)
                existing.add(record.id)
                done[stem] = done.get(stem, 0) + 1
                pieces_of[stem] = int(record.extra.get("pieces", 1))
    previous = read_meta(out) if (out / "meta.json").exists() else {}
    ignored, missing = set(previous.get("ignored_names", [])), set(previous.get("missing_names", []))
    skipped: list[str] = []
    for take, json_path in tqdm(takes, desc="BEAT takes", unit="take", disable=not progress):
        if take.stem in done and done[take.stem] >= pieces_of.get(take.stem, 1):
            continue
        relative = json_path.relative_to(source).as_posix()
        wav_path = json_path.with_suffix(".wav")
        if not wav_path.is_file():
            skipped.append(f"{relative}: no {wav_path.name} beside it")
            continue
        try:
            audio, weights, track, notes = convert_take(json_path, wav_path)
        except (BeatError, AudioError, OSError) as error:
            skipped.append(f"{relative}: {error}")
            continue
        ignored.update(track.ignored)
        missing.update(track.missing)
        chosen = _choose_split(take, split, test_speakers, test_share)
        ranges = _pieces(len(audio), max_clip_seconds)
        for index, (a, b) in enumerate(ranges):
            clip_id = take.stem if len(ranges) == 1 else f"{take.stem}-{index + 1:02d}"
            if clip_id in existing:
                continue
            first, stop = a * 3 // 1600, num_frames(b) if b == len(audio) else b * 3 // 1600
            record = ClipRecord(
                id=clip_id, audio="", weights="", frames=0, seconds=0.0, emotion=take.emotion, prompt=take.emotion,
                speaker=take.speaker, text=read_words(json_path.with_suffix(".TextGrid"), a / SAMPLE_RATE,
                                                      b / SAMPLE_RATE),
                source=f"beat:{relative}",
                extra={"take": take.stem, "piece": index + 1, "pieces": len(ranges), "start_seconds": a / SAMPLE_RATE,
                       "language": take.language, "scenario": take.scenario, "beat_emotion_id": take.emotion_id,
                       **notes},
            )
            add_clip(out, chosen, record, audio[a:b], weights[first:stop])
    write_meta(out, {"builder": "beat", "source": str(source), "split": split, "test_speakers": list(test_speakers),
                     "test_share": test_share, "speakers": None if speakers is None else list(speakers),
                     "languages": list(languages), "max_clip_seconds": max_clip_seconds, "takes": len(takes),
                     "ignored_names": sorted(ignored), "missing_names": sorted(missing),
                     "skipped_files": skipped})
    return read_meta(out)


def add_cli(subparsers) -> argparse.ArgumentParser:
    """Register ``beat`` on an argparse sub-parser set; the command's ``func(args)`` returns the meta dict."""
    parser = subparsers.add_parser(
        "beat", help="convert BEAT (English speakers' audio + 52-D ARKit JSON) into talking clips",
        description="Convert BEAT takes (<take>.wav + <take>.json at 60 fps) into clips at 30 fps; resumes when run "
                    "again.")
    parser.add_argument("--source", type=Path, required=True, help="BEAT's beat_english_v0.2.1 folder")
    parser.add_argument("--out", type=Path, required=True, help="clips directory to create or finish")
    parser.add_argument("--split", choices=("official", "speakers", "random"), default="official")
    parser.add_argument("--test-speakers", type=int, nargs="*", default=[], help="speaker ids for --split speakers")
    parser.add_argument("--test-share", type=float, default=0.1, help="share of takes for --split random")
    parser.add_argument("--speakers", type=int, nargs="*", default=None, help="keep only these speaker ids")
    parser.add_argument("--languages", nargs="*", default=["english"],
                        help="recording languages to keep (english, chinese, spanish, japanese)")
    parser.add_argument("--max-clip-seconds", type=float, default=60.0, help="cut longer takes into pieces (0: never)")
    parser.add_argument("--limit", type=int, default=None, help="convert at most this many takes")
    parser.add_argument("--quiet", action="store_true")
    parser.set_defaults(func=run_cli)
    return parser


def run_cli(args: argparse.Namespace) -> dict:
    if not 0 <= args.test_share < 1:
        raise BeatError("--test-share must be in [0, 1).")
    return build_from_beat(args.source, args.out, split=args.split, test_speakers=args.test_speakers,
                           test_share=args.test_share, speakers=args.speakers, languages=args.languages,
                           max_clip_seconds=args.max_clip_seconds or None, limit=args.limit,
                           progress=not args.quiet)
