"""Command line: ``python -m render rig|still|video|glb``.

Examples::

    python -m render rig --mirror ../shared/assets
    python -m render still --weights '{"jawOpen": 0.7}' --out face.png --view three-quarter
    python -m render still --weights '{"mouthSmileLeft": 0.8}' --identity 42 --out face42.png
    python -m render video --csv anim.csv --audio speech.wav --out anim.mp4
    python -m render video --csv calm.csv --csv angry.csv --caption calm --caption angry --out both.mp4
    python -m render glb anim.csv --out head.glb --fps 30
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PIL import Image

from head.arkit import BlendshapeError, parse_weights, read_csv, read_frames
from head.assets import AssetError
from head.identity import ACCEPTED, IdentityError, parse_identity
from render.gltf import ExportError
from render.renderer import VIEWS, RenderError
from render.video import MediaError


def _background(text: str) -> tuple[float, float, float] | None:
    """``transparent`` or a hex colour such as ``#ffffff``."""
    if text == "transparent":
        return None
    value = text.lstrip("#")
    if len(value) != 6 or any(c not in "0123456789abcdefABCDEF" for c in value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a colour; use a hex colour like #ffffff or 'transparent'.")
    return tuple(int(value[i:i + 2], 16) / 255.0 for i in (0, 2, 4))


def _identity(args: argparse.Namespace):
    """The face of ``--identity``, told on stdout when it is not the default head."""
    identity = parse_identity(args.identity)
    if not identity.is_neutral:
        print(identity.describe())
    return identity


def _add_identity(p: argparse.ArgumentParser) -> None:
    p.add_argument("--identity", default=None, metavar="random|SEED|FILE.json",
                   help=f"the face: {ACCEPTED} (default: the ICT head's own)")


def _cmd_rig(args: argparse.Namespace) -> None:
    from head.rig import ensure_rig, load_rig
    from render.correspondence_build import ensure_correspondence

    path = ensure_rig(args.mirror, rebuild=args.rebuild)
    rig = load_rig(path)
    print(f"Head rig ready at {path}: {rig.num_vertices} vertices, {len(rig.deltas)} ARKit shapes, "
          f"{len(rig.identity_modes)} identity modes.")
    found = ensure_correspondence(path, rebuild=args.rebuild)
    print(f"MediaPipe landmark correspondence ready at {found}.")


def _cmd_still(args: argparse.Namespace) -> None:
    from render.renderer import HeadRenderer

    weights = parse_weights(args.weights)
    identity = _identity(args)
    with HeadRenderer(size=args.size, samples=args.samples, background=args.background) as renderer:
        image = renderer.render(weights, args.view, identity)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(out)
    print(f"Wrote {out}")


def _cmd_video(args: argparse.Namespace) -> None:
    from render.video import render_video

    sequences = [read_csv(path) for path in args.csv]
    captions = args.caption or ([Path(p).stem for p in args.csv] if len(args.csv) > 1 else None)
    out = render_video(sequences, args.out, fps=args.fps, audio=args.audio, captions=captions,
                       view=args.view, size=args.size, samples=args.samples, identity=_identity(args))
    print(f"Wrote {out}")


def _cmd_glb(args: argparse.Namespace) -> None:
    from render.gltf import write_glb

    out = Path(args.out)
    if out.suffix.lower() != ".glb":
        raise ExportError(f"The output {out} should be a .glb file (a glTF binary).")
    frames, fps = read_frames(args.weights)
    fps = args.fps if args.fps is not None else fps or 30.0
    try:
        write_glb(out, frames, fps=fps, identity=_identity(args))
    except OSError as err:
        raise ExportError(f"Could not write {out} ({err.strerror or err}).") from None
    what = f"{len(frames)} frames at {fps:g} fps" if len(frames) > 1 else "one expression"
    print(f"Wrote {out}: the head with 52 morph targets, {what}, {out.stat().st_size / 1e6:.1f} MB")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m render", description="Render the ARKit head rig.")
    sub = parser.add_subparsers(dest="command", required=True)

    rig = sub.add_parser("rig", help="build the cached head rig from ICT-FaceKit and its MediaPipe landmark "
                                     "correspondence")
    rig.add_argument("--mirror", help="folder holding ICT-FaceKit (default: $EXPCLIP_ASSET_MIRROR, else download)")
    rig.add_argument("--rebuild", action="store_true", help="rebuild even if the cached rig and correspondence exist")
    rig.set_defaults(func=_cmd_rig)

    def common(p: argparse.ArgumentParser, samples: int) -> None:
        p.add_argument("--view", choices=VIEWS, default="front")
        p.add_argument("--size", type=int, default=512, help="image side in pixels (default 512)")
        p.add_argument("--samples", type=int, choices=(0, 2, 4, 8), default=samples,
                       help=f"anti-aliasing samples (default {samples})")
        p.add_argument("--out", required=True, help="output file")

    still = sub.add_parser("still", help="one image from blendshape weights")
    still.add_argument("--weights", required=True,
                       help='JSON text such as \'{"jawOpen": 0.7}\' or a JSON file; values are clipped to [0, 1]')
    still.add_argument("--background", type=_background, default=(1.0, 1.0, 1.0),
                       help="hex colour (default #ffffff) or 'transparent' for an RGBA PNG")
    common(still, samples=4)
    _add_identity(still)
    still.set_defaults(func=_cmd_still)

    video = sub.add_parser("video", help="an mp4 from per-frame weights in CSV")
    video.add_argument("--csv", action="append", required=True,
                       help="CSV with ARKit names as columns (or Live Link Face); repeat for a side-by-side grid")
    video.add_argument("--caption", action="append", help="caption per --csv, in order (default: file names)")
    video.add_argument("--audio", help="audio file to mux in; the video then lasts as long as the audio")
    video.add_argument("--fps", type=float, default=30.0, help="frames per second of the CSV and video (default 30)")
    common(video, samples=0)
    _add_identity(video)
    video.set_defaults(func=_cmd_video)

    glb = sub.add_parser("glb", help="a glTF binary of the head with 52 ARKit morph targets, animated")
    glb.add_argument("weights", help="CSV (ARKit names as columns, or Live Link Face), the project's JSON "
                                     "(one expression or an animation's frames) or JSON text")
    glb.add_argument("--out", required=True, help="output .glb file")
    glb.add_argument("--fps", type=float, default=None,
                     help="frames per second of the input (default: the JSON's fps, else 30)")
    _add_identity(glb)
    glb.set_defaults(func=_cmd_glb)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except (BlendshapeError, AssetError, RenderError, MediaError, ExportError, IdentityError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
