"""The image path's calibration, measured on renders of random faces: what it reads where a face has no such shape.

Two per-shape dead zones ``(52,)``, measured by ``python -m train.expclip.image_calibration --checkpoint DIR`` on
MEAD-3D-synthetic's test renders (random ICT identities, head turns, light and skin tones; P_img never trained on
them) and stored beside the checkpoint's weights as :data:`FILENAME`:

* ``asymmetry``: the 95th percentile of the fit's left–right difference on renders whose two sides are alike
  (a turned head or a lopsided face makes the fit read one side stronger); ``auto`` adds to the projector only the
  part of the fit's difference beyond it, so a wink or a smirk stays one-sided and noise does not;
* ``neutral``: the 90th percentile of ``auto``'s merged reading of each shape on the renders without that shape
  (its floor: what it reads on faces that do not make it); a weight ``w`` becomes ``max(w - d, 0) / (1 - d)``.

Both quantiles were chosen on the renders alone, fitted on half of them and scored on the other half, never on
photos. The floor's 0.9 gave the lowest mean absolute error (0.0470 for the retrained P_img and 0.0488 for the
released one, against 0.0577 and 0.0634 without a floor). For the asymmetry the error fell the wider the zone
(0.068 with none, 0.058 at 0.95, 0.057 at 0.99: the renders hold few one-sided faces), so 0.95 keeps the zone at
the fit's noise and lets the one-sided faces beyond it through.

The asymmetry zone is the fit's alone; the floor belongs to the checkpoint's P_img and decoder, so the file keeps
their :func:`fingerprint`: after either is retrained the file no longer matches, and the pipeline reads without it
and says so in its notes until the command is run again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from head import arkit

FILENAME = "image_calibration.json"
ASYMMETRY_QUANTILE = 0.95
NEUTRAL_QUANTILE = 0.9
ABSENT = 0.02  # a shape below this in a render's truth is absent from it (for the floors and dead zones)


def fingerprint(model) -> str:
    """SHA-256 (hex) of an :class:`~expclip.model.ExpCLIP`'s P_img and decoder parameters (what the floor is of)."""
    digest = hashlib.sha256()
    for module in (model.image_projector, model.decoder):
        for name, tensor in sorted(module.state_dict().items()):
            digest.update(name.encode())
            digest.update(tensor.detach().cpu().float().numpy().tobytes())
    return digest.hexdigest()


def _asymmetry(weights: np.ndarray) -> np.ndarray:
    """Each shape's half-difference from its mirror twin: ``(..., 52)`` → ``(..., 52)`` (0 for unpaired shapes)."""
    weights = np.asarray(weights, np.float64)
    twin = np.apply_along_axis(arkit.mirror, -1, weights)
    return (weights - twin) / 2


@dataclass(frozen=True)
class ImageCalibration:
    """Dead zones ``asymmetry (52,)`` and ``neutral (52,)``, and the :func:`fingerprint` they were measured with."""

    asymmetry: np.ndarray
    neutral: np.ndarray
    fingerprint: str = ""

    @classmethod
    def none(cls) -> "ImageCalibration":
        """No calibration: the fit's whole left–right difference, no floor."""
        return cls(np.zeros(arkit.NUM_BLENDSHAPES), np.zeros(arkit.NUM_BLENDSHAPES))

    def merge(self, projected: np.ndarray, fitted: np.ndarray) -> np.ndarray:
        """``auto``'s reading ``(..., 52)``: the projector's weights plus the fit's left–right difference beyond the
        asymmetry dead zone."""
        difference = _asymmetry(fitted)
        beyond = np.sign(difference) * np.maximum(np.abs(difference) - self.asymmetry, 0.0)
        return np.asarray(projected, np.float64) + beyond

    def floor(self, weights: np.ndarray) -> np.ndarray:
        """``(..., 52)`` weights with each shape's neutral floor taken off and the rest stretched back to [0, 1]."""
        return np.maximum(np.asarray(weights, np.float64) - self.neutral, 0.0) / (1.0 - self.neutral)

    def save(self, directory: str | Path) -> Path:
        """Write :data:`FILENAME` into a checkpoint ``directory`` (atomically)."""
        path = Path(directory) / FILENAME
        data = {"fingerprint": self.fingerprint, "asymmetry": arkit.to_dict(self.asymmetry.astype(np.float32)),
                "neutral": arkit.to_dict(self.neutral.astype(np.float32)),
                "quantiles": {"asymmetry": ASYMMETRY_QUANTILE, "neutral": NEUTRAL_QUANTILE},
                "command": "python -m train.expclip.image_calibration"}
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        temporary.replace(path)
        return path


def measure(projected: np.ndarray, fitted: np.ndarray, truth: np.ndarray, fingerprint: str = "") -> ImageCalibration:
    """The dead zones from renders: the projector's ``(N, 52)``, the fit's ``(N, 52)`` and the rendered ``(N, 52)``.

    A shape (or pair) absent from every render gets no dead zone; each pair gets the same zone on both sides.
    """
    truth = np.asarray(truth, np.float64)
    difference, true_difference = np.abs(_asymmetry(fitted)), np.abs(_asymmetry(truth))
    asymmetry = np.array([np.quantile(difference[true_difference[:, k] < ABSENT, k], ASYMMETRY_QUANTILE)
                          if (true_difference[:, k] < ABSENT).any() else 0.0 for k in range(truth.shape[1])])
    merged = ImageCalibration(asymmetry, np.zeros_like(asymmetry)).merge(projected, fitted)
    neutral = np.array([np.quantile(np.clip(merged[truth[:, k] < ABSENT, k], 0, 1), NEUTRAL_QUANTILE)
                        if (truth[:, k] < ABSENT).any() else 0.0 for k in range(truth.shape[1])])
    neutral = np.minimum((neutral + arkit.mirror(neutral)) / 2, 0.9)  # alike on both sides, never the whole range
    return ImageCalibration(asymmetry, neutral, fingerprint)


def load_calibration(directory: str | Path, model) -> tuple[ImageCalibration, str | None]:
    """The calibration of a checkpoint ``directory`` for its loaded ``model`` (:meth:`ImageCalibration.none` when it
    has none), and a note when its file was measured with another P_img or decoder."""
    path = Path(directory) / FILENAME
    if not path.is_file():
        return ImageCalibration.none(), None
    command = f"python -m train.expclip.image_calibration --checkpoint {directory}"
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("fingerprint") != fingerprint(model):
        return ImageCalibration.none(), (f"The checkpoint's image calibration was measured with another P_img or "
                                         f"decoder, so it is not used; run `{command}` again.")
    return ImageCalibration(arkit.from_dict(data["asymmetry"]).astype(np.float64),
                            arkit.from_dict(data["neutral"]).astype(np.float64), data["fingerprint"]), None
