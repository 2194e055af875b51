"""``python -m train.expclip fit|fit-image|eval|eval-photos|ablate|gallery``: train ExpCLIP (TEAD, then MEAD-3D images) and evaluate it.

    python -m train.expclip fit --config train/configs/expclip_small.yaml
    python -m train.expclip eval --checkpoint checkpoints/expclip-small --data data/tead
    python -m train.expclip fit-image --config train/configs/expclip_image_small.yaml
    python -m train.expclip eval --checkpoint checkpoints/expclip-small --images data/mead3d-synthetic
    python -m train.expclip eval-photos --checkpoint checkpoints/expclip-small --markdown photos.md
    python -m train.expclip ablate --limit-samples 20000 --epochs 3 --out checkpoints/ablations
    python -m train.expclip gallery --checkpoint checkpoints/expclip-small --out gallery.png
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

# OpenMP threads spin while they wait for each other. On a CPU shared with other jobs a spinning thread
# holds a core that another thread needs: on this 2-core machine a training step of the small model took
# 7.4 s instead of 1.7 s beside other engineers' jobs, 0.97 s instead of 0.58 s beside one busy process.
# Waiting passively costs a fifth or so on a free CPU (0.30 → 0.36 s); set OMP_WAIT_POLICY to choose
# otherwise. It must be set before torch loads OpenMP.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from expclip.checkpoint import CheckpointError
from expclip.encoders import EncoderUnavailable
from expclip.mead3d import Mead3DError
from expclip.tead import TeadFormatError
from train.config import CONFIG_DIR, ConfigError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m train.expclip", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    fit = commands.add_parser("fit", help="train (resumes from OUT/training-state when present)")
    fit.add_argument("--config", type=Path, default=CONFIG_DIR / "expclip_small.yaml")
    fit.add_argument("--data", default=None, help="TEAD directory (overrides the config)")
    fit.add_argument("--out", default=None, help="checkpoint directory (overrides the config)")
    fit.add_argument("--epochs", type=int, default=None)
    fit.add_argument("--seed", type=int, default=None)
    fit.add_argument("--limit-samples", type=int, default=None, help="train on the first N samples only")
    fit.add_argument("--quiet", action="store_true", help="no progress bars")
    fi = commands.add_parser("fit-image", help="train the image projector P_img on MEAD-3D (E and D frozen)")
    fi.add_argument("--config", type=Path, default=CONFIG_DIR / "expclip_image_small.yaml")
    fi.add_argument("--data", default=None, help="MEAD-3D directory (overrides the config)")
    fi.add_argument("--checkpoint", default=None, help="base checkpoint (overrides the config)")
    fi.add_argument("--out", default=None, help="where to write the checkpoint with P_img (default: the base)")
    fi.add_argument("--epochs", type=int, default=None)
    fi.add_argument("--quiet", action="store_true")
    ev = commands.add_parser("eval", help="metrics on the TEAD test split (with a nearest-neighbour baseline) "
                             "and/or on a MEAD-3D test split (with a direct-fitting baseline)")
    ev.add_argument("--checkpoint", type=Path, required=True)
    ev.add_argument("--data", type=Path, default=None, help="TEAD directory")
    ev.add_argument("--images", type=Path, default=None, help="MEAD-3D directory (needs a checkpoint with P_img)")
    ev.add_argument("--prompts", type=Path, default=None, help="a prompt suite (JSON lines, e.g. "
                    "train/prompts/face-suite.jsonl): pass rates beside the zero-shot label baseline (and the "
                    "nearest neighbour of --data's training texts)")
    ev.add_argument("--quiet", action="store_true")
    ep = commands.add_parser("eval-photos", help="labelled real photos: per-photo and per-label agreement of the "
                             "image path, and text → photo retrieval precision@k (JSON lines)")
    ep.add_argument("--checkpoint", type=Path, default=None, help="ExpCLIP checkpoint (default: the released one)")
    ep.add_argument("--folder", type=Path, default=None,
                    help="labelled photos (default: $EXPCLIP_ASSET_MIRROR/faces, the Yale photos)")
    ep.add_argument("--method", choices=("auto", "projector", "fit"), default="auto")
    ep.add_argument("--k", type=int, default=5, help="retrieval depth (default 5)")
    ep.add_argument("--markdown", type=Path, default=None, help="also write the tables here")
    ab = commands.add_parser("ablate", help="short runs with and without each augmentation, evaluated alike")
    ab.add_argument("--config", type=Path, default=CONFIG_DIR / "expclip_small.yaml")
    ab.add_argument("--out", type=Path, required=True)
    ab.add_argument("--epochs", type=int, default=None)
    ab.add_argument("--limit-samples", type=int, default=None)
    ab.add_argument("--quiet", action="store_true")
    ga = commands.add_parser("gallery", help="render unseen prompts through a checkpoint")
    ga.add_argument("--checkpoint", type=Path, required=True)
    ga.add_argument("--out", type=Path, required=True, help="PNG path (a .jsonl with the weights goes beside it)")
    return parser


def _recalls(metrics: dict, prefix: str) -> str:
    found = [f"{key[len(prefix):]} {metrics[key]:.3f}" for key in metrics if key.startswith(prefix)]
    return f", {prefix[:-1].replace('_', ' ')} {', '.join(found)}" if found else ""


def _eval_summary(report: dict, checkpoint: Path) -> str:
    """One line for a person about an ``eval`` report (the JSON on stdout holds everything)."""
    parts = []
    if "suite" in report:
        suite = report["suite"]
        baselines = [f"zero-shot label {suite['zero_shot_label']['pass_rate']:.0%}"]
        if "nearest_neighbour" in suite:
            baselines.append(f"nearest neighbour {suite['nearest_neighbour']['pass_rate']:.0%}")
        parts.append(f"the {suite['prompts']}-prompt suite: {suite['expclip']['pass_rate']:.0%} pass "
                     f"({', '.join(baselines)})")
    if "expclip" in report:
        ours, base = report["expclip"], report["nearest_neighbour"]
        parts.append(f"{report['test_samples']} TEAD test samples: retrieval R@1 {ours['retrieval_r@1']:.3f} "
                     f"(nearest neighbour {base['retrieval_r@1']:.3f}), cross MSE {ours['cross_mse']:.5f}")
    if "images" in report:
        images = report["images"]
        parts.append(f"{images['test_images']} test images: projector MSE {images['projector_mse']:.5f}"
                     f"{_recalls(images, 'text_to_image_')}")
    return f"Evaluated {checkpoint} on " + "; ".join(parts) + "."


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "fit":
            from train.expclip.fit import fit, load_fit_config

            config = load_fit_config(args.config, data=args.data, out=args.out, epochs=args.epochs, seed=args.seed,
                                     limit_samples=args.limit_samples)
            metrics = fit(config, progress=not args.quiet)
            if not metrics:
                print(f"Nothing to train: {config.out} already holds all {config.epochs} epochs.")
            else:
                print(f"Trained {metrics['epoch']} epochs ({metrics['steps']} steps, {metrics['train_seconds']:g} s): "
                      f"test ae MSE {metrics['test_ae_mse']:.5f}, cross MSE {metrics['test_cross_mse']:.5f}; "
                      f"checkpoint in {config.out} (all metrics in metrics.json, per epoch in log.csv).")
        elif args.command == "fit-image":
            from train.expclip.fit_image import fit_image, load_fit_image_config

            config = load_fit_image_config(args.config, data=args.data, checkpoint=args.checkpoint, out=args.out,
                                           epochs=args.epochs)
            metrics = fit_image(config, progress=not args.quiet)
            print(f"Fitted the image projector on {metrics['test_images']} test images: projector MSE "
                  f"{metrics['projector_mse']:.5f}{_recalls(metrics, 'text_to_image_')}; checkpoint in "
                  f"{config.out or config.checkpoint} (metrics.json, under \"image\").")
        elif args.command == "eval":
            if args.data is None and args.images is None and args.prompts is None:
                raise ValueError("eval needs --data (a TEAD directory), --images (a MEAD-3D directory) and/or "
                                 "--prompts (a prompt suite).")
            report = {}
            if args.prompts is not None:
                from train.expclip.prompt_suite import evaluate_suite

                report["suite"] = evaluate_suite(args.checkpoint, args.prompts, args.data)
            if args.data is not None:
                from train.expclip.evaluate import evaluate

                report.update(evaluate(args.checkpoint, args.data, progress=not args.quiet))
            if args.images is not None:
                from train.expclip.fit_image import evaluate_checkpoint_images

                report["images"] = evaluate_checkpoint_images(args.checkpoint, args.images, progress=not args.quiet)
            print(json.dumps(report, indent=2))  # the report itself, for other tools; a person's line on stderr
            print(_eval_summary(report, args.checkpoint), file=sys.stderr)
        elif args.command == "eval-photos":
            from train.expclip.photos import evaluate_folder

            evaluate_folder(args.checkpoint, args.folder, args.method, args.k, args.markdown)
        elif args.command == "ablate":
            from train.expclip.ablate import ablate
            from train.expclip.fit import load_fit_config

            ablate(load_fit_config(args.config, epochs=args.epochs, limit_samples=args.limit_samples), args.out,
                   progress=not args.quiet)
            print((args.out / "ablation.md").read_text())
            print(f"Ablation table written to {args.out / 'ablation.md'} (numbers in ablation.json).")
        else:
            from train.expclip.gallery import gallery

            for row in gallery(args.checkpoint, args.out):
                print(f"{row['prompt']}: {row['top']}")
            print(f"Gallery: {args.out}")
    except (ConfigError, CheckpointError, EncoderUnavailable, TeadFormatError, Mead3DError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
