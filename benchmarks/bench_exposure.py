"""Dark, glaring and flat photos: are labelled photos still read as labelled when their exposure is poor?

Each labelled photo of the folder (default ``$EXPCLIP_ASSET_MIRROR/faces``, the Yale photos) is degraded as an
under- or over-exposed or low-contrast camera would (:data:`DEGRADATIONS`) and read through the image pipeline,
once with the landmarks found as they are and once with a poorly exposed face found again on an evened copy
(:meth:`expclip.landmarks.LandmarkDetector.detect`, ``even_exposure``). Per degradation it prints (JSON lines,
``{"bench": "exposure", ...}``):

* ``agree`` and ``agree_as_found``: how many photos agree with their label (:func:`train.expclip.photos.agreement`),
  with evening and without it;
* ``mae_to_photo`` and ``mae_to_photo_as_found``: the mean absolute difference (over the 52 weights) from the
  reading of the photo itself;
* ``evened``: how many faces were judged poorly exposed (:func:`expclip.images.poorly_exposed`).

    python -m benchmarks.bench_exposure
    python -m benchmarks.bench_exposure --folder photos/
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable

import numpy as np
from tqdm import tqdm

from benchmarks.common import emitter

emit = emitter("exposure")

DEGRADATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {  # float RGB 0-255 → float RGB
    "as taken": lambda image: image,
    "a quarter of the light": lambda image: image * 0.25,
    "a tenth of the light": lambda image: image * 0.1,
    "a twentieth of the light": lambda image: image * 0.05,
    "twice the light (clipped)": lambda image: image * 2.0,
    "a fifth of the contrast": lambda image: 128 + (image - 128) * 0.2,
    "gamma 3 (shadows crushed)": lambda image: 255 * (image / 255) ** 3,
    "gamma 0.4 (washed out)": lambda image: 255 * (image / 255) ** 0.4,
}


def degrade(image: np.ndarray, name: str) -> np.ndarray:
    """RGB ``image (H, W, 3)`` uint8 with the degradation ``name`` of :data:`DEGRADATIONS` applied."""
    return np.clip(np.round(DEGRADATIONS[name](image.astype(np.float32))), 0, 255).astype(np.uint8)


def main(argv: list[str] | None = None) -> None:
    from expclip.image_pipeline import load_image_pipeline
    from expclip.images import load_image
    from expclip.landmarks import EVENED_NOTE, shared_detector
    from train.expclip.photos import agreement, default_folder, labelled_photos

    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_exposure", description=__doc__.split("\n")[0])
    parser.add_argument("--folder", type=Path, default=None,
                        help="labelled photos (default: $EXPCLIP_ASSET_MIRROR/faces)")
    parser.add_argument("--checkpoint", type=Path, default=None, help="ExpCLIP checkpoint (default: the released one)")
    args = parser.parse_args(argv)
    photos = labelled_photos(args.folder or default_folder())
    pipe = load_image_pipeline(args.checkpoint)
    own = {path: pipe.analyse(path).weights for path, _ in photos}
    for name in DEGRADATIONS:
        counts = {"agree": 0, "agree_as_found": 0, "evened": 0}
        errors: dict[str, list[float]] = {"mae_to_photo": [], "mae_to_photo_as_found": []}
        for path, label in tqdm(photos, desc=name, leave=False):
            picture = degrade(load_image(path), name)
            for even, suffix in ((True, ""), (False, "_as_found")):
                face = shared_detector().detect(picture, even_exposure=even)
                weights = pipe.read(picture, face).weights
                counts["agree" + suffix] += agreement(label, weights)[0]
                errors["mae_to_photo" + suffix].append(float(np.abs(weights - own[path]).mean()))
                counts["evened"] += even and EVENED_NOTE in face.notes
        emit("agree", counts["agree"], "photos", degradation=name, photos=len(photos),
             agree_as_found=counts["agree_as_found"], evened=counts["evened"],
             **{key: round(float(np.mean(values)), 4) for key, values in errors.items()})


if __name__ == "__main__":
    main()
