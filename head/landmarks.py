"""MediaPipe's face mesh on RGB arrays (its models ship inside the mediapipe 0.10.21 wheel).

:class:`FaceMesh` finds the 478 landmarks (468 mesh points + 10 iris points) of each face in an RGB
``(H, W, 3)`` uint8 array, in pixels: ``x`` right, ``y`` down, ``z`` toward the camera is negative, in
the same units as ``x``. It is what the rig's correspondence is built with (rendered heads) and what
:class:`expclip.landmarks.LandmarkDetector` runs on user photos.
"""

from __future__ import annotations

import threading

import numpy as np

NUM_LANDMARKS = 478
NUM_MESH_POINTS = 468  # MediaPipe's face-mesh points; 468-477 are the iris points


class FaceMesh:
    """A MediaPipe face mesh in still-image mode; safe to share between threads (calls are serialised)."""

    def __init__(self, max_faces: int = 5, min_confidence: float = 0.5) -> None:
        import mediapipe as mp

        self._mesh = mp.solutions.face_mesh.FaceMesh(
            static_image_mode=True, refine_landmarks=True, max_num_faces=max_faces,
            min_detection_confidence=min_confidence,
        )
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
