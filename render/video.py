"""Frames → H.264 mp4 (imageio-ffmpeg), with an optional audio track and side-by-side grids.

When audio is given, the animation is fitted to the audio's length (the last frame is held, or
extra frames are dropped) so that the video lasts as long as the sound, within one frame.
"""

from __future__ import annotations

import itertools
import math
import os
import subprocess
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import imageio_ffmpeg
import numpy as np
from PIL import Image, ImageDraw, ImageFont
from tqdm import tqdm

from head.arkit import validate
from head.identity import Identity
from head.media import ffmpeg_exe

AUDIO_SAMPLE_RATE = 16_000
_CAPTION_HEIGHT_RATIO = 0.09


class MediaError(RuntimeError):
    """Raised for media that cannot be read or written; the message names the file and the problem."""


def decode_audio(path: str | Path, sample_rate: int = AUDIO_SAMPLE_RATE) -> np.ndarray:
    """Any audio ffmpeg reads → mono float32 samples in [-1, 1] at ``sample_rate``: ``(samples,)``."""
    path = Path(path)
    if not path.is_file():
        raise MediaError(f"Audio file {path} does not exist.")
    command = [ffmpeg_exe(), "-nostdin", "-v", "error", "-i", str(path), "-vn", "-ac", "1",
               "-ar", str(sample_rate), "-f", "s16le", "-"]
    result = subprocess.run(command, capture_output=True)
    if result.returncode != 0 or not result.stdout:
        reason = result.stderr.decode(errors="replace").strip().splitlines()
        detail = reason[-1] if reason else "it holds no audio stream"
        raise MediaError(f"Audio file {path} could not be read as audio ({detail}).")
    return np.frombuffer(result.stdout, np.int16).astype(np.float32) / 32768.0


def audio_duration(path: str | Path) -> float:
    """Length of an audio file in seconds (decoded, so that any container works)."""
    return len(decode_audio(path)) / AUDIO_SAMPLE_RATE


def fit_frames(frames: np.ndarray, num_frames: int) -> np.ndarray:
    """``(T, 52)`` → ``(num_frames, 52)``: hold the last frame to lengthen, drop frames to shorten."""
    if len(frames) >= num_frames:
        return frames[:num_frames]
    hold = np.repeat(frames[-1:], num_frames - len(frames), axis=0)
    return np.concatenate([frames, hold])


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType
        return ImageFont.load_default()


def grid_frame(images: Sequence[np.ndarray], captions: Sequence[str] | None = None, columns: int | None = None) -> np.ndarray:
    """Lay equal-size ``(H, W, 3)`` images out in a grid with a caption bar above each.

    Returns:
        ``(rows * (H + caption), columns * W, 3)`` uint8; both sides rounded up to even numbers.
    """
    if not images:
        raise MediaError("A grid needs at least one image.")
    height, width = images[0].shape[:2]
    columns = columns or min(len(images), 4)
    rows = math.ceil(len(images) / columns)
    bar = int(round(height * _CAPTION_HEIGHT_RATIO)) if captions else 0
    canvas = Image.new("RGB", (columns * width, rows * (height + bar)), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    font = _font(max(10, int(bar * 0.6))) if captions else None
    for k, image in enumerate(images):
        x, y = (k % columns) * width, (k // columns) * (height + bar)
        canvas.paste(Image.fromarray(np.asarray(image)[..., :3]), (x, y + bar))
        if captions:
            draw.text((x + width // 2, y + bar // 2), captions[k], fill=(30, 30, 30), font=font, anchor="mm")
    out = np.asarray(canvas)
    return np.pad(out, ((0, out.shape[0] % 2), (0, out.shape[1] % 2), (0, 0)), constant_values=255)


def write_video(
    frames: Iterable[np.ndarray],
    path: str | Path,
    fps: float = 30.0,
    audio: str | Path | None = None,
    total: int | None = None,
) -> Path:
    """Encode ``(H, W, 3)`` uint8 frames to an H.264 mp4 (yuv420p), muxing ``audio`` (AAC) if given.

    Frames stream to ffmpeg one at a time; ``total`` only sizes the progress bar. The file is
    written beside ``path`` and moved into place at the end, so a crash never leaves a broken
    video where an earlier one was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    iterator: Iterator[np.ndarray] = iter(frames)
    first = next(iterator, None)
    if first is None:
        raise MediaError(f"No frames to write to {path}.")
    height, width = first.shape[:2]
    if height % 2 or width % 2:
        raise MediaError(f"Frames of {width}x{height} cannot be encoded as H.264 yuv420p; use even sizes.")
    partial = path.with_name(f".{path.stem}.partial{path.suffix or '.mp4'}")
    writer = imageio_ffmpeg.write_frames(
        str(partial), (width, height), fps=fps, codec="libx264", pix_fmt_out="yuv420p",
        quality=None, bitrate=None, macro_block_size=1, ffmpeg_log_level="error",
        output_params=["-crf", "20", "-preset", "veryfast", "-movflags", "+faststart"],
        audio_path=str(audio) if audio is not None else None,
        audio_codec="aac" if audio is not None else None,
    )
    writer.send(None)
    try:
        with tqdm(total=total, desc=f"Writing {path.name}", unit="frame") as bar:
            for frame in itertools.chain([first], iterator):
                writer.send(np.ascontiguousarray(frame[..., :3], dtype=np.uint8))
                bar.update(1)
        writer.close()
    except BaseException:
        writer.close()
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, path)
    return path


def render_video(
    sequences: Sequence[np.ndarray],
    path: str | Path,
    fps: float = 30.0,
    audio: str | Path | None = None,
    captions: Sequence[str] | None = None,
    view: str = "front",
    size: int = 512,
    samples: int = 0,
    identity: Identity | None = None,
) -> Path:
    """Render one or more ``(T, 52)`` weight sequences to an mp4 (several → a captioned grid).

    Sequences of different lengths are held at their last frame up to the longest one; with
    ``audio`` every sequence is fitted to the audio's length instead. ``identity``: the face
    (default: the ICT head's own).
    """
    from render.renderer import HeadRenderer

    sequences = [validate(np.atleast_2d(s)) for s in sequences]
    if not sequences:
        raise MediaError("Nothing to render: give at least one weight sequence.")
    if captions is not None and len(captions) != len(sequences):
        raise MediaError(f"Got {len(captions)} captions for {len(sequences)} sequences; give one per sequence.")
    num_frames = max(len(s) for s in sequences)
    if audio is not None:
        num_frames = max(1, int(round(audio_duration(audio) * fps)))
    sequences = [fit_frames(s, num_frames) for s in sequences]
    renderer = HeadRenderer(size=size, samples=samples)

    def frames() -> Iterator[np.ndarray]:
        for t in range(num_frames):
            images = [renderer.render(s[t], view, identity) for s in sequences]
            yield images[0] if len(images) == 1 and not captions else grid_frame(images, captions)

    try:
        return write_video(frames(), path, fps=fps, audio=audio, total=num_frames)
    finally:
        renderer.close()
