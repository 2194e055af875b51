"""The ARKit vocabulary: names, groups, mirror pairs and conversions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from head import arkit


def test_52_unique_names_in_alphabetical_canonical_order():
    assert len(arkit.BLENDSHAPE_NAMES) == 52 == len(set(arkit.BLENDSHAPE_NAMES))
    assert list(arkit.BLENDSHAPE_NAMES) == sorted(arkit.BLENDSHAPE_NAMES)
    assert arkit.BLENDSHAPE_NAMES[0] == "browDownLeft" and arkit.BLENDSHAPE_NAMES[-1] == "tongueOut"


def test_groups_partition_the_names():
    grouped = [n for names in arkit.GROUPS.values() for n in names]
    assert sorted(grouped) == sorted(arkit.BLENDSHAPE_NAMES)
    assert arkit.GROUPS["jaw"] == ("jawForward", "jawLeft", "jawOpen", "jawRight")
    assert arkit.GROUPS["tongue"] == ("tongueOut",)


def test_mirror_pairs_swap_left_and_right():
    assert ("eyeBlinkLeft", "eyeBlinkRight") in arkit.MIRROR_PAIRS
    assert ("jawLeft", "jawRight") in arkit.MIRROR_PAIRS
    assert len(arkit.MIRROR_PAIRS) == 20  # 40 sided shapes + 12 central ones
    assert arkit.MIRROR["jawOpen"] == "jawOpen"
    w = arkit.from_dict({"mouthSmileLeft": 0.8, "jawLeft": 0.3, "jawOpen": 0.5})
    m = arkit.mirror(w)
    assert m[arkit.INDEX["mouthSmileRight"]] == pytest.approx(0.8)
    assert m[arkit.INDEX["jawRight"]] == pytest.approx(0.3)
    assert m[arkit.INDEX["jawOpen"]] == pytest.approx(0.5)
    np.testing.assert_array_equal(arkit.mirror(m), w)


def test_dict_vector_json_round_trip():
    w = np.random.default_rng(0).uniform(size=52).astype(np.float32)
    d = arkit.to_dict(w)
    assert list(d) == list(arkit.BLENDSHAPE_NAMES)
    np.testing.assert_allclose(arkit.from_dict(d), w, atol=1e-6)
    text = arkit.to_json(w)
    assert list(json.loads(text)["blendshapes"]) == list(arkit.BLENDSHAPE_NAMES)
    np.testing.assert_allclose(arkit.parse_weights(text), w, atol=1e-6)


def test_partial_dict_case_insensitive_and_clipped():
    w = arkit.from_dict({"JawOpen": 1.7, "eyeblinkleft": -0.2})
    assert w[arkit.INDEX["jawOpen"]] == 1.0
    assert w[arkit.INDEX["eyeBlinkLeft"]] == 0.0
    assert w.sum() == 1.0


def test_unknown_name_lists_nearest_valid_names():
    with pytest.raises(arkit.BlendshapeError, match="did you mean mouthSmileLeft"):
        arkit.from_dict({"mouthSmilLeft": 0.5})


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "abc", None])
def test_non_finite_or_non_numbers_are_rejected(bad):
    with pytest.raises(arkit.BlendshapeError, match="jawOpen"):
        arkit.from_dict({"jawOpen": bad})


def test_validate_rejects_nan_and_wrong_shape():
    with pytest.raises(arkit.BlendshapeError, match="NaN"):
        arkit.validate(np.full((3, 52), np.nan))
    with pytest.raises(arkit.BlendshapeError, match="last axis of 52"):
        arkit.validate(np.zeros(51))


def test_parse_weights_from_file_and_bad_json(tmp_path):
    path = tmp_path / "w.json"
    path.write_text('{"blendshapes": {"jawOpen": 0.25}}')
    assert arkit.parse_weights(path)[arkit.INDEX["jawOpen"]] == 0.25
    with pytest.raises(arkit.BlendshapeError, match="not valid JSON"):
        arkit.parse_weights('{"jawOpen": }')
    with pytest.raises(arkit.BlendshapeError, match="neither JSON text"):
        arkit.parse_weights(str(tmp_path / "missing.json"))


def test_csv_round_trip_project_and_live_link_face(tmp_path):
    frames = np.random.default_rng(1).uniform(size=(5, 52)).astype(np.float32)
    arkit.write_csv(tmp_path / "a.csv", frames)
    np.testing.assert_allclose(arkit.read_csv(tmp_path / "a.csv"), frames, atol=1e-6)
    arkit.write_csv(tmp_path / "llf.csv", frames, live_link_face=True, fps=30)
    header = (tmp_path / "llf.csv").read_text().splitlines()[0].split(",")
    assert header[:3] == ["Timecode", "BlendShapeCount", "EyeBlinkLeft"] and "HeadYaw" in header
    np.testing.assert_allclose(arkit.read_csv(tmp_path / "llf.csv"), frames, atol=1e-6)


def test_timecode_format():
    assert arkit._timecode(0, 30) == "00:00:00:00.000"
    assert arkit._timecode(31, 30) == "00:00:01:01.000"


def _unreal_live_link_face_import(path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Read a CSV the way Unreal's LiveLinkFaceImporter does → (curve names, times (T,), values (T, curves)).

    Its rules: the first two header columns are exactly Timecode and BlendShapeCount; every line has as
    many comma-separated values as the header; the rate is 60 when some frame number of hh:mm:ss:frame.zzz
    exceeds 30, else 30; a line's time is h·3600 + m·60 + s + frame / rate.
    """
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    keys = lines[0].split(",")
    assert keys[:2] == ["Timecode", "BlendShapeCount"]
    rows = [line.split(",") for line in lines[1:]]
    assert all(len(row) == len(keys) for row in rows)
    clocks = [tuple(row[0].split(":")) for row in rows]
    assert all(len(c) == 4 for c in clocks)
    rate = 60 if any(float(c[3]) > 30.0 for c in clocks) else 30
    times = np.array([int(h) * 3600 + int(m) * 60 + int(s) + float(f) / rate for h, m, s, f in clocks])
    values = np.array([[float(v) for v in row[2:]] for row in rows])
    assert all(int(row[1]) == len(keys) - 2 for row in rows)  # BlendShapeCount: the curves that follow (61)
    return keys[2:], times, values


@pytest.mark.parametrize("fps", [30, 60, 24, 25, 29.97, 50])
@pytest.mark.parametrize("count", [3, 95])
def test_live_link_face_csv_as_unreal_imports_it(tmp_path, fps, count):
    frames = np.random.default_rng(2).uniform(size=(count, 52)).astype(np.float32)
    path = arkit.write_csv(tmp_path / "take.csv", frames, live_link_face=True, fps=fps)
    names, times, values = _unreal_live_link_face_import(path)
    assert len(names) == 61 and names[:3] == ["EyeBlinkLeft", "EyeLookDownLeft", "EyeLookInLeft"]
    assert names[52:] == list(arkit.LIVE_LINK_FACE_EXTRA_COLUMNS)
    assert [n[0].lower() + n[1:] for n in names[:52]] == list(arkit.LIVE_LINK_FACE_ORDER)
    assert sorted(names[:52], key=str.lower) == sorted((n[0].upper() + n[1:] for n in arkit.BLENDSHAPE_NAMES), key=str.lower)
    np.testing.assert_allclose(times, np.arange(count) / fps, atol=2e-5)  # each frame at its time, none repeated
    order = [arkit.INDEX[n] for n in arkit.LIVE_LINK_FACE_ORDER]
    np.testing.assert_allclose(values[:, :52], frames[:, order], atol=1e-6)
    assert not values[:, 52:].any()
    np.testing.assert_allclose(arkit.read_csv(path), frames, atol=1e-6)


def test_live_link_face_csv_rejects_a_bad_frame_rate(tmp_path):
    with pytest.raises(arkit.BlendshapeError, match="Frame rate 0"):
        arkit.write_csv(tmp_path / "x.csv", np.zeros((2, 52)), live_link_face=True, fps=0)


def test_frames_from_the_projects_json(tmp_path):
    frames = np.random.default_rng(3).uniform(size=(4, 52)).astype(np.float32)
    animation = {"fps": 25.0, "frames": [arkit.to_dict(f) for f in frames], "styles": [], "notes": []}
    path = tmp_path / "anim.json"
    path.write_text(json.dumps(animation))
    read, fps = arkit.read_frames(path)
    assert fps == 25.0
    np.testing.assert_allclose(read, frames, atol=1e-6)
    one, fps = arkit.read_frames('{"blendshapes": {"jawOpen": 0.5}}')
    assert one.shape == (1, 52) and one[0, arkit.INDEX["jawOpen"]] == 0.5 and fps is None
    arkit.write_csv(tmp_path / "anim.csv", frames)
    np.testing.assert_allclose(arkit.read_frames(tmp_path / "anim.csv")[0], frames, atol=1e-6)
    with pytest.raises(arkit.BlendshapeError, match="Frame 1: Unknown blendshape name 'jawOpn'"):
        arkit.frames_from_json({"frames": [{}, {"jawOpn": 1}]})
    with pytest.raises(arkit.BlendshapeError, match="empty list of frames"):
        arkit.frames_from_json({"frames": []})
    path.write_text('{"fps": -1, "frames": [{}]}')
    with pytest.raises(arkit.BlendshapeError, match='"fps": -1'):
        arkit.read_frames(path)
    with pytest.raises(arkit.BlendshapeError, match="not an existing CSV or JSON file"):
        arkit.read_frames(tmp_path / "missing.json")


def test_csv_errors_name_file_and_problem(tmp_path):
    bad_name = tmp_path / "bad.csv"
    bad_name.write_text("jawOpen,mouthSmil\n0.1,0.2\n")
    with pytest.raises(arkit.BlendshapeError, match=r"bad.csv: column 2: Unknown blendshape name 'mouthSmil'"):
        arkit.read_csv(bad_name)
    bad_value = tmp_path / "value.csv"
    bad_value.write_text("jawOpen\nabc\n")
    with pytest.raises(arkit.BlendshapeError, match="line 2.*'abc' is not a number"):
        arkit.read_csv(bad_value)
    with pytest.raises(arkit.BlendshapeError, match="does not exist"):
        arkit.read_csv(tmp_path / "none.csv")
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00\x81")
    with pytest.raises(arkit.BlendshapeError, match="could not be read"):
        arkit.read_csv(binary)


def test_strongest_lists_the_largest_weights() -> None:
    from head.arkit import from_dict, strongest

    weights = from_dict({"jawOpen": 0.7, "mouthSmileLeft": 0.3, "eyeBlinkLeft": 0.01})
    assert strongest(weights) == [("jawOpen", pytest.approx(0.7)), ("mouthSmileLeft", pytest.approx(0.3))]
    assert strongest(weights, count=1) == [("jawOpen", pytest.approx(0.7))]
