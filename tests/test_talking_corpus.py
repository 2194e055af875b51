"""The espeak talking corpus: eSpeak timings against the audio, visemes, curve shapes, the builder
(determinism, resume after a kill, held-out voices) and `python -m train.talking build`."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from expclip import clips
from head import arkit
from expclip import visemes
from train.talking import corpus, espeak, voices
from train.talking.__main__ import main
from train.talking.corpus import TalkingConfig, build_corpus, speakable

I = arkit.INDEX


def _espeak_available() -> bool:
    try:
        espeak.load_library()
    except espeak.EspeakError:
        return False
    return True


needs_espeak = pytest.mark.skipif(not _espeak_available(), reason="libespeak-ng is not installed (packages.txt)")

_SAMPLES = [
    ("Today my best friend surprised me with a cake, I am so happy!", ["joy", "delighted", "glad"],
     {"happiness": 0.8}, {"mouthSmileLeft": 0.7, "mouthSmileRight": 0.7, "cheekSquintLeft": 0.4,
                          "cheekSquintRight": 0.4}),
    ("The train was cancelled again and nobody told us anything. #fuming >:(", ["anger", "furious", "irate"],
     {"anger": 0.9}, {"browDownLeft": 0.8, "browDownRight": 0.8, "mouthPressLeft": 0.5, "mouthPressRight": 0.5}),
    ("Wait, what?! The package arrived a whole week early :O", ["surprise", "astonished", "startled"],
     {"surprise": 0.7}, {"jawOpen": 0.45, "eyeWideLeft": 0.6, "eyeWideRight": 0.6, "browInnerUp": 0.6}),
    ("My old dog passed away this morning and the house feels empty.", ["sadness", "grief", "heartbroken"],
     {"sadness": 0.6}, {"mouthFrownLeft": 0.5, "mouthFrownRight": 0.5, "browInnerUp": 0.5}),
]


@pytest.fixture(scope="module")
def tead(tmp_path_factory) -> Path:
    """A tiny TEAD directory (the builder only needs transcripts, tags, emotions and blendshapes)."""
    root = tmp_path_factory.mktemp("tead")
    for split in ("train", "test"):
        with (root / f"{split}.jsonl").open("w") as fh:
            for text, tags, emotions, weights in _SAMPLES:
                fh.write(json.dumps({"transcript": text, "tags": tags, "aus": {}, "au_text": "", "situation": "",
                                     "blendshapes": weights, "emotions": emotions}) + "\n")
    return root


# --- eSpeak ---------------------------------------------------------------------------------------------

@needs_espeak
@pytest.mark.parametrize("voice,rate", [("en-us+m3", 130), ("en-gb-x-rp+f2", 210), ("en+klatt", 170)])
def test_phoneme_times_line_up_with_the_audio(voice, rate):
    speech = espeak.engine().synthesize("I really wanted to go. But nobody else did, so we stayed home all day.",
                                        voice=voice, rate=rate)
    assert speech.sample_rate == 22050 and speech.samples.dtype == np.float32
    phonemes = speech.phonemes
    starts = [p.start for p in phonemes] + [speech.seconds]
    assert starts == sorted(starts) and abs(phonemes[-1].start - speech.seconds) < 0.05  # the last pause ends it
    rate_hz, x = speech.sample_rate, speech.samples
    level = float(np.sqrt(np.mean(x**2)))
    pauses, vowels = [], []
    for p, a, b in zip(phonemes, starts, starts[1:]):
        segment = x[int(a * rate_hz):int(b * rate_hz)]
        if str(p.value).startswith("_") and b - a > 0.1:
            pauses.append(float(np.sqrt(np.mean(x[int((a + 0.02) * rate_hz):int((b - 0.02) * rate_hz)] ** 2))))
        elif visemes.viseme_of(str(p.value)) in ("AA", "E", "O") and b - a > 0.04:
            vowels.append(float(np.sqrt(np.mean(segment**2))))
    assert len(pauses) >= 2 and max(pauses) < 0.05 * level      # (near) silence where eSpeak pauses
    assert len(vowels) >= 3 and np.median(vowels) > level         # open vowels are the loudest stretches

    # The speech/pause pattern of the events matches the audio's envelope best with no shift (±10 ms).
    hop = rate_hz // 200
    envelope = np.sqrt(np.convolve(x**2, np.ones(hop) / hop, "same"))[::hop] > 0.05 * level
    speaking = np.zeros(len(envelope), bool)
    for p, a, b in zip(phonemes, starts, starts[1:]):
        if not str(p.value).startswith("_"):
            speaking[int(a * 200):int(b * 200)] = True
    lags = range(-20, 21)
    agreement = [np.mean(np.roll(speaking, lag) == envelope) for lag in lags]
    assert abs(list(lags)[int(np.argmax(agreement))]) <= 2 and max(agreement) > 0.9
    assert speech.words and speech.sentences[0].start == 0.0


@needs_espeak
def test_resampling_and_voices():
    speech = espeak.engine().synthesize("Hello there.", voice="en-029+m1")
    low = speech.resampled(16000)
    assert low.sample_rate == 16000 and abs(len(low.samples) - len(speech.samples) * 16000 / 22050) <= 1
    assert low.events == speech.events
    with pytest.raises(espeak.EspeakError, match="no voice 'en-xx'"):
        espeak.engine().synthesize("Hello.", voice="en-xx")
    espeak.engine().set_voice_by_properties("en", gender=2)
    with pytest.raises(espeak.EspeakError, match="empty"):
        espeak.engine().synthesize("  ")
    names = espeak.voice_names()
    assert len(names) == len(espeak.ENGLISH_VOICES) * len(espeak.VARIANTS) and "en-gb-x-rp+f3" in names


def test_missing_library_is_one_sentence(monkeypatch):
    monkeypatch.delenv("EXPCLIP_ESPEAK_LIBRARY", raising=False)
    with pytest.raises(espeak.EspeakError, match=r"^libespeak-ng is not installed; install the Debian package"):
        espeak.load_library(("no-such-espeak-library",))


@needs_espeak
def test_isolated_engine_does_not_depend_on_history():
    request = {"text": "Bob went to the market.", "voice": "en+klatt", "rate": 170}
    with espeak.IsolatedEspeak() as engine:
        first = engine.synthesize(**request)
        engine.synthesize("Something else entirely, to move the library's state.", voice="en-us+f2")
        again = engine.synthesize(**request)
    assert np.array_equal(first.samples, again.samples) and first.events == again.events


# --- visemes --------------------------------------------------------------------------------------------

def _frame(seconds: float) -> int:
    return int(round(seconds * 30))


def test_every_phoneme_has_a_viseme_and_a_target():
    for phoneme in visemes.PHONEMES:
        mapped = visemes.viseme_of(phoneme)
        for _, viseme in ((0.0, mapped),) if isinstance(mapped, str) else mapped:
            assert viseme in visemes.TARGETS and viseme in visemes.DOMINANCE
    assert visemes.viseme_of("_^_") == "sil" and visemes.viseme_of("zz9") in visemes.VISEMES
    assert all(t.shape == (52,) and t.min() >= 0 and t.max() <= 1 for t in visemes.TARGETS.values())


@pytest.mark.parametrize("consonant,length", [("m", 0.09), ("p", 0.035), ("b", 0.05)])
def test_bilabials_close_the_lips_and_open_vowels_open_the_jaw(consonant, length):
    # "a-m-a" with open vowels either side: blending alone would keep the lips apart.
    phonemes = [(0.0, "_"), (0.3, "a"), (0.55, consonant), (0.55 + length, "A:"), (0.85, "_")]
    curves = visemes.speech_curves(phonemes, 1.1, lead=0.0)
    face = visemes.make_contacts(curves.weights, curves.closure, curves.contact)
    closed = int(np.argmax(curves.closure))
    assert curves.closure[closed] == 1.0 and abs(closed / 30 - (0.55 + length / 2)) <= 1 / 30
    assert face[closed, I["mouthClose"]] == pytest.approx(face[closed, I["jawOpen"]])  # no lip gap left
    assert face[closed, I["jawOpen"]] < 0.15 and face[closed, I["mouthPressLeft"]] >= 0.3
    assert face[closed, I["mouthLowerDownLeft"]] == 0 and face[closed, I["mouthUpperUpRight"]] == 0
    for vowel_centre in (0.42, 0.75):
        assert face[_frame(vowel_centre), I["jawOpen"]] > 0.35
        assert face[_frame(vowel_centre), I["mouthClose"]] < 0.05
    assert face[0].max() < 0.03 and face[-1].max() < 0.03  # (nearly) at rest in long pauses


def test_lips_close_even_under_an_open_mouthed_expression():
    phonemes = [(0.0, "a"), (0.2, "b"), (0.27, "a"), (0.5, "_")]
    curves = visemes.speech_curves(phonemes, 0.6)
    surprise = np.zeros((len(curves.weights), 52))
    surprise[:, I["jawOpen"]], surprise[:, I["mouthFunnel"]] = 0.5, 0.3
    face = corpus.layer_face(curves, surprise, np.zeros((len(surprise), 2)), np.zeros_like(surprise))
    closed = int(np.argmax(curves.closure))
    assert face[closed, I["mouthClose"]] == pytest.approx(face[closed, I["jawOpen"]])
    assert face[closed, I["mouthFunnel"]] == 0
    assert face[_frame(0.4), I["jawOpen"]] > 0.6  # speech and expression both open the jaw


def test_rounding_labiodentals_and_curve_shapes():
    phonemes = [(0.0, "_"), (0.1, "f"), (0.2, "u:"), (0.45, "v"), (0.52, "i:"), (0.8, "_")]
    for seconds in (0.049, 1.0, 2.51):
        curves = visemes.speech_curves(phonemes, seconds)
        frames = int(round(seconds * 30))
        assert curves.weights.shape == (frames, 52) and curves.closure.shape == (frames,)
        assert curves.weights.dtype == np.float32 and curves.weights.min() >= 0 and curves.weights.max() <= 1
    curves = visemes.speech_curves(phonemes, 1.0, lead=0.0)
    face = visemes.make_contacts(curves.weights, curves.closure, curves.contact)
    assert face[_frame(0.32), I["mouthPucker"]] > 0.5          # "oo" rounds the lips
    assert face[_frame(0.66), I["mouthStretchLeft"]] > 0.2     # "ee" spreads them
    assert face[_frame(0.15), I["mouthRollLower"]] > 0.44      # "f": lower lip under the teeth
    assert curves.activity[_frame(0.3)] > 0.9 and curves.activity[_frame(0.97)] < 0.2


def test_louder_vowels_open_wider():
    rate = 16000
    samples = np.concatenate([0.05 * np.ones(rate // 4), 0.4 * np.ones(rate // 4)]).astype(np.float32)
    gains = visemes.phoneme_gains(samples, rate, [(0.0, "a"), (0.25, "a")])
    assert gains[1] > gains[0] and 0.75 <= gains.min() and gains.max() <= 1.25


def test_the_mouth_opens_with_the_loudness():
    rate, seconds = 16000, 1.0
    phonemes = [(0.0, "_"), (0.1, "A:"), (0.9, "_")]
    speech = visemes.speech_curves(phonemes, seconds, lead=0.0)
    quiet_then_loud = np.zeros(rate, np.float32)
    quiet_then_loud[int(0.1 * rate):int(0.5 * rate)] = 0.01 * np.sin(np.arange(int(0.4 * rate)) * 0.3)
    quiet_then_loud[int(0.5 * rate):int(0.9 * rate)] = 0.3 * np.sin(np.arange(int(0.4 * rate)) * 0.3)
    followed = corpus.follow_loudness(speech, quiet_then_loud, 1.0)
    jaw = I["jawOpen"]
    quiet, loud = _frame(0.3), _frame(0.7)
    assert speech.weights[quiet, jaw] == pytest.approx(speech.weights[loud, jaw], abs=1e-3)  # one long vowel
    assert followed.weights[quiet, jaw] < 0.8 * speech.weights[quiet, jaw]
    assert followed.weights[loud, jaw] > speech.weights[loud, jaw]
    assert followed.weights[loud, I["mouthPucker"]] == speech.weights[loud, I["mouthPucker"]]  # only the opening
    assert corpus.follow_loudness(speech, quiet_then_loud, 0.0) is speech
    assert corpus.follow_loudness(speech, np.zeros(rate, np.float32), 1.0) is speech  # silence: nothing to follow


def test_speakable_text():
    assert speakable("So happy rn!!! :D #blessed") == "So happy right now!"
    assert speakable("Me rn: staring blankly >///< ... O_O") == "Me right now: staring blankly..."
    assert speakable("#onlyatag :)") == ""


# --- the builder ----------------------------------------------------------------------------------------

def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.name != "meta.json"}


@needs_espeak
def test_build_is_deterministic_and_resumes_after_a_kill(tead, tmp_path, monkeypatch):
    # Piper's sampling noise cannot be seeded (train.talking.voices), so this build uses eSpeak and flite.
    config = TalkingConfig(tead=str(tead), size=5, test_share=0.4, seed=3, piper_share=0.0, flite_share=0.4)
    meta = build_corpus(config, tmp_path / "whole", progress=False)
    assert meta["clips"] == {"train": 3, "test": 2} and meta["builder"] == "espeak" and meta["hours"] > 0

    records = clips.read_records(tmp_path / "whole", "train") + clips.read_records(tmp_path / "whole", "test")
    for record in records:
        weights = clips.load_weights(tmp_path / "whole", record)
        audio = clips.load_audio(tmp_path / "whole", record)
        assert weights.shape == (round(record.seconds * 30), 52) == (record.frames, 52)
        assert record.seconds == pytest.approx(len(audio) / 16000, abs=1e-4) and 2 < record.seconds < 30
        assert record.source == "espeak" and record.emotion in {"happiness", "anger", "surprise", "sadness"}
        assert record.prompt and record.text and 0 < record.intensity <= 1
        if record.speaker.startswith("flite-"):
            held_out = record.speaker.removeprefix("flite-") in voices.FLITE_TEST_VOICES
        else:
            held_out = record.speaker.split("+")[1] in corpus.TEST_VARIANTS
        assert held_out == record.id.startswith("test")
        assert weights[:, I["jawOpen"]].max() > 0.2 and weights[:, [I["eyeBlinkLeft"]]].max() > 0.8 or \
            record.seconds < 3
        phonemes = record.extra["phonemes"]
        assert phonemes[0][0] >= record.extra["lead_in"] and phonemes[-1][0] <= record.seconds

    # A build killed after two clips (and a record torn half-way) resumes to the very same files.
    real_add = clips.add_clip
    calls = {"n": 0}

    def add_then_die(*args, **kwargs):
        if calls["n"] == 2:
            raise KeyboardInterrupt
        calls["n"] += 1
        return real_add(*args, **kwargs)

    monkeypatch.setattr(clips, "add_clip", add_then_die)
    with pytest.raises(KeyboardInterrupt):
        build_corpus(config, tmp_path / "killed", progress=False)
    monkeypatch.setattr(clips, "add_clip", real_add)
    with (tmp_path / "killed" / "train.jsonl").open("a") as fh:
        fh.write('{"id": "train-000002", "audio": "aud')
    assert not (tmp_path / "killed" / "meta.json").exists()
    resumed = build_corpus(config, tmp_path / "killed", progress=False)
    assert resumed["this_run"]["clips_made"] == 3
    assert _files(tmp_path / "killed") == _files(tmp_path / "whole")

    # Growing the size adds clips and keeps the old ones; other settings are refused.
    grown = build_corpus(dataclasses.replace(config, size=7), tmp_path / "whole", progress=False)
    assert grown["clips"] == {"train": 4, "test": 3} and grown["this_run"]["clips_made"] == 2
    with pytest.raises(corpus.CorpusError, match="other settings \\(seed\\)"):
        build_corpus(dataclasses.replace(config, seed=4), tmp_path / "whole")


@needs_espeak
def test_cli(tead, tmp_path, capsys):
    out = tmp_path / "talking"
    assert main(["build", "--size", "2", "--seed", "1", "--out", str(out), "--tead", str(tead), "--quiet"]) == 0
    (line,) = capsys.readouterr().out.splitlines()  # one line for a person, no JSON
    assert line.startswith("Wrote 1 train and 1 test clips (") and line.endswith(f"to {out}; details in meta.json.")
    meta = clips.read_meta(out)
    assert meta["clips"] == {"train": 1, "test": 1} and meta["seconds"]["total"] > 0
    assert clips.read_meta(out)["fps"] == 30.0

    assert main(["build", "--size", "0", "--out", str(tmp_path / "x"), "--tead", str(tead)]) == 2
    assert "--size must be at least 1" in capsys.readouterr().err
    assert main(["build", "--size", "2", "--out", str(tmp_path / "x"), "--tead", str(tmp_path / "none")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: No TEAD at") and error.count("\n") == 1
    assert main(["build", "--size", "2", "--seed", "2", "--out", str(out), "--tead", str(tead)]) == 2
    assert "other settings" in capsys.readouterr().err
