"""A lighter head for software WebGL: the rig with about a quarter of its triangles, on its own vertices.

A browser without a GPU (SwiftShader, llvmpipe) spends its frame moving and shading the head's 26 719 vertices.
:func:`simplified_rig` decimates each part (quadric edge collapse, ``fast-simplification``) and snaps every
vertex of the result to the nearest original vertex of the same part, so the lighter head is a subset of the
rig's vertices: its rest shape, its 52 ARKit deltas and its identity modes are the rig's own at those vertices,
and every expression and face moves it exactly as it moves the full head there.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.spatial import cKDTree

from head.rig import Rig, load_rig

# The share of each part's triangles kept: the skin carries the expression; the mouth's inside and the teeth
# are seen only through the lips; the eyes and lashes are small already, and thin lashes fall apart when cut.
KEEP = {"skin": 0.3, "mouth_socket": 0.2, "gums_tongue": 0.25, "teeth": 0.4, "eye_sockets": 0.5,
        "sclera_left": 0.5, "sclera_right": 0.5, "iris_left": 0.5, "iris_right": 0.5, "lashes": 1.0}


def _simplified_part(points: np.ndarray, triangles: np.ndarray, keep: float) -> np.ndarray:
    """``triangles`` (F, 3) of the rig decimated to about ``keep`` of them, as indices into the rig's vertices."""
    if keep >= 1.0:
        return triangles
    import fast_simplification

    used = np.unique(triangles)
    local = np.searchsorted(used, triangles)
    new_points, new_triangles = fast_simplification.simplify(points[used].astype(np.float64), local, 1.0 - keep)
    _, nearest = cKDTree(points[used]).query(new_points)
    snapped = used[nearest][new_triangles]
    whole = (snapped[:, 0] != snapped[:, 1]) & (snapped[:, 1] != snapped[:, 2]) & (snapped[:, 0] != snapped[:, 2])
    snapped = snapped[whole]
    _, first = np.unique(np.sort(snapped, axis=1), axis=0, return_index=True)  # two collapses onto one triangle
    return snapped[np.sort(first)].astype(np.int32)


def simplify_rig(rig: Rig, keep: dict[str, float] | None = None) -> Rig:
    """``rig`` with each part decimated to its share of :data:`KEEP` (or ``keep``): a :class:`Rig` over a subset
    of its vertices, ``neutral`` (V', 3), ``deltas`` (52, V', 3), ``identity_modes`` (30, V', 3) taken from it."""
    shares = {**KEEP, **(keep or {})}
    parts = {name: _simplified_part(rig.neutral, triangles, shares.get(name, 1.0))
             for name, triangles in rig.parts.items()}
    kept = np.unique(np.concatenate([t.ravel() for t in parts.values()]))
    renumber = np.full(rig.num_vertices, -1, dtype=np.int64)
    renumber[kept] = np.arange(len(kept))
    _, landmarks = cKDTree(rig.neutral[kept]).query(rig.neutral[rig.landmarks68])
    return Rig(neutral=rig.neutral[kept], deltas=rig.deltas[:, kept], identity_modes=rig.identity_modes[:, kept],
               parts={name: renumber[t].astype(np.int32) for name, t in parts.items()},
               landmarks68=landmarks.astype(np.int32))


@lru_cache(maxsize=1)
def simplified_rig() -> Rig:
    """The cached rig (:func:`head.rig.load_rig`) simplified by :func:`simplify_rig`."""
    return simplify_rig(load_rig())


DETAILS = ("full", "light")


def check_detail(detail: str) -> str:
    """``detail`` if it is one of :data:`DETAILS`, else a ``ValueError`` that names them."""
    if detail not in DETAILS:
        raise ValueError(f"The head's detail {detail!r} is not one of {', '.join(DETAILS)}.")
    return detail


def head_rig(detail: str = "full") -> Rig:
    """The rig a 3D view draws: ``full`` (:func:`head.rig.load_rig`) or ``light`` (:func:`simplified_rig`)."""
    return load_rig() if check_detail(detail) == "full" else simplified_rig()
