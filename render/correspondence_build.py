"""Building the MediaPipe landmark correspondence of the rig (:mod:`head.correspondence`) by rendering it.

The head is rendered from the front at a few sizes; MediaPipe finds its 478 landmarks (averaged over
the renders) and each landmark's pixel is cast back onto the drawn mesh; then each shape is rendered
at full weight to record how MediaPipe sees it move. ``python -m render rig`` runs it once; the result
is cached beside the rig.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

from head.arkit import BLENDSHAPE_NAMES
from head.assets import AssetError
from head.correspondence import Correspondence, correspondence_path, write_correspondence
from head.geometry import PIXELS_TO_RIG_AXES, similarity
from head.landmarks import NUM_MESH_POINTS, FaceMesh
from head.rig import Rig, ensure_rig, load_rig
from render.renderer import HeadRenderer, camera_position, drawn_triangles

RENDER_SIZES = (768, 1024, 1280)
# The head is rendered with the mouth a little open: with closed lips the inner-lip points of both
# lips fall on one pixel and cannot be told apart.
BUILD_POSE = {"jawOpen": 0.3}


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
    detector = detector or FaceMesh(max_faces=1)
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


def ensure_correspondence(rig_path: str | Path | None = None, rebuild: bool = False) -> Path:
    """The cached correspondence's path, built (and the rig too, when missing) on first use."""
    rig_path = Path(rig_path) if rig_path is not None else ensure_rig()
    path = correspondence_path(rig_path)
    if path.is_file() and not rebuild:
        return path
    return write_correspondence(build_correspondence(load_rig(rig_path)), path)
