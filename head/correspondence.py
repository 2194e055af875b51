"""Which point on the ICT head each MediaPipe landmark is, found once and cached beside the rig.

The head is rendered from the front at a few sizes; MediaPipe finds its 478 landmarks
(averaged over the renders); each landmark's pixel is cast back onto the drawn mesh as a point on
a triangle (three vertex ids and barycentric weights). The 468 face-mesh points are cast onto the
skin only, so eyelid and lip points follow the lids and lips (a lid-margin pixel that shows the
eyeball takes the nearest skin triangle); the 10 iris points are cast onto the irises.

With the correspondence, any rig pose gives its landmark positions as a linear function of the 52
weights (:meth:`Correspondence.landmark_model`), which is what blendshape fitting solves. MediaPipe
does not see the head exactly where its mesh points are (its points are a learned guess, the
camera's perspective bends them and its depth is flattened), so the neutral head's own detected
landmarks, brought into the rig's frame, are kept as per-landmark ``offsets``: the landmark model
then reproduces MediaPipe's reading of the neutral head, and fitting a neutral render gives zeros.

This module holds the data and reads its cache file; the build renders the head, so it lives above,
in :mod:`render.correspondence_build` (run once by ``python -m render rig``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from head.assets import AssetError, temporary_sibling
from head.rig import Rig, default_rig_path

CORRESPONDENCE_VERSION = 1


@dataclass(frozen=True)
class Correspondence:
    """MediaPipe landmark ``i`` = ``sum_k barycentric[i, k] * vertex[vertex_ids[i, k]]``.

    Attributes:
        vertex_ids: ``(478, 3)`` int32 rig vertex indices.
        barycentric: ``(478, 3)`` float32 weights summing to 1.
        offsets: ``(478, 3)`` float32 centimetres, MediaPipe's neutral landmarks minus these points.
        observed_deltas: ``(52, 478, 3)`` float32 centimetres, how MediaPipe's landmarks move when
            each shape is rendered at full weight (in the rig's frame).
    """

    vertex_ids: np.ndarray
    barycentric: np.ndarray
    offsets: np.ndarray
    observed_deltas: np.ndarray

    def points(self, vertices: np.ndarray) -> np.ndarray:
        """Rig vertices ``(..., V, 3)`` → landmark positions ``(..., 478, 3)``."""
        return np.einsum("...nkc,nk->...nc", vertices[..., self.vertex_ids, :], self.barycentric)

    def landmark_model(self, rig: Rig, observed: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """The rig as MediaPipe sees it: neutral landmarks ``(478, 3)`` (with the offsets) and deltas
        ``(52, 478, 3)``: the observed ones, or (``observed=False``) the mesh's own at the landmark points."""
        deltas = self.observed_deltas if observed else self.points(rig.deltas)
        return (self.points(rig.neutral) + self.offsets).astype(np.float32), deltas.astype(np.float32)


def correspondence_path(rig_path: str | Path | None = None) -> Path:
    """The cache file beside a rig: ``<rig stem>_mediapipe_v1.npz``."""
    rig_path = Path(rig_path) if rig_path is not None else default_rig_path()
    return rig_path.with_name(f"{rig_path.stem}_mediapipe_v{CORRESPONDENCE_VERSION}.npz")


def write_correspondence(found: Correspondence, path: str | Path) -> Path:
    """Write ``found`` to ``path`` (through a temporary file moved into place)."""
    path = Path(path)
    tmp = temporary_sibling(path)
    with tmp.open("wb") as fh:
        np.savez(fh, version=np.array(CORRESPONDENCE_VERSION), vertex_ids=found.vertex_ids,
                 barycentric=found.barycentric, offsets=found.offsets, observed_deltas=found.observed_deltas)
    os.replace(tmp, path)
    return path


@lru_cache(maxsize=4)
def _load_cached(path: str, mtime: float) -> Correspondence:
    with np.load(path) as data:
        if int(data["version"]) != CORRESPONDENCE_VERSION:
            raise AssetError(f"The landmark correspondence at {path} is from another version; delete it to rebuild.")
        return Correspondence(data["vertex_ids"].astype(np.int32), data["barycentric"].astype(np.float32),
                              data["offsets"].astype(np.float32), data["observed_deltas"].astype(np.float32))


def load_correspondence(rig_path: str | Path | None = None) -> Correspondence:
    """The cached correspondence of the (default) rig, or an :class:`AssetError` saying how to build it."""
    path = correspondence_path(rig_path)
    if not path.is_file():
        raise AssetError(f"The head's MediaPipe landmark correspondence has not been built yet ({path} is missing); "
                         "build it once with `python -m render rig` (about 20 seconds).")
    return _load_cached(str(path.resolve()), path.stat().st_mtime)
