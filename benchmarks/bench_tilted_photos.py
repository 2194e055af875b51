"""Tilted and mirrored photos: is a face read the same when the head leans or the picture is flipped?

Each labelled photo of the folder (default ``$EXPCLIP_ASSET_MIRROR/faces``, the Yale photos) is turned in its
own plane (the head leaning to one side, as in a selfie) or mirrored left to right (a phone's front camera), and
read through the image path twice: with the face's points as MediaPipe's mesh first finds them, and steadied
(:func:`expclip.landmarks.steady_points`: read again from a level crop and its mirror image, and averaged). Per
change of the picture it prints (JSON lines, ``{"bench": "tilted_photos", ...}``):

* ``agree`` and ``agree_as_found``: how many photos agree with their label (:func:`train.expclip.photos.agreement`),
  steadied and as found;
* ``mae_to_photo`` and ``mae_to_photo_as_found``: the mean absolute difference (over the 52 weights) from the
  reading of the photo as taken by the same path (for a mirrored photo, from that reading's mirror image, so
  that a wink of the left eye is compared with a wink of the right).

    python -m benchmarks.bench_tilted_photos
    python -m benchmarks.bench_tilted_photos --folder photos/
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from tqdm import tqdm

from benchmarks.common import emitter

emit = emitter("tilted_photos")

CHANGES = ("as taken", "mirrored", "tilted 10°", "tilted 20°", "tilted 30°", "tilted 45°", "tilted -30°")


def changed(image: np.ndarray, change: str) -> np.ndarray:
    """RGB ``image (H, W, 3)`` mirrored or turned about its centre (counter-clockwise, degrees) as ``change`` says
    (one of :data:`CHANGES`); the corners the turn uncovers repeat the picture's edge."""
    import cv2

    if change == "as taken":
        return image
    if change == "mirrored":
        return np.ascontiguousarray(image[:, ::-1])
    degrees = float(change.split()[1].rstrip("°"))
    height, width = image.shape[:2]
    turn = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    return cv2.warpAffine(image, turn, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def main(argv: list[str] | None = None) -> None:
    from expclip.image_pipeline import load_image_pipeline
    from expclip.images import load_image
    from expclip.landmarks import shared_detector
    from head import arkit
    from train.expclip.photos import agreement, default_folder, labelled_photos

    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_tilted_photos", description=__doc__.split("\n")[0])
    parser.add_argument("--folder", type=Path, default=None,
                        help="labelled photos (default: $EXPCLIP_ASSET_MIRROR/faces)")
    parser.add_argument("--checkpoint", type=Path, default=None, help="ExpCLIP checkpoint (default: the released one)")
    args = parser.parse_args(argv)
    photos = labelled_photos(args.folder or default_folder())
    pipe = load_image_pipeline(args.checkpoint)
    paths = {True: "", False: "_as_found"}

    def reading(picture: np.ndarray, steady: bool) -> np.ndarray:
        return pipe.read(picture, shared_detector().detect(picture, steady=steady)).weights

    own = {(path, steady): reading(load_image(path), steady) for path, _ in photos for steady in paths}
    for change in CHANGES:
        counts = {"agree" + suffix: 0 for suffix in paths.values()}
        errors = {"mae_to_photo" + suffix: [] for suffix in paths.values()}
        for path, label in tqdm(photos, desc=change, leave=False):
            picture = changed(load_image(path), change)
            for steady, suffix in paths.items():
                weights = reading(picture, steady)
                if change == "mirrored":
                    weights = arkit.mirror(weights)
                counts["agree" + suffix] += agreement(label, weights)[0]
                errors["mae_to_photo" + suffix].append(float(np.abs(weights - own[path, steady]).mean()))
        emit("agree", counts["agree"], "photos", change=change, photos=len(photos),
             agree_as_found=counts["agree_as_found"],
             **{key: round(float(np.mean(values)), 4) for key, values in errors.items()})


if __name__ == "__main__":
    main()
