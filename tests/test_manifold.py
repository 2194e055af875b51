"""The expression map: E's embeddings of TEAD samples in 2-D, marks placed by neighbours, clicks picked."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from expclip.manifold import ExpressionMap, MapFrame, project_2d
from expclip.model import ExpCLIP, ExpCLIPConfig
from expclip.tead import TeadSample, write_tead

TINY = ExpCLIPConfig(text_dim=16, embed_dim=8, width=16, heads=2, encoder_layers=1, decoder_layers=1, ff_mult=2,
                     projector_hidden=32, dropout=0.0)


@pytest.fixture(scope="module")
def emap(tmp_path_factory) -> ExpressionMap:
    rng = np.random.default_rng(0)
    samples = [TeadSample(f"text {i}", [("joy", "anger", "fear")[i % 3]], {}, "", "",
                          rng.uniform(0, 1, 52).astype(np.float32), {("joy", "anger", "fear")[i % 3]: 1.0})
               for i in range(40)]
    folder = write_tead(tmp_path_factory.mktemp("tead"), samples[:5], samples, {"size": 40})
    torch.manual_seed(0)
    return ExpressionMap.from_tead(ExpCLIP(TINY).eval(), Path(folder) / "test.jsonl", points=30)


def test_the_map_samples_embeds_and_draws(emap: ExpressionMap) -> None:
    assert emap.z.shape == (30, 8) and emap.points.shape == (30, 2) and len(emap.labels) == len(emap.texts) == 30
    np.testing.assert_allclose(np.linalg.norm(emap.z, axis=1), 1, atol=1e-5)
    assert set(emap.labels) == {"joy", "anger", "fear"} and emap.method in ("t-SNE", "PCA")
    assert emap.image.ndim == 3 and emap.image.shape[2] == 3 and emap.image.dtype == np.uint8
    assert emap.plot() is emap.image  # the plain map is drawn once


def test_clicks_pick_the_point_under_them_and_marks_do_not_move_the_frame(emap: ExpressionMap) -> None:
    pixels = emap.frame.to_pixels(emap.points)
    assert np.allclose(pixels[emap.pick(*pixels[7])], pixels[7])
    with pytest.raises(ValueError, match="click on one of the coloured dots"):
        emap.pick(1.0, 1.0)
    marked = emap.plot({"near 3": emap.z[3]}, picked={"From": 5})
    assert marked.shape == emap.image.shape and not np.array_equal(marked, emap.image)
    np.testing.assert_allclose(emap.place(emap.z[3]), emap.points[np.argsort(-(emap.z @ emap.z[3]))[:5]].mean(0))


def test_frame_maps_corners_and_pca_without_neighbours() -> None:
    frame = MapFrame(10, 20, 100, 50, (0.0, 1.0), (0.0, 2.0))
    np.testing.assert_allclose(frame.to_pixels(np.array([[0.0, 0.0], [1.0, 2.0]])), [[10, 70], [110, 20]])
    points, _ = project_2d(np.random.default_rng(0).normal(size=(12, 4)).astype(np.float32))
    assert points.shape == (12, 2) and np.isfinite(points).all()


def test_an_empty_split_is_refused(tmp_path: Path) -> None:
    folder = write_tead(tmp_path, [], [], {"size": 0})
    with pytest.raises(ValueError, match="holds no TEAD samples"):
        ExpressionMap.from_tead(ExpCLIP(TINY), Path(folder) / "test.jsonl")
