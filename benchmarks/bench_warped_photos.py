"""Real faces made to frown, scowl or smile by warping: does the image path read an expression on a real person?

The Yale photos hold no angry or disgusted faces, and their sad ones barely move. This benchmark makes
those expressions on real faces of known strength: each relaxed photo of the folder (labels ``normal`` and
``sleepy``: closed eyes, the rest of the face at rest) is fitted with the rig, the rig's landmark motion
for an expression of :data:`EXPRESSIONS` is moved into the image by the fitted pose and size, and the
photo is warped piecewise-affinely over MediaPipe's mesh so that its skin follows (:func:`with_expression`).
Only shapes that move skin are used: a warp cannot open a mouth (no teeth appear) or close an eye (no lid
grows), so ``jawOpen``, ``eyeBlink`` and ``eyeWide`` are left out. The photos are only read, never trained on.

Per expression it prints (JSON lines, ``{"bench": "warped_photos", ...}``) over the photos:

* ``shown``: how many photos read the expression's main shape (the first of its entry; a Left/Right pair
  as the mean of both) at least 0.3 stronger than the photo itself;
* ``read``: the mean of that rise (the expression puts the shape at 1.0, or beyond it for the scowl, whose brows
  move twice as far: a weight above 1 counts as 1);
* ``mae``: the mean absolute error over the 52 weights against the photo's own reading plus the expression
  (clipped to [0, 1]);

and an ``all`` line with the totals.

    python -m benchmarks.bench_warped_photos
    python -m benchmarks.bench_warped_photos --folder photos/ --checkpoint checkpoints/expclip-small
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from tqdm import tqdm

from benchmarks.common import emitter

emit = emitter("warped_photos")

BASE_LABELS = ("normal", "sleepy")  # photos whose brows and mouth are at rest
SHOWN = 0.3                          # a rise at least this large is seen

EXPRESSIONS: dict[str, dict[str, float]] = {  # name → shapes; the first shape is the one scored as shown
    "brows lowered": {"browDownLeft": 1.0, "browDownRight": 1.0},
    # a real scowl lowers the inner brows more than twice as far as ICT's browDown at 1 (expclip.brows)
    "scowl (brows lowered twice as far)": {"browDownLeft": 2.0, "browDownRight": 2.0},
    "inner brows raised": {"browInnerUp": 1.0},
    "outer brows raised": {"browOuterUpLeft": 1.0, "browOuterUpRight": 1.0},
    "smile": {"mouthSmileLeft": 1.0, "mouthSmileRight": 1.0},
    "mouth corners down": {"mouthFrownLeft": 1.0, "mouthFrownRight": 1.0},
    "lips pressed": {"mouthPressLeft": 1.0, "mouthPressRight": 1.0},
    "lips stretched": {"mouthStretchLeft": 1.0, "mouthStretchRight": 1.0},
    "nose wrinkled": {"noseSneerLeft": 1.0, "noseSneerRight": 1.0},
    "pucker": {"mouthPucker": 1.0},
    "angry": {"browDownLeft": 1.0, "browDownRight": 1.0, "mouthPressLeft": 0.6, "mouthPressRight": 0.6},
    "sad": {"mouthFrownLeft": 1.0, "mouthFrownRight": 1.0, "browInnerUp": 0.8, "mouthShrugLower": 0.5},
    "disgusted": {"noseSneerLeft": 1.0, "noseSneerRight": 1.0, "mouthUpperUpLeft": 0.5, "mouthUpperUpRight": 0.5},
    "smirk (left)": {"mouthSmileLeft": 1.0},
}


def warp_points(image: np.ndarray, source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``image (H, W, C)`` warped so that the pixels at ``source (N, 2)`` move to ``target (N, 2)`` (x, y pixels):
    piecewise affine over the Delaunay triangles of the targets and the image's border, which stays put."""
    import cv2
    from scipy.spatial import Delaunay

    height, width = image.shape[:2]
    border = np.array([[x, y] for x in (0, (width - 1) / 2, width - 1) for y in (0, (height - 1) / 2, height - 1)
                       if (x, y) != ((width - 1) / 2, (height - 1) / 2)], np.float64)
    source = np.vstack([np.asarray(source, np.float64), border])
    triangles = Delaunay(np.vstack([np.asarray(target, np.float64), border]))
    ys, xs = np.mgrid[0:height, 0:width]
    pixels = np.stack([xs.ravel(), ys.ravel()], 1).astype(np.float64)
    inside = triangles.find_simplex(pixels)
    found = inside >= 0
    affine = triangles.transform[inside[found]]  # (n, 3, 2): barycentric inverse and offset
    first = np.einsum("nij,nj->ni", affine[:, :2], pixels[found] - affine[:, 2])
    barycentric = np.c_[first, 1.0 - first.sum(1)]  # (n, 3)
    mapped = pixels.copy()
    mapped[found] = np.einsum("ni,nij->nj", barycentric, source[triangles.simplices[inside[found]]])
    map_x, map_y = (mapped[:, k].reshape(height, width).astype(np.float32) for k in (0, 1))
    return cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def with_expression(image: np.ndarray, points: np.ndarray, weights: np.ndarray, fitter=None) -> np.ndarray:
    """RGB ``image (H, W, 3)`` whose face (MediaPipe landmarks ``points (478, 3)``) is warped to make the rig's
    expression ``weights (52,)``: the rig's landmark motion, turned and scaled by the face's fitted pose."""
    from expclip.fitting import default_fitter

    fitter = fitter or default_fitter()
    fitted = fitter.fit(points)
    motion = np.tensordot(np.asarray(weights, np.float64), fitter.deltas, 1)  # (478, 3) rig centimetres
    moved = fitter.without_offsets(points, fitted, -motion)
    mesh = slice(0, 468)  # the irises follow their eyes' mesh
    return warp_points(image, np.asarray(points, np.float64)[mesh, :2], moved[mesh, :2])


def main(argv: list[str] | None = None) -> None:
    from expclip.image_pipeline import load_image_pipeline
    from expclip.images import load_image
    from head import arkit
    from train.expclip.photos import default_folder, labelled_photos, side_means

    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_warped_photos",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--folder", type=Path, default=None,
                        help="labelled photos (default: $EXPCLIP_ASSET_MIRROR/faces); the relaxed ones are warped")
    parser.add_argument("--checkpoint", type=Path, default=None, help="ExpCLIP checkpoint (default: the released one)")
    parser.add_argument("--method", default="auto", help="image path method (auto, projector, fit)")
    args = parser.parse_args(argv)
    bases = [path for path, label in labelled_photos(args.folder or default_folder()) if label in BASE_LABELS]
    if not bases:
        raise SystemExit(f"No relaxed photos (labels {', '.join(BASE_LABELS)}) in the folder.")
    pipe = load_image_pipeline(args.checkpoint)
    own = {}
    for path in bases:
        image, face = pipe.detect(path)
        own[path] = (image, face.points, pipe.read(image, face, args.method).weights)
    totals = {"shown": 0, "photos": 0, "read": [], "mae": []}
    for name, shapes in EXPRESSIONS.items():
        motion, main_shape = np.zeros(arkit.NUM_BLENDSHAPES, np.float32), next(iter(shapes))
        scored = main_shape[:-4] if main_shape.endswith("Left") else main_shape  # a pair: the mean of both sides
        motion[[arkit.INDEX[shape] for shape in shapes]] = list(shapes.values())
        applied = np.clip(motion, 0.0, 1.0)  # what the face can show: a shape beyond 1 reads as 1
        shown, rises, errors = 0, [], []
        for path in tqdm(bases, desc=name, leave=False):
            image, points, before = own[path]
            warped = with_expression(image, points, motion)
            after = pipe.read(warped, pipe.detect(warped, "the warped photo")[1], args.method).weights
            rise = side_means(after)[scored] - side_means(before)[scored]
            shown += rise >= SHOWN
            rises.append(rise)
            errors.append(float(np.abs(after - np.clip(before + applied, 0.0, 1.0)).mean()))
        emit("shown", shown, "photos", expression=name, photos=len(bases), method=args.method,
             read=round(float(np.mean(rises)), 3), mae=round(float(np.mean(errors)), 4))
        totals["shown"] += shown
        totals["photos"] += len(bases)
        totals["read"] += rises
        totals["mae"] += errors
    emit("shown", totals["shown"], "photos", expression="all", photos=totals["photos"], method=args.method,
         read=round(float(np.mean(totals["read"])), 3), mae=round(float(np.mean(totals["mae"])), 4))


if __name__ == "__main__":
    main()
