"""The speech generator: shapes, E_sa, each loss, EPA, windowed inference without seams, timelines, blinks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from expclip.animation import timeline_mix, window_starts
from expclip.generator import Generator, GeneratorConfig, RelativePositionBias
from expclip.losses import LIP_SHAPES, aperture_loss, frame_reconstruction_loss, lip_motion_loss, style_loss
from expclip.motion import blinks
from head.arkit import INDEX
from train.generator.data import add_room_noise, augment_levels
from train.generator.fit import augment_prompts

CONFIG = GeneratorConfig(audio_dim=24, expression_encoder={"embed_dim": 16, "width": 16}, width=32, heads=2,
                         decoder_layers=1, pool_layers=1, max_distance=8)


@pytest.fixture(scope="module")
def generator() -> Generator:
    torch.manual_seed(0)
    return Generator(CONFIG).eval()


def test_shapes_and_range(generator: Generator) -> None:
    audio = torch.randn(3, 50, 24)
    style = torch.nn.functional.normalize(torch.randn(3, 16), dim=-1)
    out = generator(audio, style)
    assert out.shape == (3, 50, 52) and out.min() >= 0 and out.max() <= 1
    assert generator(audio[:, :7], style).shape == (3, 7, 52)  # any length


def test_pooling_is_a_convex_mix_of_the_clip_frames(generator: Generator) -> None:
    frames = torch.rand(4, 30, 52)
    weights = generator.pooling.frame_weights(frames)
    assert weights.shape == (4, 30) and torch.allclose(weights.sum(1), torch.ones(4), atol=1e-5)
    prompt = generator.expression_prompt(frames)
    assert prompt.shape == (4, 52)
    assert (prompt >= frames.min(1).values - 1e-6).all() and (prompt <= frames.max(1).values + 1e-6).all()
    still = torch.rand(1, 1, 52).expand(1, 20, 52)
    assert torch.allclose(generator.expression_prompt(still), still[:, 0], atol=1e-5)


def test_style_changes_the_output(generator: Generator) -> None:
    audio = torch.randn(1, 40, 24)
    a, b = torch.nn.functional.normalize(torch.randn(2, 16), dim=-1)
    assert (generator(audio, a[None]) - generator(audio, b[None])).abs().max() > 1e-4


def test_the_style_encoder_is_frozen_but_passes_gradients_to_its_input(generator: Generator) -> None:
    generator.train()
    assert not generator.style_encoder.training and generator.pooling.training
    assert not any(p.requires_grad for p in generator.style_encoder.parameters())
    expressions = torch.rand(2, 52, requires_grad=True)
    style = generator.style(expressions)
    assert style.shape == (2, 16) and torch.allclose(style.norm(dim=-1), torch.ones(2))
    style.sum().backward()
    assert expressions.grad is not None and expressions.grad.abs().sum() > 0
    generator.eval()


def test_relative_position_bias_depends_on_distance_only() -> None:
    bias = RelativePositionBias(heads=2, max_distance=3)
    torch.nn.init.normal_(bias.bias.weight)
    table = bias(6, torch.device("cpu"))
    assert table.shape == (2, 6, 6)
    assert torch.equal(table[:, 0, 1], table[:, 3, 4]) and torch.equal(table[:, 0, 5], table[:, 0, 4])  # clipped at 3
    assert not torch.equal(table[:, 0, 1], table[:, 1, 0])


def test_reconstruction_loss_is_l1() -> None:
    a, b = torch.zeros(2, 5, 52), torch.full((2, 5, 52), 0.25)
    assert frame_reconstruction_loss(a, b).item() == pytest.approx(0.25)


def test_lip_motion_loss_sees_only_changes_of_the_mouth_and_jaw() -> None:
    truth = torch.rand(2, 20, 52)
    assert lip_motion_loss(truth + 0.3, truth).item() == pytest.approx(0.0, abs=1e-6)  # a constant offset moves nothing
    eyes = truth.clone()
    eyes[..., INDEX["eyeBlinkLeft"]] = torch.rand(2, 20)
    assert lip_motion_loss(eyes, truth).item() == pytest.approx(0.0, abs=1e-6)
    still = truth.clone()
    still[..., list(LIP_SHAPES)] = truth[:, :1, list(LIP_SHAPES)]  # lips frozen on the first frame
    assert lip_motion_loss(still, truth).item() > 0.05
    assert INDEX["jawOpen"] in LIP_SHAPES and INDEX["browInnerUp"] not in LIP_SHAPES


def test_aperture_loss_weights_the_frames_where_the_lips_meet() -> None:
    truth = torch.zeros(1, 4, 52)
    truth[0, :, INDEX["jawOpen"]] = torch.tensor([0.4, 0.1, 0.4, 0.4])
    truth[0, 1, INDEX["mouthClose"]] = 0.1  # frame 1: lips shut (aperture 0)
    missed_closure = truth.clone()
    missed_closure[0, 1, INDEX["mouthClose"]] = 0.0  # aperture 0.1 where it should be 0
    shallow_vowel = truth.clone()
    shallow_vowel[0, 0, INDEX["jawOpen"]] = 0.3  # aperture off by the same 0.1 on an open frame
    assert aperture_loss(truth, truth) == 0
    assert aperture_loss(missed_closure, truth, 4.0) == pytest.approx(5 * 0.1 / 8)
    assert aperture_loss(shallow_vowel, truth, 4.0) == pytest.approx(0.1 / 8)
    # Only the opening counts: a smile does not change it.
    smiling = truth.clone()
    smiling[..., INDEX["mouthSmileLeft"]] = 0.8
    assert aperture_loss(smiling, truth) == 0


def test_level_augmentation_moves_speech_and_keeps_silence() -> None:
    rng = np.random.default_rng(0)
    features = np.full((30, 240), -2.0, np.float32)
    features[10:20] = rng.uniform(-1.5, 1.5, (10, 240))
    augmented = augment_levels(features, np.random.default_rng(1))
    assert np.array_equal(augmented[:10], features[:10]) and augmented.min() >= -2.0
    change = augmented[10:20] - features[10:20]
    assert np.abs(change).max() > 0.05 and np.abs(change).max() <= 0.8  # at most 16 dB
    # One offset per mel band, the same at the three readings of a frame.
    assert np.allclose(change[:, :80], change[:, 80:160], atol=1e-6) or (augmented[10:20] <= -2.0 + 1e-6).any()
    assert not np.array_equal(augment_levels(features, np.random.default_rng(2)), augmented)


def test_room_noise_fills_the_pauses_at_a_speech_relative_level() -> None:
    t = np.arange(32000) / 16000
    speech = np.zeros(32000, np.float32)
    speech[8000:24000] = 0.1 * np.sin(2 * np.pi * 220 * t[8000:24000])  # 1 s of tone between two silent halves
    snrs = []
    for seed in range(20):
        noisy = add_room_noise(speech, np.random.default_rng(seed))
        assert noisy.shape == speech.shape and noisy.dtype == np.float32
        pause = noisy[:8000]
        assert (pause ** 2).mean() > 0  # the pause is no longer digital silence
        snrs.append(10 * np.log10((speech[8000:24000] ** 2).mean() / (pause ** 2).mean()))
    assert 13 < min(snrs) and max(snrs) < 47 and max(snrs) - min(snrs) > 10  # spread over U[15, 45] dB
    again = add_room_noise(speech, np.random.default_rng(3))
    assert np.array_equal(add_room_noise(speech, np.random.default_rng(3)), again)
    assert np.array_equal(add_room_noise(speech[:100], np.random.default_rng(0)), speech[:100])  # too short to measure


def test_style_loss_is_the_squared_distance() -> None:
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    b = torch.tensor([[0.0, 1.0], [0.0, 1.0]])
    assert style_loss(a, b).item() == pytest.approx(1.0)
    assert style_loss(a, a).item() == 0.0


def test_expression_prompt_augmentation_mixes_towards_the_bank() -> None:
    prompts = torch.zeros(500, 52)
    bank = torch.ones(7, 52) * torch.arange(1, 8).float()[:, None] / 7
    mixed = augment_prompts(prompts, bank, torch.Generator().manual_seed(0))
    assert mixed.shape == (500, 52)
    ratio = mixed / bank.max()
    assert (ratio >= 0).all() and (ratio <= 1).all()
    # Each row is λ·(a bank row): constant across shapes, λ spread over [0, 1].
    assert torch.allclose(mixed, mixed[:, :1].expand(-1, 52))
    assert mixed[:, 0].min() < 0.05 and mixed[:, 0].max() > 0.8
    again = augment_prompts(prompts, bank, torch.Generator().manual_seed(0))
    assert torch.equal(mixed, again)


def test_windows_cover_every_frame() -> None:
    assert window_starts(100, 240, 30) == [0]
    starts = window_starts(1000, 240, 30)
    assert starts[0] == 0 and starts[-1] == 760 and all(b - a <= 210 for a, b in zip(starts, starts[1:]))


def test_timeline_mix_eases_between_prompts() -> None:
    mix = timeline_mix([0.0, 2.0], frames=120, fps=30.0, transition_s=0.6)
    assert mix.shape == (120, 2) and np.allclose(mix.sum(1), 1)
    assert mix[0, 0] == pytest.approx(1) and mix[-1, 1] == pytest.approx(1)
    assert 0.3 < mix[60, 1] < 0.7  # half-way at the change
    assert np.all(np.diff(mix[:, 1]) >= -1e-6) and np.abs(np.diff(mix[:, 1])).max() < 0.2  # smooth, no jump
    assert np.allclose(timeline_mix([0.0], 10, 30.0), 1)


def test_blinks_are_short_closures_at_natural_intervals() -> None:
    times = np.arange(30 * 60) / 30.0
    lids, starts = blinks(times, np.random.default_rng(3))
    assert lids.shape == (len(times), 2) and 10 <= len(starts) <= 30  # one blink every 2-6 s over a minute
    closed = lids[:, 0] > 0.5
    assert np.flatnonzero(closed[1:] & ~closed[:-1]).size == len(starts)
    assert closed.sum() / 30.0 < 0.25 * len(starts)  # each blink is brief
    assert lids.max() <= 1.0 and lids.min() == 0.0
    again, _ = blinks(times, np.random.default_rng(3))
    assert np.array_equal(lids, again)


def test_windowed_generation_has_no_seams(generator: Generator) -> None:
    from expclip.animation import Animator

    t = torch.arange(700, dtype=torch.float32)[:, None]
    features = torch.sin(t / 9.0 + torch.arange(24) * 0.7) + 0.3 * torch.cos(t / 23.0 + torch.arange(24))
    style = torch.nn.functional.normalize(torch.randn(16), dim=0)
    animator = Animator(generator, expressions=None, audio_encoder=None)
    windowed = animator.generate(features, style, window_s=100 / 30, overlap_s=20 / 30)
    whole = generator(features[None], style[None])[0].detach().numpy()
    assert windowed.shape == (700, 52)
    natural = np.abs(np.diff(whole, axis=0)).max()
    assert np.abs(np.diff(windowed, axis=0)).max() < 1.5 * natural  # no jump where windows meet
    assert np.abs(windowed - whole).mean() < 0.05  # and it agrees with one pass over the whole clip


def test_inference_mode_matches_training_mode_without_dropout() -> None:
    torch.manual_seed(1)
    model = Generator(GeneratorConfig(audio_dim=24, expression_encoder={"embed_dim": 16, "width": 16}, width=32,
                                      heads=2, decoder_layers=1, max_distance=8, dropout=0.0))
    torch.nn.init.normal_(model.pooling.position.bias.weight)  # a bias like a trained one
    frames, audio = torch.rand(2, 30, 52), torch.randn(2, 30, 24)
    style = model.style(model.expression_prompt(frames))
    trained_path = model(audio, style)
    with torch.inference_mode():
        model.eval()
        prompt = model.expression_prompt(frames)
        inferred = model(audio, model.style(prompt))
    assert not torch.isnan(prompt).any()
    assert torch.allclose(inferred, trained_path, atol=1e-5)


def test_speaking_prompt_raises_only_the_articulation_shapes(generator: Generator) -> None:
    from expclip.generator import ARTICULATION

    frames = torch.zeros(10, 52)
    frames[:, INDEX["jawOpen"]] = torch.linspace(0, 0.4, 10)
    frames[:, INDEX["mouthSmileLeft"]] = 0.9  # an expression shape: not part of the speaking mouth
    generator.set_speaking_mouth(frames)
    assert generator.speaking_mouth[INDEX["jawOpen"]] == pytest.approx(0.2)
    assert generator.speaking_mouth[INDEX["mouthSmileLeft"]] == 0
    expression = torch.zeros(2, 52)
    expression[0, INDEX["jawOpen"]] = 0.7  # a surprised open mouth stays open
    expression[:, INDEX["browInnerUp"]] = 0.5
    speaking = generator.speaking_prompt(expression)
    assert speaking[0, INDEX["jawOpen"]] == pytest.approx(0.7) and speaking[1, INDEX["jawOpen"]] == pytest.approx(0.2)
    assert torch.equal(speaking[:, INDEX["browInnerUp"]], expression[:, INDEX["browInnerUp"]])
    assert "jawOpen" in ARTICULATION and "mouthSmileLeft" not in ARTICULATION
    generator.speaking_mouth.zero_()
