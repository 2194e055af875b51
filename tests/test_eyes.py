"""Eye closure from the eyelid landmarks: the calibration holds on renders; closed lids set eyeBlink, open ones cap it."""

from __future__ import annotations

import numpy as np
import pytest

from expclip.eyes import CLOSED_RATIO, OPEN_RATIO, eyelid_blinks, lid_ratios, with_measured_lids
from head import arkit


@pytest.fixture(scope="module")
def detect(landmark_correspondence):
    from expclip.landmarks import LandmarkDetector

    detector = LandmarkDetector()
    return lambda image: detector.detect(image, "render").points


def test_the_calibration_is_what_mediapipe_sees_on_the_rig(rig, detect) -> None:
    from render.renderer import render_still

    def render(blink: dict[str, float]) -> np.ndarray:
        return render_still(arkit.from_dict(blink), size=512)  # as the constants were measured

    def ratios(blink: dict[str, float]) -> dict[str, float]:
        return lid_ratios(detect(render(blink)))

    opened = ratios({})
    closed = ratios({"eyeBlinkLeft": 1.0, "eyeBlinkRight": 1.0})
    assert np.mean(list(opened.values())) == pytest.approx(OPEN_RATIO, abs=0.03)
    assert np.mean(list(closed.values())) == pytest.approx(CLOSED_RATIO, abs=0.03)
    wink = eyelid_blinks(detect(render({"eyeBlinkLeft": 1.0})))
    assert wink["eyeBlinkLeft"] > 0.8 and wink["eyeBlinkRight"] < 0.2  # the subject's own left


def _eyes(left_gap: float, right_gap: float) -> np.ndarray:
    """Landmarks with eyes 10 px wide whose lids are ``gap`` px apart (the rest at the origin)."""
    points = np.zeros((478, 3), np.float32)
    for (upper, lower, corners), gap, x in ((((386, 385, 387), (374, 380, 373), (263, 362)), left_gap, 60.0),
                                             (((159, 158, 160), (145, 153, 144), (33, 133)), right_gap, 20.0)):
        points[list(corners), 0] = [x + 5, x - 5]
        points[list(upper), :2] = [x, 50 - gap / 2]
        points[list(lower), :2] = [x, 50 + gap / 2]
    return points


def test_closed_lids_set_the_blink_and_open_lids_only_cap_it() -> None:
    assert lid_ratios(_eyes(1.0, 3.0)) == pytest.approx({"Left": 0.1, "Right": 0.3})
    weights = np.zeros(52, np.float32)
    weights[[arkit.INDEX["eyeBlinkLeft"], arkit.INDEX["eyeBlinkRight"]]] = [0.3, 0.3]
    out = with_measured_lids(weights, _eyes(OPEN_RATIO * 10 * 0.1, OPEN_RATIO * 10))  # left nearly shut, right open
    assert out[arkit.INDEX["eyeBlinkLeft"]] > 0.9 and out[arkit.INDEX["eyeBlinkRight"]] == 0.0
    half = with_measured_lids(weights, _eyes(OPEN_RATIO * 10 * 0.7, OPEN_RATIO * 10 * 0.7))
    assert half[arkit.INDEX["eyeBlinkLeft"]] == pytest.approx(0.3)  # less than half shut: the face's own value stays
    assert weights[arkit.INDEX["eyeBlinkLeft"]] == np.float32(0.3)  # the input is left alone
