"""``python -m train.generator fit|eval``: train the speech generator on talking clips and evaluate it.

    python -m train.talking build --size 3000 --seed 0 --out data/talking
    python -m train.generator fit --config train/configs/generator_small.yaml
    python -m train.generator eval --checkpoint checkpoints/generator-small --data data/talking
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from expclip.checkpoint import CheckpointError
from expclip.clips import ClipsError
from expclip.encoders import EncoderUnavailable
from expclip.tead import TeadFormatError
from train.config import CONFIG_DIR, ConfigError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m train.generator", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    fit = commands.add_parser("fit", help="train (resumes from OUT/training-state when present)")
    fit.add_argument("--config", type=Path, default=CONFIG_DIR / "generator_small.yaml")
    fit.add_argument("--data", default=None, help="talking clips directory (overrides the config)")
    fit.add_argument("--out", default=None, help="checkpoint directory (overrides the config)")
    fit.add_argument("--epochs", type=int, default=None)
    fit.add_argument("--seed", type=int, default=None)
    fit.add_argument("--limit-clips", type=int, default=None, help="train on the first N clips only")
    fit.add_argument("--no-epa", dest="epa", action="store_const", const=False, default=None,
                     help="ablation: no Expression Prompt Augmentation (L_rec only)")
    fit.add_argument("--no-style-loss", dest="style_loss", action="store_const", const=False, default=None,
                     help="ablation: EPA with L_lm but without L_style")
    fit.add_argument("--audio-encoder", default=None, help="ablation: another audio front end (logmel, whisper, "
                     "wav2vec2) than the config's")
    fit.add_argument("--lambda-aperture", type=float, default=None, help="ablation: the weight of L_ap (0: off)")
    fit.add_argument("--no-feature-augment", dest="feature_augment", action="store_const", const=False, default=None,
                     help="ablation: no level augmentation of the logmel windows")
    fit.add_argument("--room-noise", type=float, default=None, metavar="SHARE",
                     help="ablation: the share of clips heard with a room's noise (0: all in digital silence)")
    fit.add_argument("--keep-last", dest="keep_best", action="store_const", const=False, default=None,
                     help="ablation: keep the last epoch, not the one with the lowest test L_ap")
    fit.add_argument("--quiet", action="store_true", help="no progress bars")
    ev = commands.add_parser("eval", help="lip error, lip motion, style consistency and emotion accuracy on the "
                             "test clips, beside an envelope-driven baseline")
    ev.add_argument("--checkpoint", type=Path, required=True)
    ev.add_argument("--data", type=Path, required=True, help="talking clips directory")
    ev.add_argument("--expclip", type=Path, default=None, help="the ExpCLIP checkpoint (default: the released one)")
    ev.add_argument("--limit", type=int, default=0, help="evaluate the first N test clips only")
    ev.add_argument("--quiet", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "fit":
            from train.generator.fit import fit, load_generator_fit_config

            config = load_generator_fit_config(args.config, data=args.data, out=args.out, epochs=args.epochs,
                                               seed=args.seed, limit_clips=args.limit_clips, epa=args.epa,
                                               style_loss=args.style_loss, lambda_aperture=args.lambda_aperture,
                                               feature_augment=args.feature_augment, room_noise=args.room_noise,
                                               keep_best=args.keep_best)
            if args.audio_encoder is not None:
                config.model = {**config.model, "audio_encoder": args.audio_encoder}
                config.feature_augment = config.feature_augment and args.audio_encoder == "logmel"
            metrics = fit(config, progress=not args.quiet)
            if not metrics:
                print(f"Nothing to train: {config.out} already holds all {config.epochs} epochs.")
            else:
                kept = (f"epoch {metrics['kept_epoch']}, the lowest test L_ap, kept" if "kept_epoch" in metrics
                        else "the last epoch kept")
                print(f"Trained {metrics['epoch']} epochs on {metrics['train_clips']} clips "
                      f"({metrics['train_seconds']:g} s): test L_rec {metrics['test_rec']:.4f}, L_lm "
                      f"{metrics['test_lm']:.4f}, L_ap {metrics['test_ap']:.4f}; {kept} in {config.out} (its metrics "
                      "in metrics.json, every epoch in log.csv).")
        else:
            from train.generator.evaluate import evaluate

            report = evaluate(args.checkpoint, args.data, args.expclip, args.limit, progress=not args.quiet)
            print(json.dumps(report, indent=2))  # the report itself, for other tools; a person's line on stderr
            own, text, baseline = report["own"], report["text"], report["baseline"]
            print(f"Evaluated {args.checkpoint} on {report['clips']} test clips: lip error {own['lip_error']:.4f} "
                  f"(own style), {text['lip_error']:.4f} (text style), {baseline['lip_error']:.4f} (baseline); "
                  f"emotion accuracy {text['emotion_accuracy']:.3f} from text.", file=sys.stderr)
    except (ConfigError, CheckpointError, ClipsError, EncoderUnavailable, TeadFormatError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
