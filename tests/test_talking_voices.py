"""The talking corpus's other voices (train/talking/voices.py): flite's own phone timings against its audio,
the Piper voice timed by the aligner, speed perturbation, and the builder's use of both."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from expclip import clips
from expclip.lipsync import aperture
from head import arkit
from train.talking import voices
from train.talking.corpus import ClipMaker, TalkingConfig

needs_flite = pytest.mark.skipif(shutil.which("flite") is None, reason="flite is not installed (packages.txt)")
SENTENCE = "Bob bought a big bump map, then paused. Mum made more muffins."


def _loudness(samples: np.ndarray, rate: int, start: float, end: float) -> float:
    part = samples[int(start * rate):int(end * rate)]
    return float(np.sqrt(np.mean(part ** 2))) if len(part) else 0.0


@needs_flite
@pytest.mark.parametrize("voice", ["kal", "slt"])
def test_flite_phones_line_up_with_its_audio(voice):
    speech = voices.FliteEngine().synthesize(SENTENCE, voice)
    starts = [e.start for e in speech.phonemes]
    assert starts == sorted(starts) and starts[-1] < speech.seconds
    names = [e.value for e in speech.phonemes]
    assert names[0] == "_" and names.count("b") >= 4 and names.count("m") >= 5 and "@" in names
    # The pause between the sentences is quiet in the audio; the vowel before it is loud.
    pauses = [(e.start, nxt.start) for e, nxt in zip(speech.phonemes, speech.phonemes[1:])
              if e.value == "_" and e.start > 0.3]
    assert pauses, names
    start, end = pauses[0]
    vowel = next(e for e in reversed(speech.phonemes) if e.start < start and e.value not in "_zd")
    assert _loudness(speech.samples, speech.sample_rate, start + 0.03, end - 0.03) < \
        0.2 * _loudness(speech.samples, speech.sample_rate, vowel.start, start)
    slower = voices.FliteEngine().synthesize(SENTENCE, voice, stretch=1.3)
    assert slower.seconds > 1.15 * speech.seconds


def test_unknown_flite_voice_and_missing_program(monkeypatch):
    if shutil.which("flite"):
        with pytest.raises(voices.VoiceError, match="Unknown flite voice 'bob'; use one of kal"):
            voices.FliteEngine().synthesize("hello", "bob")
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(voices.VoiceError, match="flite program is not installed"):
        voices.FliteEngine()


def test_perturbation_scales_time_and_keeps_events():
    rate = 16000
    tone = np.sin(2 * np.pi * 200 * np.arange(rate) / rate).astype(np.float32) * 0.5
    speech = voices.Speech(tone, rate, [voices.Event(0.5, "phoneme", "a")])
    faster = voices.perturb(speech, 1.1)
    assert faster.seconds == pytest.approx(1 / 1.1, abs=1e-3)
    assert faster.phonemes[0].start == pytest.approx(0.5 / 1.1, abs=1e-3)
    spectrum = np.abs(np.fft.rfft(faster.samples))
    assert np.argmax(spectrum) * rate / len(faster.samples) == pytest.approx(220, abs=3)  # pitch up 10 %
    with pytest.raises(ValueError, match="must be positive"):
        voices.perturb(speech, 0)


def test_piper_voice_is_timed_by_the_aligner():
    speech = voices.PiperEngine().synthesize(SENTENCE)
    assert speech.sample_rate == 16000 and 2.5 < speech.seconds < 8
    names = [e.value for e in speech.phonemes]
    assert names.count("b") >= 4 and names.count("m") >= 5
    assert [e.value for e in speech.words] == list(range(1, 13))
    # Each bilabial's start falls where the audio is quieter than the vowel after it (the lips are shut).
    quieter = 0
    events = speech.phonemes
    for phone, after in zip(events, events[1:]):
        if phone.value in ("b", "m") and after.value not in "_bmp":
            closed = _loudness(speech.samples, 16000, phone.start, phone.start + 0.04)
            open_ = _loudness(speech.samples, 16000, after.start, after.start + 0.06)
            quieter += closed < open_
    assert quieter >= 7


@needs_flite
def test_clip_maker_uses_every_engine_and_closes_the_lips(tmp_path):
    from expclip.tead_offline import OfflineConfig, build_offline

    build_offline(OfflineConfig(size=40, seed=0, test_share=0.2), tmp_path / "tead", progress=False)
    from expclip.tead import read_samples
    from train.talking import espeak

    config = TalkingConfig(tead=str(tmp_path / "tead"), flite_share=0.4, piper_share=0.4)
    with espeak.IsolatedEspeak() as engine:
        maker = ClipMaker(config, "train", read_samples(tmp_path / "tead", "train"), engine,
                          voices.FliteEngine(), voices.PiperEngine())
        made = [maker.make(i) for i in range(8)]
    speakers = {clip.record.speaker.split("-")[0] if "+" not in clip.record.speaker else "espeak" for clip in made}
    assert speakers == {"espeak", "flite", "piper"}, speakers
    for clip in made:
        assert clip.record.speaker not in [f"flite-{v}" for v in voices.FLITE_TEST_VOICES]
        assert clip.weights.shape == (round(len(clip.samples) / clips.SAMPLE_RATE * 30), arkit.NUM_BLENDSHAPES)
        opening = aperture(clip.weights)
        bilabials = [t for t, p in clip.record.extra["phonemes"] if p in ("p", "b", "m")]
        if bilabials:  # the lips meet on the clip's bilabials
            shut = [opening[max(0, int(round(t * 30)) - 1):int(round(t * 30)) + 3].min() for t in bilabials]
            assert np.median(shut) < 0.35 * np.percentile(opening, 90), clip.record.speaker
