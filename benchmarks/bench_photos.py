"""Speed of reading real photos: milliseconds per photo through the image pipeline (issue 17: at most 150 ms).

Every labelled photo of the folder (default ``$EXPCLIP_ASSET_MIRROR/faces``, the Yale photos) is read
once to warm up, then ``repeats`` more times; per method it prints the median over photos of each
photo's median time (decode, landmarks, P_img, fit, eyelids), as JSON lines ``{"bench": "photos", ...}``.
Agreement with the labels is :mod:`train.expclip.photos` (``python -m train.expclip eval-photos``).

    python -m benchmarks.bench_photos
    python -m benchmarks.bench_photos --folder photos/ --checkpoint DIR --repeats 5
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from benchmarks.common import emitter, median_seconds

emit = emitter("photos", digits=1)


def main(argv: list[str] | None = None) -> None:
    from expclip.image_pipeline import load_image_pipeline
    from train.expclip.photos import default_folder, labelled_photos

    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_photos", description=__doc__.split("\n")[0])
    parser.add_argument("--folder", type=Path, default=None, help="labelled photos (default: $EXPCLIP_ASSET_MIRROR/faces)")
    parser.add_argument("--checkpoint", type=Path, default=None, help="ExpCLIP checkpoint (default: the released one)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    photos = [path for path, _ in labelled_photos(args.folder or default_folder())]
    pipe = load_image_pipeline(args.checkpoint)
    for method in ("auto", "projector", "fit") if pipe.has_projector else ("fit",):
        for path in photos:
            pipe.analyse(path, method=method)
        times = [median_seconds(lambda: pipe.analyse(path, method=method), args.repeats) for path in photos]
        emit("ms_per_photo", 1000 * float(np.median(times)), "ms", method=method, photos=len(photos),
             slowest=round(1000 * max(times), 1), goal=150)


if __name__ == "__main__":
    main()
