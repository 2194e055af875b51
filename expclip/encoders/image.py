"""Frozen image encoders of the registry (``list_encoders("image")``).

Both take faces already found by :mod:`expclip.landmarks`: ``encode(images, faces)`` with RGB
``(H, W, 3)`` uint8 images and their :class:`~expclip.landmarks.FaceLandmarks` → ``(N, dim)``.

* ``landmarks`` (default, offline): the face's pose-free landmark geometry
  (:func:`expclip.landmarks.normalise`, 478 × 3 numbers, minus the mean of MediaPipe's reading of
  the ICT head so that a neutral face is near zero); the learned projector ``P_img`` is the small
  network on top. It ignores the pixels, so it does not care about skin, light or background.
* ``clip-vit-b-32``: open_clip's ViT-B/32 image tower on the face crop (the paper's choice), used
  when its weights are on the machine, else :class:`~expclip.encoders.registry.EncoderUnavailable`.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import nn

from expclip.encoders.registry import EncoderUnavailable, register
from expclip.landmarks import FaceLandmarks, normalise
from head.landmarks import NUM_LANDMARKS


class FrozenImageEncoder(nn.Module):
    """Base of the image encoders: ``encode(images, faces)`` → ``(N, dim)`` float32."""

    name: str = ""
    dim: int = 0

    def encode(self, images: Sequence[np.ndarray], faces: Sequence[FaceLandmarks]) -> torch.Tensor:
        raise NotImplementedError


@register("landmarks", "image", NUM_LANDMARKS * 3, "MediaPipe face-mesh geometry, pose removed (offline)")
class LandmarkImageEncoder(FrozenImageEncoder):
    name, dim = "landmarks", NUM_LANDMARKS * 3

    def __init__(self, pretrained: str | None = None) -> None:
        super().__init__()
        if pretrained is not None:
            raise EncoderUnavailable("The landmarks image encoder has no weights; leave its weights option empty.")
        self.register_buffer("mean_shape", torch.zeros(self.dim))
        self._mean_ready = False

    def _reference(self) -> torch.Tensor:
        """MediaPipe's normalised landmarks of the neutral ICT head, flattened ``(1434,)``."""
        if not self._mean_ready:
            from head.correspondence import load_correspondence
            from head.geometry import PIXELS_TO_RIG_AXES
            from head.rig import load_rig

            neutral, _ = load_correspondence().landmark_model(load_rig())
            points = neutral * PIXELS_TO_RIG_AXES.astype(np.float32)  # the flip is its own inverse: rig → pixel axes
            self.mean_shape.copy_(torch.from_numpy(normalise(points).reshape(-1)))
            self._mean_ready = True
        return self.mean_shape

    def features(self, points: np.ndarray) -> torch.Tensor:
        """Pixel landmarks ``(N, 478, 3)`` → ``(N, 1434)``."""
        shape = torch.from_numpy(normalise(np.asarray(points)).reshape(len(points), -1))
        return shape - self._reference()

    def encode(self, images: Sequence[np.ndarray], faces: Sequence[FaceLandmarks]) -> torch.Tensor:
        return self.features(np.stack([face.points for face in faces]))


def face_crop(image: np.ndarray, face: FaceLandmarks, margin: float = 0.25) -> np.ndarray:
    """The face box grown by ``margin`` on each side and made square, clipped to the image."""
    x0, y0, x1, y1 = face.box
    side = max(x1 - x0, y1 - y0) * (1 + 2 * margin)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    height, width = image.shape[:2]
    left, top = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
    right, bottom = int(min(width, cx + side / 2)), int(min(height, cy + side / 2))
    return image[top:bottom, left:right]


@register("clip-vit-b-32", "image", 512, "CLIP ViT-B/32 image tower (open_clip) on the face crop, the paper's choice")
class CLIPImageEncoder(FrozenImageEncoder):
    name, dim = "clip-vit-b-32", 512

    def __init__(self, pretrained: str | None = None) -> None:
        super().__init__()
        from expclip.encoders.clip import load_clip

        model, preprocess = load_clip(pretrained)
        self.model = model
        self.preprocess = preprocess

    @torch.inference_mode()
    def encode(self, images: Sequence[np.ndarray], faces: Sequence[FaceLandmarks]) -> torch.Tensor:
        from PIL import Image

        device = next(self.model.parameters()).device
        batch = torch.stack([self.preprocess(Image.fromarray(face_crop(image, face)))
                             for image, face in zip(images, faces)]).to(device)
        return nn.functional.normalize(self.model.encode_image(batch).float(), dim=-1).cpu()
