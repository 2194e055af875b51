"""The demo's interactive 3D head: a WebGL view in the text, image and speech tabs, the Live tab, and the
routes that serve them on the app's own server.

The page side is ``static/app_viewer.js`` (over ``static/head_viewer.js`` and ``static/live_microphone.js``);
this module gives the Gradio pieces that reach it:

* :func:`routes` — ``/live/audio`` (a visitor's microphone in, their own frames out; docs/live.md),
  ``/live/static/…`` (the viewer's scripts and three.js) and ``/live/head.glb?face=N`` (the head with a
  face's shape and 52 morph targets; ``&detail=light``: the lighter head of :mod:`head.simplify`, which the
  viewer asks for where WebGL runs on the CPU), mounted with ``demo.launch(app_kwargs={"routes": routes(app)})``
  (:func:`launch` does it), so they share port 7860 locally and on Hugging Face Spaces;
* :func:`head_view` — a ``gr.HTML`` holding one view; :func:`show_weights` and :func:`play_files` feed it
  from outputs the tabs already return (the weights JSON, the downloads), so the API keeps its outputs;
* :func:`live_tab` — the microphone, a style prompt or photo, Start and Stop.
"""

from __future__ import annotations

import gzip
import json
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

import gradio as gr
import numpy as np

from head.arkit import NUM_BLENDSHAPES
from head.identity import IdentityError, sample_identity
from head.simplify import check_detail, head_rig

if TYPE_CHECKING:
    from app import DemoApp

PREFIX = "/live"
HEIGHT_PX = 380
_MODULE = "static/app_viewer.js"  # under PREFIX; the page resolves it against the app's root URL


class HeadFiles:
    """The head GLB of each face number and detail (built on first request, a second or two; the last few kept,
    gzipped)."""

    def __init__(self, keep: int = 4) -> None:
        self.keep = keep
        self._built: OrderedDict[tuple[int, str], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def gzipped(self, face: int, detail: str = "full") -> bytes:
        """The gzipped GLB of face ``face`` (0: the default head; :class:`IdentityError` past the last seed) at
        ``detail`` (``full`` or ``light``)."""
        from render.gltf import glb_bytes

        key = (face, detail)
        with self._lock:
            if key in self._built:
                self._built.move_to_end(key)
                return self._built[key]
            identity = sample_identity(face)
            rig = head_rig(detail)
            data = gzip.compress(glb_bytes(np.zeros(NUM_BLENDSHAPES, np.float32), rig=rig, identity=identity), 1)
            self._built[key] = data
            while len(self._built) > self.keep:
                self._built.popitem(last=False)
            return data

    def endpoint(self, request):
        """``GET /live/head.glb?face=N`` (a synchronous handler: Starlette runs it in a thread)."""
        from starlette.responses import PlainTextResponse, Response

        text = request.query_params.get("face") or "0"
        try:
            detail = check_detail(request.query_params.get("detail") or "full")
        except ValueError as error:
            return PlainTextResponse(str(error), status_code=400)
        try:
            if not text.isdigit():  # seeds only: never a path on the server
                raise IdentityError(f"The face number {text!r} is not a seed; use a whole number.")
            body = self.gzipped(int(text), detail)
        except IdentityError as error:
            return PlainTextResponse(str(error), status_code=400)
        headers = {"Cache-Control": "public, max-age=86400"}  # a face number is always the same face
        if "gzip" in request.headers.get("accept-encoding", ""):
            return Response(body, media_type="model/gltf-binary", headers={**headers, "Content-Encoding": "gzip"})
        return Response(gzip.decompress(body), media_type="model/gltf-binary", headers=headers)


def routes(app: DemoApp) -> list:
    """The Starlette routes of the 3D head and the live mode under :data:`PREFIX`, for ``app``'s models."""
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    from expclip.live import STATIC

    if app.animator is not None:
        from expclip.live import routes as live_routes

        found = live_routes(app.animator, prefix=PREFIX)
    else:  # no generator: the views still show the text and image tabs' faces
        found = [Mount(f"{PREFIX}/static", StaticFiles(directory=STATIC))]
    return [*found, Route(f"{PREFIX}/head.glb", HeadFiles().endpoint)]


def launch(demo: gr.Blocks, **options):
    """``demo.launch(**options)`` with :func:`routes` mounted on the same server."""
    return demo.launch(app_kwargs={"routes": routes(demo.expclip_app)}, **options)


def _module() -> str:
    """A JavaScript expression: the promise of ``static/app_viewer.js``, resolved against the app's root URL."""
    path = json.dumps(f"{PREFIX.strip('/')}/{_MODULE}")
    return (f"import(new URL({path}, window.gradio_config?.root ? window.gradio_config.root.replace(/\\/?$/, '/')"
            " : document.baseURI))")


def _call(function: str, *arguments: str) -> str:
    """A browser-side event handler: ``function(…arguments, …the event's input values)`` of the module."""
    given = ", ".join([*(json.dumps(a) for a in arguments), "...values"])
    return f"(...values) => {{ {_module()}.then((m) => m.{function}({given})); return []; }}"


def head_view(kind: str, note: str) -> gr.HTML:
    """An empty 3D view named ``kind`` ("text", "image", "speech" or "live"), with a line of ``note`` below
    it (replaced by the view's status sentences); the page draws into it once it is on screen."""
    audio = '<audio class="expclip-audio" controls preload="auto" hidden></audio>' if kind == "speech" else ""
    html = (f'<div class="expclip-view" data-kind="{kind}"><div class="expclip-canvas"></div>{audio}'
            f'<p class="expclip-status" role="status">{note}</p></div>')
    css = (f".expclip-canvas {{ height: {HEIGHT_PX}px; border-radius: 8px; overflow: hidden; touch-action: none; }}"
           " .expclip-audio { width: 100%; margin-top: 6px; }"
           " .expclip-status { margin: 4px 0 0; font-size: 0.9em; opacity: 0.8; }")
    mount = f"{_module()}.then((m) => m.mount(element, {json.dumps(kind)}));"
    return gr.HTML(html, css_template=css, js_on_load=mount, elem_id=f"expclip-head-{kind}", label="3D head")


def show_weights(data: gr.JSON, kind: str) -> None:
    """When ``data`` (an expression's JSON: ``blendshapes``, maybe ``identity``) changes, view ``kind`` shows it."""
    data.change(None, [data], None, js=_call("showExpression", kind), api_visibility="private")


def play_files(files: gr.File, kind: str) -> None:
    """When the speech tab's downloads change, view ``kind`` plays the animation's JSON with the MP4's sound."""
    files.change(None, [files], None, js=_call("playDownloads", kind), api_visibility="private")


def live_tab(app: DemoApp, face: gr.Number) -> None:
    """The Live tab's contents: the visitor's microphone drives the head; the prompt steers it while they speak."""
    if app.animator is None:
        gr.Markdown(f"**Not available.** {app.animator_problem}")
    gr.Markdown("Speak into your microphone and the head moves with your voice, about 0.15 s behind it; the "
                "style prompt steers the face while you speak (press Enter to change it), or a face photo "
                "does (read as the Image tab reads it). Each visitor has their own stream; the sound is not "
                "stored.")
    with gr.Row():
        with gr.Column(scale=1):
            prompt = gr.Textbox(label="Live style prompt", placeholder="overjoyed", value="calm")
            photo = gr.Image(label="…or a face photo as the style", type="filepath", sources=["upload", "webcam"],
                             height=180)
            photo_expression = gr.JSON(visible=False)
            with gr.Row():
                start = gr.Button("Start", variant="primary", interactive=app.animator is not None)
                stop = gr.Button("Stop")
        with gr.Column(scale=2):
            head_view("live", "Press Start and allow the microphone.")
    start.click(None, [prompt, face], None, js=_call("startLive"), api_visibility="private")
    stop.click(None, None, None, js=_call("stopLive"), api_visibility="private")
    prompt.submit(None, [prompt], None, js=_call("setLivePrompt"), api_visibility="private")
    photo.upload(app.live_photo, [photo], [photo_expression], api_visibility="private")
    photo_expression.change(None, [photo_expression], None, js=_call("setLivePhoto"), api_visibility="private")
    face.change(None, [face], None, js=_call("setFace", "live"), api_visibility="private")
