"""MEAD-3D from real media: MEAD itself, or any folder of talking-face videos and photos.

Frames are sampled every ``every`` seconds from each video (every photo is one frame), MediaPipe
finds the face, and the blendshape fitter (SciPy SLSQP, :mod:`expclip.fitting`) turns its
landmarks into 52 weights, as the paper built MEAD-3D. Labels come from MEAD's folder names
(``M003/video/front/angry/level_2/001.mp4`` → ``angry``, level 2) or, for other folders, from a
parent folder named after a MEAD emotion or a TEAD category. Whole videos go to one split (by a
hash of their path), so test frames never share a clip with training frames. Frames without a
usable face and unreadable files are counted and listed in ``meta.json``, and do not stop the run.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image
from tqdm import tqdm

from expclip.images import ImageError, load_image
from expclip.landmarks import FaceNotFound, LandmarkDetector
from expclip.mead3d import Mead3DRecord, append_record, read_meta, read_records, write_meta
from head.files import drop_torn_line

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".flv")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff")
MEAD_EMOTIONS = ("angry", "contempt", "disgusted", "fear", "happy", "neutral", "sad", "surprised")
_LEVEL = re.compile(r"^level[_-]?(\d)$", re.IGNORECASE)


@dataclass(frozen=True)
class MediaLabel:
    label: str = ""
    intensity: int = 0


def parse_label(path: Path, emotion_names: tuple[str, ...] = MEAD_EMOTIONS) -> MediaLabel:
    """The emotion and MEAD level named by a file's folders (nearest folder wins)."""
    label, intensity = "", 0
    for part in reversed(path.parent.parts):
        match = _LEVEL.match(part)
        if match and not intensity:
            intensity = int(match.group(1))
        elif part.lower() in emotion_names and not label:
            label = part.lower()
    return MediaLabel(label, intensity)


def _split_of(relative: str, test_share: float) -> str:
    digest = int(hashlib.sha1(relative.encode()).hexdigest()[:8], 16)
    return "test" if digest / 0xFFFFFFFF < test_share else "train"


def _frames(path: Path, every: float, limit: int) -> Iterator[tuple[float, np.ndarray]]:
    """``(seconds, RGB frame)`` pairs of a video every ``every`` seconds, or the one photo."""
    if path.suffix.lower() in IMAGE_SUFFIXES:
        yield 0.0, load_image(path)
        return
    import cv2

    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise ImageError(f"{path} cannot be opened as a video.")
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    step = max(1, round(every * fps))
    index = taken = 0
    try:
        while taken < limit:
            ok, frame = capture.read()
            if not ok:
                break
            if index % step == 0:
                taken += 1
                yield index / fps, load_image(frame[..., ::-1].copy())
            index += 1
    finally:
        capture.release()
    if index == 0:
        raise ImageError(f"{path} holds no readable video frames.")


def build_from_media(source: str | Path, out: str | Path, every: float = 0.5, frames_per_video: int = 40,
                     test_share: float = 0.1, progress: bool = True) -> dict:
    """Build (or finish) a MEAD-3D in ``out`` from the videos and photos under ``source``; returns its meta."""
    from expclip.emotions import load_knowledge_base
    from expclip.fitting import default_fitter

    source, out = Path(source), Path(out)
    if not source.is_dir():
        raise ValueError(f"{source} is not a folder; give the folder that holds the MEAD videos or your photos.")
    files = sorted(p for p in source.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES + IMAGE_SUFFIXES
                   and not any(part.startswith(".") for part in p.relative_to(source).parts))
    if not files:
        raise ValueError(f"{source} holds no videos ({', '.join(VIDEO_SUFFIXES)}) or images "
                         f"({', '.join(IMAGE_SUFFIXES)}).")
    names = MEAD_EMOTIONS + load_knowledge_base().names
    for split in ("train", "test"):
        drop_torn_line(out / f"{split}.jsonl")
    done = {r.source.split("#")[0] for split in ("train", "test") if (out / f"{split}.jsonl").exists()
            for r in read_records(out, split)}
    detector, fitter = LandmarkDetector(max_faces=1), default_fitter()
    skipped: list[str] = []
    frames_without_face = 0
    for path in tqdm(files, desc="MEAD-3D from media", unit="file", disable=not progress):
        relative = path.relative_to(source).as_posix()
        if relative in done:
            continue
        split = _split_of(relative, test_share)
        folder = out / "images" / split
        folder.mkdir(parents=True, exist_ok=True)
        label = parse_label(path.relative_to(source), names)
        stem = hashlib.sha1(relative.encode()).hexdigest()[:12]
        try:
            for k, (seconds, frame) in enumerate(_frames(path, every, frames_per_video)):
                try:
                    face = detector.detect(frame, name=f"{relative} at {seconds:.2f} s")
                except FaceNotFound:
                    frames_without_face += 1
                    continue
                name = f"{stem}_{k:04d}"
                Image.fromarray(frame).save(folder / f"{name}.jpg", quality=92)
                np.save(folder / f"{name}.npy", face.points.astype(np.float16))
                text = f"{label.label} (level {label.intensity})" if label.intensity else label.label
                append_record(out / f"{split}.jsonl", Mead3DRecord(
                    image=f"images/{split}/{name}.jpg", landmarks=f"images/{split}/{name}.npy",
                    blendshapes=fitter.fit(face.points).weights, label=label.label, intensity=label.intensity,
                    text=text, source=f"{relative}#t={seconds:.2f}",
                ))
        except (ImageError, OSError) as error:
            skipped.append(f"{relative}: {error}")
    previous = read_meta(out) if (out / "meta.json").exists() else {}
    write_meta(out, {"builder": "media", "source": str(source), "every_seconds": every,
                     "frames_per_video": frames_per_video, "test_share": test_share,
                     "frames_without_face": previous.get("frames_without_face", 0) + frames_without_face,
                     "skipped_files": previous.get("skipped_files", []) + skipped})
    return read_meta(out)
