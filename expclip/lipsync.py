"""How well a mouth follows speech, measured on phone timings (:mod:`expclip.alignment`), and two references.

    from expclip.lipsync import measure, pool, envelope_weights, viseme_weights
    stats = measure(frames, fps, phones, envelope)   # frames (T, 52) at fps; phones [Phone]; envelope (T,) in [0, 1]
    stats.row()                                      # {"closure_rate": …, "pause_vowel_ratio": …, …}
    pool([stats_a, stats_b]).row()                   # over clips: closures as counts, means over all frames

The mouth's opening per frame is the *aperture*: ``jawOpen + ½·mean(mouthLowerDownLeft/Right) +
½·mean(mouthUpperUpLeft/Right) − mouthClose``, clipped at 0. Frame ``k`` is the instant ``k / fps``; a phone
from ``start`` to ``end`` holds the frames whose instant lies in ``[start, end)`` (a phone shorter than the frame
step holds the frame nearest its middle). Per clip:

* ``closure_rate``: the share of P/B/M phones whose smallest aperture within the phone ±1 frame is below
  35 % of the clip's median open-vowel aperture (the median over open-vowel frames): the lips meet;
* ``pause_vowel_ratio``: the mean aperture in pauses (``SIL`` longer than 150 ms, the clip's start and end
  included) over the mean aperture on vowels (all 15 ARPAbet vowels); 0 when the mouth rests in pauses;
* ``open_vowel_aperture``: the mean aperture on the open vowels AA AE AH AO AW AY (pocketsphinx marks no
  stress, so AH includes the unstressed schwa);
* ``envelope_r``: the Pearson correlation of the aperture with the loudness envelope (the speech RMS in dB
  normalised to [0, 1], :func:`loudness`);
* ``lag_frames``: the shift within ±5 frames that maximises that correlation (positive: the mouth moves
  after the sound);
* ``rounding``: mean ``mouthFunnel + mouthPucker`` on OW UW W minus the same on IY EH AE.

Pooled over clips (:func:`pool`): closures are summed as counts; aperture means are over all the clips'
frames; ``envelope_r`` is the frame-weighted mean of the clips' correlations, and ``lag_frames`` maximises
the frame-weighted mean of their cross-correlation curves.

The two reference rows use the same timings: :func:`envelope_weights` (the loudness envelope as the mouth:
jawOpen ∝ envelope) and :func:`viseme_weights` (a plain phone → viseme rule: :data:`VISEMES`, held over each
phone, smoothed with a short attack and release, lips held shut on P/B/M).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np

from head.arkit import INDEX, NUM_BLENDSHAPES

BILABIALS = frozenset({"P", "B", "M"})
OPEN_VOWELS = frozenset({"AA", "AE", "AH", "AO", "AW", "AY"})
VOWELS = OPEN_VOWELS | frozenset({"EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"})
ROUNDED = frozenset({"OW", "UW", "W"})
SPREAD = frozenset({"IY", "EH", "AE"})
SILENCE = "SIL"
CLOSED_SHARE = 0.35   # a bilabial is closed below this share of the clip's median open-vowel aperture
MIN_PAUSE_S = 0.150
MAX_LAG = 5
METRICS = ("closure_rate", "pause_vowel_ratio", "open_vowel_aperture", "envelope_r", "lag_frames", "rounding")

_JAW, _CLOSE = INDEX["jawOpen"], INDEX["mouthClose"]
_LOWER = [INDEX["mouthLowerDownLeft"], INDEX["mouthLowerDownRight"]]
_UPPER = [INDEX["mouthUpperUpLeft"], INDEX["mouthUpperUpRight"]]
_ROUNDING = [INDEX["mouthFunnel"], INDEX["mouthPucker"]]


def signed_aperture(weights):
    """Weights ``(..., 52)`` (a numpy array or a torch tensor) → the aperture before clipping ``(...)``;
    negative where mouthClose presses the lips together beyond the opening."""
    return (weights[..., _JAW] + 0.5 * weights[..., _LOWER].mean(-1) + 0.5 * weights[..., _UPPER].mean(-1)
            - weights[..., _CLOSE])


def aperture(weights: np.ndarray) -> np.ndarray:
    """Weights ``(frames, 52)`` → the mouth's opening ``(frames,)`` (see the module docstring)."""
    w = np.asarray(weights, np.float64)
    if w.ndim != 2 or w.shape[1] != NUM_BLENDSHAPES:
        raise ValueError(f"Weights have shape {w.shape}; give (frames, {NUM_BLENDSHAPES}).")
    return np.maximum(signed_aperture(w), 0.0)


def loudness(samples: np.ndarray, fps: float = 30.0) -> np.ndarray:
    """16 kHz samples → the loudness envelope per frame, 0 (silence) to 1 (the clip's loud speech)."""
    from expclip.audio import normalise_envelope, speech_envelope

    return normalise_envelope(speech_envelope(samples, fps=fps))


def phone_frames(start: float, end: float, fps: float, frames: int, pad: int = 0) -> np.ndarray:
    """Indices of the frames a phone holds (instants ``k / fps`` in ``[start, end)``), widened by ``pad``."""
    first, last = math.ceil(start * fps - 1e-9), math.ceil(end * fps - 1e-9) - 1
    if last < first:
        first = last = int(round((start + end) / 2 * fps))
    first, last = max(first - pad, 0), min(last + pad, frames - 1)
    return np.arange(first, last + 1) if last >= first else np.zeros(0, np.int64)


def frame_labels(phones: Sequence, frames: int, fps: float) -> np.ndarray:
    """The phone label at each frame's instant ``(frames,)``; ``SIL`` where no phone is."""
    labels = np.full(frames, SILENCE, dtype=object)
    for phone in phones:
        labels[phone_frames(phone.start, phone.end, fps, frames)] = phone.label
    return labels


@dataclass
class LipSyncStats:
    """What one clip (or a pool of clips) measured: counts and sums, so that pools add up."""

    closures: int = 0
    bilabials: int = 0
    pause_sum: float = 0.0
    pause_frames: int = 0
    vowel_sum: float = 0.0
    vowel_frames: int = 0
    open_sum: float = 0.0
    open_frames: int = 0
    rounded_sum: float = 0.0
    rounded_frames: int = 0
    spread_sum: float = 0.0
    spread_frames: int = 0
    frames: int = 0
    r_sum: float = 0.0  # frame-weighted correlation sum
    r_frames: int = 0
    lag_curve: np.ndarray = field(default_factory=lambda: np.zeros(2 * MAX_LAG + 1))  # frame-weighted r per lag
    clips: int = 1

    # the measures ---------------------------------------------------------------------------------
    @property
    def closure_rate(self) -> float:
        return self.closures / self.bilabials if self.bilabials else math.nan

    @property
    def pause_vowel_ratio(self) -> float:
        if not self.pause_frames or not self.vowel_frames or self.vowel_sum <= 0:
            return math.nan
        return (self.pause_sum / self.pause_frames) / (self.vowel_sum / self.vowel_frames)

    @property
    def open_vowel_aperture(self) -> float:
        return self.open_sum / self.open_frames if self.open_frames else math.nan

    @property
    def envelope_r(self) -> float:
        return self.r_sum / self.r_frames if self.r_frames else math.nan

    @property
    def lag_frames(self) -> float:
        if not self.r_frames or not np.isfinite(self.lag_curve).any():
            return math.nan
        return float(np.nanargmax(self.lag_curve) - MAX_LAG)

    @property
    def rounding(self) -> float:
        if not self.rounded_frames or not self.spread_frames:
            return math.nan
        return self.rounded_sum / self.rounded_frames - self.spread_sum / self.spread_frames

    def row(self, digits: int = 3) -> dict:
        """The measures as a flat dict (NaN where a clip has nothing to measure), with the closure counts."""
        out = {name: _round(getattr(self, name), digits) for name in METRICS}
        out.update(closures=self.closures, bilabials=self.bilabials, frames=self.frames, clips=self.clips)
        return out

    def __add__(self, other: "LipSyncStats") -> "LipSyncStats":
        sums = {name: getattr(self, name) + getattr(other, name) for name in (
            "closures", "bilabials", "pause_sum", "pause_frames", "vowel_sum", "vowel_frames", "open_sum",
            "open_frames", "rounded_sum", "rounded_frames", "spread_sum", "spread_frames", "frames", "r_sum",
            "r_frames", "clips")}
        curve = np.nansum(np.stack([self.lag_curve, other.lag_curve]), 0)
        return LipSyncStats(**sums, lag_curve=curve)


def _round(value: float, digits: int) -> float:
    return round(float(value), digits) if np.isfinite(value) else math.nan


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 3 or np.std(a) < 1e-9 or np.std(b) < 1e-9:
        return math.nan
    return float(np.corrcoef(a, b)[0, 1])


def lag_curve(mouth: np.ndarray, envelope: np.ndarray, max_lag: int = MAX_LAG) -> np.ndarray:
    """Correlation of ``mouth[t + lag]`` with ``envelope[t]`` for lag = −max_lag … max_lag ``(2·max_lag + 1,)``."""
    n = min(len(mouth), len(envelope))
    out = np.full(2 * max_lag + 1, math.nan)
    for i, lag in enumerate(range(-max_lag, max_lag + 1)):
        if lag >= 0:
            out[i] = _correlation(mouth[lag:n], envelope[:n - lag])
        else:
            out[i] = _correlation(mouth[:n + lag], envelope[-lag:n])
    return out


def measure(weights: np.ndarray, fps: float, phones: Sequence, envelope: np.ndarray | None = None) -> LipSyncStats:
    """One clip: weights ``(frames, 52)`` at ``fps``, its phones (``label``, ``start``, ``end`` in seconds) and
    its loudness envelope ``(frames,)`` (optional: without it the correlation and lag are NaN)."""
    open_ = aperture(weights)
    w = np.asarray(weights, np.float64)
    frames = len(open_)
    labels = frame_labels(phones, frames, fps)
    stats = LipSyncStats(frames=frames)

    is_open = np.isin(labels, list(OPEN_VOWELS))
    is_vowel = np.isin(labels, list(VOWELS))
    stats.open_sum, stats.open_frames = float(open_[is_open].sum()), int(is_open.sum())
    stats.vowel_sum, stats.vowel_frames = float(open_[is_vowel].sum()), int(is_vowel.sum())

    median_open = float(np.median(open_[is_open])) if is_open.any() else math.nan
    threshold = CLOSED_SHARE * median_open
    for phone in phones:
        if phone.label in BILABIALS:
            held = phone_frames(phone.start, phone.end, fps, frames, pad=1)
            if not len(held):
                continue
            stats.bilabials += 1
            stats.closures += int(np.isfinite(threshold) and open_[held].min() < threshold)

    pause = np.zeros(frames, bool)
    for phone in phones:
        if phone.label == SILENCE and phone.end - phone.start > MIN_PAUSE_S:
            pause[phone_frames(phone.start, phone.end, fps, frames)] = True
    stats.pause_sum, stats.pause_frames = float(open_[pause].sum()), int(pause.sum())

    rounding = w[:, _ROUNDING].sum(1)
    rounded, spread = np.isin(labels, list(ROUNDED)), np.isin(labels, list(SPREAD))
    stats.rounded_sum, stats.rounded_frames = float(rounding[rounded].sum()), int(rounded.sum())
    stats.spread_sum, stats.spread_frames = float(rounding[spread].sum()), int(spread.sum())

    if envelope is not None:
        envelope = np.asarray(envelope, np.float64)
        n = min(frames, len(envelope))
        r = _correlation(open_[:n], envelope[:n])
        if np.isfinite(r):
            stats.r_sum, stats.r_frames = r * n, n
            stats.lag_curve = lag_curve(open_[:n], envelope[:n]) * n
        else:
            stats.lag_curve = np.full(2 * MAX_LAG + 1, math.nan)
    return stats


def pool(stats: Iterable[LipSyncStats]) -> LipSyncStats:
    """Several clips as one: counts and sums added (see the module docstring)."""
    stats = list(stats)
    if not stats:
        return LipSyncStats(clips=0)
    total = stats[0]
    for other in stats[1:]:
        total = total + other
    return total


# ------------------------------------------------------------------------------------------ references

ENVELOPE_JAW = 0.55  # jawOpen at the clip's loud speech in the envelope reference


def envelope_weights(envelope: np.ndarray, gain: float = ENVELOPE_JAW) -> np.ndarray:
    """The loudness envelope as the mouth: ``jawOpen = gain · envelope``, everything else 0: ``(frames, 52)``."""
    envelope = np.clip(np.asarray(envelope, np.float32), 0.0, 1.0)
    out = np.zeros((len(envelope), NUM_BLENDSHAPES), np.float32)
    out[:, _JAW] = gain * envelope
    return out


def viseme_weights(phones: Sequence, frames: int, fps: float = 30.0, samples: np.ndarray | None = None) -> np.ndarray:
    """The phone → viseme reference: the project's one rule (:func:`expclip.visemes.rule_face`, coarticulated,
    the lips shut over every P/B/M) on ARPAbet phones, ``(frames, 52)`` float32."""
    from expclip.visemes import rule_face

    out = np.zeros((frames, NUM_BLENDSHAPES), np.float32)
    rule = rule_face(phones, frames / fps, fps, samples)[:frames]
    out[:len(rule)] = rule
    return out
