"""The head rig: ICT-FaceKit's neutral mesh, its parts, 52 ARKit deltas in canonical order and 30 identity modes.

Built once from the ICT-FaceKit OBJs into a compact cached ``.npz`` (float16 deltas), then loaded
in milliseconds. A face other than the default one (:class:`head.identity.Identity`) is the neutral
mesh plus its weighted identity modes; the blendshape deltas are added on top of it, as ICT-FaceKit's
own code does. Name mapping from ICT to ARKit:

* ``_L``/``_R`` → ``Left``/``Right`` (ICT's ``_L`` lies at +X, the subject's left, as ARKit's);
* ``browInnerUp`` and ``cheekPuff`` are split into halves in ICT: their deltas are summed;
* ICT has no ``tongueOut``: the rig carries a **zero delta** for it, so the weight is accepted and
  exported but does not move the mesh.

Units are centimetres, Y up, the face looks toward +Z.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from tqdm import tqdm

from head.arkit import BLENDSHAPE_NAMES, NUM_BLENDSHAPES, validate
from head.assets import MIRROR_ENV, AssetError, cache_dir, fetch_sources, temporary_sibling
from head.identity import NUM_IDENTITY_MODES, Identity

RIG_VERSION = 2  # 2: with the identity modes (version 1 caches stay for older checkouts)
RIG_FILENAME = f"ict_rig_v{RIG_VERSION}.npz"
RIG_ENV = "EXPCLIP_RIG"
ZERO_DELTA_SHAPES: tuple[str, ...] = ("tongueOut",)
SPLIT_SHAPES: tuple[str, ...] = ("browInnerUp", "cheekPuff")

# ICT's M_BackHead material covers three pieces, told apart by polygon index (ICT-FaceKit README).
_BACK_HEAD_RANGES: dict[str, tuple[int, int]] = {
    "skin": (9230, 11144),          # head and neck
    "mouth_socket": (11144, 13226),
    "eye_sockets": (13226, 14034),
}
# Other ICT materials → rig parts. The thin eye overlays (lacrimal fluid, eye blend, occlusion) are
# meant for transparent shaders; they only hide the eyes in an opaque renderer, so they are left out.
_MATERIAL_PARTS: dict[str, str] = {
    "M_Face": "skin",
    "M_GumsTongue": "gums_tongue",
    "M_Teeth": "teeth",
    "M_ScleraLeft": "sclera_left",
    "M_ScleraRight": "sclera_right",
    "M_IrisLeft": "iris_left",
    "M_IrisRight": "iris_right",
    "M_EyeLashes": "lashes",
}
PART_NAMES: tuple[str, ...] = (
    "skin", "mouth_socket", "eye_sockets", "gums_tongue", "teeth",
    "sclera_left", "sclera_right", "iris_left", "iris_right", "lashes",
)


@dataclass(frozen=True)
class Rig:
    """A linear blendshape head.

    Attributes:
        neutral: ``(V, 3)`` float32 rest positions in centimetres.
        deltas: ``(52, V, 3)`` float32 offsets per ARKit shape in canonical order.
        parts: part name → ``(F, 3)`` int32 triangle vertex indices.
        landmarks68: ``(68,)`` int32 vertex indices of the iBUG-68 landmarks.
        identity_modes: ``(30, V, 3)`` float32 offsets of ICT's first identity shape modes from the
            neutral mesh (``identity_i - neutral``), in ICT's order.
    """

    neutral: np.ndarray
    deltas: np.ndarray
    parts: dict[str, np.ndarray]
    landmarks68: np.ndarray
    identity_modes: np.ndarray

    @property
    def num_vertices(self) -> int:
        return int(self.neutral.shape[0])

    def identity_neutral(self, identity: Identity | None = None) -> np.ndarray:
        """The rest shape of a face: ``neutral + sum_i c_i identity_modes_i`` → ``(V, 3)`` (the neutral for None)."""
        if identity is None or identity.is_neutral:
            return self.neutral
        flat = self.identity_modes.reshape(NUM_IDENTITY_MODES, -1)
        return self.neutral + (identity.coefficients @ flat).reshape(self.neutral.shape)

    def vertices(self, weights: np.ndarray, identity: Identity | None = None) -> np.ndarray:
        """Deform the head: ``(52,)`` → ``(V, 3)`` or ``(T, 52)`` → ``(T, V, 3)``; weights clipped to [0, 1].

        ``identity`` changes the rest shape first (default: the ICT head's own face).
        """
        w = validate(weights)
        base = self.identity_neutral(identity)
        flat = self.deltas.reshape(NUM_BLENDSHAPES, -1)
        if w.ndim == 1:
            active = np.flatnonzero(w)  # most frames use few shapes
            return base + (w[active] @ flat[active]).reshape(base.shape)
        offsets = w.reshape(-1, NUM_BLENDSHAPES) @ flat
        return base + offsets.reshape(*w.shape[:-1], *base.shape)


def _read_obj_vertices(path: Path) -> np.ndarray:
    """All ``v`` lines of an OBJ, in file order → ``(V, 3)`` float32."""
    text = path.read_text()
    coords = " ".join(line[2:] for line in text.splitlines() if line.startswith("v "))
    return np.array(coords.split(), dtype=np.float32).reshape(-1, 3)


def _read_obj_faces(path: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Triangulated faces of an OBJ with their polygon index and material.

    Returns:
        triangles ``(F, 3)`` int32 (0-based), polygon ``(F,)`` int32 (index of the source polygon),
        and the material name of each source polygon.
    """
    triangles: list[list[int]] = []
    polygon_of: list[int] = []
    materials: list[str] = []
    material = ""
    for line in path.read_text().splitlines():
        if line.startswith("usemtl"):
            material = line.split()[1]
        elif line.startswith("f "):
            ids = [int(token.split("/")[0]) - 1 for token in line.split()[1:]]
            for k in range(1, len(ids) - 1):  # fan triangulation of quads
                triangles.append([ids[0], ids[k], ids[k + 1]])
                polygon_of.append(len(materials))
            materials.append(material)
    return np.array(triangles, np.int32), np.array(polygon_of, np.int32), materials


def _ict_expression_files(arkit_name: str, available: set[str]) -> list[str]:
    """ICT expression names whose deltas sum to one ARKit shape (empty for a zero delta)."""
    if arkit_name in ZERO_DELTA_SHAPES:
        return []
    if arkit_name in SPLIT_SHAPES:
        return [f"{arkit_name}_L", f"{arkit_name}_R"]
    if arkit_name in available:  # jawLeft, mouthRight, ... keep their ARKit names in ICT
        return [arkit_name]
    for side, suffix in (("Left", "_L"), ("Right", "_R")):
        if arkit_name.endswith(side):
            return [arkit_name[: -len(side)] + suffix]
    return [arkit_name]


def build_rig(source: Path, out_path: Path) -> Path:
    """Parse the ICT-FaceKit files in ``source`` and write the rig to ``out_path`` atomically."""
    model_dir = source / "FaceXModel"
    neutral = _read_obj_vertices(model_dir / "generic_neutral_mesh.obj")
    triangles, polygon_of, materials = _read_obj_faces(model_dir / "generic_neutral_mesh.obj")
    indices = json.loads((model_dir / "vertex_indices.json").read_text())
    available = set(indices["expressions"])

    deltas = np.zeros((NUM_BLENDSHAPES, *neutral.shape), np.float32)
    for k, name in enumerate(tqdm(BLENDSHAPE_NAMES, desc="Building head rig", unit="shape")):
        for ict_name in _ict_expression_files(name, available):
            if ict_name not in available:
                raise AssetError(f"ICT-FaceKit in {source} has no expression {ict_name!r}; is it the pinned commit?")
            shape = _read_obj_vertices(model_dir / f"{ict_name}.obj")
            deltas[k] += shape - neutral
    identity_modes = np.stack([
        _read_obj_vertices(model_dir / f"identity{i:03d}.obj") - neutral
        for i in tqdm(range(NUM_IDENTITY_MODES), desc="Reading identity modes", unit="mode")
    ])

    polygon_material = np.array(materials)[polygon_of]
    part_of = np.full(len(triangles), "", dtype=object)
    for material, part in _MATERIAL_PARTS.items():
        part_of[polygon_material == material] = part
    for part, (start, stop) in _BACK_HEAD_RANGES.items():
        part_of[(polygon_of >= start) & (polygon_of < stop)] = part
    arrays = {f"part_{p}": triangles[part_of == p] for p in PART_NAMES}

    tmp = temporary_sibling(out_path)
    with tmp.open("wb") as fh:
        np.savez_compressed(
            fh,
            version=np.array(RIG_VERSION),
            neutral=neutral,
            deltas=deltas.astype(np.float16),
            identity_modes=identity_modes.astype(np.float16),
            landmarks68=np.array(indices["idx_to_landmark_verts"], np.int32),
            **arrays,
        )
    tmp.chmod(0o644)
    os.replace(tmp, out_path)
    return out_path


def default_rig_path() -> Path:
    """``EXPCLIP_RIG`` if set, else ``<cache>/ict_rig_v2.npz``."""
    given = os.environ.get(RIG_ENV)
    return Path(given).expanduser() if given else cache_dir() / RIG_FILENAME


def ensure_rig(mirror: str | Path | None = None, rebuild: bool = False) -> Path:
    """Return the cached rig's path, building it first (from the mirror or a download) when missing."""
    path = default_rig_path()
    if path.is_file() and not rebuild:
        return path
    return build_rig(fetch_sources(mirror), path)


@lru_cache(maxsize=4)
def _load_cached(path: str, mtime: float) -> Rig:
    with np.load(path) as data:
        if int(data["version"]) != RIG_VERSION:
            raise AssetError(f"The rig at {path} is from another version; rebuild it with `python -m render rig --rebuild`.")
        arrays = {
            "neutral": data["neutral"].astype(np.float32),
            "deltas": data["deltas"].astype(np.float32),
            "landmarks68": data["landmarks68"].astype(np.int32),
            "identity_modes": data["identity_modes"].astype(np.float32),
        }
        parts = {p: data[f"part_{p}"].astype(np.int32) for p in PART_NAMES}
    for array in (*arrays.values(), *parts.values()):
        array.setflags(write=False)  # shared by every caller of load_rig
    return Rig(parts=parts, **arrays)


def load_rig(path: str | Path | None = None) -> Rig:
    """Load the cached head rig (built by ``make demo``/``make test`` or ``python -m render rig``)."""
    rig_path = Path(path) if path is not None else default_rig_path()
    if not rig_path.is_file():
        raise AssetError(
            f"No head rig at {rig_path}; build it with `python -m render rig --mirror DIR` "
            f"(or set {MIRROR_ENV} to a copy of ICT-FaceKit, or allow a download)."
        )
    return _load_cached(str(rig_path.resolve()), rig_path.stat().st_mtime)
