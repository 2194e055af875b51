"""The released checkpoints/generator-small: its files and card, lips that follow speech, styles that show."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from expclip.animation import load_animator
from expclip.lipsync import loudness
from expclip.paths import GENERATOR_SMALL, default_checkpoint
from head.arkit import INDEX

DEFAULT_GENERATOR = default_checkpoint(GENERATOR_SMALL)

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


BILABIAL_SENTENCE = "Bob met my mom by the pub. Maybe both of them bought plums."


def test_lips_close_on_bilabials_and_rest_in_a_pause(animator, tmp_path: Path) -> None:
    """An eSpeak sentence pair with a pause between, its transcript given: lips meet on P/B/M, rest in the pause."""
    from expclip.alignment import align
    from expclip.lipsync import measure
    from train.talking.espeak import engine

    voice = engine()
    first, second = (voice.synthesize(text).resampled(16_000).samples for text in BILABIAL_SENTENCE.split(". "))
    speech = np.concatenate([first, np.zeros(16_000, np.float32), second])  # a 1 s pause
    clip = animator.animate(speech, "calm", blinks=False, transcript=BILABIAL_SENTENCE)
    assert any("aligned words" in note for note in clip.notes), clip.notes
    stats = measure(clip.frames, clip.fps, align(speech, BILABIAL_SENTENCE).phones)
    assert stats.bilabials >= 10 and stats.closure_rate >= 0.8, stats
    assert stats.pause_vowel_ratio <= 0.25, stats
    audio_only = animator.animate(speech, "calm", blinks=False, phones=False)
    assert not any("aligned" in note for note in audio_only.notes)
    # The audio-only lips (the generator's, narrowing with the loudness): 15 of 16 closures and a pause at 0.15 of
    # the vowels' opening; the generator alone (the Live tab's lips) 14 of 16 and 0.25, the 2026-11-24 release
    # 7 of 16 and 0.56.
    phones = align(speech, BILABIAL_SENTENCE).phones
    own = measure(audio_only.frames, audio_only.fps, phones)
    assert own.closure_rate >= 0.8 and own.pause_vowel_ratio <= 0.25, own
    rest = animator.prompt_expression("calm")[0]
    generated = np.clip(animator.generate(animator.features(speech), animator.styles(rest[None])[0]), 0.0, 1.0)
    alone = measure(generated, animator.fps, phones)
    assert alone.closure_rate >= 0.6 and alone.pause_vowel_ratio <= 0.4, alone


def test_speech_that_cannot_be_aligned_keeps_the_audio_lips_and_says_so(animator) -> None:
    t = np.arange(3 * 16_000) / 16_000
    hum = (0.3 * np.sin(2 * np.pi * 220 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t))).astype(np.float32)
    clip = animator.animate(hum, "calm", blinks=False, transcript="the quarterly report was late again")
    notes = [note for note in clip.notes if note.startswith("Lip sync follows the audio alone")]
    assert len(notes) == 1 and notes[0].endswith("."), clip.notes
    assert np.isfinite(clip.frames).all()
