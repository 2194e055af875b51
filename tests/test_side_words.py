"""Side words: which side a text names, the text for the other side, and which training pairs are mirrored."""

import numpy as np
import pytest

from expclip.face_actions import load_face_actions
from expclip.side_words import named_sides, names_only_right, reads_mirrored, swap_sides


@pytest.mark.parametrize("text, sides", [
    ("a wink with my right eye", {"R"}), ("Left eyebrow raised", {"L"}), ("eyes darting rightwards", {"R"}),
    ("AU12L + AU2R", {"L", "R"}), ("R12 + AU6", {"R"}), ("au 46r", {"R"}), ("AU62", {"R"}), ("AU61 + AU12", {"L"}),
    ("a wink", set()), ("AU12 and AU6", set()), ("bright smile", set()), ("R&D report, AU26", set()),
])
def test_named_sides(text: str, sides: set) -> None:
    assert named_sides(text) == sides


@pytest.mark.parametrize("text, swapped", [
    ("Right eye winks (AU46R)", "Left eye winks (AU46L)"), ("RIGHT brow up, left eye shut", "LEFT brow up, right eye shut"),
    ("R12A + 6", "L12A + 6"), ("AU61 eyes turn left", "AU62 eyes turn right"), ("looking rightward", "looking leftward"),
    ("a bright smile", "a bright smile"),
])
def test_swap_sides_swaps_words_codes_and_the_eye_turn_units(text: str, swapped: str) -> None:
    assert swap_sides(text) == swapped
    assert swap_sides(swapped) == text


def test_every_right_wording_of_the_knowledge_base_swaps_to_its_left_twin() -> None:
    kb = load_face_actions()
    for action in kb.actions:
        if action.side != "R":
            continue
        left = kb[action.name.removesuffix("_right") + "_left"]
        sided = [p for p in action.phrases if names_only_right(p)]
        assert sided, action.name
        assert {swap_sides(p) for p in sided} <= set(left.phrases), action.name


def test_pairs_are_mirrored_when_the_text_names_the_right_or_a_side_free_text_has_a_right_sided_face() -> None:
    kb = load_face_actions()
    right_wink, left_wink = kb["wink_right"].face, kb["wink_left"].face
    assert reads_mirrored("winking my right eye", right_wink)
    assert not reads_mirrored("winking my left eye", left_wink)
    assert reads_mirrored("a cheeky wink", right_wink) and not reads_mirrored("a cheeky wink", left_wink)
    assert not reads_mirrored("right brow up, left eye shut", right_wink)  # both sides named: as written
    tilted = np.zeros(52, dtype=np.float32)
    tilted[[0, 1]] = 0.5, 0.6  # a two-sided face with a tilt is not one-sided
    assert not reads_mirrored("so happy", tilted)
