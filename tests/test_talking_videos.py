"""Talking-face videos → clips: rendered heads with a known jaw track and sound are fitted back."""

from __future__ import annotations

import argparse
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from expclip.audio import num_frames
from expclip.clips import load_audio, load_weights, read_records, write_wav
from head.arkit import INDEX
from head.media import ffmpeg_exe
from render.video import render_video
from train.talking.videos import VideoError, add_cli, build_from_videos, companion_audio, fill_missing, smooth

SECONDS = 2.0


def jaw(t):
    return 0.05 + 0.5 * (0.5 - 0.5 * np.cos(2 * np.pi * t))  # open and close once a second


def _sequence(fps: float) -> np.ndarray:
    frames = round(SECONDS * fps)
    weights = np.zeros((frames, 52), np.float32)
    weights[:, INDEX["jawOpen"]] = jaw(np.arange(frames) / fps)
    weights[:, INDEX["browInnerUp"]] = 0.3
    return weights


def _speech(path: Path) -> Path:
    t = np.arange(int(SECONDS * 16_000)) / 16_000
    write_wav(path, 0.2 * np.sin(2 * np.pi * 200 * t) * (0.5 - 0.5 * np.cos(2 * np.pi * t)))
    return path


@pytest.fixture(scope="module")
def videos(rig, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("videos") / "corpus"
    speech = _speech(root.parent / "speech.wav")
    mead = root / "M003" / "video" / "front" / "happy" / "level_2" / "001.mp4"
    mead.parent.mkdir(parents=True)
    render_video([_sequence(30)], mead, fps=30, audio=speech, size=256)
    own = root / "mine" / "take25.mp4"
    own.parent.mkdir(parents=True)
    render_video([_sequence(25)], own, fps=25, audio=speech, size=256)
    # a face-free picture with sound, and a face without sound whose sound sits beside it
    subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "testsrc=duration=2:size=128x128:rate=30",
                    "-i", str(speech), "-pix_fmt", "yuv420p", "-shortest", str(root / "mine" / "pattern.mp4")], check=True)
    render_video([_sequence(30)[:45]], root / "mine" / "mute.mp4", fps=30, size=256)
    shutil.copy(speech, root / "mine" / "mute.wav")
    (root / "mine" / "broken.mov").write_bytes(b"not a video at all")
    return root


def test_helpers():
    found = np.array([True, False, False, True, False])
    weights = np.zeros((5, 52), np.float32)
    weights[3] = 0.9
    filled = fill_missing(weights, found)
    np.testing.assert_allclose(filled[:, 0], [0, 0.3, 0.6, 0.9, 0.9], atol=1e-6)
    step = np.zeros((9, 52), np.float32)
    step[4] = 1.0
    assert smooth(step)[3:6, 0].tolist() == [0.25, 0.5, 0.25] and smooth(step, 0)[4, 0] == 1.0


def test_companion_audio(tmp_path):
    video = tmp_path / "W011" / "video" / "front" / "sad" / "level_3" / "007.mp4"
    twin = tmp_path / "W011" / "audio" / "sad" / "level_3" / "007.m4a"
    video.parent.mkdir(parents=True)
    twin.parent.mkdir(parents=True)
    video.touch()
    assert companion_audio(video) is None
    twin.touch()
    assert companion_audio(video) == twin


def test_videos_become_clips_that_follow_the_jaw(videos, tmp_path):
    out = tmp_path / "clips"
    meta = build_from_videos(videos, out, test_share=0.0, progress=False)
    assert meta["builder"] == "videos" and meta["videos"] == 5 and meta["clips"] == {"train": 3}
    skipped = "\n".join(meta["skipped_files"])
    assert "mine/pattern.mp4: pattern.mp4 shows no usable face in 100% of its frames" in skipped
    assert "mine/broken.mov" in skipped and len(meta["skipped_files"]) == 2
    records = {r.source: r for r in read_records(out, "train")}
    mead = records["M003/video/front/happy/level_2/001.mp4"]
    assert (mead.emotion, mead.intensity, mead.speaker, mead.prompt) == ("happy", 0.667, "M003", "happy (level 2)")
    for key in ("M003/video/front/happy/level_2/001.mp4", "mine/take25.mp4"):
        record = records[key]
        audio, weights = load_audio(out, record), load_weights(out, record)
        assert weights.shape == (num_frames(len(audio)), 52) == (60, 52)
        recovered = weights[:, INDEX["jawOpen"]]
        rendered = jaw(np.arange(60) / 30)
        assert np.corrcoef(recovered, rendered)[0, 1] > 0.9, key
        assert abs(int(np.argmax(recovered[:30])) - 15) <= 2 and abs(int(np.argmax(recovered[30:])) - 15) <= 2, key
        assert recovered[[0, 29, 59]].max() < 0.15 and recovered[[15, 45]].min() > 0.4, key  # closed / open
        assert record.extra["frames_without_face"] == 0
    mute = records["mine/mute.mp4"]  # 1.5 s of picture, 2 s of sound beside it: held to the end
    assert mute.extra["audio_file"] == "mute.wav" and mute.frames == 60 and mute.speaker == "mine"

    again = build_from_videos(videos, out, test_share=0.0, progress=False)  # resumes: nothing new
    assert again["clips"] == {"train": 3} and len(again["skipped_files"]) == 2


def test_errors_and_cli(videos, tmp_path):
    with pytest.raises(VideoError, match="is not a folder"):
        build_from_videos(tmp_path / "none", tmp_path / "x")
    (tmp_path / "empty").mkdir()
    with pytest.raises(VideoError, match="holds no videos"):
        build_from_videos(tmp_path / "empty", tmp_path / "x")
    parser = argparse.ArgumentParser(prog="python -m train.talking")
    add_cli(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["videos", "--source", str(videos / "M003"), "--out", str(tmp_path / "cli"), "--quiet",
                              "--test-share", "0"])
    assert args.func(args)["clips"] == {"train": 1}
