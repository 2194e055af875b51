"""The image path's calibration: dead zones measured on renders, the floor and the merge, and a stale file refused."""

from __future__ import annotations

import numpy as np
import pytest

from expclip.image_calibration import ImageCalibration, fingerprint, load_calibration, measure
from head import arkit


def _w(**values: float) -> np.ndarray:
    return arkit.from_dict(values).astype(np.float64)


def test_the_merge_keeps_only_the_fits_asymmetry_beyond_its_dead_zone() -> None:
    zone = np.full(52, 0.1)
    calibration = ImageCalibration(zone, np.zeros(52))
    projected = _w(mouthSmileLeft=0.3, mouthSmileRight=0.3)
    merged = calibration.merge(projected, _w(mouthSmileLeft=0.6, mouthSmileRight=0.2, browDownLeft=0.15))
    assert merged[arkit.INDEX["mouthSmileLeft"]] == pytest.approx(0.4)   # half-difference 0.2, 0.1 beyond the zone
    assert merged[arkit.INDEX["mouthSmileRight"]] == pytest.approx(0.2)
    assert merged[arkit.INDEX["browDownLeft"]] == 0.0                    # half-difference 0.075: noise
    assert np.allclose(ImageCalibration.none().merge(projected, projected), projected)


def test_the_floor_takes_off_what_faces_without_a_shape_read_and_stretches_the_rest() -> None:
    calibration = ImageCalibration(np.zeros(52), np.full(52, 0.2))
    out = calibration.floor(_w(mouthSmileLeft=0.6, browDownLeft=0.15, jawOpen=1.0))
    assert out[arkit.INDEX["mouthSmileLeft"]] == pytest.approx(0.5)
    assert out[arkit.INDEX["browDownLeft"]] == 0.0 and out[arkit.INDEX["jawOpen"]] == pytest.approx(1.0)


def test_measure_finds_the_floor_of_shapes_absent_from_the_renders() -> None:
    rng = np.random.default_rng(0)
    truth = np.zeros((400, 52))
    truth[:200, arkit.INDEX["jawOpen"]] = rng.uniform(0.3, 1.0, 200)
    projected = truth + np.abs(rng.normal(0, 0.05, truth.shape))          # a reading with a small positive bias
    projected[:, arkit.INDEX["mouthSmileLeft"]] += 0.2                      # and one shape read on every face
    fitted = projected.copy()
    fitted[:, arkit.INDEX["browDownLeft"]] += rng.uniform(0, 0.3, 400)      # one-sided noise of the fit
    calibration = measure(projected, fitted, truth)
    smile_left, smile_right = calibration.neutral[[arkit.INDEX["mouthSmileLeft"], arkit.INDEX["mouthSmileRight"]]]
    assert smile_left == smile_right and 0.1 < smile_left < 0.2              # both sides alike: the pair's mean
    assert calibration.neutral[arkit.INDEX["cheekPuff"]] < 0.1
    assert 0.12 < calibration.asymmetry[arkit.INDEX["browDownLeft"]] < 0.17  # about the 95th percentile of U(0, 0.15)
    assert calibration.asymmetry[arkit.INDEX["jawOpen"]] == 0.0


def test_a_calibration_of_other_weights_is_not_used(tmp_path) -> None:
    import torch

    from expclip.model import ExpCLIPConfig
    from expclip.model import ExpCLIP

    torch.manual_seed(0)
    model = ExpCLIP(ExpCLIPConfig(embed_dim=16, width=16, heads=2, encoder_layers=1, decoder_layers=1,
                                  image_encoder="landmarks", image_dim=1434))
    calibration, note = load_calibration(tmp_path, model)
    assert note is None and np.all(calibration.neutral == 0)  # none measured: none used
    ImageCalibration(np.full(52, 0.1), np.full(52, 0.2), fingerprint(model)).save(tmp_path)
    calibration, note = load_calibration(tmp_path, model)
    assert note is None and np.allclose(calibration.neutral, 0.2) and np.allclose(calibration.asymmetry, 0.1)
    with torch.no_grad():
        next(model.image_projector.parameters()).add_(1.0)  # P_img retrained
    calibration, note = load_calibration(tmp_path, model)
    assert np.all(calibration.neutral == 0) and "another P_img" in note
