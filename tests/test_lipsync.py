"""expclip.lipsync: each measure on small made-up timings and weights, pooling, and the two reference mouths."""

from __future__ import annotations

import math

import numpy as np
import pytest

from expclip.alignment import Phone
from expclip.lipsync import (CLOSED_SHARE, LipSyncStats, aperture, envelope_weights, frame_labels, lag_curve,
                             measure, phone_frames, pool, viseme_weights)
from head.arkit import INDEX, NUM_BLENDSHAPES

FPS = 30.0
# 0.0-0.3 silence (a pause: 300 ms), "ah" 0.3-0.5, /p/ 0.5-0.6, "ah" 0.6-0.8, silence 0.8-1.0 (200 ms), "oo", "ee"
PHONES = [Phone("SIL", 0.0, 0.3), Phone("AA", 0.3, 0.5), Phone("P", 0.5, 0.6), Phone("AA", 0.6, 0.8),
          Phone("SIL", 0.8, 1.0), Phone("UW", 1.0, 1.2), Phone("IY", 1.2, 1.4)]
FRAMES = 42  # 1.4 s


def mouth(jaw_per_phone: dict[str, float], pause_jaw: float = 0.0) -> np.ndarray:
    """Weights whose jawOpen is a constant per phone label; silence gets ``pause_jaw``."""
    labels = frame_labels(PHONES, FRAMES, FPS)
    weights = np.zeros((FRAMES, NUM_BLENDSHAPES), np.float32)
    for k, label in enumerate(labels):
        weights[k, INDEX["jawOpen"]] = pause_jaw if label == "SIL" else jaw_per_phone.get(label, 0.2)
    return weights


def test_aperture_is_jaw_plus_half_the_lips_minus_mouth_close_clipped_at_zero():
    w = np.zeros((3, NUM_BLENDSHAPES), np.float32)
    w[0, INDEX["jawOpen"]] = 0.4
    w[0, [INDEX["mouthLowerDownLeft"], INDEX["mouthLowerDownRight"]]] = [0.2, 0.4]  # mean 0.3 → +0.15
    w[0, [INDEX["mouthUpperUpLeft"], INDEX["mouthUpperUpRight"]]] = 0.1             # +0.05
    w[1, INDEX["jawOpen"]], w[1, INDEX["mouthClose"]] = 0.1, 0.1                      # lips shut over an open jaw
    w[2, INDEX["mouthClose"]] = 0.3                                                    # would be negative
    assert aperture(w) == pytest.approx([0.6, 0.0, 0.0])
    with pytest.raises(ValueError, match="frames, 52"):
        aperture(np.zeros((3, 51)))


def test_phone_frames_hold_the_instants_inside_a_phone_or_the_nearest_one():
    assert phone_frames(0.3, 0.5, FPS, FRAMES).tolist() == list(range(9, 15))
    assert phone_frames(0.3, 0.5, FPS, FRAMES, pad=1).tolist() == list(range(8, 16))
    assert phone_frames(0.51, 0.52, FPS, FRAMES).tolist() == [15]   # shorter than a frame step: its nearest
    assert phone_frames(1.39, 1.6, FPS, FRAMES, pad=1).tolist() == [41]  # clipped to the clip


def test_a_closure_that_is_there_and_one_that_is_not():
    closed = measure(mouth({"AA": 0.5, "P": 0.0}), FPS, PHONES)
    assert (closed.closures, closed.bilabials, closed.closure_rate) == (1, 1, 1.0)
    # 0.2 is above 35 % of the open-vowel median (0.5): the lips part a little throughout, like the mouth
    open_ = measure(mouth({"AA": 0.5, "P": 0.2}), FPS, PHONES)
    assert (open_.closures, open_.bilabials, open_.closure_rate) == (0, 1, 0.0)
    assert 0.2 > CLOSED_SHARE * 0.5


def test_a_closure_counts_within_one_frame_of_the_phone():
    weights = mouth({"AA": 0.5, "P": 0.3})
    weights[phone_frames(0.5, 0.6, FPS, FRAMES)[-1] + 1, INDEX["jawOpen"]] = 0.0  # the frame just after /p/
    assert measure(weights, FPS, PHONES).closures == 1
    weights = mouth({"AA": 0.5, "P": 0.3})
    weights[phone_frames(0.5, 0.6, FPS, FRAMES)[-1] + 2, INDEX["jawOpen"]] = 0.0  # two frames after: too late
    assert measure(weights, FPS, PHONES).closures == 0


def test_a_pause_that_rests_and_one_that_does_not():
    vowels = {"AA": 0.5, "P": 0.0, "UW": 0.5, "IY": 0.5}
    resting = measure(mouth(vowels, pause_jaw=0.0), FPS, PHONES)
    assert resting.pause_vowel_ratio == pytest.approx(0.0)
    mumbling = measure(mouth(vowels, pause_jaw=0.3), FPS, PHONES)
    assert mumbling.pause_vowel_ratio == pytest.approx(0.3 / 0.5)
    # only silences longer than 150 ms count: a 100 ms gap is not a pause
    short = [Phone("AA", 0.0, 0.5), Phone("SIL", 0.5, 0.6), Phone("AA", 0.6, 1.0)]
    assert math.isnan(measure(np.zeros((30, NUM_BLENDSHAPES)), FPS, short).pause_vowel_ratio)


def test_open_vowel_aperture_is_the_mean_on_open_vowels_only():
    stats = measure(mouth({"AA": 0.6, "P": 0.0, "UW": 0.1, "IY": 0.1}), FPS, PHONES)
    assert stats.open_vowel_aperture == pytest.approx(0.6)


def test_rounding_is_funnel_and_pucker_on_rounded_minus_spread_vowels():
    weights = mouth({"AA": 0.5})
    labels = frame_labels(PHONES, FRAMES, FPS)
    weights[labels == "UW", INDEX["mouthPucker"]] = 0.5
    weights[labels == "UW", INDEX["mouthFunnel"]] = 0.2
    weights[labels == "IY", INDEX["mouthFunnel"]] = 0.1
    assert measure(weights, FPS, PHONES).rounding == pytest.approx(0.6)


def test_lag_is_found_on_a_shifted_envelope():
    rng = np.random.default_rng(0)
    envelope = np.convolve(rng.random(200), np.ones(4) / 4, mode="same")
    for shift in (-3, 0, 2):
        mouth_track = np.roll(envelope, shift)  # mouth[t + shift] == envelope[t]: positive = the mouth is late
        curve = lag_curve(mouth_track, envelope)
        assert int(np.nanargmax(curve)) - 5 == shift
    weights = envelope_weights(np.roll(envelope, 2) / envelope.max())
    stats = measure(weights, FPS, [Phone("AA", 0.0, 200 / FPS)], envelope)
    assert stats.lag_frames == 2
    assert 0.5 < stats.envelope_r < 1.0
    assert measure(envelope_weights(envelope), FPS, [Phone("AA", 0.0, 200 / FPS)], envelope).envelope_r == \
        pytest.approx(1.0)


def test_pooling_adds_closures_as_counts_and_means_over_all_frames():
    a = measure(mouth({"AA": 0.5, "P": 0.0}), FPS, PHONES)
    b = measure(mouth({"AA": 0.3, "P": 0.3}), FPS, PHONES)
    both = pool([a, b])
    assert (both.closures, both.bilabials, both.clips) == (1, 2, 2)
    assert both.closure_rate == 0.5
    assert both.open_vowel_aperture == pytest.approx(0.4)
    assert both.row()["closures"] == 1 and set(both.row()) >= {"closure_rate", "lag_frames", "rounding"}
    assert pool([]).clips == 0 and math.isnan(LipSyncStats().closure_rate)


def test_the_viseme_rule_closes_on_p_opens_on_vowels_rests_in_pauses_and_rounds():
    weights = viseme_weights(PHONES, FRAMES, FPS)
    assert weights.shape == (FRAMES, NUM_BLENDSHAPES) and weights.dtype == np.float32
    open_ = aperture(weights)
    p_frames = phone_frames(0.5, 0.6, FPS, FRAMES)
    assert open_[p_frames].min() < 0.02 and weights[p_frames, INDEX["mouthPressLeft"]].max() > 0.2
    stats = measure(weights, FPS, PHONES)
    assert stats.closure_rate == 1.0
    assert stats.open_vowel_aperture > 0.4
    assert stats.pause_vowel_ratio < 0.35  # coarticulated: a 200 ms pause between two vowels rests only in its middle
    assert stats.rounding > 0.3
    assert open_[:5].max() < 0.05  # (nearly) at rest before the first sound


def test_the_viseme_rule_shuts_the_lips_on_a_bilabial_shorter_than_a_frame():
    phones = [Phone("AA", 0.0, 0.3), Phone("B", 0.305, 0.325), Phone("AA", 0.325, 0.6)]
    weights = viseme_weights(phones, 18, FPS)
    assert measure(weights, FPS, phones).closures == 1
