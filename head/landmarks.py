"""MediaPipe's face mesh on RGB arrays (its models ship inside the mediapipe 0.10.21 wheel).

:class:`FaceMesh` finds the 478 landmarks (468 mesh points + 10 iris points) of each face in an RGB
``(H, W, 3)`` uint8 array, in pixels: ``x`` right, ``y`` down, ``z`` toward the camera is negative, in
the same units as ``x``. It is what the rig's correspondence is built with (rendered heads) and what
:class:`expclip.landmarks.LandmarkDetector` runs on user photos.

A face's points vary with how it sits in the picture: MediaPipe's mesh reads a tilted face less well than a level
one, and a face and its mirror image to slightly different points. :meth:`FaceMesh.look_again` reads a face once
more from a crop turned so that its eyes are level (and mirrored, if asked), for
:class:`expclip.landmarks.LandmarkDetector` to average.

The face mesh finds faces with MediaPipe's short-range detector, which misses faces that fill less than about a
fifth of the image (a person photographed from a few metres, a group). :meth:`FaceMesh.detect_distant` finds those
with the full-range detector (also in the wheel) and runs the mesh on an enlarged crop around each.
"""

from __future__ import annotations

import threading

import numpy as np

NUM_LANDMARKS = 478
NUM_MESH_POINTS = 468  # MediaPipe's face-mesh points; 468-477 are the iris points
CROP_MARGIN = 2.2  # side of the crop around a distant face, in face-box widths (the mesh's own detector needs margin)
CROP_SIDE = 512    # pixels the crop is scaled to before the mesh reads it
TILE = 960         # larger images are also searched for distant faces in tiles of this many pixels (half overlapping)


class FaceMesh:
    """A MediaPipe face mesh in still-image mode; safe to share between threads (calls are serialised)."""

    def __init__(self, max_faces: int = 5, min_confidence: float = 0.5) -> None:
        import mediapipe as mp

        self._mesh = mp.solutions.face_mesh.FaceMesh(
            static_image_mode=True, refine_landmarks=True, max_num_faces=max_faces,
            min_detection_confidence=min_confidence,
        )
        self._min_confidence = min_confidence
        self._max_faces = max_faces
        self._far = None  # the full-range face detector, built on first need
        self._lock = threading.Lock()

    def detect_all(self, image: np.ndarray) -> list[np.ndarray]:
        """RGB ``(H, W, 3)`` uint8 → a list of ``(478, 3)`` pixel landmarks, one per face found."""
        height, width = image.shape[:2]
        with self._lock:
            result = self._mesh.process(np.ascontiguousarray(image))
        faces = []
        for face in result.multi_face_landmarks or []:
            raw = np.array([(p.x, p.y, p.z) for p in face.landmark], np.float32)
            faces.append(raw * np.array([width, height, width], np.float32))
        return faces

    def detect_distant(self, image: np.ndarray) -> list[np.ndarray]:
        """RGB ``(H, W, 3)`` uint8 → ``(478, 3)`` pixel landmarks of the faces that MediaPipe's full-range detector
        finds (small in the image), each read by the mesh on a crop of :data:`CROP_MARGIN` face widths around it,
        scaled to :data:`CROP_SIDE` pixels; largest first, at most ``max_faces``."""
        from PIL import Image

        boxes = _distinct(self._far_boxes(image))[:self._max_faces]
        faces = []
        picture = Image.fromarray(np.ascontiguousarray(image))
        for x, y, w, h in boxes:
            side = CROP_MARGIN * max(w, h)
            left, top = x + w / 2 - side / 2, y + h / 2 - side / 2
            # PIL pads a crop that runs past the image's edges with black
            crop = picture.crop((round(left), round(top), round(left + side), round(top + side)))
            crop = np.asarray(crop.resize((CROP_SIDE, CROP_SIDE), Image.Resampling.BICUBIC))
            inside = self.detect_all(crop)
            if not inside:
                continue
            centre = np.array([CROP_SIDE / 2, CROP_SIDE / 2])
            best = min(inside, key=lambda f: np.linalg.norm(f[:, :2].mean(0) - centre))  # the face the box is of
            scale = (round(left + side) - round(left)) / CROP_SIDE
            faces.append((best * scale + np.array([round(left), round(top), 0.0])).astype(np.float32))
        return faces

    def look_again(self, image: np.ndarray, points: np.ndarray, mirror_order: np.ndarray | None = None
                   ) -> np.ndarray | None:
        """The face at landmarks ``points (478, 3)`` of RGB ``image (H, W, 3)`` read again by the mesh from a crop of
        :data:`CROP_MARGIN` face sizes, turned so that the eyes are level and scaled to :data:`CROP_SIDE` pixels;
        with ``mirror_order (478,)`` (the point each point becomes in a mirror image) the crop is also mirrored and the
        points are put back in order. The points ``(478, 3)`` in the image's pixels, or None if the mesh finds no face.
        """
        import cv2

        points = np.asarray(points, np.float64)
        right, left = points[[33, 133], :2].mean(0), points[[263, 362], :2].mean(0)  # the subject's eyes
        tilt = np.degrees(np.arctan2(left[1] - right[1], left[0] - right[0]))
        mesh = points[:NUM_MESH_POINTS, :2]
        centre, size = mesh.mean(0), CROP_MARGIN * float(np.ptp(mesh, axis=0).max())
        to_crop = np.vstack([cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), float(tilt),
                                                     CROP_SIDE / size), [0.0, 0.0, 1.0]])
        to_crop[:2, 2] += CROP_SIDE / 2 - centre
        if mirror_order is not None:
            to_crop = np.array([[-1.0, 0.0, CROP_SIDE], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]) @ to_crop
        crop = cv2.warpAffine(np.ascontiguousarray(image), to_crop[:2], (CROP_SIDE, CROP_SIDE),
                              flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        found = self.detect_all(crop)
        if not found:
            return None
        face = min(found, key=lambda f: np.linalg.norm(f[:, :2].mean(0) - CROP_SIDE / 2)).astype(np.float64)
        back = np.linalg.inv(to_crop)
        xy = face[:, :2] @ back[:2, :2].T + back[:2, 2]
        depth = face[:, 2] * np.sqrt(abs(np.linalg.det(back[:2, :2])))  # z is in x's units: scaled like them
        again = np.column_stack([xy, depth])
        return again[mirror_order] if mirror_order is not None else again

    def _far_boxes(self, image: np.ndarray) -> list[tuple[float, float, float, float]]:
        """Face boxes ``(x, y, w, h)`` in pixels from the full-range detector: on the whole image, and when that finds
        none and the image is larger than :data:`TILE`, on half-overlapping tiles of it (the detector reads a
        192-pixel copy of what it is given, so a face a thirtieth of a large photo wide is a few pixels to it)."""
        import mediapipe as mp

        height, width = image.shape[:2]
        with self._lock:
            if self._far is None:
                self._far = mp.solutions.face_detection.FaceDetection(
                    min_detection_confidence=self._min_confidence, model_selection=1)
            boxes = self._boxes_in(image, 0, 0)
            if not boxes and max(height, width) > TILE:
                xs = sorted({*range(0, max(width - TILE, 0) + 1, TILE // 2), max(width - TILE, 0)})
                ys = sorted({*range(0, max(height - TILE, 0) + 1, TILE // 2), max(height - TILE, 0)})
                for y in ys:
                    for x in xs:
                        boxes += self._boxes_in(image[y:y + TILE, x:x + TILE], x, y)
        return boxes

    def _boxes_in(self, view: np.ndarray, x: int, y: int) -> list[tuple[float, float, float, float]]:
        """The full-range detector's boxes in ``view``, a part of the image whose corner is at ``(x, y)``."""
        height, width = view.shape[:2]
        found = self._far.process(np.ascontiguousarray(view)).detections or []
        return [(x + b.xmin * width, y + b.ymin * height, b.width * width, b.height * height)
                for b in (d.location_data.relative_bounding_box for d in found)]


def _distinct(boxes: list[tuple[float, float, float, float]], overlap: float = 0.3) -> list[tuple]:
    """Boxes ``(x, y, w, h)``, largest first, without those that overlap a larger one by more than ``overlap`` of
    the smaller's area (one face seen in several tiles)."""
    kept: list[tuple] = []
    for box in sorted(boxes, key=lambda b: -b[2] * b[3]):
        x, y, w, h = box
        if all(max(0.0, min(x + w, a + c) - max(x, a)) * max(0.0, min(y + h, b + d) - max(y, b)) <= overlap * w * h
               for a, b, c, d in kept):
            kept.append(box)
    return kept
