"""The files handed to users (PNG, JSON, CSV, Live Link Face CSV, GLB), written by one module for app and CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from head import arkit
from render.exports import write_animation, write_expression, write_json, write_png


def test_an_expression_as_png_json_and_csv(tmp_path: Path) -> None:
    weights = np.linspace(0, 1, 52, dtype=np.float32)
    image = np.zeros((8, 6, 3), np.uint8)
    image[2, 3] = 255
    png = write_png(tmp_path / "deep" / "face.png", image, fast=True)
    assert np.array_equal(np.asarray(Image.open(png)), image)
    written = write_expression(weights, {"blendshapes": arkit.to_dict(weights), "prompt": "joy"},
                               json_path=tmp_path / "a" / "face.json", csv_path=tmp_path / "b" / "face.csv")
    assert [p.name for p in written] == ["face.json", "face.csv"]
    assert json.loads(written[0].read_text())["prompt"] == "joy"
    np.testing.assert_allclose(arkit.read_csv(written[1])[0], weights, atol=1e-4)
    assert write_expression(weights, {}) == []  # nothing asked, nothing written


def test_an_animation_as_live_link_csv_json_and_glb(tmp_path: Path, rig) -> None:
    frames = np.zeros((4, 52), np.float32)
    frames[:, arkit.INDEX["jawOpen"]] = [0.0, 0.3, 0.6, 0.2]
    written = write_animation(frames, 30.0, {"frames": [arkit.to_dict(f) for f in frames]},
                              csv_path=tmp_path / "x.csv", json_path=tmp_path / "x.json", glb_path=tmp_path / "x.glb")
    assert [p.suffix for p in written] == [".csv", ".json", ".glb"]
    assert written[0].read_text().startswith("Timecode,BlendShapeCount,")
    assert len(json.loads(written[1].read_text())["frames"]) == 4
    assert written[2].read_bytes()[:4] == b"glTF"
    assert write_animation(frames, 30.0, {}, json_path=tmp_path / "only.json") == [tmp_path / "only.json"]
    assert write_json(tmp_path / "list.json", [1, 2]).read_text() == "[\n  1,\n  2\n]\n"
