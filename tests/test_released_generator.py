"""The released checkpoints/generator-small: its files and card, lips that follow speech, styles that show."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from expclip.animation import load_animator
from expclip.paths import DEFAULT_GENERATOR
from head.arkit import INDEX
from train.generator.evaluate import loudness

SENTENCE = "Well, I never thought we would see the sea again. Then, at last, there it was, blue and wide."


@pytest.fixture(scope="module")
def animator():
    return load_animator()


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    """Real speech from the asset mirror when it is there (never trained on), else eSpeak NG."""
    mirror = os.environ.get("EXPCLIP_ASSET_MIRROR")
    clip = Path(mirror) / "speech" / "Mark_joy.wav" if mirror else None
    if clip is not None and clip.is_file():
        from expclip.audio import load_speech

        return load_speech(clip)
    from train.talking.espeak import engine

    return engine().synthesize(SENTENCE).resampled(16_000).samples


def test_files_and_card() -> None:
    files = {p.name for p in DEFAULT_GENERATOR.iterdir()}
    assert {"model.safetensors", "config.json", "metrics.json", "README.md"} <= files
    assert (DEFAULT_GENERATOR / "model.safetensors").stat().st_size <= 20 * 2**20
    card = (DEFAULT_GENERATOR / "README.md").read_text()
    assert "python -m train.generator fit --config train/configs/generator_small.yaml" in card
    config = json.loads((DEFAULT_GENERATOR / "config.json").read_text())
    assert config["model"]["audio_encoder"] == "logmel" and config["training"]["data"] == "data/talking"
    assert json.loads((DEFAULT_GENERATOR / "metrics.json").read_text())["epoch"] == config["training"]["epochs"]


def test_the_mouth_follows_the_voice(animator, speech: np.ndarray) -> None:
    frames = animator.animate(speech, "calm", blinks=False).frames
    envelope = loudness(speech)[: len(frames)]
    jaw = frames[:, INDEX["jawOpen"]]
    assert np.corrcoef(jaw, envelope)[0, 1] > 0.4
    assert jaw[envelope > 0.5].mean() > jaw[envelope < 0.1].mean() + 0.03


def test_styles_differ_while_the_lips_stay_in_sync(animator, speech: np.ndarray) -> None:
    joy = animator.animate(speech, "overjoyed", blinks=False).frames
    sad = animator.animate(speech, "deeply sad", blinks=False).frames
    smile = INDEX["mouthSmileLeft"], INDEX["mouthSmileRight"]
    assert joy[:, smile].mean() > sad[:, smile].mean() + 0.3
    assert sad[:, INDEX["browInnerUp"]].mean() > joy[:, INDEX["browInnerUp"]].mean() + 0.2
    assert np.corrcoef(joy[:, INDEX["jawOpen"]], sad[:, INDEX["jawOpen"]])[0, 1] > 0.9
