"""The glTF binary export: read back with a small independent reader and checked against the rig."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from head.arkit import BLENDSHAPE_NAMES, INDEX, BlendshapeError
from render import gltf
from render.renderer import _build_parts, _Normals, drawn_triangles

REPO = Path(__file__).resolve().parents[1]
# Pinned in tests/js/package.json (+ package-lock.json); `make test` runs `npm ci` there.
NODE_MODULES = Path(os.environ.get("EXPCLIP_NODE_MODULES", REPO / "tests" / "js" / "node_modules"))
VALIDATOR, THREE = NODE_MODULES / "gltf-validator", NODE_MODULES / "three"
NPM_HINT = "run `make test`, or `npm ci --prefix tests/js` (needs node and npm)"
_DTYPES = {5121: np.uint8, 5123: np.uint16, 5125: np.uint32, 5126: np.float32}
_WIDTHS = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4}


def read_glb(path: Path) -> tuple[dict, bytes]:
    """Header and chunks of a GLB → (JSON document, BIN chunk), checking the container's rules."""
    data = path.read_bytes()
    magic, version, length = struct.unpack_from("<III", data, 0)
    assert (magic, version, length) == (0x46546C67, 2, len(data))
    json_length, json_type = struct.unpack_from("<II", data, 12)
    assert json_type == 0x4E4F534A and json_length % 4 == 0
    document = json.loads(data[20:20 + json_length])
    offset = 20 + json_length
    bin_length, bin_type = struct.unpack_from("<II", data, offset)
    assert bin_type == 0x004E4942 and bin_length % 4 == 0 and offset + 8 + bin_length == len(data)
    blob = data[offset + 8:]
    assert document["buffers"] == [{"byteLength": len(blob)}]
    return document, blob


def _view_bytes(document: dict, blob: bytes, view: int, offset: int, size: int) -> bytes:
    view = document["bufferViews"][view]
    assert view["buffer"] == 0 and "byteStride" not in view
    assert view["byteOffset"] % 4 == 0 and view["byteOffset"] + view["byteLength"] <= len(blob)
    assert offset + size <= view["byteLength"]
    start = view["byteOffset"] + offset
    return blob[start:start + size]


def read_accessor(document: dict, blob: bytes, index: int) -> np.ndarray:
    """An accessor's elements ``(count, width)`` (sparse applied, normalized integers as floats)."""
    accessor = document["accessors"][index]
    dtype, width, count = _DTYPES[accessor["componentType"]], _WIDTHS[accessor["type"]], accessor["count"]
    size = count * width * np.dtype(dtype).itemsize
    if "bufferView" in accessor:
        offset = accessor.get("byteOffset", 0)
        assert offset % np.dtype(dtype).itemsize == 0
        raw = _view_bytes(document, blob, accessor["bufferView"], offset, size)
        values = np.frombuffer(raw, dtype).reshape(count, width).copy()
    else:
        values = np.zeros((count, width), dtype)  # no bufferView: zeros
    sparse = accessor.get("sparse")
    if sparse:
        index_type = _DTYPES[sparse["indices"]["componentType"]]
        rows = np.frombuffer(_view_bytes(document, blob, sparse["indices"]["bufferView"],
                                         sparse["indices"].get("byteOffset", 0),
                                         sparse["count"] * np.dtype(index_type).itemsize), index_type)
        assert (np.diff(rows.astype(np.int64)) > 0).all() and rows.max() < count  # strictly increasing
        values[rows] = np.frombuffer(_view_bytes(document, blob, sparse["values"]["bufferView"],
                                                 sparse["values"].get("byteOffset", 0),
                                                 sparse["count"] * width * np.dtype(dtype).itemsize),
                                     dtype).reshape(-1, width)
    if accessor.get("normalized"):
        return values.astype(np.float64) / np.iinfo(dtype).max
    return values


def smooth_frames(count: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    keys = rng.uniform(0.0, 0.7, size=(count // 4 + 2, 52))
    t = np.linspace(0, len(keys) - 1, count)
    frames = np.stack([np.interp(t, np.arange(len(keys)), keys[:, k]) for k in range(52)], axis=1)
    return frames.astype(np.float32)


@pytest.fixture(scope="module")
def animated(tmp_path_factory, rig):
    frames = smooth_frames(12)
    path = gltf.write_glb(tmp_path_factory.mktemp("glb") / "head.glb", frames, fps=25.0, rig=rig)
    document, blob = read_glb(path)
    return path, frames, document, blob


def test_document_names_the_52_targets_and_the_generator(animated, rig):
    _, _, document, _ = animated
    assert document["asset"] == {"version": "2.0", "generator": "ExpCLIP"}
    (mesh,) = document["meshes"]
    assert mesh["extras"]["targetNames"] == list(BLENDSHAPE_NAMES)
    assert mesh["weights"] == [0.0] * 52  # animated: neutral until the animation plays
    assert all(len(p["targets"]) == 52 for p in mesh["primitives"])
    assert document["scenes"][document["scene"]]["nodes"] == [0] and document["nodes"][0]["mesh"] == 0
    assert len(document["materials"]) == len(mesh["primitives"])


def test_every_accessor_is_aligned_and_its_bounds_exact(animated):
    _, _, document, blob = animated
    for view in document["bufferViews"]:
        assert view["byteOffset"] % 4 == 0
    for i, accessor in enumerate(document["accessors"]):
        values = read_accessor(document, blob, i)  # asserts alignment and that data lies inside its view
        if "min" in accessor:
            assert accessor["min"] == values.min(axis=0).tolist() and accessor["max"] == values.max(axis=0).tolist()
    for primitive in document["meshes"][0]["primitives"]:
        # The spec requires bounds on POSITION, including morph targets' POSITION.
        for accessor in [primitive["attributes"]["POSITION"], *(t["POSITION"] for t in primitive["targets"])]:
            assert "min" in document["accessors"][accessor] and "max" in document["accessors"][accessor]


def test_triangles_are_the_rendered_ones(animated, rig):
    _, _, document, blob = animated
    ids = gltf.primitive_vertex_ids(rig)
    albedo = np.zeros((rig.num_vertices, 3))
    for part in _build_parts(rig):
        albedo[part.vertex_ids] = part.albedo_gloss[:, :3]
    exported = []
    for primitive, vertex_ids in zip(document["meshes"][0]["primitives"], ids):
        position = read_accessor(document, blob, primitive["attributes"]["POSITION"])
        np.testing.assert_array_equal(position, (rig.neutral[vertex_ids] * gltf.METRES_PER_RIG_UNIT).astype(np.float32))
        local = read_accessor(document, blob, primitive["indices"]).reshape(-1, 3)
        exported.append(vertex_ids[local])
        normal = read_accessor(document, blob, primitive["attributes"]["NORMAL"])
        np.testing.assert_allclose(np.linalg.norm(normal, axis=1), 1.0, atol=1e-5)
        colour = read_accessor(document, blob, primitive["attributes"]["COLOR_0"])
        assert colour.shape == (len(vertex_ids), 4) and colour.min() >= 0 and colour.max() <= 1
        # Base colour × COLOR_0 is the renderer's albedo (lips, iris and pupil included).
        base = document["materials"][primitive["material"]]["pbrMetallicRoughness"]["baseColorFactor"]
        np.testing.assert_allclose(colour[:, :3] * base[:3], albedo[vertex_ids], atol=3e-3)
    drawn = np.concatenate(list(drawn_triangles(rig).values()))
    np.testing.assert_array_equal(np.unique(np.sort(np.concatenate(exported), axis=1), axis=0),
                                  np.unique(np.sort(drawn, axis=1), axis=0))


def _morphed(document: dict, blob: bytes, weights: np.ndarray, attribute: str) -> list[np.ndarray]:
    """Each primitive's ``attribute`` with the morph targets applied at ``weights`` (glTF's rule)."""
    out = []
    for primitive in document["meshes"][0]["primitives"]:
        base = read_accessor(document, blob, primitive["attributes"][attribute]).astype(np.float64)
        for w, target in zip(weights, primitive["targets"]):
            if w:
                base = base + float(w) * read_accessor(document, blob, target[attribute])
        out.append(base)
    return out


def test_animation_replays_the_frames_on_the_rig(animated, rig):
    _, frames, document, blob = animated
    (animation,) = document["animations"]
    (channel,) = animation["channels"]
    assert channel["target"] == {"node": 0, "path": "weights"}
    sampler = animation["samplers"][channel["sampler"]]
    assert sampler["interpolation"] == "LINEAR"
    times = read_accessor(document, blob, sampler["input"])[:, 0]
    np.testing.assert_allclose(times, np.arange(len(frames)) / 25.0, rtol=1e-6)
    weights = read_accessor(document, blob, sampler["output"]).reshape(len(times), 52)
    np.testing.assert_array_equal(weights, frames)

    ids = gltf.primitive_vertex_ids(rig)
    for k in (0, 5, len(frames) - 1):
        expected = rig.vertices(weights[k]) * gltf.METRES_PER_RIG_UNIT
        # Offsets of at most MIN_OFFSET_CM per shape are left out of the sparse targets.
        tolerance = gltf.MIN_OFFSET_CM * gltf.METRES_PER_RIG_UNIT * weights[k].sum() + 1e-6
        for positions, vertex_ids in zip(_morphed(document, blob, weights[k], "POSITION"), ids):
            assert np.abs(positions - expected[vertex_ids]).max() <= tolerance


def test_normal_targets_follow_the_shapes(animated, rig):
    _, _, document, blob = animated
    normals_of = _Normals(rig.neutral, _build_parts(rig))
    ids = gltf.primitive_vertex_ids(rig)
    for name in ("jawOpen", "mouthSmileLeft", "eyeBlinkRight"):
        weights = np.zeros(52, np.float32)
        weights[INDEX[name]] = 1.0
        expected = normals_of(rig.vertices(weights))
        for normals, vertex_ids in zip(_morphed(document, blob, weights, "NORMAL"), ids):
            unit = normals / np.linalg.norm(normals, axis=1, keepdims=True)
            assert np.linalg.norm(unit - expected[vertex_ids], axis=1).max() < 2 * gltf.MIN_NORMAL_CHANGE


def test_a_shape_the_rig_lacks_is_an_empty_target(animated):
    _, _, document, blob = animated
    for primitive in document["meshes"][0]["primitives"]:
        target = primitive["targets"][INDEX["tongueOut"]]
        accessor = document["accessors"][target["POSITION"]]
        assert "bufferView" not in accessor and "sparse" not in accessor
        assert not read_accessor(document, blob, target["POSITION"]).any()


def test_one_expression_is_a_still_with_its_weights(tmp_path, rig):
    weights = np.zeros(52, np.float32)
    weights[INDEX["jawOpen"]], weights[INDEX["mouthSmileRight"]] = 0.6, 0.9
    document, _ = read_glb(gltf.write_glb(tmp_path / "still.glb", weights, rig=rig))
    assert "animations" not in document
    np.testing.assert_allclose(document["meshes"][0]["weights"], weights)


def test_bad_input_fails_clearly_and_keeps_the_earlier_file(tmp_path, rig):
    path = gltf.write_glb(tmp_path / "head.glb", np.zeros(52), rig=rig)
    before = path.read_bytes()
    with pytest.raises(gltf.ExportError, match="Frame rate 0"):
        gltf.write_glb(path, np.zeros((3, 52)), fps=0, rig=rig)
    with pytest.raises(gltf.ExportError, match=r"shape \(0, 52\)"):
        gltf.write_glb(path, np.zeros((0, 52)), rig=rig)
    with pytest.raises(BlendshapeError, match="last axis of 52"):
        gltf.write_glb(path, np.zeros((3, 51)), rig=rig)
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["head.glb"]


def test_trimesh_loads_the_head(animated, rig):
    trimesh = pytest.importorskip("trimesh")
    scene = trimesh.load(animated[0], force="scene")
    drawn = sum(len(t) for t in drawn_triangles(rig).values())
    assert sum(len(g.faces) for g in scene.geometry.values()) == drawn
    bounds = scene.bounds / gltf.METRES_PER_RIG_UNIT
    used = rig.neutral[np.unique(np.concatenate(list(drawn_triangles(rig).values())))]
    np.testing.assert_allclose(bounds, [used.min(axis=0), used.max(axis=0)], atol=1e-3)


@pytest.mark.skipif(shutil.which("node") is None or not VALIDATOR.is_dir(),
                    reason=f"the Khronos glTF validator is not installed: {NPM_HINT}")
def test_khronos_validator_finds_no_issue(animated, tmp_path, rig):
    still = gltf.write_glb(tmp_path / "still.glb", np.full(52, 0.3), rig=rig)
    script = ("const v = require(process.argv[1]); const fs = require('fs');"
              "Promise.all(process.argv.slice(2).map(f => v.validateBytes(new Uint8Array(fs.readFileSync(f)))))"
              ".then(rs => console.log(JSON.stringify(rs.map(r => r.issues))));")
    result = subprocess.run(["node", "-e", script, str(VALIDATOR), str(animated[0]), str(still)],
                            check=False, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    for issues in json.loads(result.stdout):
        assert issues["numErrors"] == issues["numWarnings"] == issues["numInfos"] == 0, issues["messages"]


_BLENDER_SCRIPT = """
import sys, json, bpy
path = sys.argv[sys.argv.index("--") + 1]
bpy.ops.wm.read_factory_settings(use_empty=True)
bpy.context.scene.render.fps = 25
bpy.ops.import_scene.gltf(filepath=path)
(head,) = [o for o in bpy.context.scene.objects if o.type == "MESH"]
keys = head.data.shape_keys
action = keys.animation_data.action
bpy.context.scene.frame_set(5)
evaluated = head.evaluated_get(bpy.context.evaluated_depsgraph_get())
print("RESULT" + json.dumps({
    "keys": [k.name for k in keys.key_blocks][1:], "curves": len(action.fcurves),
    "points": len(action.fcurves[0].keyframe_points), "vertices": len(head.data.vertices),
    "frame5": [list(v.co) for v in evaluated.data.vertices],
}), flush=True)
import os
os._exit(0)  # bpy as a module can crash while the interpreter shuts down, after the work is done
"""


def _blender_command() -> list[str] | None:
    """A way to run Blender's Python: $BPY_PYTHON (a Python with the bpy wheel) or `blender` on PATH."""
    if os.environ.get("BPY_PYTHON"):
        return [os.environ["BPY_PYTHON"], "-c", _BLENDER_SCRIPT]
    if shutil.which("blender"):
        return ["blender", "--background", "--factory-startup", "--python-expr", _BLENDER_SCRIPT]
    return None


@pytest.mark.skipif(_blender_command() is None,
                    reason="no Blender: set BPY_PYTHON to a Python with `pip install bpy` or put blender on PATH")
def test_blender_imports_shape_keys_and_action(animated, rig):
    path, frames, _, _ = animated
    result = subprocess.run([*_blender_command(), "--", str(path)], check=False, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.split("RESULT", 1)[1].splitlines()[0])
    assert report["keys"] == list(BLENDSHAPE_NAMES)
    assert report["curves"] == 52 and report["points"] == len(frames)
    # Blender is Z up: glTF (x, y, z) is Blender (x, -z, y). At 25 fps, scene frame 5 is the clip's frame 5.
    blender = np.array(report["frame5"])
    positions = np.c_[blender[:, 0], blender[:, 2], -blender[:, 1]]
    expected = rig.vertices(frames[5])[np.concatenate(gltf.primitive_vertex_ids(rig))] * gltf.METRES_PER_RIG_UNIT
    assert positions.shape == expected.shape
    assert np.abs(positions - expected).max() < gltf.MIN_OFFSET_CM * gltf.METRES_PER_RIG_UNIT * frames[5].sum() + 1e-5


_THREE_SCRIPT = """
import fs from 'fs';
import * as THREE from '%(three)s/build/three.module.js';
import { GLTFLoader } from '%(three)s/examples/jsm/loaders/GLTFLoader.js';
const data = fs.readFileSync(process.argv[2]);
new GLTFLoader().parse(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength), '', (gltf) => {
  const meshes = [];
  gltf.scene.traverse((o) => { if (o.isMesh) meshes.push(o); });
  const mixer = new THREE.AnimationMixer(gltf.scene);
  mixer.clipAction(gltf.animations[0]).play();
  mixer.update(Number(process.argv[3]));
  console.log(JSON.stringify({
    meshes: meshes.length, vertexColors: meshes.every((m) => m.material.vertexColors),
    targets: meshes.map((m) => [m.geometry.morphAttributes.position.length, m.geometry.morphAttributes.normal.length]),
    names: Object.keys(meshes[0].morphTargetDictionary).sort((a, b) => meshes[0].morphTargetDictionary[a] - meshes[0].morphTargetDictionary[b]),
    duration: gltf.animations[0].duration, influences: meshes.map((m) => Array.from(m.morphTargetInfluences)),
  }));
}, (error) => { console.error(error); process.exit(1); });
"""


@pytest.mark.skipif(shutil.which("node") is None or not THREE.is_dir(), reason=f"three.js is not installed: {NPM_HINT}")
def test_three_js_plays_the_animation(animated, tmp_path):
    path, frames, document, _ = animated
    script = tmp_path / "play.mjs"
    script.write_text(_THREE_SCRIPT % {"three": THREE.resolve().as_uri()})
    result = subprocess.run(["node", str(script), str(path), str(7 / 25.0)], check=False, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert report["meshes"] == len(document["meshes"][0]["primitives"]) and report["vertexColors"]
    assert report["targets"] == [[52, 52]] * report["meshes"]
    assert report["names"] == list(BLENDSHAPE_NAMES)
    assert report["duration"] == pytest.approx((len(frames) - 1) / 25.0, rel=1e-6)
    for influences in report["influences"]:  # the mixer at t = 7 / fps shows frame 7
        np.testing.assert_allclose(influences, frames[7], atol=1e-5)
