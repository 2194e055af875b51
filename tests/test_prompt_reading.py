"""Prompt reading: a right-sided, strength-worded prompt is read as its plain left twin and put back after."""

import numpy as np

from expclip.face_actions import load_face_actions
from expclip.prompt_reading import read_prompt
from head.arkit import INDEX


def test_a_strong_right_wink_is_read_as_a_plain_left_wink_and_comes_back_strong_and_right() -> None:
    reading = read_prompt("a huge wink with my right eye")
    assert (reading.text, reading.plain, reading.mirrored, reading.band) == (
        "a huge wink with my left eye", "a wink with my left eye", True, "high")
    left = load_face_actions()["wink_left"].face * 0.7
    face = reading.face(left, left)
    assert face[INDEX["eyeBlinkRight"]] >= 0.85 and face[INDEX["eyeBlinkLeft"]] < 0.1


def test_a_plain_prompt_is_read_as_it_is() -> None:
    reading = read_prompt("so happy, grinning")
    assert (reading.text, reading.plain, reading.mirrored, reading.band) == (
        "so happy, grinning", "so happy, grinning", False, "plain")
    face = np.random.default_rng(0).uniform(0, 1, 52).astype(np.float32)
    assert (reading.face(face) == face).all()


def test_the_text_path_reads_prompts_so_sides_mirror_and_strength_words_scale() -> None:
    import expclip
    from head.arkit import mirror

    pipe = expclip.load()
    right, left = pipe.weights(["winking with my right eye", "winking with my left eye"])
    assert np.allclose(right, mirror(left))
    slight, plain, huge = pipe.weights(["slightly smiling", "smiling", "a huge smile"])
    assert (slight <= 0.5 * plain + 1e-6).all()
    assert huge.max() >= 0.85
    blended = pipe.blend({"winking with my right eye": 0.6, "smiling": 0.4})
    assert np.allclose(blended, mirror(pipe.blend({"winking with my left eye": 0.6, "smiling": 0.4})))


def test_the_cli_says_how_a_prompt_was_read(tmp_path) -> None:
    import json
    import subprocess
    import sys

    out = tmp_path / "faces.json"
    done = subprocess.run([sys.executable, "-m", "expclip", "text", "slightly raising my right eyebrow", "grinning",
                           "--json", str(out)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    read, plain = json.loads(out.read_text())
    assert read["reading"] == {"text": "slightly raising my left eyebrow", "strength": "low", "mirrored": True}
    assert "reading" not in plain
    assert "(read as 'slightly raising my left eyebrow', mirrored, strength low)" in done.stdout
