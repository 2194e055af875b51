"""Prompt reading: a right-sided, strength-worded prompt is read as its plain left twin and put back after."""

import numpy as np

from expclip.face_actions import load_face_actions
from expclip.prompt_reading import read_prompt
from head.arkit import INDEX


def test_a_strong_right_wink_is_read_as_a_plain_left_wink_and_comes_back_strong_and_right() -> None:
    reading = read_prompt("a huge wink with my right eye")
    assert (reading.text, reading.mirrored, reading.band) == ("a wink with my left eye", True, "high")
    left = load_face_actions()["wink_left"].face * 0.7
    face = reading.face(left)
    assert face[INDEX["eyeBlinkRight"]] >= 0.85 and face[INDEX["eyeBlinkLeft"]] < 0.1


def test_a_plain_prompt_is_read_as_it_is() -> None:
    reading = read_prompt("so happy, grinning")
    assert (reading.text, reading.mirrored, reading.band) == ("so happy, grinning", False, "plain")
    face = np.random.default_rng(0).uniform(0, 1, 52).astype(np.float32)
    assert (reading.face(face) == face).all()
