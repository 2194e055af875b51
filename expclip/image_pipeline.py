"""Image → expression inference: :func:`load_image_pipeline` and :class:`ImageToExpression`.

    from expclip.image_pipeline import load_image_pipeline
    pipe = load_image_pipeline()               # the released checkpoint's image projector (if any)
    result = pipe.analyse("face.jpg")          # ImageResult: weights (52,), method, face box, notes
    result = pipe.analyse("face.jpg", method="fit")   # direct blendshape fitting, no learned part

Two paths give the 52 weights:

* ``projector``: frozen image encoder → ``P_img`` → joint space → decoder ``D`` (the paper's way);
  needs a checkpoint trained with ``python -m train.expclip fit-image``;
* ``fit``: the landmarks fitted directly with the rig (:mod:`expclip.fitting`).

``auto`` uses the projector when the checkpoint has one, else the fit. The decoder makes left and
right nearly alike (its training faces rarely differ), so ``auto`` also fits the landmarks and adds
the fit's left–right difference to each paired shape: a wink stays one eye, a smirk one corner
(``method`` then reads ``projector+fit``).

Whatever the method, the eyelids set how closed each eye is (:mod:`expclip.eyes`), and the fit solves the
face's own shape with the rig's identity modes (:mod:`expclip.fitting`). :meth:`ImageToExpression.read` is
the one reading of a face; the Image tab, ``python -m expclip image`` and a photo as a speech style go
through it; gallery retrieval ranks by P_img's embedding of the same landmarks (:meth:`ImageToExpression.embed_faces`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from expclip.checkpoint import load_model, read_config
from expclip.encoders import create_encoder
from expclip.encoders.image import FrozenImageEncoder
from expclip.images import ImageInput, load_image
from expclip.landmarks import FaceLandmarks, shared_detector
from expclip.model import ExpCLIP
from expclip.paths import default_checkpoint
from head import arkit

METHODS = ("auto", "projector", "fit")


@dataclass
class ImageResult:
    """What one image gave: ``weights (52,)`` in [0, 1], the ``method`` used, and the face found."""

    weights: np.ndarray
    method: str
    face: FaceLandmarks
    fit_rms: float | None = None
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        result = {
            "method": self.method,
            "blendshapes": arkit.to_dict(self.weights),
            "face_box": [round(v, 1) for v in self.face.box],
            "image_size": list(self.face.image_size),
            "faces_found": self.face.faces_found,
        }
        if self.fit_rms is not None:
            result["fit_rms"] = round(self.fit_rms, 4)
        if self.notes:
            result["notes"] = self.notes
        return result


class ImageToExpression:
    """A checkpoint (with or without ``P_img``), its image encoder, and the landmark fitter."""

    def __init__(self, model: ExpCLIP | None = None, encoder: FrozenImageEncoder | None = None) -> None:
        if (model is None) != (encoder is None) or (model is not None and model.image_projector is None):
            model, encoder = None, None
        self.model = model
        self.encoder = encoder

    @property
    def has_projector(self) -> bool:
        return self.model is not None

    def detect(self, source: ImageInput, name: str | None = None) -> tuple[np.ndarray, FaceLandmarks]:
        """The RGB image and the landmarks of its largest face (or a one-sentence error)."""
        name = name or (str(source) if isinstance(source, (str, Path)) else "the image")
        image = load_image(source, name)
        return image, shared_detector().detect(image, name)

    @torch.inference_mode()
    def _project(self, images: Sequence[np.ndarray], faces: Sequence[FaceLandmarks]) -> np.ndarray:
        """P_img → D: weights ``(N, 52)`` (needs ``P_img``)."""
        z = self.embed_faces(images, faces)
        return self.model.decode(z.to(next(self.model.parameters()).device)).cpu().numpy()

    def read(self, image: np.ndarray, face: FaceLandmarks, method: str = "auto",
             intensity: float = 1.0) -> ImageResult:
        """An RGB image ``(H, W, 3)`` and its face → :class:`ImageResult` (``method`` and ``intensity`` as in
        :meth:`analyse`)."""
        if method not in METHODS:
            raise ValueError(f"Unknown method {method!r}; choose one of {', '.join(METHODS)}.")
        if not 0.0 <= intensity <= 2.0:
            raise ValueError(f"Intensity {intensity} is outside 0–2 (1 is the face's own strength).")
        if method == "projector" and not self.has_projector:
            raise ValueError("This checkpoint has no image projector; use method 'fit' or train one with "
                             "`python -m train.expclip fit-image`.")
        from expclip.eyes import with_measured_lids
        from expclip.fitting import default_fitter

        rms = None
        if method == "fit" or (method == "auto" and not self.has_projector):
            fitted = default_fitter().fit(face.points)
            weights, used, rms = fitted.weights, "fit", fitted.rms
        else:
            weights, used = self._project([image], [face])[0], "projector"
            if method == "auto":
                fitted = default_fitter().fit(face.points)
                weights = weights + (fitted.weights - arkit.mirror(fitted.weights)) / 2  # left–right difference only
                used, rms = "projector+fit", fitted.rms
        weights = with_measured_lids(weights, face.points)  # the lids themselves say how closed each eye is
        weights = np.clip(np.asarray(weights, np.float32) * intensity, 0.0, 1.0)
        return ImageResult(weights, used, face, rms, list(face.notes))

    def analyse(self, source: ImageInput, method: str = "auto", intensity: float = 1.0,
                name: str | None = None) -> ImageResult:
        """One image → :class:`ImageResult`; ``intensity`` (0–2) scales the change from neutral."""
        image, face = self.detect(source, name)
        return self.read(image, face, method, intensity)

    @torch.inference_mode()
    def embed_faces(self, images: Sequence[np.ndarray], faces: Sequence[FaceLandmarks]) -> torch.Tensor:
        """Images and their faces → joint-space embeddings ``(N, embed_dim)``, unit length: P_img of the same
        landmarks :meth:`read` uses (gallery retrieval; needs ``P_img``)."""
        if self.model is None:
            raise ValueError("This checkpoint has no image projector; train one with "
                             "`python -m train.expclip fit-image` or use the released checkpoint.")
        features = self.encoder.encode(images, faces).float()
        return self.model.embed_image(features.to(next(self.model.parameters()).device)).cpu()


def load_image_pipeline(checkpoint: str | Path | None = None, device: str = "cpu",
                        image_encoder_weights: str | None = None) -> ImageToExpression:
    """The image pipeline of a checkpoint (default: the released one); without ``P_img`` it fits only."""
    directory = Path(checkpoint) if checkpoint is not None else default_checkpoint()
    model = load_model(directory, device)
    if model.config.image_encoder is None:
        return ImageToExpression()
    weights = image_encoder_weights or read_config(directory).get("training", {}).get("image_encoder_weights")
    encoder = create_encoder(model.config.image_encoder, pretrained=weights, device=device, kind="image")
    return ImageToExpression(model, encoder)
