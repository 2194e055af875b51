"""eSpeak phonemes → visemes → ARKit mouth and jaw curves at a video frame rate, with coarticulation.

Each phoneme (eSpeak's ASCII mnemonic, as eSpeak NG reports it, or mapped from ARPAbet by :data:`ARPABET`) becomes one or more
viseme targets (diphthongs glide between two). Every target is a vector of 52 weights
(:data:`TARGETS`) that is wanted around the middle of its stretch of audio. Neighbouring targets are
blended with dominance functions in the manner of Cohen and Massaro (1993): target ``k`` has a
dominance ``α_k · exp(-max(0, |t - c_k| - h_k) / σ)`` that is flat over the inner half of its
stretch (a pause: all of it but 60 ms at each end) and decays faster after it (carry-over,
σ = 45 ms) than before it (anticipation, σ = 70 ms; a pause's own dominance falls off in 30 ms);
a frame's weights are the dominance-weighted mean of the targets. Strong visemes (lip closures,
lip-teeth contact, rounding) have a high α and pull their neighbours; tongue consonants, ``h`` and
glides have a low α and take the shape of the vowels around them.

Blending alone lets vowels keep the lips apart during a short /p/ or /m/, so bilabials and
labiodentals also drive contact curves (:class:`SpeechCurves` ``closure`` and ``contact``): 1 over
the core of the consonant (always on at least the frame nearest its middle), with ramps of about
50 ms, and :func:`make_contacts` enforces them on the final face after any expression is layered
on: lips closed (``mouthClose`` cancels ``jawOpen``'s lip gap, openers damped, lips pressed) and the
lower lip tucked under the upper teeth.

The mapping, in one table (weights of symmetric shapes apply to Left and Right):

=======  ==============================================  ==============================================  =====
viseme   eSpeak phonemes                                 ARKit targets                                   α
=======  ==============================================  ==============================================  =====
sil      ``_ _: _! _|`` (pauses), start and end           all 0 (rest)                                    0.5
PP       ``p b m``                                        jawOpen .06 mouthClose .06 mouthPress .35        1.0
                                                         mouthRollLower .12 mouthRollUpper .08; closure
FF       ``f v``                                          jawOpen .08 mouthRollLower .5 mouthUpperUp .2;   0.9
                                                         lip-teeth contact
TH       ``T D``                                          jawOpen .14 tongueOut .35 mouthLowerDown .1      0.6
DD       ``t d n l t# t2 t[ n- ?``                        jawOpen .16 mouthLowerDown .1 mouthUpperUp .06   0.35
                                                         mouthStretch .05
KK       ``k g N x`` (``h`` as schwa, α .15)              jawOpen .22 mouthLowerDown .05 mouthStretch .08  0.3
CH       ``tS dZ S Z``                                    jawOpen .1 mouthFunnel .45 mouthPucker .15       0.8
                                                         mouthUpperUp .12 mouthLowerDown .12
SS       ``s z``                                          jawOpen .05 mouthStretch .25 mouthUpperUp .12    0.6
                                                         mouthLowerDown .12 mouthSmile .08
RR       ``r r-`` (and the r-colour of ``3 3: VR IR``)    jawOpen .12 mouthFunnel .25 mouthPucker .3       0.6
AA       ``a aa A: V`` (start of ``aI aU aI@ aU@ A@``)    jawOpen .5 mouthLowerDown .2 mouthUpperUp .05    0.7
E        ``E e e@`` (start of ``eI``)                     jawOpen .32 mouthStretch .2 mouthLowerDown .2    0.7
                                                         mouthUpperUp .08 mouthSmile .06
I        ``i i: I I2 I# i@ i@3 j ;`` (ends of ``aI eI OI``)  jawOpen .14 mouthStretch .35 mouthSmile .15    0.7
                                                         mouthUpperUp .12 mouthLowerDown .12
O        ``0 O: O@ o@ O2`` (start of ``oU OI``)           jawOpen .35 mouthFunnel .45 mouthPucker .2       0.75
U        ``u: U U@ w w#`` (ends of ``oU aU``)             jawOpen .1 mouthPucker .8 mouthFunnel .3         0.8
@        ``@ @2 @5 @- @L a# 3 3:`` and unknown phonemes   jawOpen .22 mouthLowerDown .08                   0.45
=======  ==============================================  ==============================================  =====

Vowel targets are scaled by how loud the vowel is in the audio (:func:`phoneme_gains`), so stressed
syllables open wider, and every target by the clip's articulation strength.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from head import arkit

VISEMES = ("sil", "PP", "FF", "TH", "DD", "KK", "CH", "SS", "RR", "AA", "E", "I", "O", "U", "@")
VOWELS = frozenset({"AA", "E", "I", "O", "U", "@"})
SILENCE = "sil"

_SYMMETRIC = ("mouthPress", "mouthLowerDown", "mouthUpperUp", "mouthStretch", "mouthSmile", "mouthFrown",
              "mouthDimple")

# Targets per viseme; a symmetric name stands for its Left and Right shapes.
_TARGETS: dict[str, dict[str, float]] = {
    "sil": {},
    "PP": {"jawOpen": 0.06, "mouthClose": 0.06, "mouthPress": 0.35, "mouthRollLower": 0.12, "mouthRollUpper": 0.08},
    "FF": {"jawOpen": 0.08, "mouthRollLower": 0.5, "mouthUpperUp": 0.2},
    "TH": {"jawOpen": 0.14, "tongueOut": 0.35, "mouthLowerDown": 0.1},
    "DD": {"jawOpen": 0.16, "mouthLowerDown": 0.1, "mouthUpperUp": 0.06, "mouthStretch": 0.05},
    "KK": {"jawOpen": 0.22, "mouthLowerDown": 0.05, "mouthStretch": 0.08},
    "CH": {"jawOpen": 0.1, "mouthFunnel": 0.45, "mouthPucker": 0.15, "mouthUpperUp": 0.12, "mouthLowerDown": 0.12},
    "SS": {"jawOpen": 0.05, "mouthStretch": 0.25, "mouthUpperUp": 0.12, "mouthLowerDown": 0.12, "mouthSmile": 0.08},
    "RR": {"jawOpen": 0.12, "mouthFunnel": 0.25, "mouthPucker": 0.3},
    "AA": {"jawOpen": 0.5, "mouthLowerDown": 0.2, "mouthUpperUp": 0.05},
    "E": {"jawOpen": 0.32, "mouthStretch": 0.2, "mouthLowerDown": 0.2, "mouthUpperUp": 0.08, "mouthSmile": 0.06},
    "I": {"jawOpen": 0.14, "mouthStretch": 0.35, "mouthSmile": 0.15, "mouthUpperUp": 0.12, "mouthLowerDown": 0.12},
    "O": {"jawOpen": 0.35, "mouthFunnel": 0.45, "mouthPucker": 0.2},
    "U": {"jawOpen": 0.1, "mouthPucker": 0.8, "mouthFunnel": 0.3},
    "@": {"jawOpen": 0.22, "mouthLowerDown": 0.08},
}
DOMINANCE: dict[str, float] = {"sil": 0.5, "PP": 1.0, "FF": 0.9, "TH": 0.6, "DD": 0.35, "KK": 0.3, "CH": 0.8,
                               "SS": 0.6, "RR": 0.6, "AA": 0.7, "E": 0.7, "I": 0.7, "O": 0.75, "U": 0.8, "@": 0.45}

# eSpeak mnemonic → viseme, or glide [(fraction of the phoneme where the part starts, viseme), ...].
PHONEMES: dict[str, str | tuple[tuple[float, str], ...]] = {
    **{p: "sil" for p in ("_", "_:", "_!", "_|", "_^_", "__")},
    **{p: "PP" for p in ("p", "b", "m")},
    **{p: "FF" for p in ("f", "v")},
    **{p: "TH" for p in ("T", "D")},
    **{p: "DD" for p in ("t", "d", "n", "l", "t#", "t2", "t[", "d#", "n-", "l/", "L", "?")},
    **{p: "KK" for p in ("k", "g", "N", "x")},
    **{p: "CH" for p in ("tS", "dZ", "S", "Z")},
    **{p: "SS" for p in ("s", "z")},
    **{p: "RR" for p in ("r", "r-", "R")},
    **{p: "AA" for p in ("a", "aa", "A:", "A", "V")},
    **{p: "E" for p in ("E", "e", "e:")},
    **{p: "I" for p in ("i", "i:", "I", "I2", "I#", "j", ";")},
    **{p: "O" for p in ("0", "O:", "O", "O@", "o@", "O2", "o")},
    **{p: "U" for p in ("u:", "U", "u", "w", "w#")},
    **{p: "@" for p in ("@", "@2", "@5", "@-", "@L", "a#", "h")},
    "aI": ((0.0, "AA"), (0.55, "I")), "aI2": ((0.0, "AA"), (0.55, "I")), "aI3": ((0.0, "AA"), (0.55, "I")),
    "aI@": ((0.0, "AA"), (0.4, "I"), (0.75, "@")), "aU": ((0.0, "AA"), (0.55, "U")),
    "aU@": ((0.0, "AA"), (0.4, "U"), (0.75, "@")), "eI": ((0.0, "E"), (0.55, "I")),
    "oU": ((0.0, "O"), (0.55, "U")), "@U": ((0.0, "@"), (0.5, "U")), "OI": ((0.0, "O"), (0.55, "I")),
    "e@": ((0.0, "E"), (0.6, "@")), "i@": ((0.0, "I"), (0.6, "@")), "i@3": ((0.0, "I"), (0.6, "@")),
    "U@": ((0.0, "U"), (0.6, "@")), "A@": ((0.0, "AA"), (0.65, "RR")),
    "3": ((0.0, "@"), (0.5, "RR")), "3:": ((0.0, "@"), (0.5, "RR")), "VR": ((0.0, "AA"), (0.6, "RR")),
    "IR": ((0.0, "I"), (0.6, "RR")),
}
# ARPAbet (the CMU dictionary's phones, as pocketsphinx aligns them; see :mod:`expclip.alignment`) → eSpeak
ARPABET: dict[str, str] = {
    "SIL": "_", "P": "p", "B": "b", "M": "m", "F": "f", "V": "v", "TH": "T", "DH": "D", "T": "t", "D": "d",
    "N": "n", "L": "l", "K": "k", "G": "g", "NG": "N", "CH": "tS", "JH": "dZ", "SH": "S", "ZH": "Z", "S": "s",
    "Z": "z", "R": "r", "HH": "h", "Y": "j", "W": "w", "AA": "A:", "AE": "a", "AH": "V", "AO": "O:", "AW": "aU",
    "AY": "aI", "EH": "E", "ER": "3:", "EY": "eI", "IH": "I", "IY": "i:", "OW": "oU", "OY": "OI", "UH": "U",
    "UW": "u:",
}


def phones_to_espeak(phones: Sequence) -> list[tuple[float, str]]:
    """Aligned ARPAbet phones (objects with ``label``, ``start``) → eSpeak starts ``[(seconds, mnemonic)]``."""
    return [(float(p.start), ARPABET.get(p.label, "@")) for p in phones]


def rule_face(phones: Sequence, seconds: float, fps: float = 30.0, samples: np.ndarray | None = None,
              sample_rate: int = 16_000) -> np.ndarray:
    """The phone → viseme rule alone on aligned ARPAbet phones: mouth weights ``(round(seconds·fps), 52)``
    with the lips closed on bilabials (``samples``, when given, scale each vowel by its loudness)."""
    phonemes = phones_to_espeak(phones)
    gains = phoneme_gains(samples, sample_rate, phonemes, seconds) if samples is not None and phonemes else None
    curves = speech_curves(phonemes, seconds, fps, gains=gains)
    return make_contacts(curves.weights, curves.closure, curves.contact)


# Phonemes whose dominance differs from their viseme's: sounds made without the lips, that borrow
# the shape of the vowels around them.
PHONEME_DOMINANCE: dict[str, float] = {"h": 0.15, ";": 0.2, "?": 0.15, "_!": 0.3, "j": 0.4, "l": 0.3}

ANTICIPATION = 0.070  # seconds: how far a target reaches ahead of itself
CARRY_OVER = 0.045    # and how far it lingers after
SILENCE_SPREAD = 0.030
PAUSE_MARGIN = 0.060
REACH_S = 1.0        # how far a target's dominance is computed from its stretch
BLOCK_FRAMES = 512   # frames computed at once
CONTACT_RAMP_IN, CONTACT_RAMP_OUT = 0.05, 0.04


def _vector(targets: dict[str, float]) -> np.ndarray:
    out = np.zeros(arkit.NUM_BLENDSHAPES, np.float32)
    for name, value in targets.items():
        for full in ((name + "Left", name + "Right") if name in _SYMMETRIC else (name,)):
            out[arkit.INDEX[full]] = value
    return out


TARGETS: dict[str, np.ndarray] = {v: _vector(t) for v, t in _TARGETS.items()}
_TARGET_MATRIX = np.stack([TARGETS[v] for v in VISEMES])
_V_INDEX = {v: i for i, v in enumerate(VISEMES)}
_I = arkit.INDEX
_OPENERS = [_I[n] for n in ("mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft", "mouthUpperUpRight",
                            "mouthFunnel", "tongueOut")]
_PRESS = [_I["mouthPressLeft"], _I["mouthPressRight"]]


def viseme_of(phoneme: str) -> str | tuple[tuple[float, str], ...]:
    """The viseme (or glide) of an eSpeak mnemonic; unknown ones are judged by their first letter."""
    if phoneme in PHONEMES:
        return PHONEMES[phoneme]
    if phoneme.startswith("_"):
        return SILENCE
    stripped = phoneme.rstrip("0123456789#-;[/:")
    if stripped in PHONEMES:
        return PHONEMES[stripped]
    return PHONEMES.get(phoneme[:1], "@")


@dataclass
class Segment:
    """One viseme target over ``[start, end)`` seconds."""

    viseme: str
    start: float
    end: float
    dominance: float
    gain: float = 1.0
    phoneme: str = ""


def segments(phonemes: Sequence[tuple[float, str]], seconds: float,
             gains: Sequence[float] | None = None) -> list[Segment]:
    """Phoneme starts ``[(seconds, mnemonic), ...]`` (sorted) → viseme segments; a phoneme lasts until
    the next one starts (the last until ``seconds``)."""
    out: list[Segment] = []
    starts = [float(t) for t, _ in phonemes] + [float(seconds)]
    for i, (start, phoneme) in enumerate(phonemes):
        end = max(starts[i + 1], start)
        if end - start <= 1e-4:
            continue
        mapped = viseme_of(phoneme)
        parts = ((0.0, mapped),) if isinstance(mapped, str) else mapped
        for k, (fraction, viseme) in enumerate(parts):
            nxt = parts[k + 1][0] if k + 1 < len(parts) else 1.0
            alpha = PHONEME_DOMINANCE.get(phoneme, DOMINANCE[viseme])
            gain = float(gains[i]) if gains is not None else 1.0
            out.append(Segment(viseme, start + fraction * (end - start), start + nxt * (end - start), alpha, gain,
                               phoneme))
    return out


def phoneme_gains(samples: np.ndarray, sample_rate: int, phonemes: Sequence[tuple[float, str]],
                  seconds: float | None = None, low: float = 0.75, high: float = 1.25) -> np.ndarray:
    """How wide each phoneme opens by its loudness: ``sqrt(rms / median vowel rms)`` in ``[low, high]``
    for vowels, 1 for the rest."""
    seconds = len(samples) / sample_rate if seconds is None else seconds
    starts = [t for t, _ in phonemes] + [seconds]
    rms = np.ones(len(phonemes))
    vowel = np.zeros(len(phonemes), bool)
    for i, (start, phoneme) in enumerate(phonemes):
        mapped = viseme_of(phoneme)
        first = mapped if isinstance(mapped, str) else mapped[0][1]
        a, b = int(start * sample_rate), int(starts[i + 1] * sample_rate)
        if first in VOWELS and b > a and phoneme != "h":
            vowel[i] = True
            rms[i] = float(np.sqrt(np.mean(np.square(samples[a:b], dtype=np.float64)))) + 1e-6
    gains = np.ones(len(phonemes))
    if vowel.any():
        gains[vowel] = np.clip(np.sqrt(rms[vowel] / np.median(rms[vowel])), low, high)
    return gains


def frame_times(seconds: float, fps: float = 30.0) -> np.ndarray:
    """Times of the frames covering ``seconds``: ``round(seconds * fps)`` frames, frame ``j`` at ``j / fps``."""
    return np.arange(int(round(seconds * fps)), dtype=np.float64) / fps


def _ramp(times: np.ndarray, start: float, end: float) -> np.ndarray:
    """1 on ``[start, end]``, a raised-cosine ramp of CONTACT_RAMP_IN before and CONTACT_RAMP_OUT after."""
    before = np.clip((times - (start - CONTACT_RAMP_IN)) / CONTACT_RAMP_IN, 0, 1)
    after = np.clip(((end + CONTACT_RAMP_OUT) - times) / CONTACT_RAMP_OUT, 0, 1)
    up = 0.5 - 0.5 * np.cos(np.pi * np.minimum(before, after))
    return np.where((times >= start) & (times <= end), 1.0, up)


def _contact_curve(segs: Iterable[Segment], times: np.ndarray, fps: float) -> np.ndarray:
    """Max over segments of a ramped hold over their core (always reaching 1 on the frame nearest the middle)."""
    curve = np.zeros(len(times))
    for seg in segs:
        duration = seg.end - seg.start
        core = (seg.start + 0.15 * duration, seg.end - 0.25 * duration)
        if len(times):
            middle = 0.5 * (seg.start + seg.end)
            nearest = float(times[np.argmin(np.abs(times - middle))])
            if abs(nearest - middle) <= 0.5 / fps + 1e-9:
                core = (min(core[0], nearest), max(core[1], nearest))
        curve = np.maximum(curve, _ramp(times, *core))
    return curve


@dataclass
class SpeechCurves:
    """Per-frame speech layers, ``T = round(seconds * fps)`` frames.

    ``weights`` ``(T, 52)``: mouth, jaw and tongue shapes of the speech alone; ``closure`` ``(T,)``: how
    closed the lips must be (bilabials); ``contact`` ``(T,)``: lower lip against the upper teeth
    (labiodentals); ``activity`` ``(T,)``: 1 while speaking, 0 in pauses (smoothed).
    """

    weights: np.ndarray
    closure: np.ndarray
    contact: np.ndarray
    activity: np.ndarray


def speech_curves(phonemes: Sequence[tuple[float, str]], seconds: float, fps: float = 30.0,
                  gains: Sequence[float] | None = None, strength: float = 1.0, lead: float = 0.02) -> SpeechCurves:
    """Coarticulated viseme curves for phonemes ``[(start seconds, mnemonic), ...]`` of audio lasting
    ``seconds``. ``gains`` scale each phoneme's target (see :func:`phoneme_gains`), ``strength`` the
    whole articulation; ``lead`` moves the mouth that many seconds ahead of the sound, as lips move
    slightly before the sound they shape."""
    times = frame_times(seconds, fps) + lead
    segs = segments(sorted(phonemes, key=lambda p: p[0]), seconds, gains)
    if not segs or not len(times):
        zeros = np.zeros(len(times), np.float32)
        return SpeechCurves(np.zeros((len(times), arkit.NUM_BLENDSHAPES), np.float32), zeros, zeros, zeros)
    starts = np.array([s.start for s in segs])
    ends = np.array([s.end for s in segs])
    alphas = np.array([s.dominance for s in segs])
    silent = np.array([s.viseme == SILENCE for s in segs])
    # Flat over the inner half of a stretch; a pause rests over all of it but its last 60 ms at each end.
    lengths = ends - starts
    centres = 0.5 * (starts + ends)
    halves = np.where(silent, np.maximum(0.25 * lengths, 0.5 * lengths - PAUSE_MARGIN), 0.25 * lengths)
    before = np.where(silent, SILENCE_SPREAD, ANTICIPATION)
    after = np.where(silent, SILENCE_SPREAD, CARRY_OVER)
    targets = _TARGET_MATRIX[[_V_INDEX[s.viseme] for s in segs]] * np.array([s.gain for s in segs])[:, None]
    speaking = (~silent).astype(float)
    weights = np.zeros((len(times), arkit.NUM_BLENDSHAPES))
    activity = np.zeros(len(times))
    # In blocks of frames, each with the segments within REACH_S of it (a dominance is e^-14 there), so that
    # time and memory grow with the length of the clip, not with its square (a 15-minute recording).
    for first in range(0, len(times), BLOCK_FRAMES):
        block = times[first:first + BLOCK_FRAMES]
        near = np.flatnonzero((ends >= block[0] - REACH_S) & (starts <= block[-1] + REACH_S))
        # Before the first and after the last phoneme the face rests.
        rest = np.where((block < starts[0]) | (block > ends[-1]), 1.0, 1e-3)
        offset = block[None, :] - centres[near, None]                      # (segments near, frames)
        distance = np.maximum(0.0, np.abs(offset) - halves[near, None])
        spread = np.where(offset < 0, before[near, None], after[near, None])
        dominance = alphas[near, None] * np.exp(-distance / spread)
        total = dominance.sum(0) + rest
        weights[first:first + len(block)] = (dominance.T @ targets[near]) / total[:, None]
        activity[first:first + len(block)] = (dominance * speaking[near, None]).sum(0) / total
    weights = np.clip(weights * strength, 0.0, 1.0)

    closure = _contact_curve([s for s in segs if s.viseme == "PP"], times, fps)
    contact = _contact_curve([s for s in segs if s.viseme == "FF"], times, fps)
    return SpeechCurves(weights.astype(np.float32), closure.astype(np.float32), contact.astype(np.float32),
                        np.clip(activity, 0, 1).astype(np.float32))


def make_contacts(face: np.ndarray, closure: np.ndarray, contact: np.ndarray) -> np.ndarray:
    """Enforce lip closure and lip-teeth contact on final weights ``(T, 52)`` (a new array).

    Where ``closure`` is 1 the lips meet whatever else the face does: the jaw closes most of the way,
    ``mouthClose`` equals the remaining ``jawOpen`` (on this rig that exactly cancels the jaw's lip gap),
    openers (lower-lip down, upper-lip up, funnel, tongue) fade out and the lips press. Where
    ``contact`` is 1 the lower lip rolls in under the upper teeth and the jaw nearly closes.
    """
    out = np.array(face, np.float32, copy=True)
    c = np.asarray(closure, np.float32)[:, None]
    f = np.asarray(contact, np.float32)[:, None]
    jaw, close = _I["jawOpen"], _I["mouthClose"]
    out[:, jaw] *= 1.0 - 0.6 * c[:, 0] - 0.4 * f[:, 0]
    out[:, close] = np.maximum(out[:, close] * (1 - c[:, 0]), c[:, 0] * out[:, jaw])
    out[:, _OPENERS] *= 1.0 - np.maximum(c, 0.8 * f)
    out[:, _PRESS] = np.maximum(out[:, _PRESS], 0.35 * c)
    out[:, _I["mouthRollLower"]] = np.maximum(out[:, _I["mouthRollLower"]], 0.45 * f[:, 0])
    out[:, close] = np.minimum(out[:, close], out[:, jaw])  # never more than the jaw opens: lips would bulge
    return np.clip(out, 0.0, 1.0)
