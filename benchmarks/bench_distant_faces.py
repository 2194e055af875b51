"""Faces far from the camera: are labelled photos still read, and read alike, when they fill little of the picture?

Each labelled photo of the folder (default ``$EXPCLIP_ASSET_MIRROR/faces``, the Yale photos) is pasted, at its own
size, into the middle of a plain grey canvas ``1 / share`` times as wide (so the photo spans ``share`` of the
picture's width, the face about half of that), and read through the image pipeline. Per share it prints (JSON
lines, ``{"bench": "distant_faces", ...}``):

* ``found_by_mesh``: the share of pictures in which MediaPipe's face mesh alone finds the face (its short-range
  detector; what the pipeline had before :meth:`head.landmarks.FaceMesh.detect_distant`);
* ``read``: the share of pictures the pipeline reads (the rest get a one-sentence error);
* ``agree``: the share whose reading agrees with the photo's label (:func:`train.expclip.photos.agreement`);
* ``mae_to_photo``: the mean absolute difference (over the 52 weights) from the reading of the photo alone;
* ``ms``: the median time per picture (decode, landmarks, reading).

    python -m benchmarks.bench_distant_faces
    python -m benchmarks.bench_distant_faces --folder photos/ --shares 1 0.25 0.1
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from benchmarks.common import emitter

emit = emitter("distant_faces")


def on_canvas(photo: np.ndarray, share: float) -> np.ndarray:
    """RGB ``photo (H, W, 3)`` in the middle of a grey canvas ``W / share`` wide, of the same aspect ratio."""
    height, width = photo.shape[:2]
    canvas_w = max(width, round(width / share))
    canvas_h = max(height, round(height / share))
    canvas = np.full((canvas_h, canvas_w, 3), 128, np.uint8)
    top, left = (canvas_h - height) // 2, (canvas_w - width) // 2
    canvas[top:top + height, left:left + width] = photo
    return canvas


def main(argv: list[str] | None = None) -> None:
    from expclip.image_pipeline import load_image_pipeline
    from expclip.images import load_image
    from expclip.landmarks import FaceNotFound, shared_detector
    from train.expclip.photos import agreement, default_folder, labelled_photos

    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_distant_faces",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--folder", type=Path, default=None,
                        help="labelled photos (default: $EXPCLIP_ASSET_MIRROR/faces)")
    parser.add_argument("--checkpoint", type=Path, default=None, help="ExpCLIP checkpoint (default: the released one)")
    parser.add_argument("--shares", type=float, nargs="+", default=[1.0, 0.5, 0.25, 0.15, 0.1],
                        help="how much of the picture's width the photo spans (default: 1 0.5 0.25 0.15 0.1)")
    args = parser.parse_args(argv)
    if any(not 0 < share <= 1 for share in args.shares):
        parser.error("--shares must lie in (0, 1]: the share of the picture's width the photo spans.")
    photos = labelled_photos(args.folder or default_folder())
    pipe = load_image_pipeline(args.checkpoint)
    own = {path: pipe.analyse(path).weights for path, _ in photos}
    for share in args.shares:
        found, read, agree, errors, times = 0, 0, 0, [], []
        for path, label in tqdm(photos, desc=f"share {share:g}", leave=False):
            picture = on_canvas(load_image(path), share)
            found += bool(shared_detector().detect_all(picture))
            start = time.perf_counter()
            try:
                weights = pipe.analyse(picture).weights
            except FaceNotFound:
                continue
            times.append(time.perf_counter() - start)
            read += 1
            agree += agreement(label, weights)[0]
            errors.append(float(np.abs(weights - own[path]).mean()))
        size = on_canvas(load_image(photos[0][0]), share).shape
        emit("read", read / len(photos), "share", share=share, canvas=f"{size[1]}x{size[0]}", photos=len(photos),
             found_by_mesh=round(found / len(photos), 3), agree=round(agree / len(photos), 3),
             mae_to_photo=round(float(np.mean(errors)), 4) if errors else None,
             ms=round(1000 * float(np.median(times)), 1) if times else None)


if __name__ == "__main__":
    main()
