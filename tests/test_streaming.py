"""expclip.streaming: incremental speech → face against the offline animator, on an eSpeak NG sentence."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
import torch

from expclip.audio import load_speech, num_frames
from expclip.streaming import BlinkTrack, LiveAnimator, StreamError
from head.arkit import INDEX

if shutil.which("espeak-ng") is None:
    pytest.skip("espeak-ng is not installed (packages.txt)", allow_module_level=True)

SMILE = [INDEX["mouthSmileLeft"], INDEX["mouthSmileRight"]]


@pytest.fixture(scope="module")
def animator():
    from expclip.animation import load_animator

    return load_animator()


@pytest.fixture(scope="module")
def speech(tmp_path_factory) -> np.ndarray:
    path = tmp_path_factory.mktemp("speech") / "speech.wav"
    subprocess.run(["espeak-ng", "-w", str(path), "Hello there, I am so glad to see you today. Let us talk."],
                   check=True)
    return load_speech(path)


def stream(live: LiveAnimator, audio: np.ndarray, chunk: int, finish: bool = False) -> np.ndarray:
    """``audio`` pushed in pieces of ``chunk`` samples → the frames ``(n, 52)``, checked to come in order."""
    frames = [f for i in range(0, len(audio), chunk) for f in live.push(audio[i:i + chunk])]
    frames += live.finish() if finish else []
    assert [f.index for f in frames] == list(range(frames[0].index, frames[0].index + len(frames)))
    assert all(f.t == f.index / live.fps and f.latency >= 0 for f in frames)
    return np.stack([f.weights for f in frames])


def test_stream_follows_the_offline_generator(animator, speech):
    """Features are the offline ones exactly; the generator's own lips stay within a few hundredths of the offline
    generator's."""
    live = LiveAnimator(animator, blinks=False, audio_lips=False)
    live.set_prompt("overjoyed", fade=False)
    frames = stream(live, speech, 320, finish=True)  # 20 ms chunks
    assert len(frames) == num_frames(len(speech))
    offline = animator.features(speech)
    live = LiveAnimator(animator, blinks=False, audio_lips=False)
    stream(live, speech, 320)
    window = torch.stack(list(live._features))
    assert torch.equal(window, offline[live._settled - len(window):live._settled])
    style = animator.styles(animator.prompt_expression("overjoyed")[0][None])[0]
    reference = animator.generate(offline, style)[:len(frames)]
    assert np.abs(frames - reference).mean() < 0.01
    jaw = INDEX["jawOpen"]
    assert np.corrcoef(frames[:, jaw], reference[:, jaw])[0, 1] > 0.95
    assert frames[:, jaw].std() > 0.03  # the mouth moves with the voice (0.042 under the 2026-12-03 "overjoyed")


def test_stream_lips_are_the_offline_audio_only_lips(animator, speech):
    """With the live lips (the default) the stream follows ``animate(..., phones=False)``: the speaking level is the
    whole clip's offline and what has been heard live, so the two differ a little early in the stream."""
    from expclip.lipsync import aperture

    live = LiveAnimator(animator, blinks=False)
    live.set_prompt("calm", fade=False)
    frames = stream(live, speech, 320, finish=True)
    offline = animator.animate(speech, "calm", blinks=False, phones=False).frames[:len(frames)]
    assert np.abs(frames - offline).mean() < 0.01
    assert np.corrcoef(aperture(frames), aperture(offline))[0, 1] > 0.95
    generator_only = stream(LiveAnimator(animator, blinks=False, audio_lips=False), speech, 320, finish=True)
    assert aperture(frames).std() > aperture(generator_only).std()  # the lips move more: they close and open


def test_silence_keeps_the_mouth_still(animator, speech):
    live = LiveAnimator(animator, blinks=False)
    quiet = stream(live, np.zeros(16000, np.float32), 1600)
    talking = stream(LiveAnimator(animator, blinks=False), speech[:16000], 1600)
    jaw = INDEX["jawOpen"]
    assert quiet[:, jaw].std() < 0.2 * talking[:, jaw].std()


def test_a_new_prompt_cross_fades_in(animator, speech):
    live = LiveAnimator(animator, blinks=False, transition_s=0.3)
    live.set_prompt("", fade=False)
    before = stream(live, speech[:8000], 320)
    live.set_prompt("overjoyed, beaming with happiness")
    after = stream(live, speech[8000:24000], 320)
    smile = after[:, SMILE].mean(1)
    assert smile[-10:].mean() > before[:, SMILE].mean() + 0.2
    # the change spreads over the transition's 9 frames instead of one jump
    assert np.abs(np.diff(smile[:12])).max() < 0.6 * (smile[12] - smile[0])
    live.set_prompt("", fade=False)
    assert len(live._mix) == 1


def test_blinks_go_on_across_blocks():
    track = BlinkTrack(30.0, seed=3)
    lids = np.stack([track.at(i) for i in range(30 * 200)])  # 200 s: three blocks and more
    closing = np.flatnonzero((lids[1:, 0] > 0) & (lids[:-1, 0] == 0)) / 30.0
    assert len(closing) > 30
    gaps = np.diff(closing)
    assert gaps.min() > 2.0 and gaps.max() < 6.5
    assert lids.max() > 0.85


def test_bad_input_is_one_sentence(animator):
    live = LiveAnimator(animator)
    with pytest.raises(StreamError, match="NaN"):
        live.push(np.array([0.0, np.nan], np.float32))
    with pytest.raises(StreamError, match="outside 0–2"):
        live.set_prompt("calm", intensity=3.0)
    with pytest.raises(StreamError, match="52 finite weights"):
        live.set_expression(np.zeros(10))
    with pytest.raises(StreamError, match="window longer"):
        LiveAnimator(animator, lookahead=5, window=5)
