"""Video: H.264 mp4 with the right fps, length and audio stream (checked with ffprobe), grids."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from render.video import MediaError, audio_duration, decode_audio, fit_frames, grid_frame, render_video, write_video


def probe(path: Path) -> dict:
    ffprobe = shutil.which("ffprobe")
    if ffprobe is None:
        pytest.fail("ffprobe is missing: install the Debian package ffmpeg (packages.txt)")
    out = subprocess.run([ffprobe, "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


@pytest.fixture(scope="module")
def tone(tmp_path_factory) -> Path:
    """A 1.5 s 440 Hz tone as 44.1 kHz stereo WAV, made with the bundled ffmpeg."""
    from head.media import ffmpeg_exe

    path = tmp_path_factory.mktemp("audio") / "tone.wav"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=1.5",
                    "-ac", "2", "-ar", "44100", str(path)], check=True)
    return path


def test_decode_audio_resamples_to_mono_16k(tone):
    samples = decode_audio(tone)
    assert samples.ndim == 1 and samples.dtype == np.float32
    assert abs(len(samples) - 24_000) <= 16 and np.abs(samples).max() > 0.01
    assert audio_duration(tone) == pytest.approx(1.5, abs=0.01)


def test_unreadable_audio_names_the_file(tmp_path):
    bad = tmp_path / "notes.wav"
    bad.write_text("this is not sound")
    with pytest.raises(MediaError, match=r"notes.wav could not be read as audio"):
        decode_audio(bad)
    with pytest.raises(MediaError, match="does not exist"):
        decode_audio(tmp_path / "missing.wav")


def test_fit_frames_holds_or_trims():
    frames = np.arange(3 * 52, dtype=np.float32).reshape(3, 52) / 1000
    assert fit_frames(frames, 2).shape == (2, 52)
    longer = fit_frames(frames, 5)
    np.testing.assert_array_equal(longer[3:], frames[[2, 2]])


def test_write_video_fps_and_frame_count(tmp_path):
    frames = [np.full((64, 96, 3), 20 * i, np.uint8) for i in range(12)]
    out = write_video(frames, tmp_path / "plain.mp4", fps=24)
    info = probe(out)
    (video,) = [s for s in info["streams"] if s["codec_type"] == "video"]
    assert video["codec_name"] == "h264" and video["pix_fmt"] == "yuv420p"
    assert video["r_frame_rate"] == "24/1" and int(video["nb_frames"]) == 12
    assert (video["width"], video["height"]) == (96, 64)
    assert not [s for s in info["streams"] if s["codec_type"] == "audio"]


def test_odd_sizes_and_empty_input_are_refused(tmp_path):
    with pytest.raises(MediaError, match="even sizes"):
        write_video([np.zeros((63, 64, 3), np.uint8)], tmp_path / "odd.mp4")
    with pytest.raises(MediaError, match="No frames"):
        write_video([], tmp_path / "empty.mp4")


def test_render_video_with_audio_lasts_as_long_as_the_audio(rig, tone, tmp_path):
    frames = np.zeros((10, 52), np.float32)  # shorter than the audio: the last frame is held
    frames[:, 24] = np.linspace(0, 1, 10)
    out = render_video([frames], tmp_path / "talk.mp4", fps=30, audio=tone, size=128)
    info = probe(out)
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    audio = next(s for s in info["streams"] if s["codec_type"] == "audio")
    assert audio["codec_name"] == "aac"
    assert abs(float(video["duration"]) - 1.5) <= 1 / 30 + 1e-6
    assert int(video["nb_frames"]) == 45


def test_grid_with_captions(rig, tmp_path):
    a = np.zeros((4, 52), np.float32)
    b = a.copy()
    b[:, 24] = 1.0
    out = render_video([a, b, a], tmp_path / "grid.mp4", captions=["calm", "open", "again"], size=128)
    video = next(s for s in probe(out)["streams"] if s["codec_type"] == "video")
    assert video["width"] == 3 * 128 and video["height"] > 128
    with pytest.raises(MediaError, match="2 captions for 3 sequences"):
        render_video([a, b, a], tmp_path / "bad.mp4", captions=["x", "y"], size=128)


def test_grid_frame_layout_and_caption_ink():
    images = [np.full((40, 50, 3), c, np.uint8) for c in (0, 100, 200, 250, 30)]
    grid = grid_frame(images, ["a", "b", "c", "d", "e"], columns=2)
    bar = int(round(40 * 0.09))
    assert grid.shape == (3 * (40 + bar), 100, 3)
    assert grid[bar + 5, 5].tolist() == [0, 0, 0] and grid[bar + 5, 55].tolist() == [100, 100, 100]
    assert grid[:bar, :50].min() < 128  # the caption's text was drawn


def test_a_failing_render_keeps_the_earlier_video(tmp_path):
    out = write_video([np.zeros((32, 32, 3), np.uint8)] * 3, tmp_path / "keep.mp4")
    before = out.read_bytes()

    def frames():
        yield np.zeros((32, 32, 3), np.uint8)
        raise RuntimeError("renderer crashed")

    with pytest.raises(RuntimeError, match="renderer crashed"):
        write_video(frames(), out)
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.mp4"]
