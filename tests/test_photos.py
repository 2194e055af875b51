"""The real-photo evaluation's rules and labels, the head-turn note, and the fit that solves the face's own shape."""

from __future__ import annotations

import numpy as np
import pytest

from expclip.landmarks import MAX_YAW, head_turn
from head import arkit
from train.expclip.photos import agreement, photo_label


def _w(**values: float) -> np.ndarray:
    return arkit.from_dict(values)


@pytest.mark.parametrize("label, agrees, disagrees", [
    ("normal", _w(mouthSmileLeft=0.25, browDownLeft=0.2), _w(mouthPressRight=0.35)),
    ("happy", _w(mouthSmileLeft=0.4, mouthSmileRight=0.3), _w(mouthSmileLeft=0.5)),  # one corner: mean 0.25
    ("surprised", _w(browInnerUp=0.5, jawOpen=0.4), _w(browInnerUp=0.5)),
    ("sad", _w(mouthFrownLeft=0.4, mouthFrownRight=0.4), _w(mouthFrownLeft=0.4, mouthFrownRight=0.4,
                                                            mouthSmileLeft=0.5, mouthSmileRight=0.5)),
    ("sleepy", _w(eyeBlinkLeft=0.7, eyeBlinkRight=0.9), _w(eyeBlinkLeft=0.69, eyeBlinkRight=1.0)),
    ("wink", _w(eyeBlinkLeft=0.9, eyeBlinkRight=0.4), _w(eyeBlinkLeft=0.9, eyeBlinkRight=0.45)),
    ("angry", _w(browDownLeft=0.4, browDownRight=0.3), _w(browDownLeft=0.4, browDownRight=0.1)),
])
def test_each_label_has_a_rule_that_can_fail(label: str, agrees: np.ndarray, disagrees: np.ndarray) -> None:
    assert agreement(label, agrees)[0] and not agreement(label, disagrees)[0]
    with pytest.raises(ValueError, match="Unknown label 'bored'"):
        agreement("bored", agrees)


def test_labels_come_from_the_name_or_the_folder(tmp_path) -> None:
    assert photo_label("yale_subject04.sleepy.gif") == "sleepy"
    assert photo_label(tmp_path / "wink" / "IMG_001.jpg") == "wink"
    assert photo_label("me.smiling.png") == "happy" and photo_label("neutral/a.jpg") == "normal"
    assert photo_label("holiday.jpg") is None


def _turned(points: np.ndarray, yaw: float = 0.0, pitch: float = 0.0) -> np.ndarray:
    """Pixel landmarks ``(478, 3)`` turned about their centre by ``yaw`` and then ``pitch`` degrees."""
    y, p = np.radians([yaw, pitch])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    centre = points.mean(0)
    return (points - centre) @ (rx @ ry).T + centre


@pytest.fixture(scope="module")
def front_landmarks(renderer) -> np.ndarray:
    """MediaPipe's landmarks ``(478, 3)`` of a front render of the ICT head."""
    from expclip.landmarks import detect

    return detect(renderer.render(np.zeros(52))).points.astype(np.float64)


def test_head_turn_reads_yaw_and_pitch(front_landmarks: np.ndarray) -> None:
    yaw, pitch = head_turn(front_landmarks)
    assert abs(yaw) < 3 and abs(pitch) < 3
    assert abs(head_turn(_turned(front_landmarks, yaw=45))[0]) == pytest.approx(45, abs=3)
    assert abs(head_turn(_turned(front_landmarks, pitch=30))[1]) == pytest.approx(30, abs=3)
    assert abs(head_turn(_turned(front_landmarks, yaw=20))[0]) < MAX_YAW


def test_the_fit_takes_a_faces_own_shape_for_no_expression(rig) -> None:
    """Landmarks of random ICT faces (the fitter's own linear model) making one expression, shifted, turned and
    scaled: with identity modes the weights come back; without them the face's shape reads as an expression."""
    from expclip.fitting import BlendshapeFitter
    from head.geometry import PIXELS_TO_RIG_AXES
    from head.identity import sample_identity

    with_shape, without = BlendshapeFitter.for_rig(rig), BlendshapeFitter.for_rig(rig, identities=False)
    truth = _w(mouthSmileLeft=0.6, mouthSmileRight=0.6, browInnerUp=0.4)
    errors = {"with": [], "without": []}
    for seed in (1, 2, 3):
        landmarks = with_shape._model(truth, sample_identity(seed).coefficients.astype(np.float64))
        pixels = _turned(20.0 * landmarks * PIXELS_TO_RIG_AXES, yaw=10, pitch=5) + [300.0, 250.0, 0.0]
        errors["with"].append(np.abs(with_shape.fit(pixels).weights - truth).mean())
        errors["without"].append(np.abs(without.fit(pixels).weights - truth).mean())
    assert max(errors["with"]) < 0.03 and np.mean(errors["without"]) > 1.5 * np.mean(errors["with"]), errors
