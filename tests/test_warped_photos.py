"""The warp that makes expressions on real faces for benchmarks.bench_warped_photos."""

from __future__ import annotations

import numpy as np

from benchmarks.bench_warped_photos import warp_points, with_expression
from head import arkit


def test_the_warp_moves_the_pixels_at_the_points_to_their_targets() -> None:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (120, 160, 3)).astype(np.uint8)
    points = np.array([[40.0, 40.0], [120.0, 40.0], [80.0, 90.0], [60.0, 60.0], [100.0, 70.0]])
    assert np.abs(warp_points(image, points, points).astype(int) - image).max() <= 1  # nothing moves
    image[58:63, 58:63] = [255, 0, 0]  # a red square around the point (60, 60)
    moved = points.copy()
    moved[3] += [6.0, 4.0]
    warped = warp_points(image, points, moved)
    assert tuple(warped[64, 66]) == (255, 0, 0)  # it followed its point
    assert np.array_equal(warped[0], image[0]) and np.array_equal(warped[:, -1], image[:, -1])  # the border stays


def test_an_expression_moves_the_face_it_is_made_on(renderer) -> None:
    from expclip.landmarks import shared_detector

    image = renderer.render(np.zeros(52))
    points = shared_detector().detect_all(image)[0]
    smile = with_expression(image, points, arkit.from_dict({"mouthSmileLeft": 1.0, "mouthSmileRight": 1.0}))
    moved = shared_detector().detect_all(smile)[0]
    corners = [61, 291]  # the mouth corners go up (y down in pixels) and out
    assert (moved[corners, 1] < points[corners, 1] - 2).all()
    assert np.linalg.norm(moved[61, :2] - moved[291, :2]) > np.linalg.norm(points[61, :2] - points[291, :2]) + 2
    assert np.abs(moved[[1, 4, 168], :2] - points[[1, 4, 168], :2]).max() < 2  # the nose stays
