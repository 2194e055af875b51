"""Spherical interpolation between prompts, and the looping clip of the manifold tab."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from expclip.interpolation import interpolate, round_trip, slerp


def test_slerp_starts_and_ends_at_the_ends_and_stays_on_the_sphere() -> None:
    a, b = torch.tensor([1.0, 0.0, 0.0]), torch.tensor([0.0, 3.0, 0.0])
    path = slerp(a, b, torch.linspace(0, 1, 5))
    torch.testing.assert_close(path[0], a)
    torch.testing.assert_close(path[-1], b / 3)
    torch.testing.assert_close(path.norm(dim=1), torch.ones(5))
    torch.testing.assert_close(path[2], torch.tensor([1.0, 1.0, 0.0]) / 2 ** 0.5)  # half way along the arc
    torch.testing.assert_close(slerp(a, a * 2, torch.linspace(0, 1, 3)), a.expand(3, -1))  # one direction


def test_round_trip_goes_there_holds_and_comes_back() -> None:
    frames = np.arange(3 * 52, dtype=np.float32).reshape(3, 52)
    loop = round_trip(frames, hold=2)
    assert loop.shape == (10, 52)
    np.testing.assert_array_equal(loop[3:5], frames[[2, 2]])
    np.testing.assert_array_equal(loop[5:8], frames[::-1])
    np.testing.assert_array_equal(loop[-1], frames[0])


def test_interpolate_decodes_every_step_between_the_prompts() -> None:
    from expclip.encoders import create_encoder
    from expclip.model import ExpCLIP, ExpCLIPConfig
    from expclip.pipeline import TextToExpression

    torch.manual_seed(0)
    config = ExpCLIPConfig(text_dim=384, embed_dim=8, width=16, heads=2, encoder_layers=1, decoder_layers=1,
                           ff_mult=2, projector_hidden=32, dropout=0.0)
    pipe = TextToExpression(ExpCLIP(config).eval(), create_encoder("minilm"))
    frames, z = interpolate(pipe, "calm", "furious", steps=7)
    assert frames.shape == (7, 52) and z.shape == (2, 8)
    np.testing.assert_allclose(frames[0], pipe.weights("calm")[0], atol=1e-5)
    np.testing.assert_allclose(frames[-1], pipe.weights("furious")[0], atol=1e-5)
    with pytest.raises(ValueError, match="at least 2 steps"):
        interpolate(pipe, "calm", "furious", steps=1)
