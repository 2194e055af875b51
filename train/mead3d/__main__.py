"""``python -m train.mead3d synthetic|build``: MEAD-3D datasets (images, landmarks, weights, labels).

    python -m train.mead3d synthetic --train-size 2400 --test-size 600 --out data/mead3d-synthetic
    python -m train.mead3d synthetic --identity-std 0 --out data/mead3d-one-face   # the ICT head's face only
    python -m train.mead3d build --source ~/MEAD --out data/mead3d --every 0.5

Both resume an interrupted build when run again with the same arguments.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from expclip.mead3d import Mead3DError
from expclip.tead import TeadFormatError
from head.assets import AssetError
from render.renderer import RenderError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m train.mead3d", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    syn = commands.add_parser("synthetic", help="renders of the head making TEAD expressions, with known weights")
    syn.add_argument("--tead", default="data/tead", help="TEAD directory whose expressions are rendered")
    syn.add_argument("--train-size", type=int, default=2400)
    syn.add_argument("--test-size", type=int, default=600)
    syn.add_argument("--image-size", type=int, default=320)
    syn.add_argument("--seed", type=int, default=0)
    syn.add_argument("--identity-std", type=float, default=1.0,
                     help="spread of the random faces: ICT identity coefficients ~ N(0, std²) (default 1; "
                          "0: every image has the ICT head's own face)")
    syn.add_argument("--eyebrows", action="store_true",
                     help="paint eyebrows on the head (ICT's has none), of a random colour and density per image")
    syn.add_argument("--out", type=Path, default=Path("data/mead3d-synthetic"))
    syn.add_argument("--quiet", action="store_true")
    build = commands.add_parser("build", help="frames of MEAD (or any videos/photos) with fitted weights")
    build.add_argument("--source", type=Path, required=True, help="folder of videos and/or photos")
    build.add_argument("--out", type=Path, required=True)
    build.add_argument("--every", type=float, default=0.5, help="seconds between sampled video frames")
    build.add_argument("--frames-per-video", type=int, default=40)
    build.add_argument("--test-share", type=float, default=0.1)
    build.add_argument("--quiet", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "synthetic":
            from expclip.mead3d_synthetic import SyntheticConfig, build_synthetic
            from render.renderer import HeadRenderer

            if min(args.train_size, args.test_size) < 1 or not 64 <= args.image_size <= 1024:
                raise ValueError("--train-size and --test-size must be at least 1 and --image-size 64 to 1024.")
            if not 0 <= args.identity_std <= 3:
                raise ValueError(f"--identity-std {args.identity_std:g} is out of range; use 0 to 3 (1: ICT's own "
                                 "spread of faces).")
            config = SyntheticConfig(tead=args.tead, train_size=args.train_size, test_size=args.test_size,
                                     image_size=args.image_size, seed=args.seed, identity_std=args.identity_std,
                                     eyebrows=args.eyebrows)
            meta = build_synthetic(config, args.out, progress=not args.quiet, renderer=HeadRenderer)
        else:
            from train.mead3d.media import build_from_media

            if args.every <= 0 or args.frames_per_video < 1 or not 0 <= args.test_share < 1:
                raise ValueError("--every must be positive, --frames-per-video at least 1 and --test-share in [0, 1).")
            meta = build_from_media(args.source, args.out, args.every, args.frames_per_video, args.test_share,
                                    progress=not args.quiet)
        counts, dropped = meta.get("records", {}), sum(meta.get("dropped_without_face", {}).values())
        lost = f" ({dropped} render{'s' * (dropped != 1)} without a detected face dropped)" if dropped else ""
        print(f"Wrote {counts.get('train', 0)} train and {counts.get('test', 0)} test images with landmarks and "
              f"weights to {args.out}{lost}; details in meta.json.")
    except (Mead3DError, TeadFormatError, AssetError, RenderError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
