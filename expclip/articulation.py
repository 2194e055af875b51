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


def articulate(frames: np.ndarray, phones: Sequence, fps: float, rest: np.ndarray,
               samples: np.ndarray | None = None, sample_rate: int = 16_000,
               rule_share: float | None = None) -> np.ndarray:
    """The generator's ``frames (T, 52)`` with the mouth made to say ``phones`` (ARPAbet with times).

    ``rest`` ``(T, 52)`` or ``(52,)``: the style's expression (the face when not speaking); ``samples``
    (16 kHz) let loud vowels open wider; ``rule_share`` (default :data:`RULE_SHARE`) is the rule's part of
    the speech shapes. Returns new ``(T, 52)`` weights in [0, 1].
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
    return np.clip(make_contacts(out, closure, contact), 0.0, 1.0).astype(np.float32)
