"""ExpCLIP demo (Gradio). For now one tab: a blendshape playground over the rendered head.

Run ``python app.py`` (or ``make demo``); it serves on http://127.0.0.1:7860 unless told otherwise.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

import gradio as gr
import numpy as np

from expclip.arkit import BLENDSHAPE_NAMES, GROUPS, from_dict, to_json
from render.renderer import VIEWS, render_still


def render_blendshapes(view: str, *values: float) -> tuple[np.ndarray, str]:
    """Slider values in canonical order → the rendered head ``(512, 512, 3)`` and the weights JSON."""
    weights = from_dict(dict(zip(BLENDSHAPE_NAMES, values)))
    return render_still(weights, view=view), to_json(weights)


def build_demo() -> gr.Blocks:
    """The demo's Blocks (tests build it without launching)."""
    with gr.Blocks(title="ExpCLIP") as demo:
        gr.Markdown("# ExpCLIP\nMove the 52 ARKit blendshapes and see the ICT-FaceKit head follow.")
        with gr.Row():
            with gr.Column(scale=1):
                view = gr.Radio(list(VIEWS), value="front", label="View")
                sliders: dict[str, gr.Slider] = {}
                for group, names in GROUPS.items():
                    with gr.Accordion(group.capitalize(), open=group in ("mouth", "jaw")):
                        for name in names:
                            sliders[name] = gr.Slider(0.0, 1.0, value=0.0, step=0.01, label=name)
                button = gr.Button("Render", variant="primary")
            with gr.Column(scale=1):
                image = gr.Image(label="Head", type="numpy", format="png")
                weights_json = gr.Code(label="Weights (JSON)", language="json")
        inputs = [view, *(sliders[n] for n in BLENDSHAPE_NAMES)]
        button.click(render_blendshapes, inputs, [image, weights_json], api_name="render_blendshapes")
        demo.load(render_blendshapes, inputs, [image, weights_json])
    return demo


def main() -> None:
    parser = argparse.ArgumentParser(description="ExpCLIP demo")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--share", action="store_true", help="also serve through a public Gradio link")
    args = parser.parse_args()
    build_demo().queue(default_concurrency_limit=2).launch(
        server_name=args.host, server_port=args.port, share=args.share
    )


if __name__ == "__main__":
    main()
