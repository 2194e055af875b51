"""``python -m expclip text``: prompts → blendshape weights (JSON), likely AUs, and a rendered face.

    python -m expclip text "a proud, beaming smile" --json out.json --png face.png
    python -m expclip text "joy" "surprise" --blend 0.7 0.3 --png mix.png
    python -m expclip text "quietly furious" "poker face" --intensity 0.6
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from expclip import arkit


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m expclip", description="ExpCLIP inference.")
    commands = parser.add_subparsers(dest="command", required=True)
    text = commands.add_parser("text", help="prompts → expressions")
    text.add_argument("prompts", nargs="+", help="one or more prompts")
    text.add_argument("--blend", type=float, nargs="+", default=None,
                      help="one weight per prompt: mix the prompts into one face")
    text.add_argument("--intensity", type=float, default=1.0, help="scale of the change from neutral, 0–2")
    text.add_argument("--json", type=Path, default=None, help="write the result here")
    text.add_argument("--png", type=Path, default=None, help="render the face(s) here")
    text.add_argument("--view", choices=("front", "three-quarter"), default="front")
    text.add_argument("--size", type=int, default=512, help="image size in pixels")
    text.add_argument("--checkpoint", type=Path, default=None, help="checkpoint directory (default: the released one)")
    text.add_argument("--text-encoder-weights", default=None, help="weights for a CLIP text encoder")
    return parser


def _result(prompt: str, weights: np.ndarray, aus: dict[str, float], truncated: bool) -> dict:
    result = {"prompt": prompt, "blendshapes": arkit.to_dict(weights), "aus": aus}
    if truncated:
        result["truncated"] = True
    return result


def _text(args: argparse.Namespace) -> None:
    from expclip.pipeline import load

    pipe = load(args.checkpoint, text_encoder_weights=args.text_encoder_weights)
    if args.blend is not None:
        if len(args.blend) != len(args.prompts):
            raise ValueError(f"--blend needs one weight per prompt: {len(args.prompts)} prompts, {len(args.blend)} weights.")
        weights = pipe.blend(list(zip(args.prompts, args.blend)), intensity=args.intensity)[None]
        labels = [" + ".join(f"{w:g} {p}" for p, w in zip(args.prompts, args.blend))]
    else:
        weights = pipe.weights(args.prompts, intensity=args.intensity)
        labels = list(args.prompts)
    cut = set(pipe.truncated)
    results = [_result(label, w, pipe.explain(w), i in cut) for i, (label, w) in enumerate(zip(labels, weights))]
    for i in sorted(cut):
        print(f"note: prompt {i + 1} was longer than the text encoder's {pipe.encoder.max_tokens}-token limit; "
              "its end was cut.", file=sys.stderr)
    payload = results[0] if len(results) == 1 else results
    text = json.dumps(payload, indent=2)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    for result, w in zip(results, weights):
        shapes = ", ".join(f"{name} {value:.2f}" for name, value in arkit.strongest(w)) or "neutral"
        aus = ", ".join(f"AU{k} {v:.2f}" for k, v in list(result["aus"].items())[:5]) or "none"
        print(f"{result['prompt']}: {shapes} | AUs: {aus}")
    if args.png:
        _render(args, weights, labels)
        print(f"Image: {args.png}")
    if args.json:
        print(f"JSON: {args.json}")


def _render(args: argparse.Namespace, weights: np.ndarray, labels: list[str]) -> None:
    from PIL import Image

    from render.renderer import render_still
    from render.video import grid_frame

    images = [render_still(w, view=args.view, size=args.size) for w in weights]
    image = images[0] if len(images) == 1 else grid_frame(images, labels)
    args.png.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(args.png)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from expclip.checkpoint import CheckpointError
    from expclip.encoders import EncoderUnavailable
    from render.renderer import RenderError

    try:
        _text(args)
    except (CheckpointError, EncoderUnavailable, RenderError, arkit.BlendshapeError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
