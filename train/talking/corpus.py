"""The espeak talking corpus: synthetic speech with lip-synced, emotional ARKit animation.

Each clip takes one TEAD sample (train clips from TEAD's train split, test clips from its test split)
and

1. says its transcript, cleaned for speech (:func:`speakable`; a short one is joined by another
   transcript of the same emotion), with one of three synthesisers (:func:`ClipMaker.speak`): mostly an
   eSpeak NG voice (an English accent and a voice variant, speaking rate, pitch, pitch range and word
   gap drawn at random), else a flite voice or the neural Piper voice of :mod:`train.talking.voices`
   (speaking rate drawn at random, then speed and pitch perturbed together); the audio is resampled to
   16 kHz, brought to a random loudness, given a short silence before and after and sometimes a faint
   noise floor;
2. turns the synthesiser's phoneme timings (Piper's: forced alignment of its text) into coarticulated
   viseme curves (:mod:`expclip.visemes`) and, from builder version 3, lets the mouth open with the voice's
   loudness frame by frame (:func:`follow_loudness`): a real mouth opens wider on a loud syllable and narrows
   as a word trails off, where per-phoneme targets alone follow the clip's loudness at a median r of only 0.53;
3. layers the sample's expression on top (:func:`layer_face`): its blendshapes scaled to a random
   intensity that ramps in (and sometimes out); jaw opening of speech and expression combine as
   ``1 - (1 - s)(1 - e)``; the expression's own lip postures (pressed lips, a chin raise, puffed
   cheeks) relax while the mouth articulates, rounded vowels damp a smile, and bilabial closures and
   lip-teeth contacts are enforced last;
4. adds blinks (every 2-6 s, 0.15-0.25 s each, a fast close and a slower opening), slow idle drift of
   brows and eye gaze with small saccades, and brief brow raises on some words; there is no head pose.

Voices are split by variant: the test split uses eSpeak voice variants (:data:`TEST_VARIANTS`) and a
flite voice (:data:`~train.talking.voices.FLITE_TEST_VOICES`) that no train clip uses (the one Piper
voice speaks in both). Every clip is drawn from ``(seed, split, index)`` alone and eSpeak runs from a fresh state
for each clip (:class:`~train.talking.espeak.IsolatedEspeak`), so the same seed gives the same files
(Piper's clips excepted: its sampling noise cannot be seeded), a killed build resumes where it stopped,
and a larger ``size`` only adds clips.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from tqdm import tqdm

from expclip import clips
from expclip.motion import blinks, smoothstep
from head import arkit
from head.files import drop_torn_line, write_text_atomic
from train.config import config_to_dict
from expclip import visemes
from train.talking import espeak, voices as other_voices

BUILDER = "espeak"
BUILDER_VERSION = 3  # 2: flite and Piper voices, speed perturbation; 3: the mouth follows the loudness
TEST_VARIANTS = ("f3", "m4", "klatt4", "Annie", "david", "steph")
SPLIT_IDS = {"train": 0, "test": 1}
_I = arkit.INDEX


class CorpusError(ValueError):
    """Bad builder input (missing TEAD, bad size, an output folder built with other settings)."""


@dataclass
class TalkingConfig:
    tead: str = "data/tead"
    size: int = 3000            # clips in all, train and test
    test_share: float = 0.1
    seed: int = 0
    min_rate: int = 120         # words per minute
    max_rate: int = 220
    max_words: int = 40         # a short transcript is joined by others up to this many words
    min_words: int = 8
    flite_share: float = 0.25   # clips spoken by a flite voice
    piper_share: float = 0.12   # clips spoken by the Piper voice (the slowest to make: aligned)
    perturbation: float = 0.1   # flite and Piper clips: speed and pitch × U[1 - p, 1 + p]
    loudness_follow: float = 1.0  # exponent of the loudness ratio that scales the mouth's opening (0: off, as builder 2)


# --- text ----------------------------------------------------------------------------------------------

_ABBREVIATIONS = {"rn": "right now", "tbh": "to be honest", "bc": "because", "ngl": "not gonna lie",
                  "idk": "I don't know", "omg": "oh my god", "imo": "in my opinion", "smh": "", "lol": "",
                  "w/": "with", "b/c": "because", "u": "you", "ur": "your", "pls": "please", "thx": "thanks"}


@lru_cache(maxsize=1)
def _emoticon_pattern() -> re.Pattern:
    from expclip.emotions import load_knowledge_base

    faces = {e for emotion in load_knowledge_base().emotions for e in emotion.emoticons}
    faces |= {":)", ":(", ":D", ":P", ";)", ":/", ":O", ":o", "<3", "xD", "XD", "^_^", "-_-", "T_T", "O_O", "o_O"}
    parts = []
    for face in sorted(faces, key=len, reverse=True):
        left = r"(?<![A-Za-z0-9])" if face[0].isalnum() else ""
        right = r"(?![A-Za-z0-9])" if face[-1].isalnum() else ""
        parts.append(left + re.escape(face) + right)
    return re.compile("|".join(parts))


def speakable(text: str) -> str:
    """A TEAD transcript as something to say: no emoticons or hashtags, chat abbreviations spelled out,
    symbols that eSpeak would read aloud removed. Returns ``""`` when nothing speakable is left."""
    text = _emoticon_pattern().sub(" ", text)
    text = re.sub(r"#\w+", " ", text)
    text = re.sub(r"[—–]", ", ", text)
    words = []
    for token in text.split():
        core = token.strip(".,!?:;")
        key = core.lower()
        if key in _ABBREVIATIONS:
            token = token.replace(core, _ABBREVIATIONS[key]) if _ABBREVIATIONS[key] else token.replace(core, "")
        words.append(token)
    text = " ".join(words)
    text = re.sub(r"[*_^|\\\[\]<>=~`@&%$+{}\"]", " ", text)
    text = re.sub(r"/", " ", text)
    text = re.sub(r"([!?])[!?]+", r"\1", text)
    text = re.sub(r"\.{3,}", "...", text)
    text = re.sub(r"\s+([,.!?:;])", r"\1", text)
    text = re.sub(r"([,:;])[,.:;]+", r"\1", text)
    text = re.sub(r"^[\s,.:;!?]+", "", text)
    text = re.sub(r"\s+", " ", text).strip()
    return text if re.search(r"[A-Za-z]{2,}", text) else ""


def _sentence(text: str) -> str:
    return text if text[-1] in ".!?" else text + "."


# --- motion layers -------------------------------------------------------------------------------------

def smooth_noise(times: np.ndarray, rng: np.random.Generator, period: float) -> np.ndarray:
    """Slow noise in [-1, 1] over ``times``: random knots every ``period`` seconds, smoothly joined."""
    end = float(times[-1]) if len(times) else 0.0
    knots = np.arange(-period, end + 2 * period, period) + rng.uniform(0, period)
    values = rng.uniform(-1, 1, len(knots))
    position = np.clip(np.searchsorted(knots, times) - 1, 0, len(knots) - 2)
    fraction = smoothstep((times - knots[position]) / period)
    return values[position] * (1 - fraction) + values[position + 1] * fraction


def expression_envelope(times: np.ndarray, seconds: float, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """How strongly the expression shows over time, in [0, 1]: a ramp in, sometimes a ramp out, and
    a slow ±8 % fluctuation."""
    start_level = float(rng.uniform(0.0, 0.5)) if rng.random() < 0.6 else 1.0
    ramp_start = float(rng.uniform(0.0, 0.25 * seconds))
    ramp_in = float(rng.uniform(0.3, 1.5))
    level = start_level + (1 - start_level) * smoothstep((times - ramp_start) / ramp_in)
    info = {"start_level": round(start_level, 3), "ramp_start": round(ramp_start, 3), "ramp_in": round(ramp_in, 3)}
    if rng.random() < 0.25:
        end_level, ramp_out = float(rng.uniform(0.2, 0.7)), float(rng.uniform(0.5, 1.5))
        fall = smoothstep((times - (seconds - ramp_out)) / ramp_out)
        level = level * (1 - fall) + np.minimum(level, end_level) * fall
        info.update(end_level=round(end_level, 3), ramp_out=round(ramp_out, 3))
    level = level * (1 + 0.08 * smooth_noise(times, rng, 1.7))
    return np.clip(level, 0, 1), info


def idle_motion(times: np.ndarray, words: list[float], rng: np.random.Generator) -> np.ndarray:
    """Small head-free motion ``(T, 52)`` to add to a face: brow drift, gaze fixations with saccades,
    and brief brow raises on some words (``words``: their start times)."""
    out = np.zeros((len(times), arkit.NUM_BLENDSHAPES))
    inner, outer = smooth_noise(times, rng, 1.3), smooth_noise(times, rng, 1.6)
    asym = 0.15 * smooth_noise(times, rng, 2.1)
    out[:, _I["browInnerUp"]] = 0.04 * (inner + 1) / 2
    out[:, _I["browOuterUpLeft"]] = 0.035 * (outer + 1) / 2 * (1 + asym)
    out[:, _I["browOuterUpRight"]] = 0.035 * (outer + 1) / 2 * (1 - asym)
    down = 0.03 * np.maximum(0, smooth_noise(times, rng, 2.3))
    out[:, _I["browDownLeft"]] = out[:, _I["browDownRight"]] = down
    raise_ = np.zeros(len(times))
    for start in words:
        if rng.random() < 0.12:
            height = float(rng.uniform(0.08, 0.2))
            up = smoothstep((times - start + 0.05) / 0.1)
            down_ = 1 - smoothstep((times - start - 0.2) / 0.25)
            raise_ = np.maximum(raise_, height * np.minimum(up, down_))
    out[:, _I["browInnerUp"]] += raise_
    out[:, _I["browOuterUpLeft"]] += 0.8 * raise_
    out[:, _I["browOuterUpRight"]] += 0.8 * raise_
    # Gaze: fixations held for 0.4-3 s, each reached by a ~60 ms saccade.
    yaw, pitch = np.zeros(len(times)), np.zeros(len(times))
    t, current = float(rng.uniform(0.3, 2.0)), np.zeros(2)
    end = float(times[-1]) if len(times) else 0.0
    while t < end:
        target = np.array([rng.normal(0, 0.08), rng.normal(0, 0.05)])
        step = smoothstep((times - t) / 0.06)
        yaw += (target[0] - current[0]) * step
        pitch += (target[1] - current[1]) * step
        current = target
        t += float(rng.uniform(0.4, 3.0))
    # Positive yaw looks toward the subject's left: left eye out, right eye in.
    out[:, _I["eyeLookOutLeft"]] = out[:, _I["eyeLookInRight"]] = np.maximum(yaw, 0)
    out[:, _I["eyeLookInLeft"]] = out[:, _I["eyeLookOutRight"]] = np.maximum(-yaw, 0)
    out[:, _I["eyeLookUpLeft"]] = out[:, _I["eyeLookUpRight"]] = np.maximum(pitch, 0)
    out[:, _I["eyeLookDownLeft"]] = out[:, _I["eyeLookDownRight"]] = np.maximum(-pitch, 0)
    return out


_SPEECH_SHAPES = [_I[n] for n in ("mouthFunnel", "mouthPucker", "mouthLowerDownLeft", "mouthLowerDownRight",
                                  "mouthUpperUpLeft", "mouthUpperUpRight", "mouthRollLower", "mouthRollUpper",
                                  "mouthPressLeft", "mouthPressRight", "mouthClose", "tongueOut")]
_ROUNDING_DAMPED = [_I[n] for n in ("mouthSmileLeft", "mouthSmileRight", "mouthStretchLeft", "mouthStretchRight",
                                    "mouthDimpleLeft", "mouthDimpleRight")]
_RELAXED_WHILE_SPEAKING = [_I[n] for n in ("mouthShrugLower", "mouthShrugUpper", "cheekPuff", "jawForward",
                                           "jawLeft", "jawRight")]


def layer_face(speech: visemes.SpeechCurves, expression: np.ndarray, blink: np.ndarray,
               idle: np.ndarray) -> np.ndarray:
    """Combine speech ``(T, 52)`` curves, an expression ``(T, 52)``, blinks ``(T, 2)`` and idle motion
    ``(T, 52)`` into final weights ``(T, 52)`` in [0, 1] (see the module notes)."""
    s, e = speech.weights.astype(np.float64), np.asarray(expression, np.float64)
    a = speech.activity.astype(np.float64)[:, None]
    face = e + idle + s                       # upper face: expression + drift; speech adds what it moves
    jaw = _I["jawOpen"]
    face[:, jaw] = 1 - (1 - s[:, jaw]) * (1 - e[:, jaw] * (1 - 0.3 * a[:, 0]))
    # Lip postures: the stronger of speech and the (relaxing while speaking) expression.
    face[:, _SPEECH_SHAPES] = np.maximum(s[:, _SPEECH_SHAPES], e[:, _SPEECH_SHAPES] * (1 - 0.5 * a))
    rounding = np.clip(np.maximum(s[:, [_I["mouthPucker"]]], s[:, [_I["mouthFunnel"]]]) / 0.6, 0, 1)
    face[:, _ROUNDING_DAMPED] = e[:, _ROUNDING_DAMPED] * (1 - 0.6 * rounding) + s[:, _ROUNDING_DAMPED]
    face[:, _RELAXED_WHILE_SPEAKING] = e[:, _RELAXED_WHILE_SPEAKING] * (1 - 0.7 * a) + s[:, _RELAXED_WHILE_SPEAKING]
    for k, name in enumerate(("eyeBlinkLeft", "eyeBlinkRight")):
        i = _I[name]
        face[:, i] = face[:, i] + (1 - face[:, i]) * blink[:, k]
        wide = _I[name.replace("Blink", "Wide")]
        face[:, wide] *= 1 - blink[:, k]
    face = np.clip(face, 0.0, 1.0)
    return visemes.make_contacts(face, speech.closure, speech.contact)


def follow_loudness(speech: visemes.SpeechCurves, samples: np.ndarray, power: float) -> visemes.SpeechCurves:
    """``speech`` with its opening shapes scaled frame by frame with the loudness of ``samples (n,)`` (16 kHz) by
    :func:`expclip.articulation.follow_loudness`, the reference being the median loudness while the phones say
    speech. Its range and power were chosen on corpus clips alone: they raise the corpus mouth's median
    correlation with its loudness from 0.53 to 0.74 (40 training clips; a range of 0.5–1.3 gave 0.72, and squaring
    the ratio no more than 0.74)."""
    from expclip import articulation
    from expclip.lipsync import loudness

    weights = articulation.follow_loudness(speech.weights, loudness(samples), speech.activity > 0.5, power,
                                           widest=articulation.LOUDNESS_RANGE[1])
    if weights is speech.weights:
        return speech
    return visemes.SpeechCurves(weights, speech.closure, speech.contact, speech.activity)


# --- clips ---------------------------------------------------------------------------------------------

@dataclass
class Clip:
    record: clips.ClipRecord
    samples: np.ndarray   # (n,) float32 at clips.SAMPLE_RATE
    weights: np.ndarray   # (frames, 52) float32


def voices(split: str) -> list[str]:
    """The ``language+variant`` voices of a split (test voices use :data:`TEST_VARIANTS` only)."""
    held_out = set(TEST_VARIANTS)
    return [v for v in espeak.voice_names() if (v.split("+")[1] in held_out) == (split == "test")]


def _primary_emotion(sample) -> tuple[str, float]:
    if sample.emotions:
        name = next(iter(sample.emotions))
        return name, float(sample.emotions[name])
    from expclip.emotions import load_knowledge_base

    category = load_knowledge_base().category_of(sample.tags[0]) if sample.tags else None
    return (category.name if category else ""), 1.0


class ClipMaker:
    """Makes clip ``index`` of a split from ``(seed, split, index)``; ``pool`` is the split's TEAD."""

    def __init__(self, config: TalkingConfig, split: str, pool: list, engine, flite=None, piper=None) -> None:
        if not pool:
            raise CorpusError(f"TEAD at {config.tead} has no {split} samples to take expressions and text from.")
        self.config, self.split, self.pool, self.engine = config, split, pool, engine
        self.flite, self.piper = flite, piper
        self.voices = voices(split)
        held_out = set(other_voices.FLITE_TEST_VOICES)
        self.flite_voices = [v for v in other_voices.FLITE_VOICES if (v in held_out) == (split == "test")]
        self.by_emotion: dict[str, list[int]] = {}
        for i, sample in enumerate(pool):
            self.by_emotion.setdefault(_primary_emotion(sample)[0], []).append(i)

    def _text(self, rng: np.random.Generator) -> tuple[int, list[int], str]:
        cfg = self.config
        for _ in range(50):
            first = int(rng.integers(len(self.pool)))
            text = speakable(self.pool[first].transcript)
            if text:
                break
        else:
            raise CorpusError(f"TEAD at {cfg.tead} has no transcripts with words to speak.")
        used = [first]
        peers = self.by_emotion[_primary_emotion(self.pool[first])[0]]
        longer = rng.random() < 0.3          # some clips say two or three transcripts even when the first is long
        for _ in range(20):
            count = len(text.split())
            if len(used) >= 4 or (count >= cfg.min_words and not longer):
                break
            other = peers[int(rng.integers(len(peers)))]
            more = speakable(self.pool[other].transcript)
            if not more:
                continue
            if count + len(more.split()) > cfg.max_words:
                break
            text = f"{_sentence(text)} {more}"
            used.append(other)
            longer = longer and rng.random() < 0.4
        return first, used, text

    def speak(self, text: str, rng: np.random.Generator) -> tuple[str, dict, espeak.Speech]:
        """Say ``text`` with a synthesiser and voice drawn from ``rng`` → (voice name, its settings, speech at
        16 kHz with phoneme events). A Piper clip the aligner cannot time is said by eSpeak instead."""
        cfg = self.config
        if cfg.flite_share == cfg.piper_share == 0:
            return self._espeak(text, rng)  # no other draws: the same clips as builder version 1
        pick = rng.random()
        factor = float(rng.uniform(1 - cfg.perturbation, 1 + cfg.perturbation))
        # flite and Piper take their speaking rate as a duration stretch (> 1: slower).
        stretch = float(np.exp(rng.uniform(np.log(0.8), np.log(1.3))))
        if pick < cfg.piper_share and self.piper is not None:
            from expclip.alignment import AlignmentError

            settings = {"length_scale": round(stretch, 3), "noise_scale": round(float(rng.uniform(0.4, 0.8)), 3),
                        "noise_w_scale": round(float(rng.uniform(0.5, 1.0)), 3)}
            try:
                speech = self.piper.synthesize(text, **settings)
                return (other_voices.PIPER_VOICE, {**settings, "perturbation": round(factor, 3)},
                        other_voices.perturb(speech, factor).resampled(clips.SAMPLE_RATE))
            except AlignmentError:
                return self._espeak(text, rng)
        if pick < cfg.piper_share + cfg.flite_share and self.flite is not None:
            voice = self.flite_voices[int(rng.integers(len(self.flite_voices)))]
            speech = self.flite.synthesize(text, voice, stretch)
            return (f"flite-{voice}", {"stretch": round(stretch, 3), "perturbation": round(factor, 3)},
                    other_voices.perturb(speech, factor).resampled(clips.SAMPLE_RATE))
        return self._espeak(text, rng)

    def _espeak(self, text: str, rng: np.random.Generator) -> tuple[str, dict, espeak.Speech]:
        cfg = self.config
        voice = self.voices[int(rng.integers(len(self.voices)))]
        prosody = {"rate": int(rng.integers(cfg.min_rate, cfg.max_rate + 1)), "pitch": int(rng.integers(25, 76)),
                   "pitch_range": int(rng.integers(20, 91)),
                   "word_gap": 0 if rng.random() < 0.8 else int(rng.integers(1, 4))}
        return voice, prosody, self.engine.synthesize(text, voice=voice, **prosody).resampled(clips.SAMPLE_RATE)

    def make(self, index: int) -> Clip:
        cfg = self.config
        rng = np.random.default_rng([cfg.seed, SPLIT_IDS[self.split], index])
        first, used, text = self._text(rng)
        sample = self.pool[first]
        voice, prosody, speech = self.speak(text, rng)

        # Audio: loudness, silence around the speech, sometimes a faint noise floor.
        rate = clips.SAMPLE_RATE
        audio = speech.samples.astype(np.float64)
        active = np.abs(audio) > 1e-3
        rms = float(np.sqrt(np.mean(audio[active] ** 2))) if active.any() else 0.0
        loudness = float(rng.uniform(-30.0, -16.0))
        if rms > 0:
            audio *= 10 ** (loudness / 20) / rms
        peak = float(np.abs(audio).max(initial=0.0))
        if peak > 0.98:
            audio *= 0.98 / peak
        lead_in, tail = float(rng.uniform(0.05, 0.5)), float(rng.uniform(0.1, 0.5))
        audio = np.concatenate([np.zeros(int(lead_in * rate)), audio, np.zeros(int(tail * rate))])
        noise_db = float(rng.uniform(-75.0, -50.0)) if rng.random() < 0.5 else None
        if noise_db is not None:
            audio += rng.normal(0.0, 10 ** (noise_db / 20), len(audio))
        audio = np.clip(audio, -1.0, 1.0).astype(np.float32)
        seconds = len(audio) / rate
        shift = int(lead_in * rate) / rate
        phonemes = [(e.start + shift, str(e.value)) for e in speech.phonemes]
        words = [e.start + shift for e in speech.words if int(e.value) > 0]

        # Motion.
        articulation = float(rng.uniform(0.8, 1.15))
        gains = visemes.phoneme_gains(audio, rate, phonemes, seconds)
        curves = visemes.speech_curves(phonemes, seconds, clips.FPS, gains=gains, strength=articulation)
        curves = follow_loudness(curves, audio, cfg.loudness_follow)
        times = visemes.frame_times(seconds, clips.FPS)
        scale = float(rng.uniform(0.6, 1.1))
        envelope, ramp = expression_envelope(times, seconds, rng)
        expression = np.clip(sample.blendshapes[None, :] * scale, 0, 1) * envelope[:, None]
        blink, blink_starts = blinks(times, rng)
        weights = layer_face(curves, expression, blink, idle_motion(times, words, rng))

        emotion, strength = _primary_emotion(sample)
        record = clips.ClipRecord(
            id=f"{self.split}-{index:06d}", audio="", weights="", frames=0, seconds=0.0, emotion=emotion,
            intensity=round(float(min(1.0, strength * scale)), 3), prompt=", ".join(sample.tags), speaker=voice,
            text=text, source=BUILDER,
            extra={"tead": {"split": self.split, "indices": used}, "emotions": sample.emotions,
                   "situation": sample.situation, "au_text": sample.au_text, "voice": voice, **prosody,
                   "expression_scale": round(scale, 3), "expression_ramp": ramp,
                   "articulation": round(articulation, 3), "loudness_db": round(loudness, 1),
                   "noise_db": None if noise_db is None else round(noise_db, 1), "lead_in": round(shift, 4),
                   "blinks": blink_starts, "phonemes": [[round(t, 4), p] for t, p in phonemes]},
        )
        return Clip(record, audio, weights.astype(np.float32))


# --- the build -----------------------------------------------------------------------------------------

def split_sizes(size: int, test_share: float) -> dict[str, int]:
    test = int(round(size * test_share))
    if size >= 2 and test_share > 0:
        test = min(max(test, 1), size - 1)
    return {"train": size - test, "test": test}


def _identity(config: TalkingConfig) -> dict:
    """What must match for a folder to be resumed or extended (not ``size``)."""
    keep = config_to_dict(config)
    keep.pop("size")
    return {"builder": BUILDER, "builder_version": BUILDER_VERSION, **keep}


def _check_folder(out: Path, config: TalkingConfig) -> None:
    marker = out / "build.json"
    identity = _identity(config)
    if marker.is_file():
        previous = json.loads(marker.read_text(encoding="utf-8"))
        if previous != identity:
            changed = sorted(k for k in set(previous) | set(identity) if previous.get(k) != identity.get(k))
            raise CorpusError(f"{out} holds a talking corpus built with other settings ({', '.join(changed)}); "
                              "use the same settings to resume it, or another --out.")
    elif any((out / f"{split}.jsonl").exists() for split in clips.SPLITS):
        raise CorpusError(f"{out} already holds clips that this builder did not make; choose another --out.")
    else:
        write_text_atomic(marker, json.dumps(identity, indent=2) + "\n")


def _load_tead(config: TalkingConfig) -> dict[str, list]:
    from expclip.tead import read_samples

    path = Path(config.tead)
    if not path.exists():
        raise CorpusError(f"No TEAD at {path}; build it with `python -m train.tead build --annotator offline "
                          f"--size 50000 --seed 0 --out {path}` or pass --tead.")
    if path.is_dir():
        return {split: read_samples(path, split) for split in clips.SPLITS}
    samples = read_samples(path)
    return {split: samples for split in clips.SPLITS}


def build_corpus(config: TalkingConfig, out: str | Path, progress: bool = True) -> dict:
    """Build (or finish, or extend) the talking corpus in ``out``; returns its meta."""
    if config.size < 1:
        raise CorpusError(f"--size must be at least 1 (got {config.size}).")
    if not 0 <= config.test_share < 1:
        raise CorpusError(f"The test share must be in [0, 1) (got {config.test_share}).")
    if not 80 <= config.min_rate <= config.max_rate <= 450:
        raise CorpusError("Speaking rates must satisfy 80 <= min_rate <= max_rate <= 450 words per minute.")
    if min(config.flite_share, config.piper_share) < 0 or config.flite_share + config.piper_share > 1:
        raise CorpusError("The flite and Piper shares must be at least 0 and add up to at most 1 "
                          f"(got {config.flite_share} and {config.piper_share}).")
    if not 0 <= config.perturbation < 0.5:
        raise CorpusError(f"The speed perturbation must be in [0, 0.5) (got {config.perturbation}).")
    if not 0 <= config.loudness_follow <= 3:
        raise CorpusError(f"--loudness-follow must be in [0, 3] (got {config.loudness_follow}).")
    out = Path(out)
    tead = _load_tead(config)
    out.mkdir(parents=True, exist_ok=True)
    _check_folder(out, config)
    started = time.perf_counter()
    made = 0
    flite = other_voices.FliteEngine() if config.flite_share > 0 else None
    piper = other_voices.PiperEngine() if config.piper_share > 0 else None
    with espeak.IsolatedEspeak() as engine:
        for split, count in split_sizes(config.size, config.test_share).items():
            jsonl = out / f"{split}.jsonl"
            drop_torn_line(jsonl)
            done = {r.id for r in clips.read_records(out, split)} if jsonl.exists() else set()
            maker = ClipMaker(config, split, tead[split], engine, flite, piper) if count else None
            for index in tqdm(range(count), desc=f"talking corpus {split}", unit="clip", disable=not progress):
                if f"{split}-{index:06d}" in done:
                    continue
                clip = maker.make(index)
                clips.add_clip(out, split, clip.record, clip.samples, clip.weights)
                made += 1
    elapsed = time.perf_counter() - started
    stats = corpus_stats(out)
    clips.write_meta(out, {"builder": BUILDER, "builder_version": BUILDER_VERSION, "config": config_to_dict(config),
                           "voices": {"languages": list(espeak.ENGLISH_VOICES),
                                      "train_variants": [v for v in espeak.VARIANTS if v not in TEST_VARIANTS],
                                      "test_variants": list(TEST_VARIANTS),
                                      "flite_train": [v for v in other_voices.FLITE_VOICES
                                                      if v not in other_voices.FLITE_TEST_VOICES],
                                      "flite_test": list(other_voices.FLITE_TEST_VOICES),
                                      "piper": other_voices.PIPER_VOICE},
                           "hours": stats["hours"], "seconds": stats["seconds"]})
    meta = clips.read_meta(out)
    meta["this_run"] = {"clips_made": made, "seconds": round(elapsed, 1)}
    return meta


def corpus_stats(out: str | Path) -> dict:
    """Clip counts, hours of audio and clip length percentiles of a clips folder."""
    seconds = {split: [r.seconds for r in clips.read_records(out, split)]
               for split in clips.SPLITS if (Path(out) / f"{split}.jsonl").exists()}
    every = np.array([s for values in seconds.values() for s in values]) if seconds else np.zeros(0)
    total = float(every.sum())
    return {
        "clips": {split: len(values) for split, values in seconds.items()},
        "hours": round(total / 3600, 3),
        "seconds": {"total": round(total, 1),
                    **({f"p{q}": round(float(np.percentile(every, q)), 2) for q in (0, 10, 50, 90, 100)}
                       if len(every) else {})},
    }


# --- command line --------------------------------------------------------------------------------------

def add_cli(subparsers) -> argparse.ArgumentParser:
    """Register ``build`` on an argparse sub-parser set; the command's ``func(args)`` returns the meta dict."""
    parser = subparsers.add_parser(
        "build", help="the espeak-ng talking corpus: synthetic speech, coarticulated visemes, TEAD expressions",
        description="Build the espeak-ng talking corpus; run again with the same arguments to resume, or with a "
                    "larger --size to add clips.")
    parser.add_argument("--size", type=int, default=3000, help="clips in all (train and test)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("data/talking"))
    parser.add_argument("--tead", default="data/tead", help="TEAD directory (or .jsonl/.csv): texts and expressions")
    parser.add_argument("--test-share", type=float, default=0.1, help="share of clips in test (held-out voices)")
    parser.add_argument("--min-rate", type=int, default=120, help="slowest speaking rate, words per minute")
    parser.add_argument("--max-rate", type=int, default=220, help="fastest speaking rate, words per minute")
    parser.add_argument("--flite-share", type=float, default=0.25, help="share of clips spoken by a flite voice")
    parser.add_argument("--piper-share", type=float, default=0.12, help="share of clips spoken by the Piper voice")
    parser.add_argument("--perturbation", type=float, default=0.1,
                        help="flite and Piper clips: speed and pitch times U[1-p, 1+p]")
    parser.add_argument("--loudness-follow", type=float, default=1.0,
                        help="how strongly the mouth's opening follows the voice's loudness (0: not at all)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run_cli)
    return parser


def run_cli(args: argparse.Namespace) -> dict:
    config = TalkingConfig(tead=str(args.tead), size=args.size, test_share=args.test_share, seed=args.seed,
                           min_rate=args.min_rate, max_rate=args.max_rate, flite_share=args.flite_share,
                           piper_share=args.piper_share, perturbation=args.perturbation,
                           loudness_follow=args.loudness_follow)
    return build_corpus(config, args.out, progress=not args.quiet)
