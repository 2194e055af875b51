"""``python -m expclip text|image|fit|index|retrieve|animate|live``: ExpCLIP inference from the command line.

    python -m expclip text "a proud, beaming smile" --json out.json --png face.png
    python -m expclip text "joy" "surprise" --blend 0.7 0.3 --png mix.png
    python -m expclip text "quietly furious" "poker face" --intensity 0.6
    python -m expclip image face.jpg --json out.json --png face.png       # learned projector (or fit)
    python -m expclip fit face.jpg --json out.json --png out.png          # direct blendshape fitting
    python -m expclip index photos/                                       # embed a gallery (incremental)
    python -m expclip retrieve "wide-eyed and gasping" --gallery photos/ -k 8 --json hits.json --png grid.png
    python -m expclip animate speech.wav --prompt "quietly furious" --video out.mp4 --csv out.csv --glb out.glb
    python -m expclip animate speech.wav --timeline "0:calm" "4.5:furious" --video out.mp4
    python -m expclip animate speech.wav --compare "overjoyed" "deeply sad" --video both.mp4
    python -m expclip text "a proud, beaming smile" --png face.png --identity 42   # another face
    python -m expclip live --file speech.wav --prompt "overjoyed"     # ws://127.0.0.1:8765/, 30 fps (docs/live.md)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from expclip import facs
from head import arkit
from head.identity import ACCEPTED, Identity, parse_identity


def _add_identity(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--identity", default=None, metavar="random|SEED|FILE.json",
                        help=f"the face of the {what}: {ACCEPTED} (default: the ICT head's own)")


def _identity(args: argparse.Namespace) -> Identity:
    """The face of ``--identity``, told on stdout when it is not the default head."""
    identity = parse_identity(args.identity)
    if not identity.is_neutral:
        print(identity.describe())
    return identity


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
    _add_identity(text, "--png render")
    for name, help_text in (("image", "face photo → expression (learned projector, else fitting)"),
                            ("fit", "face photo → expression by fitting the rig to its landmarks")):
        image = commands.add_parser(name, help=help_text)
        image.add_argument("image", type=Path, help="a photo (JPEG, PNG, WebP, GIF, BMP, TIFF)")
        if name == "image":
            image.add_argument("--method", choices=("auto", "projector", "fit"), default="auto")
        image.add_argument("--intensity", type=float, default=1.0, help="scale of the change from neutral, 0–2")
        image.add_argument("--json", type=Path, default=None, help="write the result here")
        image.add_argument("--png", type=Path, default=None, help="the photo with its face box beside the head")
        image.add_argument("--size", type=int, default=512, help="height of the PNG in pixels")
        image.add_argument("--checkpoint", type=Path, default=None, help="checkpoint directory")
        _add_identity(image, "head in the --png")
    index = commands.add_parser("index", help="embed a folder of photos for retrieval (only new or changed files)")
    index.add_argument("gallery", type=Path, help="folder of photos")
    index.add_argument("--checkpoint", type=Path, default=None, help="checkpoint directory (needs P_img)")
    retrieve = commands.add_parser("retrieve", help="text → the photos of a gallery that show it")
    retrieve.add_argument("query", help="what the face should show, e.g. 'wide-eyed and gasping'")
    retrieve.add_argument("--gallery", type=Path, default=None,
                          help="folder of photos (default: the synthetic MEAD-3D test renders)")
    retrieve.add_argument("-k", type=int, default=8, help="how many photos to return")
    retrieve.add_argument("--json", type=Path, default=None)
    retrieve.add_argument("--png", type=Path, default=None, help="contact sheet of the hits")
    retrieve.add_argument("--checkpoint", type=Path, default=None, help="checkpoint directory (needs P_img)")
    animate = commands.add_parser("animate", help="speech → lip-synced emotional animation (video, CSV, JSON, GLB)")
    animate.add_argument("audio", type=Path, help="a recording in any format ffmpeg reads (WAV, MP3, M4A, OGG, FLAC, …)")
    style = animate.add_mutually_exclusive_group()
    style.add_argument("--prompt", default=None, help="how the face should feel, e.g. 'quietly furious' (empty: neutral)")
    style.add_argument("--image", type=Path, default=None, help="a face photo whose expression sets the style")
    style.add_argument("--timeline", nargs="+", default=None, metavar="SECONDS:PROMPT",
                       help="prompts from given seconds on, e.g. '0:calm' '4.5:furious'")
    style.add_argument("--compare", nargs="+", default=None, metavar="PROMPT",
                       help="the same speech under several prompts, side by side in one video")
    animate.add_argument("--intensity", type=float, default=1.0, help="strength of the style, 0–2")
    animate.add_argument("--video", type=Path, default=None, help="mp4 with the sound")
    animate.add_argument("--csv", type=Path, default=None, help="Live Link Face CSV for Unreal")
    animate.add_argument("--json", type=Path, default=None, help="the frames in the project's blendshapes form")
    animate.add_argument("--glb", type=Path, default=None, help="glTF binary head with 52 morph targets, animated")
    animate.add_argument("--size", type=int, default=384, help="video frame size in pixels")
    animate.add_argument("--no-blinks", action="store_true", help="do not add natural blinks")
    animate.add_argument("--transcript", default=None, metavar="TEXT|FILE",
                         help="the words said (or a .txt file of them), for phone-aligned lips (default: a sidecar "
                         "<stem>.txt, else Whisper transcribes)")
    animate.add_argument("--audio-only", action="store_true", help="lips from the audio alone (no phone alignment)")
    animate.add_argument("--seed", type=int, default=0, help="seed of the blink timing")
    animate.add_argument("--max-seconds", type=float, default=None, help="refuse longer recordings (default 15 min)")
    animate.add_argument("--checkpoint", type=Path, default=None, help="generator checkpoint (default: the released one)")
    animate.add_argument("--expclip-checkpoint", type=Path, default=None, help="its ExpCLIP checkpoint")
    _add_identity(animate, "--video and --glb head")
    live = commands.add_parser("live", help="speech → a live WebSocket stream of 52 weights at 30 fps (docs/live.md)")
    live.add_argument("--file", type=Path, default=None, help="a recording played in real time (default: the microphone)")
    live.add_argument("--loop", action="store_true", help="play --file again and again (default: then silence)")
    live.add_argument("--device", default=None, help="the microphone (a sounddevice name or number)")
    live.add_argument("--prompt", default="", help="how the face should feel (clients can change it)")
    live.add_argument("--host", default="127.0.0.1")
    live.add_argument("--port", type=int, default=8765)
    live.add_argument("--lookahead", type=int, default=3, help="frames of sound the face waits for (3 = 0.1 s)")
    live.add_argument("--checkpoint", type=Path, default=None, help="generator checkpoint (default: the released one)")
    live.add_argument("--expclip-checkpoint", type=Path, default=None, help="its ExpCLIP checkpoint")
    _add_identity(live, "viewer's head")
    return parser


def _result(prompt: str, weights: np.ndarray, aus: dict[str, float], truncated: bool) -> dict:
    result = {"prompt": prompt, "blendshapes": arkit.to_dict(weights), "aus": aus}
    if truncated:
        result["truncated"] = True
    return result


def _text(args: argparse.Namespace) -> None:
    from expclip.pipeline import load

    identity = _identity(args)  # a bad --identity fails before the model loads
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
    if args.blend is None:  # how each prompt was read, where that is not the prompt as typed
        for result, reading in zip(results, pipe.read(args.prompts)):
            if reading.text != reading.prompt or reading.band != "plain":
                result["reading"] = {"text": reading.text, "strength": reading.band, "mirrored": reading.mirrored}
    for i in sorted(cut):
        print(f"note: prompt {i + 1} was longer than the text encoder's {pipe.encoder.max_tokens}-token limit; "
              "its end was cut.", file=sys.stderr)
    if args.blend is None:
        from expclip.face_cues import no_cue_note

        for i, (result, w) in enumerate(zip(results, weights)):
            if note := no_cue_note(result["prompt"], w):
                result["note"] = note
                print(f"note: prompt {i + 1}: {note}", file=sys.stderr)
    payload = results[0] if len(results) == 1 else results
    if args.json:
        from render.exports import write_json

        write_json(args.json, payload)
    for result, w in zip(results, weights):
        shapes = ", ".join(f"{name} {value:.2f}" for name, value in arkit.strongest(w)) or "neutral"
        aus = ", ".join(f"AU{k} {v:.2f}" for k, v in list(result["aus"].items())[:5]) or "none"
        read = result.get("reading")
        how = (f" (read as {read['text']!r}{', mirrored' if read['mirrored'] else ''}, strength {read['strength']})"
               if read else "")
        print(f"{result['prompt']}{how}: {shapes} | AUs: {aus}")
    if args.png:
        _render(args, weights, labels, identity)
        print(f"Image: {args.png}")
    if args.json:
        print(f"JSON: {args.json}")


def _render(args: argparse.Namespace, weights: np.ndarray, labels: list[str], identity: Identity) -> None:
    from PIL import Image

    from render.renderer import render_still
    from render.video import grid_frame

    images = [render_still(w, view=args.view, size=args.size, identity=identity) for w in weights]
    image = images[0] if len(images) == 1 else grid_frame(images, labels)
    args.png.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(args.png)


def _write_json(path: Path | None, payload) -> None:
    from render.exports import write_json

    if path:
        write_json(path, payload)
        print(f"JSON: {path}")


def _save_png(path: Path, image: np.ndarray) -> None:
    from render.exports import write_png

    write_png(path, image)
    print(f"Image: {path}")


def _image(args: argparse.Namespace) -> None:
    from expclip.image_pipeline import load_image_pipeline

    identity = _identity(args)  # a bad --identity fails before the models load
    method = getattr(args, "method", "fit")
    pipe = load_image_pipeline(args.checkpoint)  # the one image path of the app, the CLI and speech styles
    result = pipe.analyse(args.image, method=method, intensity=args.intensity)
    x0, y0, x1, y1 = result.face.box
    shapes = ", ".join(f"{name} {value:.2f}" for name, value in arkit.strongest(result.weights)) or "neutral"
    print(f"{args.image}: {shapes} | path: {result.method} | face box ({x0:.0f}, {y0:.0f})–({x1:.0f}, {y1:.0f})")
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    payload = {"image": str(args.image), **result.to_json(), "aus": facs.explain(result.weights)}
    _write_json(args.json, payload)
    if args.png:
        _save_png(args.png, _side_by_side(args.image, result, args.size, identity))


def _side_by_side(path: Path, result, size: int, identity: Identity) -> np.ndarray:
    """The photo with its face box and landmarks, beside the head (``identity``'s face) making the expression
    (both ``size`` high)."""
    from PIL import Image

    from expclip.images import draw_face, load_image
    from render.renderer import render_still

    photo = Image.fromarray(draw_face(load_image(path), result.face.box, result.face.points))
    photo = photo.resize((max(1, round(photo.width * size / photo.height)), size))
    head = render_still(result.weights, size=size, identity=identity)
    return np.concatenate([np.asarray(photo), head], axis=1)


def _default_gallery() -> Path:
    gallery = Path("data/mead3d-synthetic/images/test")
    if not gallery.is_dir():
        raise ValueError("No --gallery given and the default gallery data/mead3d-synthetic/images/test is missing; "
                         "build it with `python -m train.mead3d synthetic` or pass --gallery FOLDER.")
    return gallery


def _index(args: argparse.Namespace) -> None:
    from expclip.gallery import index_gallery
    from expclip.image_pipeline import load_image_pipeline

    report = index_gallery(args.gallery, load_image_pipeline(args.checkpoint))
    for note in report.notes:
        print(f"note: {note}", file=sys.stderr)
    for path, reason in report.skipped:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    print(report.summary())


def _retrieve(args: argparse.Namespace) -> None:
    from expclip.gallery import contact_sheet, retrieve
    from expclip.image_pipeline import load_image_pipeline
    from expclip.pipeline import load

    gallery = args.gallery or _default_gallery()
    reader = load_image_pipeline(args.checkpoint, neutral_face="real" if args.gallery else "rig")  # default: renders
    hits = retrieve(args.query, gallery, load(args.checkpoint), reader, k=args.k)
    for rank, hit in enumerate(hits, start=1):
        print(f"{rank}. {hit.score:.3f} {hit.path}")
    _write_json(args.json, {"query": args.query, "gallery": str(gallery),
                            "hits": [{"path": h.path, "score": round(h.score, 4)} for h in hits]})
    if args.png:
        _save_png(args.png, contact_sheet(hits))


def _animate(args: argparse.Namespace) -> None:
    from expclip.animation import load_animator

    from expclip.audio import MAX_SECONDS, load_speech

    if not (args.video or args.csv or args.json or args.glb):
        raise ValueError("Say what to write: --video, --csv, --json and/or --glb.")
    if args.compare and (args.csv or args.json or args.glb):
        raise ValueError("--compare makes a side-by-side video only; use --prompt for CSV, JSON or GLB.")
    from expclip.timeline import parse_timeline

    timeline = parse_timeline(args.timeline) if args.timeline else None
    identity = _identity(args)
    speech = load_speech(args.audio, max_seconds=args.max_seconds or MAX_SECONDS)  # bad audio fails before loading models
    animator = load_animator(args.checkpoint, args.expclip_checkpoint)
    transcript = Path(args.transcript) if args.transcript and args.transcript.endswith(".txt") else args.transcript
    if transcript is None:  # the speech goes on as samples, so its sidecar <stem>.txt is looked for here
        from expclip.alignment import sidecar_transcript

        transcript = sidecar_transcript(args.audio)
    options = {"intensity": args.intensity, "blinks": not args.no_blinks, "seed": args.seed,
               "transcript": transcript, "phones": not args.audio_only}
    if args.compare:
        clips = [animator.animate(speech, prompt, **options) for prompt in args.compare]
        captions = list(args.compare)
    else:
        clips = [animator.animate(speech, args.prompt if args.image is None and timeline is None else None,
                                  image=args.image, timeline=timeline, **options)]
        captions = None
    clip = clips[0]
    for note in dict.fromkeys(n for c in clips for n in c.notes):
        print(f"note: {note}", file=sys.stderr)
    print(f"{args.audio}: {len(clip.frames)} frames at {clip.fps:g} fps ({clip.seconds:.1f} s)")
    from render.exports import write_animation

    write_animation(clip.frames, clip.fps, {"audio": str(args.audio), **clip.to_json()}, csv_path=args.csv,
                    json_path=args.json, glb_path=args.glb, identity=identity)
    for label, path in (("CSV", args.csv), ("JSON", args.json), ("GLB", args.glb)):
        if path:
            print(f"{label}: {path}")
    if args.video:
        from render.video import render_video

        render_video([c.frames for c in clips], args.video, fps=clip.fps, audio=args.audio, captions=captions,
                     size=args.size, identity=identity)
        print(f"Video: {args.video}")


def _live(args: argparse.Namespace) -> None:
    from expclip.animation import load_animator
    from expclip.live import create_app, file_source, microphone_source, serve
    from render.gltf import glb_bytes

    identity = _identity(args)
    source = file_source(args.file, loop=args.loop) if args.file else microphone_source(args.device)
    animator = load_animator(args.checkpoint, args.expclip_checkpoint)
    from head.simplify import simplified_rig

    rest = np.zeros(arkit.NUM_BLENDSHAPES, np.float32)
    glb = glb_bytes(rest, identity=identity)
    app = create_app(animator, source, prompt=args.prompt, glb=glb, lookahead=args.lookahead,
                     glb_light=lambda: glb_bytes(rest, rig=simplified_rig(), identity=identity))  # WebGL on the CPU
    where = f"{args.host}:{args.port}"
    print(f"Frames: ws://{where}/ ({'the file' if args.file else 'the microphone'}); your own audio: "
          f"ws://{where}/audio; the 3D viewer: http://{where}/ (Ctrl-C stops)")
    serve(app, args.host, args.port)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from expclip.checkpoint import CheckpointError
    from expclip.encoders import EncoderUnavailable
    from head.assets import AssetError
    from render.renderer import RenderError
    from render.video import MediaError

    commands = {"text": _text, "image": _image, "fit": _image, "index": _index, "retrieve": _retrieve,
                "animate": _animate, "live": _live}
    try:
        if args.command in ("image", "fit", "index", "retrieve") or getattr(args, "image", None) is not None:
            from render.correspondence_build import ensure_correspondence

            ensure_correspondence()  # photos need the rig's landmark correspondence: built once (~15 s) if missing
        commands[args.command](args)
    except (CheckpointError, EncoderUnavailable, RenderError, AssetError, MediaError, arkit.BlendshapeError,
            ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
