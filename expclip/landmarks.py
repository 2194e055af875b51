"""Face landmarks of user photos with MediaPipe's face mesh (:mod:`head.landmarks`).

:func:`detect` gives 478 3-D landmarks of the largest face in an image (468 mesh points + 10 iris
points), in pixels: ``x`` right, ``y`` down, ``z`` toward the camera is negative, in the same units
as ``x``. :func:`normalise` removes position, size and head rotation so that only the face's
shape (identity and expression) is left; it is the input of the ``landmarks`` image encoder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from expclip.images import ImageInput, evened_exposure, load_image, poorly_exposed
from expclip.real_face import mirror_order
from head.assets import AssetError
from head.landmarks import FaceMesh

MIN_FACE_PIXELS = 40  # a face box narrower than this gives landmarks too coarse to read an expression
# Head turns the synthetic training renders cover (expclip.mead3d_synthetic: yaw ±30°, pitch ±15°), with a
# little room for MediaPipe's own error; beyond them a photo gets a note (in-plane roll is removed exactly).
MAX_YAW, MAX_PITCH = 35.0, 25.0
EVENED_NOTE = ("The face was dark or low in contrast, so it was read from a copy with its brightness and contrast "
               "evened out; a well-lit photo reads best.")
FRONT_PITCH = 10.0  # what the chin-to-forehead axis gives a face looking straight at the camera (a front render)

# MediaPipe face-mesh indices. "right"/"left" are the subject's sides (the subject's right eye is on
# the image's left).
RIGHT_EYE_CORNERS = (33, 133)
LEFT_EYE_CORNERS = (263, 362)
FOREHEAD, CHIN = 10, 152


class FaceNotFound(ValueError):
    """No usable face in an image (none found, or too small)."""


@dataclass(frozen=True)
class FaceLandmarks:
    """Landmarks of one face.

    Attributes:
        points: ``(478, 3)`` float32 pixels (x right, y down, z depth in x's units, negative = nearer).
        box: ``(x0, y0, x1, y1)`` of the landmarks in pixels.
        image_size: ``(width, height)`` of the image they were found in.
        faces_found: how many faces the image held (the largest is kept).
    """

    points: np.ndarray
    box: tuple[float, float, float, float]
    image_size: tuple[int, int]
    faces_found: int = 1
    notes: tuple[str, ...] = field(default=())

    @property
    def face_width(self) -> float:
        return self.box[2] - self.box[0]


class LandmarkDetector(FaceMesh):
    """MediaPipe's face mesh (:class:`head.landmarks.FaceMesh`) on user images: the largest face, or a sentence."""

    def detect(self, source: ImageInput, name: str | None = None, min_face: int = MIN_FACE_PIXELS,
               even_exposure: bool = True, steady: bool = True) -> FaceLandmarks:
        """The largest face of an image, or :class:`FaceNotFound` with a sentence. With ``even_exposure``, a face that
        is dark or flat (:func:`expclip.images.poorly_exposed`) is found again on a copy of the image with
        its exposure evened out (:func:`expclip.images.evened_exposure`), and its notes say so. With ``steady``, its
        points are the mean of two more readings (:func:`steady_points`): a tilted face reads as a level one, and a
        face as its mirror image does."""
        name = name or (str(source) if isinstance(source, (str, Path)) else "the image")
        image = load_image(source, name)
        faces = self._faces(image)
        if not faces:
            raise FaceNotFound(f"No face was found in {name}; use a photo where one face is clearly visible, "
                               "facing the camera and not cut off.")
        best, box = _largest(faces)
        notes = []
        if even_exposure and poorly_exposed(image, box):
            evened = evened_exposure(image, box)
            again = self._faces(evened)
            if again:
                image, faces, (best, box) = evened, again, _largest(again)
                notes.append(EVENED_NOTE)
        width = box[2] - box[0]
        if width < min_face:
            raise FaceNotFound(f"The face in {name} is only {width:.0f} pixels wide; faces need at least {min_face} "
                               "pixels, so use a closer or larger photo.")
        if len(faces) > 1:
            notes.insert(0, f"{len(faces)} faces found; the largest was used.")
        points = steady_points(self, image, faces[best]) if steady else faces[best]
        yaw, pitch = head_turn(points)
        if abs(yaw) > MAX_YAW or abs(pitch) > MAX_PITCH:
            notes.append(f"The head is turned {abs(yaw):.0f}° sideways and {abs(pitch):.0f}° up or down, beyond what "
                         f"the image path was trained on ({MAX_YAW:.0f}° and {MAX_PITCH:.0f}°), so the expression "
                         "may be misread; a photo facing the camera reads best.")
        box = tuple(float(v) for v in (*points[:, :2].min(0), *points[:, :2].max(0)))
        return FaceLandmarks(points, box, (image.shape[1], image.shape[0]), len(faces), tuple(notes))

    def _faces(self, image: np.ndarray) -> list[np.ndarray]:
        """The ``(478, 3)`` landmarks of the faces in an RGB image: the mesh's own, or else the distant ones."""
        return self.detect_all(image) or self.detect_distant(image)


def steady_points(mesh: FaceMesh, image: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The landmarks ``(478, 3)`` float32 of the face at ``points (478, 3)`` in RGB ``image``, read from a crop turned
    so that its eyes are level and from the mirror image of that crop (:meth:`head.landmarks.FaceMesh.look_again`),
    and averaged: MediaPipe reads a tilted face less well than a level one and a face and its mirror image to
    slightly different points, so the mean is steadier than one reading. Without the canonical face (whose symmetry
    gives the mirror order) only the level crop is read; if the mesh finds the face in neither, ``points`` stay."""
    try:
        order = mirror_order()
    except AssetError:
        order = None
    looks = [mesh.look_again(image, points)]
    if order is not None:
        looks.append(mesh.look_again(image, points, order))
    looks = [look for look in looks if look is not None]
    return np.mean(looks, axis=0).astype(np.float32) if looks else np.asarray(points, np.float32)


def _largest(faces: list[np.ndarray]) -> tuple[int, tuple[float, float, float, float]]:
    """The index of the face ``(478, 3)`` with the largest landmark box, and that box (x0, y0, x1, y1)."""
    boxes = [(*f[:, :2].min(0), *f[:, :2].max(0)) for f in faces]
    best = int(np.argmax([(x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in boxes]))
    return best, tuple(float(v) for v in boxes[best])


@lru_cache(maxsize=1)
def shared_detector() -> LandmarkDetector:
    """One detector per process (building the MediaPipe graph takes about 100 ms)."""
    return LandmarkDetector()


def detect(source: ImageInput, name: str | None = None) -> FaceLandmarks:
    """Landmarks of the largest face in an image file, bytes, PIL image or RGB array."""
    return shared_detector().detect(source, name)


def face_frame(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """The face's own frame from pixel landmarks ``(..., 478, 3)``.

    Returns ``centre (..., 3)``, ``rotation (..., 3, 3)`` whose columns are the face's right-to-left
    axis, chin-to-forehead axis and the axis toward the viewer (in pixel coordinates), and the
    distance between the eye centres (``(...,)``).
    """
    points = np.asarray(points, np.float64)
    right_eye = points[..., RIGHT_EYE_CORNERS, :].mean(-2)
    left_eye = points[..., LEFT_EYE_CORNERS, :].mean(-2)
    across = left_eye - right_eye
    eyes = np.linalg.norm(across, axis=-1)
    x = across / eyes[..., None]
    up = points[..., FOREHEAD, :] - points[..., CHIN, :]
    up = up - (up * x).sum(-1, keepdims=True) * x
    y = up / np.linalg.norm(up, axis=-1, keepdims=True)
    z = np.cross(x, y)
    return points.mean(-2), np.stack([x, y, z], axis=-1), eyes


def head_turn(points: np.ndarray) -> tuple[float, float]:
    """``(yaw, pitch)`` in degrees of a face from its pixel landmarks ``(478, 3)``: how far the face's own
    forward axis (:func:`face_frame`) points away from the camera, sideways and up or down (0, 0 facing it)."""
    _, rotation, _ = face_frame(points)
    forward = rotation[:, 2]
    forward = forward if forward[2] <= 0 else -forward  # toward the camera (z negative is nearer)
    yaw = np.degrees(np.arctan2(forward[0], -forward[2]))
    pitch = np.degrees(np.arctan2(forward[1], -forward[2])) - FRONT_PITCH
    return float(yaw), float(pitch)


def normalise(points: np.ndarray) -> np.ndarray:
    """Pixel landmarks ``(..., 478, 3)`` → pose-free shape ``(..., 478, 3)`` float32.

    Centred on the landmarks' mean, rotated into the face's own frame (x from the subject's right
    eye to the left eye, y from chin to forehead, z toward the viewer) and scaled so the eye
    centres are one unit apart. The same face under any in-plane or out-of-plane rotation, shift
    or zoom gives (nearly) the same result.
    """
    centre, rotation, eyes = face_frame(points)
    local = np.einsum("...nk,...kj->...nj", np.asarray(points, np.float64) - centre[..., None, :], rotation)
    return (local / eyes[..., None, None]).astype(np.float32)
