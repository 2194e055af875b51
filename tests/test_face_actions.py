"""The face-action knowledge base, its strength words, and the face-action and no-face samples of TEAD-offline."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from expclip import facs
from expclip.asymmetry import is_one_sided, leaning
from expclip.emotions import load_knowledge_base
from expclip.face_actions import FaceActionError, intensify, load_face_actions, merge_faces, scale_face
from expclip.tead_offline import ACTION_MODES, OfflineAnnotator, OfflineConfig, third_person
from head import arkit

REPO = Path(__file__).resolve().parents[1]
SUITE = REPO / "train" / "prompts" / "face-suite.jsonl"
LOW = re.compile(r"\b(slightly|barely|faintly|a hint|hardly|ever so slightly|a tiny bit|a touch)\b", re.IGNORECASE)
HIGH = re.compile(r"\b(huge|enormous|massive|extremely|hugely|to the max|as far as it goes|big time|all the way)\b",
                  re.IGNORECASE)


@pytest.fixture(scope="module")
def kb():
    return load_face_actions()


@pytest.fixture(scope="module")
def drawn():
    return list(OfflineAnnotator(OfflineConfig(size=2500, seed=3)).draws(progress=False))


def _value(weights: np.ndarray, name: str) -> float:
    return float(weights[arkit.INDEX[name]])


def test_every_arkit_shape_is_reachable_from_three_phrasings(kb) -> None:
    for name in arkit.BLENDSHAPE_NAMES:
        reaching = kb.phrasings_reaching(name, threshold=0.3)
        assert len({p for _, p in reaching}) >= 3, (name, reaching)
    assert sum(len(a.phrases) for a in kb.actions) > 900 and len({a.base for a in kb.actions}) > 55


def test_one_sided_actions_have_mirrored_twins_that_name_their_side(kb) -> None:
    twins = Counter(a.base for a in kb.actions if a.side)
    assert len(twins) >= 15 and set(twins.values()) == {2}
    for base in twins:
        left, right = kb[f"{base}_left"], kb[f"{base}_right"]
        np.testing.assert_array_equal(right.face, arkit.mirror(left.face))
        assert is_one_sided(left.face) and leaning(left.face) > 0, base
        assert all("right" in p and "left" not in p for p in right.phrases), base
        assert not any("right" in p for p in left.phrases), base  # side-free wordings mean the left
    wink = kb["wink_left"].face
    assert _value(wink, "eyeBlinkLeft") == 1.0 and _value(wink, "eyeBlinkRight") == 0.0
    assert kb["wink_right"].aus == {"R6": 0.4, "R46": 1.0}


def test_gaze_follows_the_subject_convention(kb) -> None:
    """Looking toward the subject's left turns the left eye out and the right eye in, as AU61 and idle motion do."""
    left = kb["look_side_left"].face
    np.testing.assert_array_equal(left, facs.aus_to_blendshapes({"61": "D"}))
    assert _value(left, "eyeLookOutLeft") == _value(left, "eyeLookInRight") == pytest.approx(0.8)
    assert _value(kb["look_side_right"].face, "eyeLookOutRight") == pytest.approx(0.8)
    assert _value(kb["eye_roll"].face, "eyeLookUpLeft") == 1.0
    assert _value(kb["cross_eyed"].face, "eyeLookInLeft") == _value(kb["cross_eyed"].face, "eyeLookInRight") > 0.7
    assert kb["gaze_ahead"].face.max() == 0.0 and kb["relaxed"].face.max() <= 0.25


def test_wordings_are_not_held_out_prompts_nor_emotion_looks(kb) -> None:
    suite = {json.loads(line)["prompt"].lower() for line in SUITE.read_text().splitlines() if line.strip()}
    looks = {look.lower() for emotion in load_knowledge_base().emotions for look in emotion.looks}
    owner: dict[str, str] = {}
    for action in kb.actions:
        for phrase in action.phrases:
            forms = {phrase.lower(), *(third_person(phrase, p).lower() for p in ("she", "he", "they"))}
            assert not forms & suite, (action.name, phrase)
            assert phrase.lower() not in looks, (action.name, phrase)
            assert owner.setdefault(phrase.lower(), action.name) == action.name, phrase


def test_strength_words_scale_the_face(kb) -> None:
    """A low word keeps every shape at most half of the plain face; a high word lifts the largest to 0.85+."""
    rng = np.random.default_rng(0)
    low, plain, high = (kb.intensity[b] for b in ("low", "plain", "high"))
    for action in (a for a in kb.actions if a.scalable):
        phrase = action.phrases[0]
        assert intensify(phrase, plain, rng) == phrase
        for _ in range(3):
            soft, _ = scale_face(action.face, low, rng)
            assert (soft <= 0.5 * action.face + 1e-6).all(), action.name
            strong, factor = scale_face(action.face, high, rng)
            assert strong.max() >= 0.85 and factor >= 1.3, action.name
            assert is_one_sided(strong) == is_one_sided(action.face), action.name
            worded = intensify(phrase, low, rng)
            assert worded != phrase and any(w in worded for w in (*low.adverbs, *low.adjectives, *low.suffixes))
    expected = {f"{'an' if a[0] in 'aeiou' else 'a'} {a} sly wink" for a in high.adjectives}
    assert intensify("a sly wink", high, np.random.default_rng(1)) in expected | {"a sly wink" + s for s in high.suffixes}


def test_merged_faces_keep_one_side(kb) -> None:
    """An emotion under a one-sided action: the action's regions are damped, the side survives."""
    anger = facs.aus_to_blendshapes(load_knowledge_base()["anger"].prototypes[0])
    brow = kb["one_brow_raised_left"]
    merged = merge_faces(anger, brow.face, brow.regions)
    assert _value(merged, "browOuterUpLeft") == 1.0 and _value(merged, "browOuterUpRight") < 0.1
    assert 0 < _value(merged, "browDownLeft") < _value(anger, "browDownLeft")
    assert _value(merged, "mouthPressLeft") == _value(anger, "mouthPressLeft")  # outside the action's regions


@pytest.mark.parametrize("text, message", [
    ("actions: [{name: x, phrases: [a, b, c]}]\nintensity: {}", "give the face as 'aus'"),
    ("actions: [{name: x, aus: '99', phrases: [a, b, c]}]", "AU99 is not in the catalogue"),
    ("actions: [{name: x, shapes: {mouthGrin: 0.5}, phrases: [a, b, c]}]", "must map ARKit names"),
    ("actions: [{name: x, aus: '12', side: left, phrases: [a], sided: [b, c, d]}]", "needs {side}"),
    ("actions: [{name: x, aus: '12', sided: ['{side} b', '{side} c', '{side} d']}]", "need 'side: left'"),
    ("actions: [{name: x, aus: '12', phrases: [a, b, c]}]\nintensity: {low: {}}", "exactly the bands low and high"),
])
def test_bad_files_say_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(FaceActionError, match=re.escape(message)):
        load_face_actions(path)


def test_builds_hold_each_kind_at_its_share(drawn) -> None:
    kinds = Counter(kind for kind, _ in drawn)
    n = len(drawn)
    assert 0.26 < sum(kinds[m] for m in ACTION_MODES) / n < 0.34 and 0.015 < kinds["no-face"] / n < 0.05
    assert all(kinds[m] > 40 for m in ACTION_MODES)
    for kind, s in drawn:
        assert 3 <= len(s.tags) <= 5 and s.situation.endswith(".") and s.au_text, (kind, s)
        assert s.blendshapes.shape == (52,) and 0.0 <= s.blendshapes.min() and s.blendshapes.max() <= 1.0


def test_strength_words_in_action_samples(drawn, kb) -> None:
    """"slightly X" is at most half of plain X's face; a strong word lifts its largest shape to 0.8 or more."""
    by_phrase = {p: a for a in kb.actions for p in a.phrases}
    seen = {"low": 0, "high": 0}
    for kind, s in drawn:
        if kind != "action" or not kb[by_phrase[s.tags[0]].name].scalable:
            continue
        action = by_phrase[s.tags[0]]
        if LOW.search(s.transcript) and not LOW.search(" ".join(action.phrases)):
            seen["low"] += 1
            assert (s.blendshapes <= 0.5 * action.face + 0.06).all(), s.transcript
        elif HIGH.search(s.transcript) and not HIGH.search(" ".join(action.phrases)):
            seen["high"] += 1
            assert s.blendshapes.max() >= 0.8, s.transcript
    assert min(seen.values()) > 20


def test_one_sided_samples_keep_their_side(drawn, kb) -> None:
    """A one-sided action keeps its side in the sample, alone or over an emotion: a wording that names the right
    side gives a right-sided face, every other wording the left."""
    by_phrase = {p: a for a in kb.actions for p in a.phrases}
    sides = Counter()
    for kind, s in drawn:
        actions = {by_phrase[t].name: by_phrase[t] for t in s.tags if t in by_phrase}
        if kind not in ("action", "action+emotion") or len(actions) != 1:
            continue
        (action,) = actions.values()
        if not action.side:
            continue
        sides[action.side] += 1
        own = np.where(action.face > 0, s.blendshapes, 0.0)  # the action's shapes, not an emotion's own tilt
        assert (leaning(own) > 0) == (action.side == "L"), (s.transcript, action.name)
        assert ("right" in s.transcript.lower()) == (action.side == "R"), (s.transcript, action.name)
    assert sides["L"] > 50 and sides["R"] > 30


def test_au_code_samples_follow_the_rule(drawn) -> None:
    codes = [s for kind, s in drawn if kind == "au-codes"]
    for s in codes:
        assert re.search(r"\b(AU ?)?[LR]?\d{1,2}[A-E]?[LR]?\b", s.transcript, re.IGNORECASE), s.transcript
        assert np.abs(s.blendshapes - facs.aus_to_blendshapes(s.aus)).max() < 0.12, s.transcript
    sided = [s for s in codes if any(k[0] in "LR" for k in s.aus)]
    assert len(sided) > 0.15 * len(codes)
    assert any(re.search(r"AU\d+[A-E]?[LR]\b|\b[LR]\d+", s.transcript) for s in sided)


def test_no_face_samples_are_neutral_and_name_no_face(drawn) -> None:
    blank = [s for kind, s in drawn if kind == "no-face"]
    assert len({s.transcript for s in blank}) == len(blank) > 30
    for s in blank:
        assert s.blendshapes.max() == 0.0 and s.aus == {} and s.emotions == {"neutral": 1.0}
        assert not re.search(r"\b(smil|frown|eye|brow|mouth|lip|face|angry|happy|sad)", s.transcript.lower()), s
