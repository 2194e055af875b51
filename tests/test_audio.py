"""Speech input: formats, clear errors, frame alignment, the envelope, and the audio front ends."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from expclip.audio import (
    MIN_SECONDS,
    SILENCE_DB,
    AudioError,
    is_silent,
    load_speech,
    normalise_envelope,
    num_frames,
    prepare_speech,
    speech_envelope,
)
from expclip.encoders import EncoderUnavailable, create_encoder, encoder_spec, list_encoders
from head.media import ffmpeg_exe

SR = 16_000


def _ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", *args], check=True)


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> Path:
    """A 1.5 s 440 Hz tone as 44.1 kHz stereo WAV, and the same as MP3, OGG, FLAC and M4A."""
    root = tmp_path_factory.mktemp("speech")
    _ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=1.5", "-ac", "2", "-ar", "44100", str(root / "tone.wav"))
    for suffix in ("mp3", "ogg", "flac", "m4a"):
        _ffmpeg("-i", str(root / "tone.wav"), str(root / f"tone.{suffix}"))
    return root


@pytest.fixture(scope="module")
def logmel():
    return create_encoder("logmel", kind="audio")


def _tone(seconds: float, start: float, stop: float, amplitude: float = 0.2) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    voiced = (t >= start) & (t < stop)
    # a speech-like burst: 150 Hz fundamental with harmonics
    wave = sum(np.sin(2 * np.pi * 150 * h * t) / h for h in range(1, 12))
    return np.where(voiced, amplitude * wave / 3, 0.0).astype(np.float32)


def test_wav_44k_stereo_becomes_16k_mono(media):
    samples = load_speech(media / "tone.wav")
    assert samples.ndim == 1 and samples.dtype == np.float32
    assert abs(len(samples) - int(1.5 * SR)) <= 16
    spectrum = np.abs(np.fft.rfft(samples))
    assert np.fft.rfftfreq(len(samples), 1 / SR)[spectrum.argmax()] == pytest.approx(440, abs=2)


@pytest.mark.parametrize("suffix", ["mp3", "ogg", "flac", "m4a"])
def test_compressed_formats(media, suffix):
    samples = load_speech(media / f"tone.{suffix}")
    assert abs(len(samples) / SR - 1.5) < 0.06 and 0.05 < np.abs(samples).max() <= 1.0


def test_bad_files_get_one_sentence(tmp_path):
    pdf = tmp_path / "speech.wav"
    pdf.write_bytes(b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n%%EOF\n")
    with pytest.raises(AudioError, match=r"speech.wav is not a readable audio file.*WAV, MP3"):
        load_speech(pdf)
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(AudioError, match=r"empty \(0 bytes\)"):
        load_speech(empty)
    with pytest.raises(AudioError, match="does not exist"):
        load_speech(tmp_path / "missing.wav")
    silent_video = tmp_path / "face.mp4"
    _ffmpeg("-f", "lavfi", "-i", "testsrc=duration=1:size=64x64:rate=30", "-pix_fmt", "yuv420p", str(silent_video))
    with pytest.raises(AudioError, match="face.mp4 has no sound track"):
        load_speech(silent_video)


def test_length_limits(tmp_path):
    short = tmp_path / "short.wav"
    _ffmpeg("-f", "lavfi", "-i", "sine=duration=0.1", str(short))
    with pytest.raises(AudioError, match=rf"lasts only 0.10 s; speech needs at least {MIN_SECONDS:.1f} s"):
        load_speech(short)
    long = tmp_path / "long.flac"
    _ffmpeg("-f", "lavfi", "-i", "sine=duration=5", str(long))
    with pytest.raises(AudioError, match="lasts more than 3 s, the limit"):
        load_speech(long, max_seconds=3)
    assert len(load_speech(long, max_seconds=5.5)) == 5 * SR
    with pytest.raises(AudioError, match="more than 2 minutes"):
        prepare_speech(np.zeros(SR * 121, np.int16), SR, max_seconds=120)


def test_prepare_speech_resamples_arrays():
    stereo = (np.stack([np.ones(44_100), -np.ones(44_100)], 1) * 0.5 * 32767).astype(np.int16)
    assert np.abs(prepare_speech(stereo, 44_100)).max() < 1e-3  # the channels cancel
    mono = prepare_speech(np.full(22_050, 0.25, np.float32), 22_050)
    assert len(mono) == SR and mono[SR // 4: -SR // 4].mean() == pytest.approx(0.25, abs=1e-3)


def test_frame_counts_round_half_up():
    assert [num_frames(n) for n in (0, 266, 267, 800, 16_000, 16_266, 16_267, 160_000)] == [0, 0, 1, 2, 30, 30, 31, 300]
    for seconds in (0.2, 1.0, 2.345, 10.0, 61.7):
        assert num_frames(round(seconds * SR)) == int(np.floor(seconds * 30 + 0.5))


@pytest.mark.parametrize("length", [267, 3_199, 16_000, 16_001, 33_333, 48_000])
def test_front_end_frames_match_num_frames(logmel, length):
    out = logmel.encode(torch.randn(2, length) * 0.1)
    assert out.shape == (2, num_frames(length), 240) == (2, logmel.num_frames(length), logmel.dim)
    assert logmel.encode(torch.zeros(length)).shape == (num_frames(length), 240)
    assert len(speech_envelope(np.zeros(length))) == num_frames(length)


def test_logmel_follows_a_burst_and_is_silent_elsewhere(logmel):
    samples = _tone(2.0, 0.5, 1.0)
    features = logmel.encode(torch.from_numpy(samples)).numpy()
    energy = features.mean(1)
    assert np.all(energy[:13] == -2.0) and np.all(energy[33:] == -2.0)  # floor away from the burst
    assert energy[16:29].min() > -1.0  # loud inside, frames 15-29 are 0.5-1.0 s
    onset = int(np.argmax(energy > -1.5))
    assert onset in (14, 15)  # the frame whose instant is the burst's start, within one frame
    assert not any(p.requires_grad for p in logmel.parameters()) and sum(1 for _ in logmel.parameters()) == 0


def test_logmel_windows_reproduce_the_whole_clip(logmel):
    samples = torch.from_numpy(np.random.default_rng(1).standard_normal(4 * SR).astype(np.float32) * 0.05)
    whole = logmel.encode(samples)
    start, stop = 1600 * 7, 1600 * 22  # window edges on multiples of 0.1 s = 3 frames
    window = logmel.encode(samples[start:stop])
    first = start * 3 // 1600
    torch.testing.assert_close(window[2:-2], whole[first + 2:first + len(window) - 2])


def test_whisper_states_follow_the_speech_in_time():
    """The packaged Whisper tiny.en encoder: frame counts, long inputs in pieces, and a burst of speech-like
    noise read at the right frames (states differ from those of the silence around it)."""
    whisper = create_encoder("whisper", kind="audio")
    for length in (267, 16_000, 12 * SR + 555):  # 12 s: two pieces
        assert whisper.encode(torch.zeros(length)).shape == (num_frames(length), 384)
    rng = np.random.default_rng(0)
    floor = rng.standard_normal(3 * SR).astype(np.float32) * 1e-3
    burst = floor.copy()
    burst[SR:2 * SR] += rng.standard_normal(SR) * 0.1 * np.sin(np.linspace(0, 12 * np.pi, SR)) ** 2
    change = np.linalg.norm(whisper.encode(torch.from_numpy(burst)).numpy()
                            - whisper.encode(torch.from_numpy(floor)).numpy(), axis=1)
    # The encoder attends over the whole piece, so every state moves a little; the burst's frames (30-60) most.
    assert change[30:60].mean() > 1.3 * change[70:90].mean()
    with pytest.raises(EncoderUnavailable, match="No CTranslate2 Whisper model at"):
        create_encoder("whisper", pretrained="/nonexistent", kind="audio")


def test_whisper_and_logmel_side_by_side_are_both_front_ends_frame_by_frame():
    speech = _tone(2.0, 0.5, 1.0)
    both = create_encoder("whisper+logmel", kind="audio").encode(torch.from_numpy(speech))
    whisper = create_encoder("whisper", kind="audio").encode(torch.from_numpy(speech))
    logmel = create_encoder("logmel", kind="audio").encode(torch.from_numpy(speech))
    assert both.shape == (num_frames(len(speech)), 624)
    torch.testing.assert_close(both, torch.cat([whisper, logmel], dim=1))


def test_envelope_and_silence():
    burst = _tone(2.0, 0.5, 1.0)
    envelope = speech_envelope(burst)
    assert envelope[5] == -100.0 and envelope[22] > -30 and envelope[45] == -100.0
    unit = normalise_envelope(envelope)
    assert unit.min() == 0.0 and unit.max() == 1.0 and unit[22] > 0.9
    assert speech_envelope(np.full(SR, 1.0))[10] == pytest.approx(0.0, abs=1e-4)
    assert not is_silent(burst)
    assert is_silent(np.zeros(SR)) and is_silent(np.random.default_rng(0).standard_normal(SR) * 1e-4)


def test_registry_lists_both_front_ends(monkeypatch, tmp_path):
    assert list_encoders("audio") == ["logmel", "wav2vec2", "whisper", "whisper+logmel"]
    assert encoder_spec("logmel", "audio").dim == 240 and encoder_spec("wav2vec2", "audio").dim == 768
    assert encoder_spec("whisper", "audio").dim == 384 and encoder_spec("whisper+logmel", "audio").dim == 624
    with pytest.raises(EncoderUnavailable, match="no weights"):
        create_encoder("logmel", pretrained="x.pt", kind="audio")
    monkeypatch.delenv("EXPCLIP_WAV2VEC2_WEIGHTS", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # an empty cache: nothing to find, nothing to fetch
    began = time.perf_counter()
    with pytest.raises(EncoderUnavailable, match=r"wav2vec 2.0 weights 'facebook/wav2vec2-base-960h' are not on this "
                                                 r"machine.*huggingface-cli download"):
        create_encoder("wav2vec2", kind="audio")
    assert time.perf_counter() - began < 20
    with pytest.raises(EncoderUnavailable, match="No wav2vec 2.0 model folder at"):
        create_encoder("wav2vec2", pretrained=str(tmp_path / "nothing"), kind="audio")


def test_wav2vec2_from_a_local_folder(tmp_path):
    """A tiny randomly initialised wav2vec 2.0 saved by transformers stands in for the real weights."""
    from transformers import Wav2Vec2Config, Wav2Vec2Model

    config = Wav2Vec2Config(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                            conv_dim=(16,) * 7, num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4,
                            vocab_size=8)
    Wav2Vec2Model(config).save_pretrained(tmp_path / "w2v")
    encoder = create_encoder("wav2vec2", pretrained=str(tmp_path / "w2v"), kind="audio")
    assert encoder.dim == 32 and not any(p.requires_grad for p in encoder.parameters())
    for length in (300, 16_000, 40_123):
        assert encoder.encode(torch.randn(2, length)).shape == (2, num_frames(length), 32)
    encoder.piece_seconds, encoder.context_seconds = 1.0, 0.2  # force the long-input path
    assert encoder.encode(torch.randn(1, 5 * SR)).shape == (1, 150, 32)


SPEECH = Path(os.environ.get("EXPCLIP_ASSET_MIRROR", "/nonexistent")) / "speech"


@pytest.mark.skipif(not SPEECH.is_dir(), reason="EXPCLIP_ASSET_MIRROR with speech/ is not set")
def test_real_speech_clips(logmel):
    """Human recordings (never used for training): right length, speech and pauses, features that follow them."""
    clips = sorted(SPEECH.glob("*.wav"))
    assert clips
    for path in clips:
        samples = load_speech(path)
        seconds = len(samples) / SR
        assert 4 < seconds < 22 and not is_silent(samples), path.name
        envelope = speech_envelope(samples)
        assert (envelope > -30).mean() > 0.3 and (envelope < SILENCE_DB).mean() > 0.05, path.name  # speech and pauses
        features = logmel.encode(torch.from_numpy(samples)).numpy()
        assert features.shape == (num_frames(len(samples)), 240)
        loudness = features.mean(1)
        assert np.corrcoef(loudness, envelope)[0, 1] > 0.8, path.name
    resampled = load_speech(SPEECH / "Claire_sadness_44.1khz_20_sec.wav")
    assert len(resampled) / SR == pytest.approx(20.9, abs=0.05)
