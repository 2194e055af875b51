"""The AU catalogue, the AU → ARKit rule and its inverse."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from expclip import facs
from head import arkit

REPO = Path(__file__).resolve().parents[1]


def _weights(**shapes: float) -> np.ndarray:
    out = np.zeros(arkit.NUM_BLENDSHAPES, dtype=np.float32)
    for name, value in shapes.items():
        out[arkit.INDEX[name]] = value
    return out


def test_catalogue_has_42_action_units_with_plain_descriptions() -> None:
    assert len(facs.ACTION_UNITS) == 42 == len(facs.CATALOG)
    assert facs.CATALOG[1].name == "Inner Brow Raiser"
    assert facs.CATALOG[1].description == "raises the inner ends of the eyebrows"
    for unit in facs.ACTION_UNITS:
        assert unit.description and unit.phrase and unit.drives
        for shape, weight in unit.drives:
            assert 0 < weight <= 1
            assert shape in arkit.INDEX or {shape + "Left", shape + "Right"} <= set(arkit.INDEX)


@pytest.mark.parametrize("code, expected", [
    ("12", dict(mouthSmileLeft=0.6, mouthSmileRight=0.6)),
    ("26E", dict(jawOpen=0.7)),
    ("4D", dict(browDownLeft=0.8, browDownRight=0.8)),
    ("45", dict(eyeBlinkLeft=0.6, eyeBlinkRight=0.6)),
    ("1B", dict(browInnerUp=0.4)),
    ("L12E", dict(mouthSmileLeft=1.0)),
    ("R14A", dict(mouthDimpleRight=0.2, mouthPressRight=0.04)),
    ("L25E", dict(mouthLowerDownLeft=0.4, mouthUpperUpLeft=0.15, jawOpen=0.075)),  # one-piece shape at half weight for a sided code
    ("R46", dict(eyeBlinkRight=0.6, cheekSquintRight=0.18)),
    ("61", dict(eyeLookOutLeft=0.6, eyeLookInRight=0.6)),
    ("AU66E", dict(eyeLookInLeft=1.0, eyeLookInRight=1.0)),
    ("8E", dict(mouthClose=0.8, jawOpen=0.4)),
    ("AU12L", dict(mouthSmileLeft=0.6)),
    ("12DR", dict(mouthSmileRight=0.8)),
    ("9", dict(noseSneerLeft=0.6, noseSneerRight=0.6, mouthUpperUpLeft=0.18, mouthUpperUpRight=0.18,
               browDownLeft=0.12, browDownRight=0.12)),
])
def test_rule_is_pinned(code: str, expected: dict) -> None:
    np.testing.assert_allclose(facs.aus_to_blendshapes([code]), _weights(**expected), atol=1e-6)


def test_rule_sums_and_clips() -> None:
    weights = facs.aus_to_blendshapes({"7": 1.0, "44": 1.0, "43": 1.0})
    assert weights[arkit.INDEX["eyeSquintLeft"]] == 1.0  # 1.0 + 0.7 clipped
    assert weights[arkit.INDEX["eyeBlinkLeft"]] == 1.0
    assert facs.aus_to_blendshapes({}).sum() == 0


def test_intensity_letters_and_numbers() -> None:
    assert [facs.parse_intensity(x) for x in "ABCDE"] == [0.2, 0.4, 0.6, 0.8, 1.0]
    assert facs.parse_intensity("0.35") == 0.35 and facs.parse_intensity(1) == 1.0
    assert facs.intensity_letter(0.62) == "C" and facs.intensity_letter(0.05) == "A"
    for bad in ("F", "1.5", -0.1, "loud", True):
        with pytest.raises(facs.FACSError, match="FACS letter A–E or a number from 0 to 1"):
            facs.parse_intensity(bad)


def test_codes_parse_and_bad_codes_say_what_is_accepted() -> None:
    assert facs.parse_code("AU12") == facs.AUCode(12)
    assert facs.parse_code(" r12a ") == facs.AUCode(12, "R", 0.2)
    assert facs.parse_prototype("1+2+5B+26") == {"1": 0.6, "2": 0.6, "5": 0.4, "26": 0.6}
    assert facs.normalize_aus({"AU12": "B", "12": 0.7, "L4": "A"}) == {"L4": 0.2, "12": 0.7}
    with pytest.raises(facs.FACSError, match="AU99 is not in the catalogue"):
        facs.parse_code("99")
    with pytest.raises(facs.FACSError, match="not of the form"):
        facs.parse_code("smile")
    assert facs.parse_code("AU12L") == facs.parse_code("L12") == facs.AUCode(12, "L")
    assert facs.parse_code("au 46 r") == facs.AUCode(46, "R") and facs.parse_code("12cl") == facs.AUCode(12, "L", 0.6)
    with pytest.raises(facs.FACSError, match="not of the form"):
        facs.parse_code("L12R")
    with pytest.raises(facs.FACSError, match="has no left/right form"):
        facs.parse_code("L26")
    with pytest.raises(facs.FACSError, match="write it as L46 or R46"):
        facs.parse_code("46")


def test_describe_reads_like_a_coder() -> None:
    assert facs.describe("1+15".split("+")) == "inner brows raised, lip corners pulled down"
    assert facs.describe({"R12": "A", "4": "E"}) == "brows strongly lowered and drawn together, right lip corner slightly pulled up"
    assert facs.describe({"L25": "C"}) == "lips parted on the left"
    assert facs.describe({"L12": 0.3, "R12": 0.8}) == "lip corners strongly pulled up (more on the right)"
    assert facs.describe({"L12": 0.5, "R12": 0.6, "19": "A"}) == "lip corners pulled up, tongue slightly stuck out"
    assert facs.describe({"43": "E", "R46": "E"}) == "eyes closed, winking the right eye"
    assert facs.describe({}) == "relaxed, neutral face"
    assert facs.name_list({"23": "C", "R12": "A", "4": 0.5}) == "AU4 Brow Lowerer, AU12 Lip Corner Puller (right), AU23 Lip Tightener"


@pytest.mark.parametrize("prototype", ["6+12", "1+4+15", "1+2+5B+26", "1+2+4+5+7+20+26", "4+5+7+23", "9+15+16",
                                       "R12A+R14A", "4C+7C+28B", "L12B+L14B",
                                       "1C+2C+5D+16B+26C", "4D+6C+7D+9C+10B+43B"])
def test_explain_recovers_the_aus_behind_a_prototype(prototype: str) -> None:
    aus = facs.parse_prototype(prototype)
    found = facs.explain(facs.aus_to_blendshapes(aus))
    assert set(found) == set(aus)
    for key, value in aus.items():
        assert found[key] == pytest.approx(value, abs=0.05)


def test_explain_of_a_neutral_face_is_empty_and_bad_input_is_named() -> None:
    assert facs.explain(np.zeros(52)) == {}
    with pytest.raises(arkit.BlendshapeError, match="Weights to explain"):
        facs.explain(np.full(52, np.nan))


def test_docs_table_matches_the_rule() -> None:
    assert (REPO / "docs" / "facs.md").read_text() == facs.rule_markdown() + "\n"
