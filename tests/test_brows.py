"""The brow measure (expclip.brows): its constants hold on the rig, relaxed brows read nothing, a scowl reads."""

from __future__ import annotations

import numpy as np
import pytest

from expclip.brows import FULL_DOWN, RELAXED_SPREAD, brow_heights, measured_brows_down, relaxed_heights, \
    with_measured_brows
from expclip.fitting import default_fitter
from head import arkit


def _pixels(weights: dict[str, float], identity: np.ndarray | None = None) -> np.ndarray:
    """The rig's landmark model at ``weights`` (and identity coefficients) as pixel landmarks (y down)."""
    fitter = default_fitter()
    vector = np.zeros(arkit.NUM_BLENDSHAPES)
    for name, value in weights.items():  # a weight may exceed 1 here: a real scowl moves further than the rig's
        vector[arkit.INDEX[name]] = value
    points = fitter.neutral + np.tensordot(vector, fitter.deltas, 1)
    if identity is not None:
        points = points + np.tensordot(identity, fitter.identity_modes, 1)
    return points * np.array([40.0, -40.0, -40.0]) + np.array([256.0, 256.0, 0.0])


def test_the_constants_are_what_the_rig_measures() -> None:
    rest = brow_heights(_pixels({}))
    down = brow_heights(_pixels({"browDownLeft": 1.0, "browDownRight": 1.0}))
    assert np.mean([rest[s] - down[s] for s in rest]) == pytest.approx(FULL_DOWN, abs=0.005)
    rng = np.random.default_rng(0)
    heights = [np.mean(list(brow_heights(_pixels({}, rng.standard_normal(30))).values())) for _ in range(500)]
    assert np.mean(heights) - np.quantile(heights, 0.1) == pytest.approx(RELAXED_SPREAD, abs=0.004)


def test_relaxed_brows_read_nothing_and_a_scowl_reads_its_side() -> None:
    relaxed = brow_heights(_pixels({}))
    assert measured_brows_down(_pixels({}), relaxed) == {"browDownLeft": 0.0, "browDownRight": 0.0}
    assert max(measured_brows_down(_pixels({"browInnerUp": 1.0}), relaxed).values()) == 0.0
    scowl = measured_brows_down(_pixels({"browDownLeft": 2.0}), relaxed)  # as far as a real scowl moves the brows
    assert scowl["browDownLeft"] == pytest.approx(1.0) and scowl["browDownRight"] < 0.2
    weights = arkit.from_dict({"browDownRight": 0.7})
    out = with_measured_brows(weights, _pixels({"browDownLeft": 2.0}), relaxed)
    assert out[arkit.INDEX["browDownLeft"]] == pytest.approx(1.0)
    assert out[arkit.INDEX["browDownRight"]] == pytest.approx(0.7)  # never lowered by the measure
    assert weights[arkit.INDEX["browDownLeft"]] == 0.0  # the input is left alone


def test_the_mean_real_face_is_the_relaxed_reference() -> None:
    heights = relaxed_heights()
    assert heights["Left"] == pytest.approx(heights["Right"], abs=1e-3)  # the canonical face is symmetric
    assert 0.25 < heights["Left"] < 0.4
