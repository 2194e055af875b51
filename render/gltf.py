"""Weights → a glTF 2.0 binary (``.glb``) of the head with 52 ARKit morph targets and the animation.

The file opens in Blender (File → Import → glTF 2.0: one mesh whose shape keys carry the ARKit
names, and an action that plays the animation), three.js and other web viewers, Godot, Unity
(glTFast) and Unreal's glTF importer. What it holds:

* one mesh, one primitive per look (skin, mouth and eye sockets, gums and tongue, teeth, eyes),
  made of the triangles the renderer draws (:func:`render.renderer.drawn_triangles`), with
  POSITION, smooth NORMAL and COLOR_0 (the renderer's per-vertex albedo: tinted lips, iris and
  pupil) and a metallic-roughness material per primitive whose base colour is that look's
  brightest albedo, so viewers that ignore vertex colours still show skin-coloured skin;
* 52 morph targets in canonical order, named in ``mesh.extras.targetNames`` (the convention
  Blender and three.js read). Shapes the rig lacks (``tongueOut`` on ICT) are present with zero
  offsets, so the file always has all 52. Targets are sparse: only vertices that move by more
  than :data:`MIN_OFFSET_CM` are stored, with their normal changes (NORMAL targets, for viewers
  that shade with morphed normals);
* the base mesh is the chosen face (:class:`head.identity.Identity`; default the ICT head's own): its
  rest shape, with the same 52 deltas on top, and its coefficients in ``mesh.extras.identity``;
* for more than one frame, an animation ``ExpCLIP`` with a LINEAR ``weights`` channel on the head
  node (times ``k / fps``); the mesh's default weights are then zero. One frame gives a still
  expression: no animation, and the mesh's default weights are that frame.

Units are metres (the rig's centimetres × :data:`METRES_PER_RIG_UNIT`), Y up, the face toward +Z,
as glTF specifies. glTF has no audio track: keep the sound beside the file (or use the mp4).
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from head.arkit import BLENDSHAPE_NAMES, NUM_BLENDSHAPES, validate
from head.files import replace_when_done
from head.identity import NEUTRAL, Identity
from head.rig import Rig, load_rig

GENERATOR = "ExpCLIP"
METRES_PER_RIG_UNIT = 0.01
MIN_OFFSET_CM = 1e-3          # vertex offsets at or below 10 µm are left out of the sparse targets
MIN_NORMAL_CHANGE = 1e-2      # normal changes at or below this length (about 0.6°) likewise
ANIMATION_NAME = "ExpCLIP"

# Drawn rig parts → glTF primitives, one material each: (primitive name, its parts).
_PRIMITIVES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("skin", ("skin",)),
    ("sockets", ("mouth_socket", "eye_sockets")),
    ("gums_tongue", ("gums_tongue",)),
    ("teeth", ("teeth",)),
    ("eyes", ("sclera_left", "sclera_right", "iris_left", "iris_right")),
)

_GLB_MAGIC = 0x46546C67   # "glTF"
_CHUNK_JSON = 0x4E4F534A  # "JSON"
_CHUNK_BIN = 0x004E4942   # "BIN\0"
_FLOAT, _UNSIGNED_BYTE, _UNSIGNED_SHORT, _UNSIGNED_INT = 5126, 5121, 5123, 5125
_ARRAY_BUFFER, _ELEMENT_ARRAY_BUFFER = 34962, 34963
_TRIANGLES = 4


class ExportError(ValueError):
    """Raised for input that cannot be exported; the message says what is accepted."""


def _pad4(data: bytes, fill: bytes = b"\0") -> bytes:
    return data + fill * (-len(data) % 4)


class _Buffer:
    """The binary chunk under construction with its bufferViews and accessors (glTF JSON dicts)."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.length = 0
        self.views: list[dict] = []
        self.accessors: list[dict] = []

    def view(self, data: bytes, target: int | None = None) -> int:
        """Append ``data`` (4-byte aligned) as a new bufferView → its index."""
        view = {"buffer": 0, "byteOffset": self.length, "byteLength": len(data)}
        if target is not None:
            view["target"] = target
        self.chunks.append(_pad4(data))
        self.length += len(self.chunks[-1])
        self.views.append(view)
        return len(self.views) - 1

    def accessor(self, array: np.ndarray | None, component: int, kind: str, count: int | None = None,
                 target: int | None = None, bounds: bool = False, normalized: bool = False) -> int:
        """An accessor over ``array`` (or, when None, ``count`` zeros without a bufferView) → its index."""
        accessor = {"componentType": component, "count": int(count if array is None else len(array)), "type": kind}
        if array is not None:
            accessor["bufferView"] = self.view(np.ascontiguousarray(array).tobytes(), target)
        if normalized:
            accessor["normalized"] = True
        if bounds:
            values = np.zeros((1, 3), np.float32) if array is None else np.asarray(array, np.float32)
            values = values.reshape(len(values), -1)
            accessor["min"] = [float(v) for v in values.min(axis=0)]
            accessor["max"] = [float(v) for v in values.max(axis=0)]
        self.accessors.append(accessor)
        return len(self.accessors) - 1

    def sparse_vec3(self, dense: np.ndarray, keep: np.ndarray, index_view: list[bytes],
                    value_view: list[bytes], bounds: bool) -> int:
        """A float VEC3 accessor equal to ``dense`` ``(n, 3)`` where ``keep`` and zero elsewhere.

        Its sparse indices and values are appended to the shared ``index_view``/``value_view``
        byte lists (turned into two bufferViews by :meth:`finish_sparse`); no rows kept → an
        accessor without a bufferView (all zeros), since a sparse accessor needs at least one row.
        """
        rows = np.flatnonzero(keep)
        values = np.where(keep[:, None], dense, 0.0).astype(np.float32)
        accessor: dict = {"componentType": _FLOAT, "count": len(dense), "type": "VEC3"}
        if bounds:
            accessor["min"] = [float(v) for v in values.min(axis=0, initial=0.0)]
            accessor["max"] = [float(v) for v in values.max(axis=0, initial=0.0)]
        if len(rows):
            index_type = np.uint16 if len(dense) <= 0xFFFF else np.uint32
            accessor["sparse"] = {
                "count": len(rows),
                "indices": {"bufferView": -1, "byteOffset": sum(map(len, index_view)),
                            "componentType": _UNSIGNED_SHORT if index_type is np.uint16 else _UNSIGNED_INT},
                "values": {"bufferView": -2, "byteOffset": sum(map(len, value_view))},
            }
            index_view.append(_pad4(rows.astype(index_type).tobytes()))
            value_view.append(values[rows].tobytes())
        self.accessors.append(accessor)
        return len(self.accessors) - 1

    def finish_sparse(self, index_view: list[bytes], value_view: list[bytes]) -> None:
        """Write the shared sparse bufferViews and point the placeholder references at them."""
        if not index_view:
            return
        indices, values = self.view(b"".join(index_view)), self.view(b"".join(value_view))
        for accessor in self.accessors:
            sparse = accessor.get("sparse")
            if sparse and sparse["indices"]["bufferView"] == -1:
                sparse["indices"]["bufferView"], sparse["values"]["bufferView"] = indices, values

    def blob(self) -> bytes:
        return b"".join(self.chunks)


@dataclass(frozen=True)
class _StaticHead:
    """The parts of a GLB that depend only on the rig and the face: mesh, materials, their binary data."""

    rig: Rig
    identity: bytes                     # Identity.key of the face
    vertex_ids: tuple[np.ndarray, ...]  # per primitive: the rig vertex of each of its vertices
    mesh: dict
    materials: list[dict]
    views: list[dict]
    accessors: list[dict]
    blob: bytes


def _looks(rig: Rig) -> tuple[np.ndarray, object]:
    """Per-vertex albedo and gloss ``(V, 4)`` as the renderer draws them, and its normal calculator."""
    from render.renderer import _build_parts, _Normals

    parts = _build_parts(rig)
    albedo_gloss = np.zeros((rig.num_vertices, 4), np.float32)
    for part in parts:
        albedo_gloss[part.vertex_ids] = part.albedo_gloss
    return albedo_gloss, _Normals(rig.neutral, parts)


def _build_static(rig: Rig, identity: Identity) -> _StaticHead:
    from render.renderer import _DOUBLE_SIDED, drawn_triangles

    drawn = drawn_triangles(rig)
    albedo_gloss, normals_of = _looks(rig)  # per vertex, as the renderer: they follow any face
    rest = rig.identity_neutral(identity)
    normals = normals_of(rest)
    target_normals = np.stack([normals_of(rest + rig.deltas[k]) for k in range(NUM_BLENDSHAPES)])
    moving = np.linalg.norm(rig.deltas, axis=2) > MIN_OFFSET_CM            # (52, V)
    turning = np.linalg.norm(target_normals - normals, axis=2) > MIN_NORMAL_CHANGE

    grouped = {name: [p for p in parts if p in drawn] for name, parts in _PRIMITIVES}
    known = {p for parts in grouped.values() for p in parts}
    grouped.update({p: [p] for p in drawn if p not in known})  # a part added to the rig later
    buffer, sparse_indices, sparse_values = _Buffer(), [], []
    primitives, materials, primitive_ids = [], [], []
    for name, parts in grouped.items():
        if not parts:
            continue
        vertex_ids, local = np.unique(np.concatenate([drawn[p] for p in parts]), return_inverse=True)
        triangles = local.reshape(-1, 3)
        primitive_ids.append(vertex_ids)
        albedo = albedo_gloss[vertex_ids, :3]
        base = np.maximum(albedo.max(axis=0), 1e-3)
        colours = np.c_[np.clip(albedo / base, 0.0, 1.0), np.ones(len(albedo))]
        gloss = float(np.median(albedo_gloss[vertex_ids, 3]))
        materials.append({
            "name": name,
            "pbrMetallicRoughness": {"baseColorFactor": [*(round(float(c), 4) for c in base), 1.0],
                                     "metallicFactor": 0.0, "roughnessFactor": round(1.0 - 0.8 * gloss, 3)},
            "doubleSided": any(p in _DOUBLE_SIDED for p in parts),
        })
        scale = METRES_PER_RIG_UNIT
        attributes = {
            "POSITION": buffer.accessor((rest[vertex_ids] * scale).astype(np.float32), _FLOAT, "VEC3",
                                        target=_ARRAY_BUFFER, bounds=True),
            "NORMAL": buffer.accessor(normals[vertex_ids].astype(np.float32), _FLOAT, "VEC3", target=_ARRAY_BUFFER),
            "COLOR_0": buffer.accessor(np.round(colours * 255).astype(np.uint8), _UNSIGNED_BYTE, "VEC4",
                                       target=_ARRAY_BUFFER, normalized=True),
        }
        index_type, component = ((np.uint16, _UNSIGNED_SHORT) if len(vertex_ids) <= 0xFFFF
                                 else (np.uint32, _UNSIGNED_INT))
        indices = buffer.accessor(triangles.ravel().astype(index_type), component, "SCALAR",
                                  target=_ELEMENT_ARRAY_BUFFER)
        targets = []
        for k in range(NUM_BLENDSHAPES):
            delta = rig.deltas[k, vertex_ids] * scale
            normal_delta = target_normals[k, vertex_ids] - normals[vertex_ids]
            targets.append({
                "POSITION": buffer.sparse_vec3(delta, moving[k, vertex_ids], sparse_indices, sparse_values,
                                               bounds=True),
                "NORMAL": buffer.sparse_vec3(normal_delta, turning[k, vertex_ids], sparse_indices, sparse_values,
                                             bounds=False),
            })
        primitives.append({"attributes": attributes, "indices": indices, "material": len(materials) - 1,
                           "mode": _TRIANGLES, "targets": targets})
    buffer.finish_sparse(sparse_indices, sparse_values)
    extras: dict = {"targetNames": list(BLENDSHAPE_NAMES)}
    if not identity.is_neutral:
        extras["identity"] = identity.to_json()
    mesh = {"name": "head", "primitives": primitives, "extras": extras}
    return _StaticHead(rig, identity.key, tuple(primitive_ids), mesh, materials, buffer.views, buffer.accessors,
                       buffer.blob())


_STATIC_CACHE: list[_StaticHead] = []


def _static_head(rig: Rig, identity: Identity | None = None) -> _StaticHead:
    """The static GLB part of the rig with a face, built once per rig object and face (a few hundred milliseconds)."""
    identity = identity or NEUTRAL
    for head in _STATIC_CACHE:
        if head.rig is rig and head.identity == identity.key:
            return head
    head = _build_static(rig, identity)
    _STATIC_CACHE[:] = [head, *_STATIC_CACHE[:1]]
    return head


def primitive_vertex_ids(rig: Rig | None = None) -> list[np.ndarray]:
    """Which rig vertex each vertex of the GLB is: per mesh primitive, in file order, ``(n,)`` indices
    into ``rig.neutral`` (to map a GLB back to ICT-FaceKit's vertex numbering)."""
    return [ids.copy() for ids in _static_head(rig if rig is not None else load_rig()).vertex_ids]


def glb_bytes(frames: np.ndarray, fps: float = 30.0, rig: Rig | None = None, identity: Identity | None = None) -> bytes:
    """The GLB file of :func:`write_glb` as bytes."""
    frames = validate(np.asarray(frames, np.float32), what="Frames to export")
    if frames.ndim == 1:
        frames = frames[None]
    if frames.ndim != 2 or len(frames) == 0:
        raise ExportError(f"Frames to export have shape {frames.shape}; expected (52,) or (frames, 52) with frames ≥ 1.")
    if not (isinstance(fps, (int, float)) and math.isfinite(fps) and fps > 0):
        raise ExportError(f"Frame rate {fps!r} is not a positive number of frames per second.")
    head = _static_head(rig if rig is not None else load_rig(), identity)

    buffer = _Buffer()
    buffer.views = [dict(v) for v in head.views]
    buffer.accessors = list(head.accessors)
    buffer.chunks, buffer.length = [head.blob], len(head.blob)
    mesh = dict(head.mesh)
    document: dict = {
        "asset": {"version": "2.0", "generator": GENERATOR},
        "scene": 0,
        "scenes": [{"name": "ExpCLIP", "nodes": [0]}],
        "nodes": [{"name": "ExpCLIP head", "mesh": 0}],
        "meshes": [mesh],
        "materials": head.materials,
    }
    if len(frames) == 1:
        mesh["weights"] = [float(w) for w in frames[0]]
    else:
        mesh["weights"] = [0.0] * NUM_BLENDSHAPES
        times = (np.arange(len(frames), dtype=np.float64) / fps).astype(np.float32)
        sampler = {
            "input": buffer.accessor(times, _FLOAT, "SCALAR", bounds=True),
            "output": buffer.accessor(frames.ravel(), _FLOAT, "SCALAR"),
            "interpolation": "LINEAR",
        }
        document["animations"] = [{
            "name": ANIMATION_NAME,
            "channels": [{"sampler": 0, "target": {"node": 0, "path": "weights"}}],
            "samplers": [sampler],
            "extras": {"fps": float(fps), "frames": len(frames)},
        }]
    blob = buffer.blob()
    document.update(buffers=[{"byteLength": len(blob)}], bufferViews=buffer.views, accessors=buffer.accessors)
    text = _pad4(json.dumps(document, separators=(",", ":")).encode("utf-8"), b" ")
    total = 12 + 8 + len(text) + 8 + len(blob)
    return b"".join([
        struct.pack("<III", _GLB_MAGIC, 2, total),
        struct.pack("<II", len(text), _CHUNK_JSON), text,
        struct.pack("<II", len(blob), _CHUNK_BIN), blob,
    ])


def write_glb(path: str | Path, frames: np.ndarray, fps: float = 30.0, rig: Rig | None = None,
              identity: Identity | None = None) -> Path:
    """Write the head animated by ``frames`` as a glTF binary.

    Args:
        path: the ``.glb`` file to write (atomically: an earlier file stays until the new one is complete).
        frames: ``(frames, 52)`` weights in canonical order at ``fps``, or ``(52,)`` for one expression
            (no animation then); clipped to [0, 1].
        fps: frames per second of ``frames``.
        rig: the head rig (default: the cached one).
        identity: the face of the base mesh (default: the ICT head's own).
    Returns:
        ``path``.
    """
    data = glb_bytes(frames, fps=fps, rig=rig, identity=identity)
    path = Path(path)
    with replace_when_done(path) as partial:
        partial.write_bytes(data)
    return path
