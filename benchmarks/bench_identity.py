"""Identity invariance of the image path: the same expression on random faces should read the same.

Each expression of :data:`EXPRESSIONS` is rendered from the front on ``identities`` random ICT-FaceKit
faces (seeds 1…N, :func:`head.identity.sample_identity`) and on the default head, and read back
through the checkpoint's image pipeline (:func:`expclip.image_pipeline.load_image_pipeline`) with each
method. Issue 17's goal: the readings of one expression on 20 faces lie within MAE 0.05 of each other.
Per method and expression it prints (JSON lines, ``{"bench": "identity", ...}``):

* ``pairwise_mae``: the mean MAE (over the 52 weights) between the readings of two faces, over all
  pairs; ``max``: the worst pair; ``pairs_within``: the share of pairs within ``tolerance``;
  ``passes``: every pair within it;
* ``spread_mae``: the mean MAE between a face's reading and the mean reading over the faces;
* ``worst_shape``: the shape whose reading varies most between faces, and its mean absolute
  deviation (``worst_shape_spread``), since an MAE over 52 mostly-zero weights hides one shape's change;
* ``truth_mae``: the mean MAE between the readings and the weights rendered;
* ``default_head_mae``: the mean MAE between the faces' readings and the default head's.

and per method the means over expressions and how many expressions pass.

    python -m benchmarks.bench_identity                                   # the released checkpoint
    python -m benchmarks.bench_identity --checkpoint DIR --identities 20 --methods projector fit
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

import numpy as np
from tqdm import tqdm

from benchmarks.common import emitter
from expclip.image_pipeline import NEUTRAL_FACES
from head import arkit
from head.identity import Identity, sample_identity

emit = emitter("identity")

EXPRESSIONS: dict[str, dict[str, float]] = {
    "neutral": {},
    "smile": {"mouthSmileLeft": 0.8, "mouthSmileRight": 0.8, "cheekSquintLeft": 0.4, "cheekSquintRight": 0.4,
              "eyeSquintLeft": 0.3, "eyeSquintRight": 0.3},
    "surprise": {"browInnerUp": 0.8, "browOuterUpLeft": 0.7, "browOuterUpRight": 0.7, "eyeWideLeft": 0.6,
                 "eyeWideRight": 0.6, "jawOpen": 0.4},
    "eyes_closed": {"eyeBlinkLeft": 1.0, "eyeBlinkRight": 1.0},
    "wink": {"eyeBlinkLeft": 1.0, "mouthSmileLeft": 0.3, "cheekSquintLeft": 0.3},
    "anger": {"browDownLeft": 0.8, "browDownRight": 0.8, "eyeSquintLeft": 0.4, "eyeSquintRight": 0.4,
              "mouthPressLeft": 0.4, "mouthPressRight": 0.4, "noseSneerLeft": 0.3, "noseSneerRight": 0.3},
    "disgust": {"noseSneerLeft": 0.7, "noseSneerRight": 0.7, "mouthUpperUpLeft": 0.5, "mouthUpperUpRight": 0.5,
                "browDownLeft": 0.3, "browDownRight": 0.3},
    "sad": {"browInnerUp": 0.7, "mouthFrownLeft": 0.6, "mouthFrownRight": 0.6, "mouthShrugLower": 0.3},
}


@dataclass
class IdentityBenchConfig:
    checkpoint: str | None = None          # None: the released checkpoint
    identities: int = 20                   # random faces per expression (seeds 1…identities)
    methods: tuple[str, ...] = ("auto", "projector", "fit")
    size: int = 512                        # render size in pixels
    tolerance: float = 0.05                # MAE within which the faces' readings should agree
    expressions: dict[str, dict[str, float]] = field(default_factory=lambda: dict(EXPRESSIONS))
    neutral_face: str = "rig"              # renders of the rig: its own neutral ("real": read as photos are)


def _mae(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).mean())


def consistency(readings: np.ndarray, truth: np.ndarray, default: np.ndarray, tolerance: float) -> dict:
    """Agreement of ``readings (faces, 52)`` of one expression with each other, the ``truth (52,)`` rendered and the
    default head's reading ``(52,)``."""
    deviation = np.abs(readings - readings.mean(axis=0))          # (faces, 52)
    pairs = np.array([_mae(readings[i], readings[j]) for i, j in combinations(range(len(readings)), 2)])
    worst = int(deviation.mean(axis=0).argmax())
    return {"pairwise_mae": float(pairs.mean()), "pairwise_mae_max": float(pairs.max()),
            "pairs_within": float((pairs <= tolerance).mean()), "passes": bool(pairs.max() <= tolerance),
            "spread_mae": float(deviation.mean()),
            "worst_shape": arkit.BLENDSHAPE_NAMES[worst], "worst_shape_spread": float(deviation[:, worst].mean()),
            "truth_mae": float(np.abs(readings - truth).mean()),
            "default_head_mae": float(np.abs(readings - default).mean())}


def read_faces(config: IdentityBenchConfig, progress: bool = True) -> dict[str, dict[str, np.ndarray]]:
    """Readings ``method → expression → (1 + identities, 52)``: row 0 the default head, then seeds 1…N."""
    from expclip.image_pipeline import load_image_pipeline
    from render.renderer import HeadRenderer

    pipe = load_image_pipeline(config.checkpoint, neutral_face=config.neutral_face)
    methods = [m for m in config.methods if m != "projector" or pipe.has_projector]
    faces: list[Identity] = [sample_identity(0)] + [sample_identity(s) for s in range(1, config.identities + 1)]
    readings = {m: {e: np.zeros((len(faces), arkit.NUM_BLENDSHAPES), np.float32) for e in config.expressions}
                for m in methods}
    jobs = [(e, k) for e in config.expressions for k in range(len(faces))]
    with HeadRenderer(size=config.size, samples=4) as renderer:
        for expression, k in tqdm(jobs, desc="Reading faces", unit="render", disable=not progress):
            image = renderer.render(arkit.from_dict(config.expressions[expression]), identity=faces[k])
            for method in methods:
                name = f"{expression} on {faces[k].label}"
                readings[method][expression][k] = pipe.analyse(image, method=method, name=name).weights
    return readings


def run(config: IdentityBenchConfig, progress: bool = True) -> dict[str, dict[str, dict]]:
    """Per method and expression, :func:`consistency` of the random faces' readings (also printed as JSON lines)."""
    results: dict[str, dict[str, dict]] = {}
    for method, by_expression in read_faces(config, progress).items():
        results[method] = {}
        for expression, rows in by_expression.items():
            truth = arkit.from_dict(config.expressions[expression])
            found = consistency(rows[1:], truth, rows[0], config.tolerance)
            results[method][expression] = found
            emit("pairwise_mae", found["pairwise_mae"], "weight", method=method, expression=expression,
                 faces=len(rows) - 1, max=round(found["pairwise_mae_max"], 3),
                 pairs_within=round(found["pairs_within"], 3), passes=found["passes"],
                 spread_mae=round(found["spread_mae"], 3), worst_shape=found["worst_shape"],
                 worst_shape_spread=round(found["worst_shape_spread"], 3), truth_mae=round(found["truth_mae"], 3),
                 default_head_mae=round(found["default_head_mae"], 3))
        values = list(results[method].values())
        for metric in ("pairwise_mae", "pairs_within", "spread_mae", "truth_mae", "default_head_mae"):
            emit(f"mean_{metric}", float(np.mean([v[metric] for v in values])),
                 "share" if metric == "pairs_within" else "weight", method=method)
        emit("expressions_passing", sum(v["passes"] for v in values), "count", method=method, of=len(values),
             tolerance=config.tolerance)
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_identity", description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", type=Path, default=None, help="ExpCLIP checkpoint (default: the released one)")
    parser.add_argument("--identities", type=int, default=20, help="random faces per expression (default 20)")
    parser.add_argument("--methods", nargs="+", choices=("auto", "projector", "fit"),
                        default=["auto", "projector", "fit"], help="image pipeline methods to read with (default: all)")
    parser.add_argument("--size", type=int, default=512, help="render size in pixels (default 512)")
    parser.add_argument("--neutral-face", choices=NEUTRAL_FACES, default="rig",
                        help="read the renders against the rig's own neutral face (default) or as photos are")
    args = parser.parse_args(argv)
    if args.identities < 2:
        parser.error("--identities must be at least 2 (the faces are compared with each other).")
    run(IdentityBenchConfig(str(args.checkpoint) if args.checkpoint else None, args.identities, tuple(args.methods),
                            args.size, neutral_face=args.neutral_face))


if __name__ == "__main__":
    main()
