"""The placeholder demo builds and its handler renders the head."""

from __future__ import annotations

import json

import gradio as gr

import app
from expclip.arkit import BLENDSHAPE_NAMES


def test_build_demo_returns_blocks():
    assert isinstance(app.build_demo(), gr.Blocks)


def test_render_blendshapes_handler(rig):
    values = [0.0] * len(BLENDSHAPE_NAMES)
    values[BLENDSHAPE_NAMES.index("jawOpen")] = 0.6
    image, text = app.render_blendshapes("front", *values)
    assert image.shape == (512, 512, 3)
    assert json.loads(text)["blendshapes"]["jawOpen"] == 0.6
