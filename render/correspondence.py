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
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from tqdm import tqdm

from expclip.arkit import BLENDSHAPE_NAMES
from render.assets import AssetError, temporary_sibling
from render.rig import Rig, default_rig_path, ensure_rig, load_rig

CORRESPONDENCE_VERSION = 1
RENDER_SIZES = (768, 1024, 1280)
NUM_MESH_POINTS = 468  # MediaPipe's face-mesh points; 468-477 are the iris points
# The head is rendered with the mouth a little open: with closed lips the inner-lip points of both
# lips fall on one pixel and cannot be told apart.
BUILD_POSE = {"jawOpen": 0.3}


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


def _ray_hits(pixel: np.ndarray, corners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Barycentric coordinates of ``pixel (2,)`` in each projected triangle ``(F, 3, 2)``.

    Returns ``(F, 3)`` coordinates and ``(F,)`` whether the pixel lies inside.
    """
    a, b, c = corners[:, 0], corners[:, 1], corners[:, 2]
    v0, v1, v2 = b - a, c - a, pixel - a
    d00, d01, d11 = (v0 * v0).sum(1), (v0 * v1).sum(1), (v1 * v1).sum(1)
    d20, d21 = (v2 * v0).sum(1), (v2 * v1).sum(1)
    det = d00 * d11 - d01 * d01
    det = np.where(np.abs(det) < 1e-12, 1e-12, det)
    v = (d11 * d20 - d01 * d21) / det
    w = (d00 * d21 - d01 * d20) / det
    bary = np.stack([1 - v - w, v, w], axis=1)
    return bary, (bary >= -1e-6).all(1)


def _cast(pixel: np.ndarray, triangles: np.ndarray, projected: np.ndarray, vertices: np.ndarray,
          camera: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The nearest front-facing triangle under ``pixel`` (or the closest one in the image when none is).

    Returns its three vertex ids and the barycentric weights of the point.
    """
    corners = vertices[triangles]
    normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    facing = (normals * (camera - corners.mean(1))).sum(1) > 0
    triangles, corners = triangles[facing], corners[facing]
    bary, inside = _ray_hits(pixel, projected[triangles])
    if inside.any():
        candidates = np.flatnonzero(inside)
        hit_points = np.einsum("fk,fkc->fc", bary[candidates], corners[candidates])
        best = candidates[np.argmin(np.linalg.norm(hit_points - camera, axis=1))]
        return triangles[best], bary[best]
    centroids = projected[triangles].mean(1)
    best = int(np.argmin(np.linalg.norm(centroids - pixel, axis=1)))
    clamped = np.clip(bary[best], 0.0, None)
    return triangles[best], clamped / clamped.sum()


def _detect(detector, renderer, weights: np.ndarray, scale: float) -> np.ndarray:
    """MediaPipe's landmarks ``(478, 3)`` of one render, in pixels of the reference size."""
    faces = detector.detect_all(renderer.render(weights))
    if not faces:
        raise AssetError("MediaPipe found no face on the rendered head; the rig or renderer is broken.")
    return faces[0] * scale


def build_correspondence(rig: Rig, detector=None, sizes: tuple[int, ...] = RENDER_SIZES) -> Correspondence:
    """Render the head, detect its landmarks and cast them onto the mesh; then render each shape at
    full weight to record how MediaPipe sees it move (about 20 seconds)."""
    from expclip.fitting import PIXELS_TO_RIG_AXES, similarity
    from expclip.landmarks import LandmarkDetector
    from render.renderer import HeadRenderer, camera_position, drawn_triangles

    detector = detector or LandmarkDetector(max_faces=1)
    reference = RENDER_SIZES[1]
    pose = np.zeros(len(rig.deltas), np.float32)
    for name, value in BUILD_POSE.items():
        pose[BLENDSHAPE_NAMES.index(name)] = value
    vertices = rig.vertices(pose)
    found, neutral_found = [], []
    for size in tqdm(sizes, desc="Finding the head's landmarks", unit="render"):
        with HeadRenderer(rig, size=size, samples=4) as renderer:
            found.append(_detect(detector, renderer, pose, reference / size))
            neutral_found.append(_detect(detector, renderer, np.zeros_like(pose), reference / size))
            projected = renderer.project(vertices) * (reference / size)
    pixels = np.mean(found, axis=0)[:, :2]

    drawn = drawn_triangles(rig)
    skin = drawn["skin"]
    irises = np.concatenate([drawn["iris_left"], drawn["iris_right"]])
    camera = camera_position("front")
    ids = np.zeros((len(pixels), 3), np.int32)
    bary = np.zeros((len(pixels), 3), np.float32)
    for i, pixel in enumerate(pixels):
        surface = skin if i < NUM_MESH_POINTS else irises
        ids[i], bary[i] = _cast(pixel, surface, projected, vertices, camera)

    geometric = Correspondence(ids, bary, np.zeros((len(ids), 3), np.float32), np.zeros(0, np.float32))
    points = geometric.points(rig.neutral)
    neutral_pixels = np.mean(neutral_found, axis=0)
    scale, rotation, shift = similarity(points, neutral_pixels * PIXELS_TO_RIG_AXES, np.ones(len(points)))

    def to_rig(detected: np.ndarray) -> np.ndarray:  # the head does not move between renders: one pose for all
        return (detected * PIXELS_TO_RIG_AXES - shift) @ rotation / scale

    neutral_seen = to_rig(neutral_pixels)
    observed = geometric.points(rig.deltas)
    moving = np.flatnonzero(np.abs(rig.deltas).reshape(len(rig.deltas), -1).max(1) > 0)
    with HeadRenderer(rig, size=reference, samples=4) as renderer:
        for k in tqdm(moving, desc="Watching each shape move", unit="shape"):
            full = np.zeros_like(pose)
            full[k] = 1.0
            observed[k] = to_rig(_detect(detector, renderer, full, 1.0)) - neutral_seen
    return Correspondence(ids, bary, (neutral_seen - points).astype(np.float32), observed.astype(np.float32))


def correspondence_path(rig_path: str | Path | None = None) -> Path:
    """The cache file beside a rig: ``<rig stem>_mediapipe_v1.npz``."""
    rig_path = Path(rig_path) if rig_path is not None else default_rig_path()
    return rig_path.with_name(f"{rig_path.stem}_mediapipe_v{CORRESPONDENCE_VERSION}.npz")


def ensure_correspondence(rig_path: str | Path | None = None, rebuild: bool = False) -> Path:
    """The cached correspondence's path, built (and the rig too, when missing) on first use."""
    rig_path = Path(rig_path) if rig_path is not None else ensure_rig()
    path = correspondence_path(rig_path)
    if path.is_file() and not rebuild:
        return path
    found = build_correspondence(load_rig(rig_path))
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
    """The correspondence of the (default) rig, built and cached on first use."""
    path = ensure_correspondence(rig_path)
    return _load_cached(str(path.resolve()), path.stat().st_mtime)
