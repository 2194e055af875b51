"""Face photo speed: landmarks, blendshape fitting, image → expression (projector and fit), gallery indexing.

The faces are renders of the head under the synthetic MEAD-3D builder's random pose, light and
background (made here, 320 px), so the benchmark needs no data set; with ``$EXPCLIP_ASSET_MIRROR`` the
real photos in its ``faces/`` folder are timed as well.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.common import emitter, median_seconds


emit = emitter("images", digits=2)


def _rendered_faces(count: int, folder: Path) -> list[Path]:
    """``count`` JPEGs of random sparse expressions, rendered the way the synthetic MEAD-3D builder does."""
    from PIL import Image

    from expclip.tead import TeadSample
    from head.rig import load_rig
    from render.renderer import HeadRenderer
    from expclip.mead3d_synthetic import SyntheticBuilder, SyntheticConfig

    rng = np.random.default_rng(0)
    weights = rng.uniform(0, 0.6, (count, 52)).astype(np.float32) * (rng.random((count, 52)) < 0.15)
    rig = load_rig()
    paths = []
    with HeadRenderer(rig, size=320, samples=0, background=None) as renderer:
        builder = SyntheticBuilder(SyntheticConfig(image_size=320), rig, renderer, detector=None)
        for i, w in enumerate(weights):
            image, _ = builder.render(TeadSample("", [], {}, "", "", w), rng)
            paths.append(folder / f"face{i:03d}.jpg")
            Image.fromarray(image).save(paths[-1], quality=92)
    return paths


def main() -> None:
    from expclip.fitting import default_fitter
    from expclip.gallery import index_gallery
    from expclip.image_pipeline import ImageToExpression, load_image_pipeline
    from expclip.images import load_image
    from expclip.landmarks import shared_detector

    folder = Path(tempfile.mkdtemp(prefix="expclip-bench-"))
    try:
        paths = _rendered_faces(40, folder)
        images = [load_image(p) for p in paths]
        detector = shared_detector()
        detector.detect(images[0])
        emit("landmarks_ms", 1000 * median_seconds(lambda: detector.detect(images[1]), 20), "ms")
        points = detector.detect(images[2]).points
        fitter = default_fitter()
        fitter.fit(points)
        emit("fit_ms", 1000 * median_seconds(lambda: fitter.fit(points), 10), "ms")
        pipe = load_image_pipeline()
        if pipe.has_projector:
            pipe.analyse(paths[0], method="projector")
            emit("image_to_expression_projector_ms", 1000 * median_seconds(lambda: pipe.analyse(paths[3], method="projector"), 20), "ms")
        fit_pipe = ImageToExpression()
        emit("image_to_expression_fit_ms", 1000 * median_seconds(lambda: fit_pipe.analyse(paths[4], method="fit"), 10), "ms")
        mirror = os.environ.get("EXPCLIP_ASSET_MIRROR")
        photos = sorted((Path(mirror) / "faces").rglob("*.*")) if mirror else []
        photos = [p for p in photos if p.suffix.lower() in {".jpg", ".jpeg", ".png", ".gif", ".pgm"}]
        if photos:
            emit("real_photo_to_expression_ms", 1000 * median_seconds(lambda: pipe.analyse(photos[0]), 10), "ms")
        if pipe.has_projector:
            cache = Path(tempfile.mkdtemp(prefix="expclip-bench-cache-"))
            start = time.perf_counter()
            report = index_gallery(folder, pipe, progress=False, cache=cache)
            emit("gallery_index_images_per_s", report.total / (time.perf_counter() - start), "images/s")
            shutil.rmtree(cache, ignore_errors=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
