"""The fitter's box QP is exact: the KKT conditions hold and it agrees with SciPy's L-BFGS-B, from any start."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize

from expclip.fitting import box_qp


@pytest.mark.parametrize("seed", range(4))
def test_box_qp_finds_the_bounded_minimiser(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 52
    a = rng.normal(size=(80, n))
    hessian = a.T @ a + 0.1 * np.eye(n)
    linear = a.T @ rng.normal(size=80) * 3.0  # strong enough that many weights sit on a bound
    upper = np.where(rng.random(n) < 0.1, 0.0, 1.0)  # some shapes may not move at all
    reference = minimize(lambda w: (w @ hessian @ w - 2 * linear @ w, 2 * (hessian @ w - linear)), np.zeros(n),
                         jac=True, method="L-BFGS-B", bounds=list(zip(np.zeros(n), upper)),
                         options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 10000}).x
    for start in (np.zeros(n), rng.random(n), np.ones(n)):
        found = box_qp(hessian, linear, upper, start)
        pull = linear - hessian @ found  # minus half the gradient
        inside = (found > 0) & (found < upper)
        assert np.all(found >= 0.0) and np.all(found <= upper) and 0 < inside.sum() < n
        assert np.abs(pull[inside]).max() < 1e-9
        assert np.all(pull[(found == 0) & (upper > 0)] <= 1e-9)
        assert np.all(pull[(found == upper) & (upper > 0)] >= -1e-9)
        assert np.abs(found - reference).max() < 1e-5


def test_without_identity_leaves_the_mean_face_making_the_same_expression(rig) -> None:
    """Landmarks of random ICT faces (the fitter's own model) smiling, scaled and shifted into pixels: taking the
    fitted identity out brings them, up to pose (which P_img's input normalises away), well toward the mean face's
    smiling landmarks (the prior c ~ N(0, 1) shrinks the fitted identity, so not all the way)."""
    from expclip.fitting import BlendshapeFitter
    from expclip.landmarks import normalise
    from head import arkit
    from head.geometry import PIXELS_TO_RIG_AXES
    from head.identity import sample_identity

    fitter = BlendshapeFitter.for_rig(rig)
    smile = arkit.from_dict({"mouthSmileLeft": 0.6, "mouthSmileRight": 0.6}).astype(np.float64)

    def pixels(identity: np.ndarray) -> np.ndarray:
        return 20.0 * fitter._model(smile, identity) * PIXELS_TO_RIG_AXES + [300.0, 250.0, 0.0]

    left = []
    for seed in (4, 5, 6):
        coefficients = sample_identity(seed).coefficients.astype(np.float64)
        face, mean_face = pixels(coefficients), pixels(np.zeros_like(coefficients))
        taken_out = fitter.without_identity(face, fitter.fit(face))
        error, before = (np.abs(normalise(x) - normalise(mean_face)).mean() for x in (taken_out, face))
        left.append(error / before)
    assert np.mean(left) < 0.5 and max(left) < 0.6, left
