"""Phone-aware lips: the generator's mouth, corrected by the phones of the speech where they are known.

The generator hears speech only through its audio features; trained on eSpeak voices with an L1 loss, it
keeps the lips a few millimetres apart throughout on real voices. When the phones and their times are
known (:mod:`expclip.alignment`), :func:`articulate` makes the mouth say them, keeping everything else
the generator made (the style's brows, eyes, cheeks, smile; the head's blinks):

* while speaking, the speech shapes (:data:`SPEECH_SHAPES`) are a mix of the generator's motion and the
  phone → viseme rule of :mod:`expclip.visemes` (``rule_share`` of the rule, :data:`ROUNDING_SHARE` for
  the lip rounding), scaled by :data:`SPEECH_GAIN` and laid over the style's own mouth;
* in pauses they come to the style's mouth at rest (the rule's activity curve fades the speech out);
* on P/B/M the lips meet and on F/V the lower lip tucks under the teeth
  (:func:`expclip.visemes.make_contacts`), whatever else the face does.

Where the phones are not known (speech the aligner cannot handle, ``phones=False``, the live stream),
:func:`audio_lips` scales the generator's own speech motion by the same :data:`SPEECH_GAIN`. In both,
:func:`follow_loudness` narrows the mouth's opening where the voice is quieter than its usual level, frame by
frame, as a real mouth narrows when the sound stops (a stop's closure, the end of a word, a pause). The talking
corpus's mouths are made by the same function (builder version 3), where it also widens loud syllables; the
generator learned that widening, so inference only narrows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from expclip.visemes import make_contacts, phoneme_gains, phones_to_espeak, speech_curves
from head import arkit

SPEECH_SHAPES = ("jawOpen", "mouthClose", "mouthFunnel", "mouthPucker", "mouthRollLower", "mouthRollUpper",
                 "mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft", "mouthUpperUpRight",
                 "mouthPressLeft", "mouthPressRight", "mouthStretchLeft", "mouthStretchRight", "tongueOut")
_SPEECH = [arkit.INDEX[name] for name in SPEECH_SHAPES]
_ROUNDING = np.array([name in ("mouthFunnel", "mouthPucker") for name in SPEECH_SHAPES])
RULE_SHARE = 0.2  # chosen on the pooled lip-sync measures of the shared real clips (see the generator card)
ROUNDING_SHARE = 0.6  # the rule's part of mouthFunnel and mouthPucker: the generator hardly rounds the lips
SPEECH_GAIN = 1.5  # scale of the speech shapes' motion over the style's mouth
OPENING_SHAPES = ("jawOpen", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft", "mouthUpperUpRight")
_OPENING = [arkit.INDEX[name] for name in OPENING_SHAPES]
LOUDNESS_RANGE = (0.3, 1.6)  # the opening's scale at the quietest and loudest frames (the talking corpus's)
# At inference the loudness only narrows the mouth: the generator learned the widening from its corpus, and
# widening again opened loud syllables like a yawn (jawOpen 0.96 on a calm real clip, 99th percentile 0.77).
INFERENCE_WIDEST = 1.0
SPEAKING_LOUDNESS = 0.1  # audio-only: frames louder than this (of the clip's loud speech, 0–1) are speech


def articulate(frames: np.ndarray, phones: Sequence, fps: float, rest: np.ndarray,
               samples: np.ndarray | None = None, sample_rate: int = 16_000,
               rule_share: float | None = None, loudness: bool = True) -> np.ndarray:
    """The generator's ``frames (T, 52)`` with the mouth made to say ``phones`` (ARPAbet with times).

    ``rest`` ``(T, 52)`` or ``(52,)``: the style's expression (the face when not speaking); ``samples``
    (16 kHz) let loud vowels open wider and, with ``loudness``, the opening follow the voice frame by frame
    (:func:`follow_loudness`, before the lips' contacts); ``rule_share`` (default :data:`RULE_SHARE`) is the
    rule's part of the speech shapes. Returns new ``(T, 52)`` weights in [0, 1].
    """
    rule_share = RULE_SHARE if rule_share is None else rule_share
    frames = np.asarray(frames, np.float32)
    count = len(frames)
    rest = np.broadcast_to(np.asarray(rest, np.float32), frames.shape)
    phonemes = phones_to_espeak(phones)
    gains = phoneme_gains(samples, sample_rate, phonemes, count / fps) if samples is not None else None
    curves = speech_curves(phonemes, count / fps, fps, gains=gains)
    length = min(count, len(curves.weights))  # the rule counts round(seconds · fps) frames
    rule = np.zeros_like(frames)
    rule[:length] = curves.weights[:length]
    activity = np.zeros(count, np.float32)
    activity[:length] = curves.activity[:length]
    closure, contact = (np.pad(c[:length], (0, count - length)) for c in (curves.closure, curves.contact))
    out = frames.copy()
    base = rest[:, _SPEECH]
    share = np.where(_ROUNDING, ROUNDING_SHARE, rule_share).astype(np.float32)
    speaking = (1.0 - share) * (frames[:, _SPEECH] - base) + share * rule[:, _SPEECH]
    out[:, _SPEECH] = base + SPEECH_GAIN * activity[:, None] * speaking
    if loudness and samples is not None:  # the speech's opening follows the voice; the lips' contacts come last
        from expclip.lipsync import loudness as envelope

        out = follow_loudness(out, envelope(samples, fps), activity > 0.5, rest=rest)
    return np.clip(make_contacts(out, closure, contact), 0.0, 1.0).astype(np.float32)


def audio_lips(frames: np.ndarray, rest: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """The lips where the phones are not known: the generator's ``frames (T, 52)`` with their speech shapes' motion
    over the style's mouth ``rest`` (``(52,)`` or ``(T, 52)``) scaled by :data:`SPEECH_GAIN`, as :func:`articulate`
    scales its own, then the opening moved from ``rest`` by ``scale (T,)`` (:func:`opening_scale` of the loudness).
    ``(T, 52)``."""
    frames = np.asarray(frames, np.float32)
    rest = np.broadcast_to(np.asarray(rest, np.float32), frames.shape)
    out = frames.copy()
    out[:, _SPEECH] = np.clip(rest[:, _SPEECH] + SPEECH_GAIN * (frames[:, _SPEECH] - rest[:, _SPEECH]), 0.0, 1.0)
    return scale_opening(out, scale, rest)


def speaking_level(level: np.ndarray, speaking: np.ndarray | None = None) -> float:
    """The median of the loudness ``level (T,)`` (0–1) over the ``speaking (T,)`` frames (default: those louder than
    :data:`SPEAKING_LOUDNESS`); 0 when there are none."""
    level = np.asarray(level, np.float64)
    speaking = level > SPEAKING_LOUDNESS if speaking is None else np.asarray(speaking, bool)[:len(level)]
    return float(np.median(level[:len(speaking)][speaking])) if speaking.any() else 0.0


def opening_scale(level: np.ndarray, reference: float, power: float = 1.0,
                  widest: float = INFERENCE_WIDEST) -> np.ndarray:
    """How far the mouth opens at each frame relative to what the generator made, ``(T,)``: ``(level / reference)
    ** power`` clipped to ``[LOUDNESS_RANGE[0], widest]`` (all ones when ``reference`` is 0: nothing to follow)."""
    level = np.asarray(level, np.float64)
    if reference <= 0:
        return np.ones(len(level))
    return np.clip((level / reference) ** power, LOUDNESS_RANGE[0], widest)


def scale_opening(weights: np.ndarray, scale: np.ndarray, rest: np.ndarray | None = None) -> np.ndarray:
    """``weights (T, 52)`` with the opening shapes (:data:`OPENING_SHAPES`) moved from ``rest`` (``(52,)`` or
    ``(T, 52)``, default zeros) by ``scale (T,)`` times as much (frames beyond ``scale``'s length keep a factor 1)."""
    weights = np.asarray(weights, np.float32)
    factor = np.ones((len(weights), 1))
    given = np.asarray(scale, np.float64)[:len(weights)]
    factor[:len(given), 0] = given
    base = np.zeros_like(weights) if rest is None else np.broadcast_to(np.asarray(rest, np.float32), weights.shape)
    out = weights.copy()
    out[:, _OPENING] = np.clip(base[:, _OPENING] + factor * (weights[:, _OPENING] - base[:, _OPENING]), 0.0, 1.0)
    return out


def follow_loudness(weights: np.ndarray, envelope: np.ndarray, speaking: np.ndarray | None = None,
                    power: float = 1.0, rest: np.ndarray | None = None,
                    widest: float = INFERENCE_WIDEST) -> np.ndarray:
    """``weights (T, 52)`` with the mouth's opening (:data:`OPENING_SHAPES`: jaw, lower and upper lip) moved from
    ``rest`` by ``(envelope / its median while speaking) ** power`` times as much at each frame, that factor clipped
    to ``[LOUDNESS_RANGE[0], widest]`` (the talking corpus widens up to ``LOUDNESS_RANGE[1]``; inference,
    :data:`INFERENCE_WIDEST`, only narrows).

    ``envelope (T,)``: the loudness per frame (:func:`expclip.lipsync.loudness`, the lip-sync benchmark's own;
    shorter or longer than ``weights`` is fine); ``speaking (T,)`` bool: the frames whose loudness sets the
    reference (default: those louder than :data:`SPEAKING_LOUDNESS`); ``rest`` ``(52,)`` or ``(T, 52)``: the face
    when not speaking, whose own mouth is kept (default: all zeros). The range and power were chosen on talking-
    corpus clips alone (see :mod:`train.talking.corpus`). Returns a new float32 array, or ``weights`` itself when
    there is nothing to follow (``power`` 0, or silence).
    """
    weights = np.asarray(weights, np.float32)
    level = np.zeros(len(weights), np.float64)
    measured = np.asarray(envelope, np.float64)[:len(weights)]
    level[:len(measured)] = measured
    reference = speaking_level(level, speaking)
    if power == 0 or reference <= 0:
        return weights
    return scale_opening(weights, opening_scale(level, reference, power, widest), rest)
