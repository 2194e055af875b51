"""`python -m render` end to end, including its error messages."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from head.arkit import INDEX, write_csv

REPO = Path(__file__).resolve().parents[1]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "render", *args], cwd=REPO, capture_output=True, text=True)


def test_rig_command_reports_the_cached_rig(rig):
    result = run("rig")
    assert result.returncode == 0, result.stderr
    assert "26719 vertices, 52 ARKit shapes" in result.stdout


def test_still_from_json_text_and_file(tmp_path, rig):
    out = tmp_path / "face.png"
    result = run("still", "--weights", '{"jawOpen": 0.7}', "--out", str(out), "--size", "256", "--view", "three-quarter")
    assert result.returncode == 0, result.stderr
    assert Image.open(out).size == (256, 256)
    weights = tmp_path / "w.json"
    weights.write_text('{"blendshapes": {"mouthSmileLeft": 1.0, "mouthSmileRight": 1.0}}')
    out2 = tmp_path / "smile.png"
    result = run("still", "--weights", str(weights), "--out", str(out2), "--size", "128", "--background", "transparent")
    assert result.returncode == 0, result.stderr
    assert Image.open(out2).mode == "RGBA"


def test_video_from_live_link_face_csv_with_audio(tmp_path, rig):
    frames = np.zeros((20, 52), np.float32)
    frames[:, INDEX["jawOpen"]] = np.linspace(0, 0.8, 20)
    csv = write_csv(tmp_path / "llf.csv", frames, live_link_face=True)
    from head.media import ffmpeg_exe

    audio = tmp_path / "a.mp3"  # any format ffmpeg reads
    subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "sine=duration=1", str(audio)], check=True)
    out = tmp_path / "anim.mp4"
    result = run("video", "--csv", str(csv), "--audio", str(audio), "--out", str(out), "--size", "128")
    assert result.returncode == 0, result.stderr
    assert out.stat().st_size > 1000


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["still", "--weights", '{"jawOpn": 0.5}'], "Unknown blendshape name 'jawOpn': did you mean jawOpen?"),
        (["still", "--weights", '{"jawOpen": NaN}'], "weights must be finite numbers"),
        (["still", "--weights", '{"jawOpen": 0.5}', "--background", "pink"], "is not a colour"),
        (["video", "--csv", "missing.csv"], "CSV file missing.csv does not exist."),
    ],
)
def test_bad_input_gets_one_clear_sentence(tmp_path, rig, args, message):
    result = run(*args, "--out", str(tmp_path / "out.png"))
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_glb_from_csv_and_animation_json(tmp_path, rig):
    import json

    from head.arkit import to_dict
    from render.gltf import METRES_PER_RIG_UNIT

    frames = np.zeros((6, 52), np.float32)
    frames[:, INDEX["jawOpen"]] = np.linspace(0, 0.8, 6)
    csv = write_csv(tmp_path / "llf.csv", frames, live_link_face=True)
    out = tmp_path / "head.glb"
    result = run("glb", str(csv), "--out", str(out), "--fps", "24")
    assert result.returncode == 0, result.stderr
    assert "6 frames at 24 fps" in result.stdout and out.read_bytes()[:4] == b"glTF"
    animation = tmp_path / "anim.json"
    animation.write_text(json.dumps({"fps": 25, "frames": [to_dict(f) for f in frames]}))
    result = run("glb", str(animation), "--out", str(out))
    assert result.returncode == 0 and "6 frames at 25 fps" in result.stdout, result.stderr
    trimesh = pytest.importorskip("trimesh")
    height = np.ptp(trimesh.load(out, force="scene").bounds[:, 1])
    assert 0.2 < height < 0.5 and abs(height / METRES_PER_RIG_UNIT - np.ptp(rig.neutral[:, 1])) < 5  # metres


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["glb", "missing.csv", "--out", "head.glb"], "CSV file missing.csv does not exist."),
        (["glb", '{"jawOpen": 0.5}', "--out", "head.gltf"], "should be a .glb file"),
        (["glb", '{"jawOpen": 0.5}', "--out", "head.glb", "--fps", "0"], "Frame rate 0.0 is not a positive number"),
        (["glb", '{"frames": []}', "--out", "head.glb"], "empty list of frames"),
    ],
)
def test_glb_bad_input_gets_one_clear_sentence(tmp_path, rig, args, message):
    result = subprocess.run([sys.executable, "-m", "render", *args], check=False, cwd=tmp_path, capture_output=True,
                            text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_unreadable_audio_is_named(tmp_path, rig):
    csv = write_csv(tmp_path / "a.csv", np.zeros((2, 52), np.float32))
    bad = tmp_path / "speech.wav"
    bad.write_bytes(b"RIFF0000WAVEjunk")
    result = run("video", "--csv", str(csv), "--audio", str(bad), "--out", str(tmp_path / "x.mp4"))
    assert result.returncode == 2 and "speech.wav could not be read as audio" in result.stderr
