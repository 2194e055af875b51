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
right nearly alike (its training faces rarely differ), so ``auto`` also adds the fit's left–right
difference to each paired shape: a wink stays one eye, a smirk one corner (``method`` then reads
``projector+fit``); then it takes off each shape's floor, what it reads on renders of faces that do not
make that shape (:mod:`expclip.image_calibration`, measured per checkpoint: relaxed faces read relaxed).

A photo's landmarks are first moved from MediaPipe's mean real face to the ICT head's neutral
(:mod:`expclip.real_face`: real faces read against the ICT head looked squinting and frowning), unless the
pipeline reads renders of the rig itself (``neutral_face="rig"``). The fit solves the face's own shape with the
rig's identity modes (:mod:`expclip.fitting`), and P_img reads the landmarks with that shape taken out
(:meth:`~expclip.fitting.BlendshapeFitter.without_identity`): on renders of random faces this lowered the
projector's error from 0.059 to 0.058 (retrained P_img) and from 0.072 to 0.063 (released P_img). Whatever
the method, the photo's own eyelids set how closed each eye is (:mod:`expclip.eyes`), and a photo's brows, measured
against the mean real face's, how far they are lowered (:mod:`expclip.brows`: neither reader sees a real scowl).
:meth:`ImageToExpression.read` is the one reading of a face; the Image tab, ``python -m expclip image``, a
photo as a speech style and gallery retrieval go through it (retrieval ranks by the expression encoder's
embedding of those weights, :meth:`ImageToExpression.embed_faces`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from expclip.checkpoint import load_model, read_config
from expclip.encoders import create_encoder
from expclip.encoders.image import FrozenImageEncoder
from expclip.fitting import FitResult, default_fitter
from expclip.image_calibration import ImageCalibration, load_calibration
from expclip.images import ImageInput, load_image
from expclip.landmarks import FaceLandmarks, shared_detector
from expclip.model import ExpCLIP
from expclip.paths import default_checkpoint
from expclip.real_face import real_face_offsets
from head import arkit

METHODS = ("auto", "projector", "fit")
NEUTRAL_FACES = ("real", "rig")  # what a face is read against: MediaPipe's mean real face, or the ICT head's own
RIG_NEUTRAL_NOTE = "Read against the ICT head's neutral face, not a real one"  # a photo pipeline without the real one


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
    """A checkpoint (with or without ``P_img``), its image encoder, its calibration, and the landmark fitter.

    ``notes`` (e.g. a calibration that no longer fits the checkpoint) are added to every reading's notes.
    ``neutral_face``: ``"real"`` (photos of people: their landmarks are read against MediaPipe's mean real face,
    :mod:`expclip.real_face`) or ``"rig"`` (renders of the ICT head, whose own neutral is the reference).
    """

    def __init__(self, model: ExpCLIP | None = None, encoder: FrozenImageEncoder | None = None,
                 calibration: ImageCalibration | None = None, notes: Sequence[str] = (),
                 neutral_face: str = "real") -> None:
        if (model is None) != (encoder is None) or (model is not None and model.image_projector is None):
            model, encoder = None, None
        if neutral_face not in NEUTRAL_FACES:
            raise ValueError(f"Unknown neutral face {neutral_face!r}; choose one of {', '.join(NEUTRAL_FACES)}.")
        self.model = model
        self.encoder = encoder
        self.calibration = calibration or ImageCalibration.none()
        self.notes = list(notes)
        self.neutral_face = neutral_face
        self._offsets: np.ndarray | None = None

    def for_renders(self) -> "ImageToExpression":
        """The same checkpoint reading renders of the ICT head (``neutral_face="rig"``), sharing its weights."""
        notes = [note for note in self.notes if not note.startswith(RIG_NEUTRAL_NOTE)]  # renders are read that way
        return ImageToExpression(self.model, self.encoder, self.calibration, notes, neutral_face="rig")

    def real_face_offsets(self) -> np.ndarray | None:
        """The mean real face's landmark offsets from the rig's neutral ``(478, 3)``, or None when this pipeline reads
        renders of the rig (``neutral_face="rig"``) or the canonical face is not cached (then a note says so)."""
        if self.neutral_face == "rig":
            return None
        if self._offsets is None:
            from head.assets import AssetError

            try:
                self._offsets = real_face_offsets(default_fitter().neutral)
            except AssetError as error:
                self.neutral_face = "rig"
                self.notes.append(f"{RIG_NEUTRAL_NOTE}: {error}")
                return None
        return self._offsets

    @property
    def has_projector(self) -> bool:
        return self.model is not None

    def detect(self, source: ImageInput, name: str | None = None) -> tuple[np.ndarray, FaceLandmarks]:
        """The RGB image and the landmarks of its largest face (or a one-sentence error)."""
        name = name or (str(source) if isinstance(source, (str, Path)) else "the image")
        image = load_image(source, name)
        return image, shared_detector().detect(image, name)

    @torch.inference_mode()
    def _project(self, images: Sequence[np.ndarray], faces: Sequence[FaceLandmarks],
                 fits: Sequence[FitResult] | None = None) -> np.ndarray:
        """P_img → D: weights ``(N, 52)`` (needs ``P_img``; ``fits``: the faces' fits, if already made)."""
        z = self._embed_landmarks(images, faces, fits)
        return self.model.decode(z.to(next(self.model.parameters()).device)).cpu().numpy()

    def _check(self, method: str, intensity: float) -> None:
        if method not in METHODS:
            raise ValueError(f"Unknown method {method!r}; choose one of {', '.join(METHODS)}.")
        if not 0.0 <= intensity <= 2.0:
            raise ValueError(f"Intensity {intensity} is outside 0–2 (1 is the face's own strength).")
        if method == "projector" and not self.has_projector:
            raise ValueError("This checkpoint has no image projector; use method 'fit' or train one with "
                             "`python -m train.expclip fit-image`.")

    def read(self, image: np.ndarray, face: FaceLandmarks, method: str = "auto",
             intensity: float = 1.0) -> ImageResult:
        """An RGB image ``(H, W, 3)`` and its face → :class:`ImageResult` (``method`` and ``intensity`` as in
        :meth:`analyse`)."""
        self._check(method, intensity)
        from expclip.brows import with_measured_brows
        from expclip.eyes import with_measured_lids

        fitter = default_fitter()
        fitted, seen = fitter.fit(face.points), face
        offsets = self.real_face_offsets()
        if offsets is not None:  # the face as it would look on the ICT head's proportions, then read afresh
            seen = replace(face, points=fitter.without_offsets(face.points, fitted, offsets).astype(np.float32))
            fitted = fitter.fit(seen.points)
        if method == "fit" or (method == "auto" and not self.has_projector):
            weights, used = fitted.weights, "fit"
        else:
            weights, used = self._project([image], [seen], [fitted])[0], "projector"
            if method == "auto":
                weights = self.calibration.floor(self.calibration.merge(weights, fitted.weights))
                used = "projector+fit"
        weights = with_measured_lids(weights, face.points)  # the photo's own lids say how closed each eye is
        if offsets is not None:  # a photo: its brows, measured against the mean real face's, say how low they are
            weights = with_measured_brows(weights, face.points)
        weights = np.clip(np.asarray(weights, np.float32) * intensity, 0.0, 1.0)
        return ImageResult(weights, used, face, fitted.rms, [*face.notes, *self.notes])

    def analyse(self, source: ImageInput, method: str = "auto", intensity: float = 1.0,
                name: str | None = None) -> ImageResult:
        """One image → :class:`ImageResult`; ``intensity`` (0–2) scales the change from neutral."""
        self._check(method, intensity)  # before the photo is read: the request itself may be what is wrong
        image, face = self.detect(source, name)
        return self.read(image, face, method, intensity)

    @torch.inference_mode()
    def embed_faces(self, images: Sequence[np.ndarray], faces: Sequence[FaceLandmarks]) -> torch.Tensor:
        """Images and their faces → joint-space embeddings ``(N, embed_dim)``, unit length: the expression encoder E
        of the weights :meth:`read` gives (``auto``), so that photo search ranks faces by the very reading the
        Image tab shows, measured eyelids and one-sided shapes included (gallery retrieval; needs ``P_img``)."""
        if self.model is None:
            raise ValueError("This checkpoint has no image projector; train one with "
                             "`python -m train.expclip fit-image` or use the released checkpoint.")
        weights = np.stack([self.read(image, face).weights for image, face in zip(images, faces)])
        device = next(self.model.parameters()).device
        return self.model.embed_expression(torch.as_tensor(weights, dtype=torch.float32, device=device)).cpu()

    def _embed_landmarks(self, images: Sequence[np.ndarray], faces: Sequence[FaceLandmarks],
                         fits: Sequence[FitResult] | None = None) -> torch.Tensor:
        """P_img of the landmarks with the face's own shape taken out: ``(N, embed_dim)`` (what D decodes)."""
        fitter = default_fitter()
        fits = fits if fits is not None else [fitter.fit(face.points) for face in faces]
        faces = [replace(face, points=fitter.without_identity(face.points, fitted).astype(np.float32))
                 for face, fitted in zip(faces, fits)]
        features = self.encoder.encode(images, faces).float()
        return self.model.embed_image(features.to(next(self.model.parameters()).device)).cpu()


def load_image_pipeline(checkpoint: str | Path | None = None, device: str = "cpu",
                        image_encoder_weights: str | None = None, neutral_face: str = "real") -> ImageToExpression:
    """The image pipeline of a checkpoint (default: the released one); without ``P_img`` it fits only.
    ``neutral_face`` as in :class:`ImageToExpression` (``"rig"`` for renders of the ICT head)."""
    directory = Path(checkpoint) if checkpoint is not None else default_checkpoint()
    model = load_model(directory, device)
    if model.config.image_encoder is None:
        return ImageToExpression(neutral_face=neutral_face)
    weights = image_encoder_weights or read_config(directory).get("training", {}).get("image_encoder_weights")
    encoder = create_encoder(model.config.image_encoder, pretrained=weights, device=device, kind="image")
    calibration, note = load_calibration(directory, model)
    return ImageToExpression(model, encoder, calibration, [note] if note else [], neutral_face)
