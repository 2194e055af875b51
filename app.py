"""ExpCLIP demo (Gradio): text, photos and speech → 52 ARKit blendshapes on the ICT-FaceKit head.

Six tabs, each a thin layer over the library (``expclip``) and the renderer (``render``):
Text → Expression, Image → Expression, Text → Image retrieval, Speech → Animation, Live (the
visitor's microphone drives the head) and the Expression manifold, plus a Model panel. The text,
image and speech tabs also show their result on an interactive 3D head (WebGL, ``app_viewer``). A
face number above the tabs (0: the default head) with a "Random face" button picks the head that
the text, image, speech, live and manifold tabs show. Every action is a named API endpoint
(``/text_to_expression``, ``/image_to_expression``, ``/retrieve``, ``/interpolate``, ``/animate``)
that ``gradio_client`` can call.

    python app.py                                   # http://127.0.0.1:7860
    python app.py --host 0.0.0.0 --port 8080 --share --checkpoint checkpoints/expclip-small \
        --generator checkpoints/generator-small --gallery ~/Photos --max-audio-seconds 120
"""

from __future__ import annotations

import argparse
import atexit
import functools
import inspect
import logging
import os
import re
import shutil
import signal
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

import gradio as gr
import numpy as np
import pandas as pd

import app_viewer
from demo_data import DemoData, Unavailable
from expclip.face_cues import no_cue_note
from head import arkit
from head.arkit import GROUPS
from head.identity import Identity, parse_identity, random_seed

log = logging.getLogger("expclip.app")

REPO = Path(__file__).resolve().parent
SYNTHETIC_GALLERY = "MEAD-3D synthetic (test split)"
DEFAULT_MAX_AUDIO_SECONDS = 120.0
DEFAULT_MAX_FILE_SIZE = "25mb"
INTERPOLATION_FRAMES = 45
REGION = {name: group for group, names in GROUPS.items() for name in names}
TEXT_EXAMPLES = [["a proud, beaming smile", 1.0, "", 0.5],
                 ["quietly furious", 1.0, "", 0.5],
                 ["wide-eyed and gasping", 1.2, "", 0.5],
                 ["joy", 1.0, "surprise", 0.3]]


@contextmanager
def _refusals(name: str) -> Iterator[None]:
    """The library's one-sentence errors become ``gr.Error``; the tracebacks of the rest are hidden from users."""
    try:
        yield
    except gr.Error:
        raise
    except (ValueError, Unavailable, RuntimeError, OSError) as error:
        log.info("%s refused: %s", name, error)
        raise gr.Error(str(error) or type(error).__name__, print_exception=False) from None
    except Exception as error:  # pragma: no cover - a bug, but the app must stay up
        log.exception("%s failed", name)
        raise gr.Error(f"Something went wrong ({type(error).__name__}); the server logged the details.") from None


def _friendly(fn: Callable) -> Callable:
    """``fn`` (a function or a generator function) with its errors passed through :func:`_refusals`."""
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def streaming(*args, **kwargs):
            with _refusals(fn.__name__):
                yield from fn(*args, **kwargs)

        return streaming

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with _refusals(fn.__name__):
            return fn(*args, **kwargs)

    return wrapper


class DemoApp:
    """The models (loaded once), a single render thread, a video thread and a per-app temp folder."""

    def __init__(self, checkpoint: str | Path | None = None, generator: str | Path | None = None,
                 galleries: list[str | Path] | None = None, max_audio_seconds: float = DEFAULT_MAX_AUDIO_SECONDS,
                 work_dir: str | Path | None = None, file_age_s: float = 3600.0,
                 index_dir: str | Path | None = None, data: DemoData | None = None) -> None:
        import expclip
        from expclip.image_pipeline import load_image_pipeline
        from expclip.paths import GENERATOR_SMALL, default_checkpoint
        from expclip.real_face import fetch_canonical_face
        from head.assets import AssetError
        from render.correspondence_build import ensure_correspondence
        from render.workers import RenderWorkers

        started = time.perf_counter()
        # The rig and its MediaPipe correspondence: `make demo` builds both; a Space at its first start (~25 s)
        ensure_correspondence()
        try:  # the neutral that photos are read against; without it they are read against the ICT head's, noted
            fetch_canonical_face()
        except AssetError:
            pass
        self.checkpoint = Path(checkpoint) if checkpoint else default_checkpoint()
        self.text = expclip.load(self.checkpoint)
        self.image = load_image_pipeline(self.checkpoint)
        self.animator, self.animator_problem, self.generator_dir = None, None, None
        try:
            from expclip.animation import load_animator

            self.generator_dir = Path(generator) if generator else default_checkpoint(GENERATOR_SMALL)
            self.animator = load_animator(self.generator_dir, self.checkpoint)
        except (ValueError, RuntimeError, OSError) as error:  # CheckpointError is a ValueError; none found: OSError
            self.animator_problem = (f"Speech animation is not available: {error} Train the generator with "
                                     "`python -m train.generator fit --config train/configs/generator_small.yaml` "
                                     "or start the app with --generator DIR.")
        self.max_audio_seconds = float(max_audio_seconds)
        self.data = data or DemoData()
        self.galleries: dict[str, Path | None] = {SYNTHETIC_GALLERY: None}  # None: self.data's, maybe not built yet
        for folder in galleries or []:
            folder = Path(folder).expanduser().resolve()
            if not folder.is_dir():
                raise SystemExit(f"Gallery folder {folder} does not exist.")
            self.galleries[folder.name or str(folder)] = folder
        self.work = Path(work_dir) if work_dir else Path(tempfile.mkdtemp(prefix="expclip-app-"))
        self.work.mkdir(parents=True, exist_ok=True)
        self.file_age_s = file_age_s
        self.index_dir = Path(index_dir) if index_dir else None  # None: the library's cache (kept between runs)
        atexit.register(shutil.rmtree, self.work, ignore_errors=True)
        self.render = RenderWorkers()
        self.examples = self._make_examples()
        self.load_seconds = time.perf_counter() - started

    # helpers -----------------------------------------------------------------------------------------
    def request_dir(self) -> Path:
        """A fresh folder for one request's files; folders older than ``file_age_s`` are removed."""
        now = time.time()
        for old in self.work.glob("req-*"):
            try:
                if now - old.stat().st_mtime > self.file_age_s:
                    shutil.rmtree(old, ignore_errors=True)
            except OSError:
                pass
        folder = self.work / f"req-{uuid.uuid4().hex[:12]}"
        folder.mkdir()
        return folder

    def close(self) -> None:
        self.render.close()
        shutil.rmtree(self.work, ignore_errors=True)

    def _make_examples(self) -> dict[str, Path | None]:
        """A rendered smiling face (image examples) and a short spoken sentence (speech examples)."""
        from render.exports import write_png

        folder = self.work / "examples"
        folder.mkdir(exist_ok=True)
        face = folder / "smile.png"
        if not face.exists():
            weights = arkit.from_dict({"mouthSmileLeft": 0.9, "mouthSmileRight": 0.9, "cheekSquintLeft": 0.5,
                                       "cheekSquintRight": 0.5, "eyeSquintLeft": 0.3, "eyeSquintRight": 0.3})
            write_png(face, self.render.still(weights))
        speech = self.data.speech_example(folder)
        return {"face": face, "speech": speech}

    @staticmethod
    def input_path(payload, what: str) -> str | None:
        """A file input as gradio passes it unprocessed (a path or a FileData dict) → its path, or None."""
        if payload is None or payload == "":
            return None
        if isinstance(payload, dict):
            payload = payload.get("path") or payload.get("url")
        if not isinstance(payload, str) or not payload:
            raise ValueError(f"The {what} did not arrive; upload it again.")
        return payload

    # text → expression -------------------------------------------------------------------------------
    def expression_outputs(self, weights: np.ndarray, name: str, extra: dict | None = None,
                           three_quarter: bool = True, identity: Identity | None = None) -> Iterator[tuple]:
        """The outputs of one expression: renders (on ``identity``'s face), bar-chart table, AU text and the
        PNG/JSON/CSV downloads.

        With ``three_quarter`` they come twice: first as soon as the front render, the chart and the AUs
        are ready (the page shows them at once), then with the three-quarter render and the downloads.
        """
        from render.exports import write_expression, write_png

        folder = self.request_dir()
        stem = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-")[:40] or "expression"
        # a path, so that gradio need not encode the image again
        png = write_png(folder / f"{stem}.png", self.render.still(weights, "front", identity=identity), fast=True)
        aus = self.text.explain(weights)
        data = {"blendshapes": arkit.to_dict(weights), "aus": aus, **(extra or {})}
        if identity is not None and not identity.is_neutral:
            data["identity"] = identity.to_json()
        bars, au_text = bar_table(weights), describe_aus(aus)
        side = None
        if three_quarter:
            yield str(png), None, bars, au_text, data, None
            side = str(write_png(folder / f"{stem}-three-quarter.png",
                                 self.render.still(weights, "three-quarter", identity=identity), fast=True))
        files = write_expression(weights, data, json_path=folder / f"{stem}.json", csv_path=folder / f"{stem}.csv")
        yield str(png), side, bars, au_text, data, [str(png), *map(str, files)]

    @_friendly
    def text_to_expression(self, prompt: str, intensity: float = 1.0, second_prompt: str = "", blend: float = 0.5,
                           face: float | None = 0):
        identity = parse_identity(face)
        weights = self.text.mix(prompt, second_prompt, float(blend), float(intensity))
        extra = {"prompt": prompt, "intensity": float(intensity)}
        if (second_prompt or "").strip():
            extra.update(second_prompt=second_prompt, blend=float(blend))
        note = no_cue_note(f"{prompt} {second_prompt or ''}", weights)
        if note:
            extra["note"] = note
        for front, side, bars, aus, data, files in self.expression_outputs(weights, prompt, extra, identity=identity):
            yield front, side, bars, f"{note}\n\n{aus}" if note else aus, data, files

    # image → expression ------------------------------------------------------------------------------
    @_friendly
    def image_to_expression(self, photo, intensity: float = 1.0, method: str = "auto", face: float | None = 0):
        identity = parse_identity(face)
        path = self.input_path(photo, "photo")
        if path is None:
            raise ValueError("Upload a face photo or take one with the webcam first.")
        name = Path(photo.get("orig_name") or path).name if isinstance(photo, dict) else Path(path).name
        result = self.image.analyse(path, method=method or "auto", intensity=float(intensity), name=name)
        from expclip.images import draw_face, load_image

        annotated = draw_face(load_image(path, name), result.face.box, result.face.points)
        front, _, bars, aus, data, files = next(self.expression_outputs(
            result.weights, Path(name).stem, {**result.to_json(), "source": name}, three_quarter=False,
            identity=identity))
        notes = [f"Method: **{result.method}**" + (f" (fit error {result.fit_rms:.3f})" if result.fit_rms else "")]
        notes += result.notes
        return annotated, front, bars, aus + "\n\n" + "  \n".join(notes), data, files

    @_friendly
    def live_photo(self, photo) -> dict:
        """A face photo as the Live tab's style: its expression JSON ``{"blendshapes": {name: weight}}``, read
        as the Image tab reads it."""
        path = self.input_path(photo, "photo")
        if path is None:
            raise ValueError("Upload a face photo or take one with the webcam first.")
        result = self.image.analyse(path, method="auto", name=Path(path).name)
        return {"blendshapes": arkit.to_dict(result.weights), "notes": result.notes}

    # retrieval ---------------------------------------------------------------------------------------
    def retrieval_problem(self) -> str | None:
        if not self.image.has_projector:
            return (f"Text → image retrieval needs an image projector (P_img), and the checkpoint {self.checkpoint.name} "
                    "has none yet; train one with `python -m train.expclip fit-image` and start the app with "
                    "--checkpoint pointing at it.")
        return None

    @_friendly
    def retrieve(self, query: str, k: float = 8, gallery: str | None = None, progress=gr.Progress()):  # noqa: B008 (gradio injects it)
        from expclip.gallery import index_gallery, search

        problem = self.retrieval_problem()
        if problem:
            raise Unavailable(problem)
        if not (query or "").strip():
            raise ValueError("Type the expression to look for, e.g. 'wide-eyed and gasping'.")
        if not gallery:
            gallery = next(iter(self.galleries))
        if gallery not in self.galleries:
            raise ValueError(f"Unknown gallery {gallery!r}; choose one of: {', '.join(self.galleries)}.")
        folder = self.galleries[gallery]
        if folder is None:
            if not self.data.gallery_ready():
                progress(0.05, desc="Rendering the demo gallery (once, at the first start: under a minute)")
            folder = self.data.gallery()
        progress(0.1, desc="Indexing the gallery (only new photos are embedded)")
        cache = self.index_dir / re.sub(r"[^A-Za-z0-9]+", "-", gallery) if self.index_dir else None
        reader = self.image if self.galleries[gallery] else self.image.for_renders()  # the built-in one is renders
        report = index_gallery(folder, reader, progress=False, cache=cache)
        progress(0.9, desc="Searching")
        hits = search(report, self.text.embed([query])[0], int(k))
        # Gradio serves only files of its own folders: a gallery in the user cache (the built-in one on a
        # fresh machine or a Space) or in ~/Photos would be refused, so the hits are shown from copies.
        shown = self.request_dir()
        items = [(str(shutil.copy(hit.path, shown / f"{rank:02d}-{Path(hit.path).name}")),
                  f"#{rank}  {hit.score:.3f}  {Path(hit.path).name}") for rank, hit in enumerate(hits, 1)]
        return items, report.summary()

    # manifold ----------------------------------------------------------------------------------------
    def prepare_data(self) -> None:
        """Start building the expression map and the demo gallery in the background (once).

        ``main()`` calls it once the server is up, so that a first start's data builds do not slow the
        start-up; the map calls it itself in apps launched otherwise.
        """
        self.data.start(self.text.model, with_gallery=self.image.has_projector)

    def manifold(self, timeout: float | None = None):
        """The :class:`expclip.manifold.ExpressionMap` (waiting for it up to ``timeout`` s), else ``Unavailable``."""
        self.prepare_data()
        return self.data.expression_map(timeout)

    @_friendly
    def pick(self, prompt_a: str, prompt_b: str, picks: list, event: gr.SelectData):
        """A click on the map: the nearest point's text fills "From" (first click) or "To" (second), alternately."""
        emap = self.manifold()
        index = emap.pick(*event.index)
        picks = [*(picks or []), index][-2:]
        text = emap.texts[index]
        if len(picks) % 2:
            prompt_a = text
        else:
            prompt_b = text
        names = ("From", "To")
        plot = emap.plot(picked={f"{names[i]}: {emap.labels[p]}": p for i, p in enumerate(picks)})
        note = f"Picked ({emap.labels[index]}): “{text}”. " + (
            "Click a second point for “To”." if len(picks) == 1 else "Press Interpolate, or click again to start over.")
        return prompt_a, prompt_b, ([] if len(picks) == 2 else picks), plot, note

    @_friendly
    def interpolate(self, prompt_a: str, prompt_b: str, steps: float = 6, face: float | None = 0,
                    progress=gr.Progress()):  # noqa: B008 (gradio injects it)
        from expclip.interpolation import interpolate, round_trip

        identity = parse_identity(face)
        prompt_a, prompt_b = (prompt_a or "").strip(), (prompt_b or "").strip()
        if not prompt_a or not prompt_b:
            raise ValueError("Type two prompts to travel between, e.g. 'calm' and 'furious'.")
        steps = int(steps)
        if not 2 <= steps <= 12:
            raise ValueError(f"Use 2–12 steps (got {steps}).")
        frames, z = interpolate(self.text, prompt_a, prompt_b, INTERPOLATION_FRAMES)
        strip_idx = np.round(np.linspace(0, len(frames) - 1, steps)).astype(int)
        progress(0.2, desc="Rendering the strip")
        strip = np.concatenate([self.render.still(frames[i], "front", 256, identity) for i in strip_idx], axis=1)
        progress(0.5, desc="Rendering the video")
        folder = self.request_dir()
        video = self.render.video([round_trip(frames)], folder / "interpolation.mp4", size=256, identity=identity)
        if not self.data.map_ready():
            progress(0.9, desc="Waiting for the expression map (built once, at the first start)")
        try:
            plot = self.manifold().plot({prompt_a: z[0].numpy(), prompt_b: z[1].numpy()})
        except Unavailable:  # no map on this server: the strip and the video still answer
            plot = None
        return strip, str(video), plot

    # speech → animation ------------------------------------------------------------------------------
    @_friendly
    def animate(self, audio, prompt: str = "", photo=None, intensity: float = 1.0, timeline: str = "",
                compare: str = "", transcript: str = "", face: float | None = 0,
                progress=gr.Progress()):  # noqa: B008 (gradio injects it)
        from expclip.clips import write_wav
        from expclip.timeline import parse_timeline
        from render.exports import write_animation

        identity = parse_identity(face)
        if self.animator is None:
            raise Unavailable(self.animator_problem)
        path = self.input_path(audio, "recording")
        if path is None:
            raise ValueError("Upload or record some speech first.")
        photo_path = self.input_path(photo, "photo")
        prompt, timeline, compare = (prompt or "").strip(), (timeline or "").strip(), (compare or "").strip()
        given = [n for n, v in (("a prompt", prompt), ("a photo", photo_path), ("a timeline", timeline),
                                ("side-by-side prompts", compare)) if v]
        if len(given) > 1:
            raise ValueError(f"Give one style at a time; you gave {' and '.join(given)}.")
        runs: list[tuple[str, dict]]
        if compare:
            prompts = [p.strip() for p in re.split(r"[;\n|]", compare) if p.strip()]
            if not 2 <= len(prompts) <= 4:
                raise ValueError("For side by side, give 2–4 prompts separated by ';', e.g. 'calm; furious'.")
            runs = [(p, {"prompt": p}) for p in prompts]
        elif timeline:
            runs = [(timeline, {"timeline": parse_timeline(timeline)})]
        elif photo_path:
            runs = [("photo", {"image": photo_path})]
        else:
            runs = [(prompt or "neutral", {"prompt": prompt})]
        progress(0.05, desc="Generating the animation")
        said = (transcript or "").strip() or None  # else Whisper transcribes it for the phone-aligned lips
        clips = [self.animator.animate(path, intensity=float(intensity), max_seconds=self.max_audio_seconds,
                                       transcript=said, **style) for _, style in runs]
        folder = self.request_dir()
        wav = folder / "speech.wav"
        write_wav(wav, clips[0].audio, clips[0].sample_rate)
        progress(0.3, desc="Rendering the video")
        captions = [name for name, _ in runs] if len(runs) > 1 else None
        video = self.render.video([c.frames for c in clips], folder / "animation.mp4", fps=clips[0].fps, audio=wav,
                                  captions=captions, identity=identity)
        progress(0.9, desc="Writing the exports")
        files = [str(video)]
        for i, (clip, (name, _)) in enumerate(zip(clips, runs)):
            stem = "animation" if len(runs) == 1 else f"animation-{i + 1}"
            payload = clip.to_json() if identity.is_neutral else {**clip.to_json(), "identity": identity.to_json()}
            files += map(str, write_animation(clip.frames, clip.fps, payload, csv_path=folder / f"{stem}.csv",
                                              json_path=folder / f"{stem}.json", glb_path=folder / f"{stem}.glb",
                                              identity=identity))
        notes = sorted({n for c in clips for n in c.notes})
        summary = f"{clips[0].seconds:.1f} s at {clips[0].fps:g} fps" + "".join(f"  \n{n}" for n in notes)
        return str(video), files, summary

    # model panel -------------------------------------------------------------------------------------
    def model_markdown(self) -> str:
        rows = [f"- **ExpCLIP**: `{display(self.checkpoint)}` (embedding {self.text.model.config.embed_dim}-d)",
                f"- **Text encoder**: `{self.text.encoder.name}`",
                "- **Image path**: " + (f"projector P_img over `{self.image.encoder.name}`" if self.image.has_projector
                                        else "landmark fitting (this checkpoint has no image projector)")]
        if self.animator is not None:
            rows += [f"- **Speech generator**: `{display(self.generator_dir)}`",
                     f"- **Audio front end**: `{self.animator.audio_encoder.name}`"]
        else:
            rows.append(f"- **Speech generator**: not loaded. {self.animator_problem}")
        rows.append(f"- Longest recording accepted: {self.max_audio_seconds:g} s; models loaded in "
                    f"{self.load_seconds:.1f} s.")
        return "\n".join(rows)

    def model_cards(self) -> list[tuple[str, str]]:
        cards = []
        for folder in (self.checkpoint, self.generator_dir) if self.animator else (self.checkpoint,):
            card = folder / "README.md"
            if card.exists():
                cards.append((f"Model card: {display(folder)}", card.read_text(encoding="utf-8")))
        return cards


# ------------------------------------------------------------------------------------------ thin helpers

def display(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(REPO))
    except ValueError:
        return str(path)


def bar_table(weights: np.ndarray) -> pd.DataFrame:
    """The 52 weights as rows (blendshape, weight, region), grouped by region for the bar chart."""
    order = [name for names in GROUPS.values() for name in names]
    return pd.DataFrame({"blendshape": order, "weight": [round(float(weights[arkit.INDEX[n]]), 4) for n in order],
                         "region": [REGION[n] for n in order]})


def describe_aus(aus: dict[str, float]) -> str:
    from expclip.facs import parse_code

    if not aus:
        return "**Likely Action Units**: none (a neutral face)."
    lines = []
    for key, value in aus.items():
        code = parse_code(key)
        side = {"L": "left ", "R": "right "}.get(code.side or "", "")
        lines.append(f"- AU{code.number}: {side}{code.unit.name.lower()} ({value:.2f})")
    return "**Likely Action Units**\n" + "\n".join(lines)


# ------------------------------------------------------------------------------------------------ the UI

def _weights_outputs(with_side: bool = True):
    with gr.Row():
        front = gr.Image(label="Front", type="numpy", format="png", interactive=False)
        side = gr.Image(label="Three-quarter", type="numpy", format="png", interactive=False) if with_side else None
    bars = gr.BarPlot(x="blendshape", y="weight", color="region", label="Weights by region", y_lim=[0, 1],
                      x_label_angle=-60, sort=None, height=300)
    aus = gr.Markdown()
    with gr.Accordion("Weights (JSON)", open=False):
        data = gr.JSON(label="Weights")
    files = gr.File(label="Downloads (PNG, JSON, CSV)", file_count="multiple", interactive=False)
    return front, side, bars, aus, data, files


def build_demo(app: DemoApp | None = None, cache_examples: bool | str = "lazy", **app_options) -> gr.Blocks:
    """The demo's Blocks; ``app`` holds the loaded models (a new :class:`DemoApp` from ``app_options`` if not given).

    ``cache_examples``: True computes the examples of the text and image tabs at launch, "lazy" on
    their first click, False never (the other tabs' examples are never cached: retrieval and speech
    depend on the gallery's and the recording's files, and the manifold's on the map built in the
    background).
    """
    app = app or DemoApp(**app_options)
    cache = {"cache_examples": bool(cache_examples), "cache_mode": "lazy" if cache_examples == "lazy" else "eager"}
    with gr.Blocks(title="ExpCLIP", delete_cache=(1800, 3600)) as demo:
        gr.Markdown("# ExpCLIP\nText, photos and speech → 52 ARKit blendshapes on the ICT-FaceKit head. "
                    "Every button is also an API endpoint (see *Use via API* at the bottom).")
        with gr.Row(equal_height=True):  # one face for every tab that renders the head
            face = gr.Number(value=0, precision=0, minimum=0, label="Face",
                             info="0 is the default head; any other whole number is another face "
                                  "(the same number always gives the same face)", scale=4)
            random_face = gr.Button("Random face", scale=1)
        random_face.click(random_seed, None, face, api_visibility="private")
        with gr.Tab("Text → Expression"):
            with gr.Row():
                with gr.Column(scale=1):
                    prompt = gr.Textbox(label="Prompt", placeholder="a proud, beaming smile")
                    intensity = gr.Slider(0, 2, value=1, step=0.05, label="Intensity")
                    with gr.Accordion("Blend with a second prompt", open=False):
                        second = gr.Textbox(label="Second prompt", placeholder="surprise", value="")
                        blend = gr.Slider(0, 1, value=0.5, step=0.05, label="Share of the second prompt")
                    go = gr.Button("Make the face", variant="primary")
                    app_viewer.head_view("text", "The face you make appears here in 3D.")
                with gr.Column(scale=2):
                    front, side, bars, aus, data, files = _weights_outputs()
            app_viewer.show_weights(data, "text")
            text_outputs = [front, side, bars, aus, data, files]
            text_inputs = [prompt, intensity, second, blend]
            gr.Examples(TEXT_EXAMPLES, text_inputs, text_outputs, fn=app.text_to_expression,
                        **cache)
            go.click(app.text_to_expression, [*text_inputs, face], text_outputs, api_name="text_to_expression",
                     concurrency_limit=4, concurrency_id="text")
            prompt.submit(app.text_to_expression, [*text_inputs, face], text_outputs, api_visibility="private",
                          concurrency_limit=4, concurrency_id="text")

        with gr.Tab("Image → Expression"):
            with gr.Row():
                with gr.Column(scale=1):
                    photo = gr.Image(label="Face photo", type="filepath", sources=["upload", "webcam"])
                    image_intensity = gr.Slider(0, 2, value=1, step=0.05, label="Intensity")
                    method = gr.Radio(["auto", "fit", "projector"], value="auto", label="Method",
                                      info="auto: the checkpoint's image projector if it has one, else landmark fitting")
                    go_image = gr.Button("Read the expression", variant="primary")
                    annotated = gr.Image(label="Face found (box and landmarks)", type="numpy", interactive=False)
                with gr.Column(scale=2):
                    app_viewer.head_view("image", "The expression read from the photo appears here in 3D.")
                    head, _, image_bars, image_aus, image_data, image_files = _weights_outputs(with_side=False)
            app_viewer.show_weights(image_data, "image")
            image_outputs = [annotated, head, image_bars, image_aus, image_data, image_files]
            gr.Examples([[str(app.examples["face"]), 1.0, "auto"]], [photo, image_intensity, method], image_outputs,
                        fn=app.image_to_expression, **cache)
            # unprocessed inputs: a PDF named .jpg reaches the library, which says what is wrong in one sentence
            go_image.click(app.image_to_expression, [photo, image_intensity, method, face], image_outputs,
                           api_name="image_to_expression", preprocess=False, concurrency_limit=2)

        with gr.Tab("Text → Image retrieval"):
            problem = app.retrieval_problem()
            if problem:
                gr.Markdown(f"**Not available with this checkpoint.** {problem}")
            with gr.Row():
                query = gr.Textbox(label="Look for", placeholder="wide-eyed and gasping", scale=3)
                k = gr.Slider(1, 32, value=8, step=1, label="k", scale=1)
                gallery_choice = gr.Dropdown(list(app.galleries), value=next(iter(app.galleries), None),
                                             label="Gallery", scale=2)
            go_retrieve = gr.Button("Search", variant="primary", interactive=problem is None)
            hits = gr.Gallery(label="Closest faces (rank, cosine score, file)", columns=4, height="auto")
            index_note = gr.Markdown()
            go_retrieve.click(app.retrieve, [query, k, gallery_choice], [hits, index_note], api_name="retrieve",
                              concurrency_limit=1)
            if not problem:
                gr.Examples([["wide-eyed and gasping", 8, next(iter(app.galleries))]], [query, k, gallery_choice],
                            [hits, index_note], fn=app.retrieve, cache_examples=False)

        with gr.Tab("Speech → Animation"):
            if app.animator is None:
                gr.Markdown(f"**Not available.** {app.animator_problem}")
            with gr.Row():
                with gr.Column(scale=1):
                    audio = gr.Audio(label="Speech", type="filepath", sources=["upload", "microphone"], format=None)
                    speech_prompt = gr.Textbox(label="Style prompt", placeholder="quietly furious", value="")
                    speech_intensity = gr.Slider(0, 2, value=1, step=0.05, label="Intensity")
                    transcript = gr.Textbox(label="Transcript (optional)", value="", lines=2,
                                            placeholder="the words said; without it Whisper transcribes them")
                    with gr.Accordion("Other styles: a photo, a timeline, side by side", open=False):
                        style_photo = gr.Image(label="Reference photo", type="filepath", sources=["upload", "webcam"])
                        timeline = gr.Textbox(label="Emotion timeline (seconds: prompt)",
                                              placeholder="0: calm; 4.5: furious", value="")
                        compare = gr.Textbox(label="Side by side: 2–4 prompts", placeholder="calm; furious; sad",
                                             value="")
                    go_speech = gr.Button("Animate", variant="primary", interactive=app.animator is not None)
                    gr.Markdown(f"Recordings up to {app.max_audio_seconds:g} s are accepted.")
                with gr.Column(scale=2):
                    app_viewer.head_view("speech", "The animation plays here in 3D, with its sound.")
                    video = gr.Video(label="Animation (with sound)", interactive=False)
                    speech_files = gr.File(label="Downloads (mp4, Live Link Face CSV, JSON, GLB)",
                                           file_count="multiple", interactive=False)
                    speech_notes = gr.Markdown()
            speech_inputs = [audio, speech_prompt, style_photo, speech_intensity, timeline, compare, transcript]
            speech_outputs = [video, speech_files, speech_notes]
            app_viewer.play_files(speech_files, "speech")
            go_speech.click(app.animate, [*speech_inputs, face], speech_outputs, api_name="animate", preprocess=False,
                            concurrency_limit=1)
            if app.animator is not None and app.examples["speech"] is not None:
                speech = str(app.examples["speech"])
                gr.Examples([[speech, "quietly furious", None, 1.0, "", "", ""],
                             [speech, "", None, 1.0, "0: calm; 1.5: furious", "", ""],
                             [speech, "", None, 1.0, "", "calm; furious", ""]],
                            speech_inputs, speech_outputs, fn=app.animate, cache_examples=False)

        with gr.Tab("Live"):
            app_viewer.live_tab(app, face)

        with gr.Tab("Expression manifold"):
            with gr.Row():
                with gr.Column(scale=1):
                    prompt_a = gr.Textbox(label="From", value="calm")
                    prompt_b = gr.Textbox(label="To", value="furious")
                    steps = gr.Slider(2, 12, value=6, step=1, label="Faces in the strip")
                    go_interp = gr.Button("Interpolate", variant="primary")
                    interp_video = gr.Video(label="Interpolation", interactive=False)
                with gr.Column(scale=2):
                    manifold = gr.Image(label="Expression map (click two points)", type="numpy", interactive=False)
                    pick_note = gr.Markdown()
            picks = gr.State([])
            strip = gr.Image(label="Interpolation strip", type="numpy", interactive=False)
            interp_outputs = [strip, interp_video, manifold]
            # not cached: each renders a video, and its map waits for the data built in the background
            gr.Examples([["calm", "furious", 6], ["sad", "overjoyed", 6], ["disgust", "surprise", 5]],
                        [prompt_a, prompt_b, steps], interp_outputs, fn=app.interpolate, cache_examples=False)
            # progress and errors on the strip and the video only: a refused request must not hide the map
            go_interp.click(app.interpolate, [prompt_a, prompt_b, steps, face], interp_outputs, api_name="interpolate",
                            concurrency_limit=1, show_progress_on=[strip, interp_video])

            manifold.select(app.pick, [prompt_a, prompt_b, picks], [prompt_a, prompt_b, picks, manifold, pick_note],
                            api_visibility="private")

            def show_map():
                try:
                    return app.manifold().plot()
                except Unavailable as error:
                    gr.Warning(str(error))
                    return None

            demo.load(show_map, None, manifold, api_visibility="private", concurrency_limit=None)  # waits for the map

        with gr.Tab("Model"):
            gr.Markdown(app.model_markdown())
            for title, card in app.model_cards():
                with gr.Accordion(title, open=False):
                    gr.Markdown(card)
    demo.expclip_app = app
    return demo


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="ExpCLIP demo")
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                        help="address to serve on (0.0.0.0: every interface; Spaces sets GRADIO_SERVER_NAME)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", "7860")))
    parser.add_argument("--share", action="store_true", help="also serve through a public Gradio link")
    parser.add_argument("--checkpoint", help="ExpCLIP checkpoint folder (default: checkpoints/expclip-small)")
    parser.add_argument("--generator", help="speech generator checkpoint (default: checkpoints/generator-small)")
    parser.add_argument("--gallery", action="append", default=[], help="a folder of face photos for retrieval "
                        "(repeatable)")
    parser.add_argument("--data", help="folder holding tead/ and mead3d-synthetic/ for the map and the built-in "
                        "gallery (default: data/ in the repository; what is missing there is built small in the cache)")
    parser.add_argument("--max-audio-seconds", type=float, default=DEFAULT_MAX_AUDIO_SECONDS,
                        help="longest recording the speech tab accepts")
    parser.add_argument("--max-file-size", default=DEFAULT_MAX_FILE_SIZE, help="largest upload, e.g. 25mb")
    parser.add_argument("--no-cache-examples", action="store_true", help="compute examples on first click instead")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    signal.signal(signal.SIGTERM, _interrupt)  # stop on SIGTERM as on Ctrl-C
    app = DemoApp(args.checkpoint, args.generator, args.gallery, args.max_audio_seconds, data=DemoData(args.data))
    demo = build_demo(app, cache_examples="lazy" if args.no_cache_examples else True)
    app_viewer.launch(  # with the 3D head's and the live mode's routes on the same server (/live/...)
        demo.queue(default_concurrency_limit=2, max_size=64), server_name=args.host, server_port=args.port,
        share=args.share, max_file_size=args.max_file_size, prevent_thread_lock=True)
    app.prepare_data()
    try:
        demo.block_thread()  # returns on Ctrl-C or SIGTERM, with the server closed
    finally:
        demo.close()
        app.close()  # removes the temp folder
        logging.shutdown()
        # No interpreter teardown: the data thread may be inside MediaPipe or EGL, whose destructors
        # abort when run under a finishing interpreter. Its builds resume at the next start.
        os._exit(0)


def _interrupt(*_) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    main()
