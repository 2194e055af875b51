"""Phone-aware lips over a generator's mouth: closures on bilabials, rest in pauses, the style kept."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from expclip.articulation import (LOUDNESS_RANGE, SPEECH_GAIN, articulate, audio_lips, follow_loudness, opening_scale,
                                  speaking_level)
from head import arkit

I = arkit.INDEX


@dataclass(frozen=True)
class Phone:
    label: str
    start: float
    end: float


def _gap(frames: np.ndarray) -> np.ndarray:
    return frames[:, I["jawOpen"]] - frames[:, I["mouthClose"]]


def test_a_mumbling_mouth_closes_on_b_rests_in_the_pause_and_keeps_its_smile() -> None:
    fps, frames = 30.0, np.zeros((60, 52), np.float32)
    frames[:, I["jawOpen"]] = 0.15  # lips a little apart throughout, as the generator does on real voices
    frames[:, [I["mouthSmileLeft"], I["mouthSmileRight"]]] = 0.6
    rest = np.zeros(52, np.float32)
    rest[[I["mouthSmileLeft"], I["mouthSmileRight"]]] = 0.6
    phones = [Phone("SIL", 0.0, 0.2), Phone("B", 0.2, 0.3), Phone("AA", 0.3, 0.6), Phone("SIL", 0.6, 1.3),
              Phone("AA", 1.3, 1.6), Phone("SIL", 1.6, 2.0)]
    out = articulate(frames, phones, fps, rest)
    assert out.shape == frames.shape and 0 <= out.min() and out.max() <= 1
    assert _gap(out)[6:9].min() < 0.005 and _gap(out)[6:9].mean() < 0.02  # the /b/: lips together
    assert _gap(out)[11:17].mean() > 0.15         # the /a/ opens wider than the mumble
    assert _gap(out)[26:33].max() < 0.03          # the pause rests
    np.testing.assert_allclose(out[:, I["mouthSmileLeft"]], 0.6)  # the style outside the speech shapes is kept


def test_without_phones_the_face_rests_at_its_style() -> None:
    frames = np.full((30, 52), 0.2, np.float32)
    out = articulate(frames, [Phone("SIL", 0.0, 1.0)], 30.0, np.zeros(52, np.float32))
    assert _gap(out).max() < 1e-6 and out[:, I["browInnerUp"]].min() == np.float32(0.2)


def test_the_opening_follows_the_loudness_around_the_style() -> None:
    frames = np.zeros((40, 52), np.float32)
    frames[:, I["jawOpen"]] = 0.5                       # the generator's mouth: the same opening throughout
    frames[:, I["mouthFunnel"]] = 0.3
    rest = np.zeros(52, np.float32)
    rest[I["jawOpen"]] = 0.2                            # a style whose mouth hangs open (surprise)
    envelope = np.r_[np.full(10, 0.0), np.full(10, 0.5), np.full(10, 1.0), np.full(10, 0.5)]
    out = follow_loudness(frames, envelope, rest=rest)
    jaw = out[:, I["jawOpen"]]
    assert jaw[:10] == pytest.approx(0.2 + LOUDNESS_RANGE[0] * 0.3)  # silence: back toward the style's own mouth
    assert jaw[10:20] == pytest.approx(0.5)             # the median speaking level: as the generator made it
    assert jaw[20:30] == pytest.approx(0.5)             # twice as loud: no wider than the generator made it
    widened = follow_loudness(frames, envelope, rest=rest, widest=LOUDNESS_RANGE[1])[:, I["jawOpen"]]
    assert widened[20:30] == pytest.approx(0.2 + 1.6 * 0.3)  # as the talking corpus does: wider (within its range)
    np.testing.assert_array_equal(out[:, I["mouthFunnel"]], frames[:, I["mouthFunnel"]])  # only the opening
    assert follow_loudness(frames, np.zeros(40), rest=rest) is frames   # silence: nothing to follow
    assert follow_loudness(frames, envelope, power=0.0) is frames


def test_phone_aware_lips_open_with_the_loudness_but_still_meet_on_b() -> None:
    fps, frames = 30.0, np.zeros((60, 52), np.float32)
    frames[:, I["jawOpen"]] = 0.15
    phones = [Phone("SIL", 0.0, 0.2), Phone("B", 0.2, 0.3), Phone("AA", 0.3, 1.3), Phone("SIL", 1.3, 2.0)]
    t = np.arange(2 * 16_000) / 16_000
    quiet_then_loud = (np.where(t < 0.8, 0.02, 0.3) * np.sin(2 * np.pi * 150 * t)).astype(np.float32)
    quiet_then_loud[(t < 0.3) | (t > 1.3)] = 0.0
    followed = articulate(frames, phones, fps, np.zeros(52, np.float32), quiet_then_loud)
    plain = articulate(frames, phones, fps, np.zeros(52, np.float32), quiet_then_loud, loudness=False)
    assert _gap(followed)[6:9].min() < 0.005                    # the /b/ still closes
    assert _gap(followed)[13:22].mean() < _gap(plain)[13:22].mean()  # the quiet part of the vowel narrows
    assert _gap(followed)[27:37].mean() == pytest.approx(_gap(plain)[27:37].mean(), abs=0.02)  # the loud part stays


def test_audio_lips_move_like_the_phone_aware_ones_and_rest_when_quiet() -> None:
    frames = np.zeros((20, 52), np.float32)
    frames[:, I["jawOpen"]] = 0.3
    frames[:, [I["mouthSmileLeft"], I["mouthSmileRight"]]] = 0.6
    rest = np.zeros(52, np.float32)
    rest[I["jawOpen"]] = 0.1
    envelope = np.r_[np.full(10, 0.8), np.zeros(10)]  # speech, then silence
    out = audio_lips(frames, rest, opening_scale(envelope, speaking_level(envelope)))
    assert out[:10, I["jawOpen"]] == pytest.approx(0.1 + SPEECH_GAIN * 0.2)
    assert out[10:, I["jawOpen"]] == pytest.approx(0.1 + LOUDNESS_RANGE[0] * SPEECH_GAIN * 0.2)
    np.testing.assert_allclose(out[:, I["mouthSmileLeft"]], 0.6)  # the style's smile is not a speech shape
