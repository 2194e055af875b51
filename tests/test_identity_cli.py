"""``--identity`` on the command lines: a small render, a GLB and a speech animation on another face."""

from __future__ import annotations

import json
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
from PIL import Image

from head import arkit
from head.identity import sample_identity

REPO = Path(__file__).resolve().parents[1]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], cwd=REPO, capture_output=True, text=True, timeout=300)


def test_text_renders_the_chosen_face(tmp_path: Path, rig) -> None:
    from render.renderer import render_still

    png, out = tmp_path / "face.png", tmp_path / "face.json"
    result = run("expclip", "text", "a proud, beaming smile", "--png", str(png), "--json", str(out), "--size", "128",
                 "--identity", "7")
    assert result.returncode == 0, result.stderr
    assert "Face: face 7 (--identity 7 makes it again)" in result.stdout
    weights = arkit.from_dict(json.loads(out.read_text())["blendshapes"])
    image = np.asarray(Image.open(png))
    # The JSON's weights are rounded, so a pixel or two at an edge may differ by one level from the PNG's render.
    difference = np.abs(image.astype(int) - render_still(weights, size=128, identity=sample_identity(7)).astype(int))
    assert difference.max() <= 1 and (difference > 0).mean() < 1e-3
    assert np.abs(image.astype(int) - render_still(weights, size=128).astype(int)).max() > 30


def test_render_glb_and_a_bad_identity(tmp_path: Path, rig) -> None:
    from test_gltf import read_glb

    coefficients = tmp_path / "coeffs.json"
    coefficients.write_text(json.dumps({"identity_coefficients": [1.5, -1.0, 0.5]}))
    glb = tmp_path / "head.glb"
    result = run("render", "glb", '{"jawOpen": 0.5}', "--out", str(glb), "--identity", str(coefficients))
    assert result.returncode == 0, result.stderr
    extras = read_glb(glb)[0]["meshes"][0]["extras"]
    assert extras["identity"]["identity_coefficients"][:4] == [1.5, -1.0, 0.5, 0.0]
    bad = run("render", "still", "--weights", "{}", "--out", str(tmp_path / "x.png"), "--identity", "smiley")
    assert bad.returncode == 2 and not (tmp_path / "x.png").exists()
    assert bad.stderr.strip() == ("error: 'smiley' is not an identity; give 'neutral' (the default head), 'random', "
                                  "a seed (a whole number; 0 is the default head) or a .json file of identity "
                                  "coefficients."), bad.stderr


def test_animate_writes_the_face_into_the_glb(tmp_path: Path, rig) -> None:
    from test_gltf import read_glb

    speech = tmp_path / "speech.wav"
    t = np.arange(16_000) / 16_000
    with wave.open(str(speech), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16_000)
        out.writeframes((0.3 * np.sin(2 * np.pi * 140 * t) * (0.5 + 0.5 * np.sin(8 * np.pi * t)) * 32767)
                        .astype("<i2").tobytes())
    glb = tmp_path / "speech.glb"
    result = run("expclip", "animate", str(speech), "--prompt", "calm", "--audio-only", "--glb", str(glb),
                 "--identity", "random")
    assert result.returncode == 0, result.stderr
    seed = int(result.stdout.split("Face: face ")[1].split()[0])
    identity = read_glb(glb)[0]["meshes"][0]["extras"]["identity"]
    assert identity["seed"] == seed
    np.testing.assert_allclose(identity["identity_coefficients"], sample_identity(seed).coefficients, atol=1e-6)
