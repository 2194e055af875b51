"""The head rig: building from the mirror or a download, the ICT → ARKit mapping, deformation."""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from head import assets, rig as rig_module
from head.arkit import INDEX, NUM_BLENDSHAPES
from head.rig import PART_NAMES, _read_obj_vertices


def test_rig_shapes_and_parts(rig):
    assert rig.neutral.shape == (26719, 3)
    assert rig.deltas.shape == (NUM_BLENDSHAPES, 26719, 3)
    assert set(rig.parts) == set(PART_NAMES)
    for part, triangles in rig.parts.items():
        assert triangles.ndim == 2 and triangles.shape[1] == 3 and len(triangles) > 0, part
        assert triangles.max() < rig.num_vertices
    assert rig.landmarks68.shape == (68,)


def test_deltas_follow_ict_names(rig, mirror):
    model = mirror / "FaceXModel"
    neutral = _read_obj_vertices(model / "generic_neutral_mesh.obj")
    np.testing.assert_allclose(rig.neutral, neutral)

    def delta(name: str) -> np.ndarray:
        return _read_obj_vertices(model / f"{name}.obj") - neutral

    atol = 2e-3  # float16 storage of deltas up to ~4 cm
    np.testing.assert_allclose(rig.deltas[INDEX["eyeBlinkLeft"]], delta("eyeBlink_L"), atol=atol)
    np.testing.assert_allclose(rig.deltas[INDEX["mouthSmileRight"]], delta("mouthSmile_R"), atol=atol)
    np.testing.assert_allclose(rig.deltas[INDEX["jawLeft"]], delta("jawLeft"), atol=atol)
    np.testing.assert_allclose(rig.deltas[INDEX["browInnerUp"]], delta("browInnerUp_L") + delta("browInnerUp_R"), atol=atol)
    np.testing.assert_allclose(rig.deltas[INDEX["cheekPuff"]], delta("cheekPuff_L") + delta("cheekPuff_R"), atol=atol)
    assert not rig.deltas[INDEX["tongueOut"]].any()  # ICT has no tongueOut: a zero delta


def test_every_other_shape_moves_the_mesh(rig):
    moving = np.abs(rig.deltas).max(axis=(1, 2))
    assert (moving[[i for i in range(NUM_BLENDSHAPES) if i != INDEX["tongueOut"]]] > 0.05).all()


def test_left_shapes_act_on_the_subjects_left_at_positive_x(rig):
    moved = np.linalg.norm(rig.deltas[INDEX["eyeBlinkLeft"]], axis=1) > 0.01
    assert rig.neutral[moved, 0].mean() > 1.0


def test_vertices_neutral_and_linear(rig):
    np.testing.assert_array_equal(rig.vertices(np.zeros(52)), rig.neutral)
    w = np.zeros(52, np.float32)
    w[INDEX["jawOpen"]] = 0.5
    np.testing.assert_allclose(rig.vertices(w), rig.neutral + 0.5 * rig.deltas[INDEX["jawOpen"]], atol=1e-5)
    batch = rig.vertices(np.stack([np.zeros(52), w]))
    assert batch.shape == (2, 26719, 3)
    np.testing.assert_allclose(batch[1], rig.vertices(w), atol=1e-5)
    np.testing.assert_allclose(rig.vertices(np.full(52, 3.0)), rig.vertices(np.ones(52)), atol=1e-5)  # clipped


def test_build_from_mirror_is_atomic_and_loadable(mirror, tmp_path):
    out = rig_module.build_rig(mirror, tmp_path / "rig.npz")
    assert out.is_file() and not list(tmp_path.glob("*.tmp"))
    assert out.stat().st_size < 8_000_000  # about 3 MB of neutral and deltas, 3.7 MB of identity modes
    built = rig_module.load_rig(out)
    assert built.deltas.shape == (52, 26719, 3) and built.identity_modes.shape == (30, 26719, 3)


def test_missing_rig_and_bad_mirror_say_how_to_fix(tmp_path):
    with pytest.raises(assets.AssetError, match="python -m render rig"):
        rig_module.load_rig(tmp_path / "none.npz")
    with pytest.raises(assets.AssetError, match="EXPCLIP_ASSET_MIRROR or --mirror"):
        assets.resolve_mirror(tmp_path)


def _serve(directory: Path):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(directory))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_download_from_public_layout_with_checksums(mirror, tmp_path, monkeypatch):
    server = _serve(mirror)
    try:
        monkeypatch.delenv(assets.MIRROR_ENV, raising=False)
        monkeypatch.setenv(assets.CACHE_ENV, str(tmp_path / "cache"))
        monkeypatch.setenv(assets.SOURCE_URL_ENV, f"http://127.0.0.1:{server.server_port}")
        root = assets.fetch_sources()
        manifest = assets.load_manifest()
        assert all((root / rel).is_file() for rel in manifest.files)
        assert root.is_relative_to(tmp_path / "cache")
    finally:
        server.shutdown()


def test_download_with_wrong_checksum_is_refused(mirror, tmp_path, monkeypatch):
    served = tmp_path / "served"
    served.mkdir()
    (served / "LICENSE").write_text("not the MIT licence of ICT-FaceKit\n")
    shutil.copytree(mirror / "FaceXModel", served / "FaceXModel", symlinks=True,
                    copy_function=lambda src, dst: Path(dst).symlink_to(src))
    server = _serve(served)
    try:
        monkeypatch.delenv(assets.MIRROR_ENV, raising=False)
        monkeypatch.setenv(assets.CACHE_ENV, str(tmp_path / "cache"))
        monkeypatch.setenv(assets.SOURCE_URL_ENV, f"http://127.0.0.1:{server.server_port}")
        with pytest.raises(assets.AssetError, match="wrong SHA-256"):
            assets.fetch_sources()
        assert not list((tmp_path / "cache").rglob("LICENSE*"))  # nothing half-written is kept
    finally:
        server.shutdown()


def test_unreachable_download_names_the_mirror_variable(tmp_path, monkeypatch):
    monkeypatch.delenv(assets.MIRROR_ENV, raising=False)
    monkeypatch.setenv(assets.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setenv(assets.SOURCE_URL_ENV, "http://127.0.0.1:9")  # discard port: refused
    with pytest.raises(assets.AssetError, match="EXPCLIP_ASSET_MIRROR"):
        assets.fetch_sources()
