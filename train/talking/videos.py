"""Talking-face videos with sound → talking clips, each frame's 52 weights fitted to the face.

Any folder of videos (MEAD, your own recordings; ``.mp4 .avi .mov .mkv .webm .flv``) is searched
recursively. For each video:

* the sound is read with :func:`expclip.audio.load_speech`; a video without a sound track uses an
  audio file of the same name beside it (``.wav .m4a .mp3 .flac .aac .ogg``) or MEAD's companion
  (``M003/video/front/angry/level_1/001.mp4`` → ``M003/audio/angry/level_1/001.m4a``);
* OpenCV decodes the frames; source frame ``i`` is taken to show the instant ``i / fps`` (constant
  frame rate), and the 30 fps frame ``k`` (instant ``k / 30``, ``k < num_frames(audio)``) uses the
  source frame nearest to it, so 25, 30, 50 or 60 fps videos all come out at 30 fps;
* MediaPipe finds the face (:class:`expclip.landmarks.LandmarkDetector`) and the project's blendshape
  fitter (:func:`expclip.fitting.default_fitter`, SciPy SLSQP, as for MEAD-3D) turns its landmarks into
  weights, once per source frame used;
* frames without a usable face are filled by linear interpolation between their neighbours (the ends
  hold); a video with more than ``max_missing`` of its frames without a face is skipped and listed;
* the weights are smoothed over time (``smooth`` passes of a [1, 2, 1] / 4 filter, 1 by default:
  it removes landmark jitter and keeps a blink, which spans 3-5 frames);
* a video that ends more than 0.5 s before its sound cuts the sound (on a 0.1 s boundary).

Labels come from MEAD-like folder names through :func:`train.mead3d.media.parse_label`
(``angry/level_2`` → ``angry``, intensity 2/3; a folder named after a TEAD category works too); the
speaker is the MEAD actor id (``M003``, ``W015``) or the video's top folder. Whole videos go to one
split by a hash of their path. Unreadable videos are listed in ``meta.json``; the build resumes.

    python -m train.talking videos --source ~/MEAD --out data/talking-mead
"""

from __future__ import annotations

import argparse
import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from tqdm import tqdm

from expclip.audio import FPS, SAMPLE_RATE, AudioError, load_speech, num_frames
from expclip.clips import SPLITS, ClipRecord, add_clip, read_meta, read_records, write_meta
from head.files import drop_torn_line

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".flv")
AUDIO_SUFFIXES = (".wav", ".m4a", ".mp3", ".flac", ".aac", ".ogg")
MAX_HOLD_SECONDS = 0.5
_MEAD_ACTOR = re.compile(r"^[MW]\d{3}$")


class VideoError(ValueError):
    """A video that cannot be turned into a clip; the message names it and the problem."""


def companion_audio(path: Path) -> Path | None:
    """An audio file for a video without sound: same name beside it, or MEAD's ``audio/`` twin."""
    for suffix in AUDIO_SUFFIXES:
        if path.with_suffix(suffix).is_file():
            return path.with_suffix(suffix)
    parts = path.parts
    if "video" in parts:
        at = len(parts) - 1 - parts[::-1].index("video")
        if len(parts) - at >= 3:  # video/<view>/<emotion>/<level>/<name>: drop the camera view
            base = Path(*parts[:at], "audio", *parts[at + 2:])
            for suffix in AUDIO_SUFFIXES:
                if base.with_suffix(suffix).is_file():
                    return base.with_suffix(suffix)
    return None


def video_fps(path: Path) -> float:
    import cv2

    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise VideoError(f"{path.name} cannot be opened as a video.")
        fps = capture.get(cv2.CAP_PROP_FPS)
    finally:
        capture.release()
    return float(fps) if fps and 1.0 <= fps <= 1000.0 else 25.0


def frames_at(path: Path, frames: int, fps: float = FPS) -> Iterator[tuple[int, list[int], np.ndarray]]:
    """``(source index, output frames k, RGB frame)`` for every source frame nearest to some instant ``k / fps``,
    ``k < frames``, in order; source frame ``i`` shows the instant ``i / source fps``."""
    import cv2

    source_fps = video_fps(path)
    capture = cv2.VideoCapture(str(path))
    k = index = 0
    try:
        while k < frames:
            ok, frame = capture.read()
            if not ok:
                break
            wanted = []
            while k < frames and int(np.floor(k * source_fps / fps + 0.5)) <= index:
                wanted.append(k)
                k += 1
            if wanted:
                yield index, wanted, np.ascontiguousarray(frame[..., ::-1])
            index += 1
    finally:
        capture.release()
    if index == 0:
        raise VideoError(f"{path.name} holds no readable video frames.")


def fill_missing(weights: np.ndarray, found: np.ndarray) -> np.ndarray:
    """``(T, 52)`` with rows where ``found`` is False filled linearly from their neighbours (ends held)."""
    if found.all():
        return weights
    frames = np.arange(len(weights))
    filled = weights.copy()
    for column in range(weights.shape[1]):
        filled[~found, column] = np.interp(frames[~found], frames[found], weights[found, column])
    return filled


def smooth(weights: np.ndarray, passes: int = 1) -> np.ndarray:
    """``passes`` of a centred [1, 2, 1] / 4 filter over time (edges replicated)."""
    out = np.asarray(weights, np.float32)
    for _ in range(max(0, passes)):
        padded = np.concatenate([out[:1], out, out[-1:]])
        out = 0.25 * padded[:-2] + 0.5 * padded[1:-1] + 0.25 * padded[2:]
    return out


def fit_video(path: Path, frames: int, detector=None, fitter=None, progress: bool = False) -> tuple[np.ndarray, np.ndarray, dict]:
    """Weights ``(frames, 52)`` at 30 fps (meaningful where ``found``), ``found (frames,)`` and notes for a video;
    ``video_frames`` in the notes counts the 30 fps frames the picture lasted."""
    from expclip.landmarks import FaceNotFound, LandmarkDetector

    if detector is None:
        detector = LandmarkDetector(max_faces=1)
    if fitter is None:
        from expclip.fitting import default_fitter

        fitter = default_fitter()
    weights = np.zeros((frames, 52), np.float32)
    found = np.zeros(frames, bool)
    errors, fitted, decoded = [], 0, 0
    bar = tqdm(total=frames, desc=f"  {path.name}", unit="frame", leave=False, disable=not progress)
    for index, wanted, image in frames_at(path, frames):
        decoded = wanted[-1] + 1
        bar.update(len(wanted))
        try:
            face = detector.detect(image, name=f"{path.name} frame {index}")
        except FaceNotFound:
            continue
        result = fitter.fit(face.points)
        weights[wanted], found[wanted] = result.weights, True
        errors.append(result.rms)
        fitted += 1
    bar.close()
    return weights, found, {"fitted_source_frames": fitted, "fit_rms": round(float(np.mean(errors)), 4) if errors else None,
                            "video_frames": decoded}


def _label_names() -> tuple[str, ...]:
    from expclip.emotions import load_knowledge_base
    from train.mead3d.media import MEAD_EMOTIONS

    return MEAD_EMOTIONS + tuple(load_knowledge_base().names)


def _speaker(relative: Path) -> str:
    for part in relative.parts[:-1]:
        if _MEAD_ACTOR.match(part):
            return part
    return relative.parts[0] if len(relative.parts) > 1 else ""


def _split_of(relative: str, test_share: float) -> str:
    digest = int(hashlib.sha1(relative.encode()).hexdigest()[:8], 16)
    return "test" if digest / 0xFFFFFFFF < test_share else "train"


def _clip_id(relative: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(relative).stem)[:60]
    return f"{stem}-{hashlib.sha1(relative.encode()).hexdigest()[:8]}"


def convert_video(path: Path, max_missing: float = 0.25, smoothing: int = 1, detector=None, fitter=None,
                  max_seconds: float = 600.0, progress: bool = False) -> tuple[np.ndarray, np.ndarray, dict]:
    """One video → (audio ``(S,)`` 16 kHz, weights ``(num_frames(S), 52)``, notes); :class:`VideoError` or
    :class:`~expclip.audio.AudioError` when it cannot be used."""
    try:
        audio = load_speech(path, max_seconds=max_seconds)
        notes: dict = {}
    except AudioError as error:
        if "no sound track" not in str(error):
            raise
        twin = companion_audio(path)
        if twin is None:
            raise VideoError(f"{path.name} has no sound track and no audio file of the same name beside it.") from None
        audio = load_speech(twin, max_seconds=max_seconds)
        notes = {"audio_file": twin.name}
    frames = num_frames(len(audio))
    weights, found, fit_notes = fit_video(path, frames, detector, fitter, progress)
    notes.update(fit_notes)
    video_seconds = fit_notes["video_frames"] / FPS
    if fit_notes["video_frames"] and video_seconds + MAX_HOLD_SECONDS < len(audio) / SAMPLE_RATE:
        audio = audio[:max(1, int(video_seconds * 10)) * 1600]  # the picture ended early: cut the sound there
        frames = num_frames(len(audio))
        weights, found = weights[:frames], found[:frames]
        notes["audio_cut_to_video"] = True
    missing = 1.0 - found.mean() if frames else 1.0
    notes["frames_without_face"] = int(frames - found.sum())
    if missing > max_missing:
        raise VideoError(f"{path.name} shows no usable face in {missing:.0%} of its frames (at most "
                         f"{max_missing:.0%} may be missing).")
    return audio, smooth(fill_missing(weights, found), smoothing), notes


def build_from_videos(source: str | Path, out: str | Path, test_share: float = 0.1, max_missing: float = 0.25,
                      smoothing: int = 1, max_seconds: float = 600.0, limit: int | None = None,
                      progress: bool = True) -> dict:
    """Convert (or finish converting) the videos under ``source`` into clips in ``out``; returns the meta."""
    from expclip.landmarks import LandmarkDetector
    from train.mead3d.media import parse_label

    source, out = Path(source), Path(out)
    if not source.is_dir():
        raise VideoError(f"{source} is not a folder; give the folder that holds the talking-face videos.")
    videos = sorted(p for p in source.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES
                    and not any(part.startswith(".") for part in p.relative_to(source).parts))
    if not videos:
        raise VideoError(f"{source} holds no videos ({', '.join(VIDEO_SUFFIXES)}).")
    videos = videos[:limit] if limit else videos
    out.mkdir(parents=True, exist_ok=True)
    done = set()
    for name in SPLITS:
        drop_torn_line(out / f"{name}.jsonl")
        if (out / f"{name}.jsonl").exists():
            done.update(r.source for r in read_records(out, name))
    names = _label_names()
    detector, fitter = None, None
    skipped: list[str] = []
    missing_total = 0
    for path in tqdm(videos, desc="talking videos", unit="video", disable=not progress):
        relative = path.relative_to(source)
        key = relative.as_posix()
        if key in done:
            continue
        if detector is None:
            from expclip.fitting import default_fitter

            detector, fitter = LandmarkDetector(max_faces=1), default_fitter()
        try:
            audio, weights, notes = convert_video(path, max_missing, smoothing, detector, fitter, max_seconds,
                                                  progress=progress)
        except (VideoError, AudioError, OSError) as error:
            skipped.append(f"{key}: {error}")
            continue
        missing_total += notes["frames_without_face"]
        label = parse_label(relative, names)
        prompt = f"{label.label} (level {label.intensity})" if label.intensity else label.label
        record = ClipRecord(id=_clip_id(key), audio="", weights="", frames=0, seconds=0.0, emotion=label.label,
                            intensity=round(label.intensity / 3, 3) if label.intensity else 0.0, prompt=prompt,
                            speaker=_speaker(relative), source=key, extra=notes)
        add_clip(out, _split_of(key, test_share), record, audio, weights)
    write_meta(out, {"builder": "videos", "source": str(source), "test_share": test_share, "max_missing": max_missing,
                     "smoothing_passes": smoothing, "videos": len(videos), "frames_without_face": missing_total,
                     "skipped_files": skipped})
    return read_meta(out)


def add_cli(subparsers) -> argparse.ArgumentParser:
    """Register ``videos`` on an argparse sub-parser set; the command's ``func(args)`` returns the meta dict."""
    parser = subparsers.add_parser(
        "videos", help="fit per-frame weights to talking-face videos with sound (MEAD or your own)",
        description="Talking-face videos → clips at 30 fps: MediaPipe landmarks and the blendshape fitter per frame, "
                    "gaps interpolated, light smoothing; resumes when run again.")
    parser.add_argument("--source", type=Path, required=True, help="folder of videos (searched recursively)")
    parser.add_argument("--out", type=Path, required=True, help="clips directory to create or finish")
    parser.add_argument("--test-share", type=float, default=0.1)
    parser.add_argument("--max-missing", type=float, default=0.25,
                        help="skip a video with more than this share of frames without a face")
    parser.add_argument("--smooth", type=int, default=1, help="passes of the [1, 2, 1]/4 temporal filter (0: none)")
    parser.add_argument("--max-seconds", type=float, default=600.0, help="skip longer videos")
    parser.add_argument("--limit", type=int, default=None, help="convert at most this many videos")
    parser.add_argument("--quiet", action="store_true")
    parser.set_defaults(func=run_cli)
    return parser


def run_cli(args: argparse.Namespace) -> dict:
    if not 0 <= args.test_share < 1 or not 0 <= args.max_missing <= 1 or args.smooth < 0:
        raise VideoError("--test-share must be in [0, 1), --max-missing in [0, 1] and --smooth at least 0.")
    return build_from_videos(args.source, args.out, test_share=args.test_share, max_missing=args.max_missing,
                             smoothing=args.smooth, max_seconds=args.max_seconds, limit=args.limit,
                             progress=not args.quiet)
