"""FACS Action Units and the AU → ARKit rule (one table), with its inverse for explanations.

* ``ACTION_UNITS`` lists 42 Action Units and action descriptors (FACS 2002, including the eye
  movements 61–64 and 66 cross-eye): number, FACS name, a plain description of the movement, and
  the ARKit blendshapes it drives with a weight per unit of intensity.
* AU codes are written as in FACS: ``12``, ``AU12``, ``L12`` / ``R12`` or ``12L`` / ``AU12R``
  (left-/right-only, the subject's side as in ARKit), an optional intensity letter ``12C`` /
  ``L12C`` / ``12CL``; prototypes join codes with ``+``: ``"R12A+R14A"``.
* Intensities are FACS letters A–E (``INTENSITY_LEVELS``: A=0.2 … E=1.0) or floats in [0, 1].
* The rule: each blendshape weight is the sum over AUs of ``intensity × weight``, clipped to
  [0, 1]. A sided code drives only the ``Left``/``Right`` variant of two-sided shapes and
  drives one-piece shapes (``jawOpen``, ``browInnerUp``) at half weight.
* ``explain`` goes back from 52 weights to likely AUs (a sparse non-negative fit of the table).

``python -m expclip.facs`` prints the table as Markdown; ``docs/facs.md`` is that output.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Mapping

import numpy as np
from scipy.optimize import lsq_linear, minimize

from head.arkit import BLENDSHAPE_NAMES, INDEX, NUM_BLENDSHAPES, validate

INTENSITY_LEVELS: dict[str, float] = {"A": 0.2, "B": 0.4, "C": 0.6, "D": 0.8, "E": 1.0}
INTENSITY_NAMES: dict[str, str] = {"A": "trace", "B": "slight", "C": "marked", "D": "severe", "E": "maximum"}
SIDES: dict[str, str] = {"L": "Left", "R": "Right"}


class FACSError(ValueError):
    """An AU code, intensity or prototype that the catalogue does not know."""


@dataclass(frozen=True)
class ActionUnit:
    """One FACS Action Unit and the ARKit shapes it drives.

    ``drives`` holds ``(shape, weight)`` pairs: ``shape`` is either a full ARKit name (one-piece or
    fixed-side shapes such as ``jawOpen`` or ``eyeLookOutLeft``) or a base whose ``Left``/``Right``
    variants both exist (``mouthSmile``), which a bilateral AU drives on both sides.
    """

    number: int
    name: str
    description: str
    phrase: str
    side_phrase: str = ""
    drives: tuple[tuple[str, float], ...] = ()
    needs_side: bool = False

    @property
    def sided(self) -> bool:
        """Whether ``L``/``R`` codes are meaningful: the AU drives at least one two-sided shape."""
        return any(shape not in INDEX for shape, _ in self.drives)


def _au(number: int, name: str, description: str, phrase: str, side_phrase: str,
        *drives: tuple[str, float], needs_side: bool = False) -> ActionUnit:
    return ActionUnit(number, name, description, phrase, side_phrase, tuple(drives), needs_side)


# The rule. Weights were chosen by looking at each ICT-FaceKit shape next to the FACS movement;
# secondary weights carry the side effects a coder sees (AU6 also narrows the eyes, AU9 also
# lifts the upper lip). Left/right are the subject's.
ACTION_UNITS: tuple[ActionUnit, ...] = (
    _au(1, "Inner Brow Raiser", "raises the inner ends of the eyebrows",
        "inner brows raised", "{side} inner brow raised", ("browInnerUp", 1.0)),
    _au(2, "Outer Brow Raiser", "raises the outer ends of the eyebrows",
        "outer brows raised", "{side} outer brow raised", ("browOuterUp", 1.0)),
    _au(4, "Brow Lowerer", "lowers the eyebrows and draws them together",
        "brows lowered and drawn together", "{side} brow lowered", ("browDown", 1.0)),
    _au(5, "Upper Lid Raiser", "raises the upper eyelids, widening the eyes",
        "eyes widened", "{side} eye widened", ("eyeWide", 1.0)),
    _au(6, "Cheek Raiser", "lifts the cheeks and gathers the skin around the eyes into crow's feet",
        "cheeks raised", "{side} cheek raised", ("cheekSquint", 1.0), ("eyeSquint", 0.3)),
    _au(7, "Lid Tightener", "tightens the eyelids, narrowing the eyes",
        "eyelids tightened", "{side} eyelid tightened", ("eyeSquint", 1.0), ("eyeBlink", 0.15)),
    _au(8, "Lips Toward Each Other", "draws the lips together while the jaw stays open",
        "lips closed over a lowered jaw", "", ("mouthClose", 0.8), ("jawOpen", 0.4)),
    _au(9, "Nose Wrinkler", "wrinkles the nose and pulls the skin along its sides upward",
        "nose wrinkled", "{side} side of the nose wrinkled",
        ("noseSneer", 1.0), ("mouthUpperUp", 0.3), ("browDown", 0.2)),
    _au(10, "Upper Lip Raiser", "raises the upper lip",
        "upper lip raised", "{side} upper lip raised", ("mouthUpperUp", 1.0), ("noseSneer", 0.15)),
    _au(12, "Lip Corner Puller", "pulls the lip corners up and back into a smile",
        "lip corners pulled up", "{side} lip corner pulled up", ("mouthSmile", 1.0)),
    _au(14, "Dimpler", "tightens the lip corners inward, forming dimples",
        "lip corners dimpled", "{side} lip corner dimpled", ("mouthDimple", 1.0), ("mouthPress", 0.2)),
    _au(15, "Lip Corner Depressor", "pulls the lip corners down",
        "lip corners pulled down", "{side} lip corner pulled down", ("mouthFrown", 1.0)),
    _au(16, "Lower Lip Depressor", "pulls the lower lip down, showing the lower teeth",
        "lower lip pulled down", "{side} lower lip pulled down", ("mouthLowerDown", 1.0)),
    _au(17, "Chin Raiser", "pushes the chin boss and the lower lip up",
        "chin raised", "", ("mouthShrugLower", 1.0), ("mouthShrugUpper", 0.3)),
    _au(18, "Lip Pucker", "pushes the lips forward into a pucker",
        "lips puckered", "", ("mouthPucker", 1.0)),
    _au(19, "Tongue Show", "sticks the tongue out",
        "tongue stuck out", "", ("tongueOut", 1.0), ("jawOpen", 0.15)),
    _au(20, "Lip Stretcher", "stretches the lips sideways",
        "lips stretched sideways", "lips stretched to the {side}", ("mouthStretch", 1.0)),
    _au(22, "Lip Funneler", "funnels the lips outward",
        "lips funnelled", "", ("mouthFunnel", 1.0), ("jawOpen", 0.1)),
    _au(23, "Lip Tightener", "tightens and narrows the red of the lips",
        "lips tightened", "{side} side of the lips tightened",
        ("mouthPress", 0.8), ("mouthRollLower", 0.15), ("mouthRollUpper", 0.15)),
    _au(24, "Lip Pressor", "presses the lips together",
        "lips pressed together", "{side} side of the lips pressed", ("mouthPress", 1.0), ("mouthShrugLower", 0.2)),
    _au(25, "Lips Part", "parts the lips",
        "lips parted", "", ("mouthLowerDown", 0.4), ("mouthUpperUp", 0.15), ("jawOpen", 0.15)),
    _au(26, "Jaw Drop", "lets the jaw drop, opening the mouth",
        "jaw dropped", "", ("jawOpen", 0.7)),
    _au(27, "Mouth Stretch", "pulls the jaw wide open, stretching the mouth",
        "mouth stretched wide open", "", ("jawOpen", 1.0), ("mouthStretch", 0.3)),
    _au(28, "Lip Suck", "sucks the lips in over the teeth",
        "lips sucked in", "", ("mouthRollLower", 1.0), ("mouthRollUpper", 1.0)),
    _au(29, "Jaw Thrust", "pushes the jaw forward",
        "jaw pushed forward", "", ("jawForward", 1.0)),
    _au(30, "Jaw Sideways", "moves the jaw to one side",
        "jaw moved sideways", "jaw moved to the {side}", ("jaw", 1.0), needs_side=True),
    _au(31, "Jaw Clencher", "clenches the jaw, bulging the muscles at its angle",
        "jaw clenched", "", ("mouthPress", 0.3), ("mouthClose", 0.1)),
    _au(32, "Lip Bite", "bites the lower lip",
        "lower lip bitten", "", ("mouthRollLower", 0.7), ("mouthUpperUp", 0.2)),
    _au(33, "Blow", "blows air out through the lips, the cheeks puffed",
        "blowing out", "", ("cheekPuff", 0.6), ("mouthFunnel", 0.4), ("mouthPucker", 0.3)),
    _au(34, "Cheek Puff", "puffs the cheeks out with air",
        "cheeks puffed", "", ("cheekPuff", 1.0)),
    _au(35, "Cheek Suck", "sucks the cheeks in between the teeth",
        "cheeks sucked in", "", ("mouthPucker", 0.6), ("mouthFunnel", 0.2)),
    _au(38, "Nostril Dilator", "flares the nostrils",
        "nostrils flared", "{side} nostril flared", ("noseSneer", 0.5)),
    _au(41, "Lid Droop", "lets the upper eyelids droop",
        "eyelids drooping", "{side} eyelid drooping", ("eyeBlink", 0.4)),
    _au(43, "Eyes Closed", "closes the eyes",
        "eyes closed", "{side} eye closed", ("eyeBlink", 1.0)),
    _au(44, "Squint", "squints, narrowing the eye opening",
        "eyes squinted", "{side} eye squinted", ("eyeSquint", 0.7), ("eyeBlink", 0.3)),
    _au(45, "Blink", "closes and reopens the eyes quickly",
        "blinking", "{side} eye blinking", ("eyeBlink", 1.0)),
    _au(46, "Wink", "closes one eye",
        "winking", "winking the {side} eye", ("eyeBlink", 1.0), ("cheekSquint", 0.3), needs_side=True),
    _au(61, "Eyes Turn Left", "turns both eyes to the left",
        "eyes turned left", "", ("eyeLookOutLeft", 1.0), ("eyeLookInRight", 1.0)),
    _au(62, "Eyes Turn Right", "turns both eyes to the right",
        "eyes turned right", "", ("eyeLookInLeft", 1.0), ("eyeLookOutRight", 1.0)),
    _au(63, "Eyes Up", "turns both eyes up",
        "eyes turned up", "", ("eyeLookUp", 1.0)),
    _au(64, "Eyes Down", "turns both eyes down",
        "eyes turned down", "", ("eyeLookDown", 1.0), ("eyeBlink", 0.15)),
    _au(66, "Cross-eye", "turns both eyes in toward the nose",
        "eyes crossed", "", ("eyeLookInLeft", 1.0), ("eyeLookInRight", 1.0)),
)
CATALOG: dict[int, ActionUnit] = {au.number: au for au in ACTION_UNITS}

# AU45 is AU43 for a moment and AU41 is a weaker AU43: the same column of the rule, so the
# inverse keeps only AU43 to stay unambiguous. AU31, 33, 35 and 38 are sums of other columns or
# parts of them (press, puff + funnel + pucker, pucker, sneer): left out for the same reason.
_NOT_EXPLAINED = frozenset({31, 33, 35, 38, 41, 45})

# Side before the number (L12, AU L12) or after it (12L, AU12R, 12CL), intensity letter after the number.
_CODE = re.compile(r"^\s*(?:AU)?\s*([LR])?\s*(\d{1,2})\s*([A-E])?\s*([LR])?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class AUCode:
    """A parsed AU code: number, side (``""``, ``"L"``, ``"R"``) and an optional intensity."""

    number: int
    side: str = ""
    intensity: float | None = None

    @property
    def key(self) -> str:
        """The code as stored in TEAD: ``"12"``, ``"L12"``."""
        return f"{self.side}{self.number}"

    @property
    def unit(self) -> ActionUnit:
        return CATALOG[self.number]


def parse_intensity(value: str | float | int, what: str = "AU intensity") -> float:
    """A FACS letter A–E or a number in [0, 1] → float in [0, 1]."""
    if isinstance(value, str):
        text = value.strip().upper()
        if text in INTENSITY_LEVELS:
            return INTENSITY_LEVELS[text]
        try:
            value = float(text)
        except ValueError:
            raise FACSError(f"{what} {value!r} is not a FACS letter A–E or a number from 0 to 1.") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0:
        raise FACSError(f"{what} {value!r} is not a FACS letter A–E or a number from 0 to 1.")
    return float(value)


def intensity_letter(value: float) -> str:
    """The FACS letter nearest to an intensity in [0, 1] (A for anything below 0.3)."""
    return min(INTENSITY_LEVELS, key=lambda letter: abs(INTENSITY_LEVELS[letter] - value))


def parse_code(code: str | int) -> AUCode:
    """Parse ``"AU12"``, ``"R12A"``, ``"L46"``, ``"AU12L"``, ``12`` … into an :class:`AUCode`."""
    match = _CODE.match(str(code))
    if match is None or (match.group(1) and match.group(4)):
        raise FACSError(f"AU code {code!r} is not of the form 12, AU12, L12, R12, 12L or 12C.")
    side = (match.group(1) or match.group(4) or "").upper()
    number, letter = int(match.group(2)), match.group(3)
    unit = CATALOG.get(number)
    if unit is None:
        raise FACSError(f"AU{number} is not in the catalogue; known AUs: {', '.join(map(str, CATALOG))}.")
    if side and not unit.sided:
        raise FACSError(f"AU{number} ({unit.name}) has no left/right form; write it as {number}.")
    if unit.needs_side and not side:
        raise FACSError(f"AU{number} ({unit.name}) happens on one side; write it as L{number} or R{number}.")
    return AUCode(number, side, INTENSITY_LEVELS[letter.upper()] if letter else None)


def parse_prototype(text: str) -> dict[str, float]:
    """``"1+2+5B+26"`` → ``{"1": 0.6, "2": 0.6, "5": 0.4, "26": 0.6}`` (no letter means C)."""
    aus: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split("+"))):
        code = parse_code(part)
        aus[code.key] = code.intensity if code.intensity is not None else INTENSITY_LEVELS["C"]
    return aus


def normalize_aus(aus: Mapping[str | int, str | float] | Iterable[str | int]) -> dict[str, float]:
    """AUs in any accepted form → ``{key: intensity}`` sorted by AU number then side.

    Accepts a mapping ``{"12": "C", "AU6": 0.4}`` or a list of codes ``["6C", "12"]`` (no letter
    means C). Repeated keys keep their highest intensity.
    """
    items: list[tuple[AUCode, float]] = []
    if isinstance(aus, Mapping):
        for raw, value in aus.items():
            code = parse_code(raw)
            items.append((code, parse_intensity(value, f"Intensity of AU {raw}")))
    else:
        for raw in aus:
            code = parse_code(raw)
            items.append((code, code.intensity if code.intensity is not None else INTENSITY_LEVELS["C"]))
    merged: dict[AUCode, float] = {}
    for code, value in items:
        bare = AUCode(code.number, code.side)
        merged[bare] = max(merged.get(bare, 0.0), value)
    ordered = sorted(merged.items(), key=lambda item: (item[0].number, item[0].side))
    return {code.key: value for code, value in ordered}


@lru_cache(maxsize=None)
def _column(key: str) -> np.ndarray:
    """The 52 weights one unit of the AU code ``key`` adds; read-only, shape (52,)."""
    code = parse_code(key)
    column = np.zeros(NUM_BLENDSHAPES, dtype=np.float32)
    for shape, weight in code.unit.drives:
        if shape in INDEX:
            column[INDEX[shape]] += weight * (0.5 if code.side else 1.0)
        elif code.side:
            column[INDEX[shape + SIDES[code.side]]] += weight
        else:
            column[INDEX[shape + "Left"]] += weight
            column[INDEX[shape + "Right"]] += weight
    column.flags.writeable = False
    return column


def aus_to_blendshapes(aus: Mapping[str | int, str | float] | Iterable[str | int]) -> np.ndarray:
    """Apply the rule: AUs (any form :func:`normalize_aus` accepts) → weights, shape (52,), in [0, 1]."""
    weights = np.zeros(NUM_BLENDSHAPES, dtype=np.float32)
    for key, value in normalize_aus(aus).items():
        weights += value * _column(key)
    return np.clip(weights, 0.0, 1.0)


def _side_word(side: str) -> str:
    return "left" if side == "L" else "right"


_PARTICIPLE = re.compile(r"\b(?:\w+(?:ed|en|ing)|stuck)\b")


def _with_degree(text: str, value: float, number: int) -> str:
    """Put "slightly" (< 0.3) or "strongly" (> 0.7) before the movement: "inner brows strongly raised"."""
    degree = "slightly" if value < 0.3 else ("strongly" if value > 0.7 else "")
    if not degree or number in (45, 46) or (number == 43 and degree == "strongly"):
        return text
    match = _PARTICIPLE.search(text)
    return f"{text[:match.start()]}{degree} {text[match.start():]}" if match else f"{degree} {text}"


def describe(aus: Mapping[str | int, str | float] | Iterable[str | int]) -> str:
    """A readable description: ``"inner brows raised, lip corners pulled down"``.

    Intensities below 0.3 read "slightly", above 0.7 "strongly"; an AU on both sides at different
    strengths reads once, "(more on the left)"; no AUs read as a relaxed face.
    """
    by_number: dict[int, dict[str, float]] = {}
    for key, value in normalize_aus(aus).items():
        code = parse_code(key)
        by_number.setdefault(code.number, {})[code.side] = value
    parts = []
    for number, sides in by_number.items():
        unit = CATALOG[number]
        if "" in sides or {"L", "R"} <= set(sides):
            value = max(sides.values())
            text = _with_degree(unit.phrase, value, number)
            if "" not in sides and min(sides.values()) < 0.7 * value:
                text += f" (more on the {_side_word(max(sides, key=sides.get))})"
        else:
            (side, value), = sides.items()
            phrase = unit.side_phrase.format(side=_side_word(side)) if unit.side_phrase \
                else f"{unit.phrase} on the {_side_word(side)}"
            text = _with_degree(phrase, value, number)
        parts.append(text)
    return ", ".join(parts) if parts else "relaxed, neutral face"


def name_list(aus: Mapping[str | int, str | float] | Iterable[str | int]) -> str:
    """AUs by FACS number and name: ``"AU4 Brow Lowerer, AU12 Lip Corner Puller (right)"``."""
    parts = []
    for key in normalize_aus(aus):
        code = parse_code(key)
        side = f" ({_side_word(code.side)})" if code.side else ""
        parts.append(f"AU{code.number} {code.unit.name}{side}")
    return ", ".join(parts) if parts else "no action units, neutral face"


@lru_cache(maxsize=1)
def _explain_basis() -> tuple[tuple[str, ...], np.ndarray]:
    """Codes and columns the inverse fits: one side at a time for sided AUs; (52, K)."""
    keys: list[str] = []
    for unit in ACTION_UNITS:
        if unit.number in _NOT_EXPLAINED:
            continue
        keys.extend([f"L{unit.number}", f"R{unit.number}"] if unit.sided else [str(unit.number)])
    return tuple(keys), np.stack([_column(k) for k in keys], axis=1).astype(np.float64)


@lru_cache(maxsize=1)
def _explain_cost() -> np.ndarray:
    """L1 cost per basis column, shape (K,): its total weight, raised 25 % per extra shape it moves.

    Every exact decomposition costs the same under plain total weight, so the extra charge is what
    makes the fit prefer AU26 + AU20 to AU27 and AU43 + AU6 to a wink on each side.
    """
    _, basis = _explain_basis()
    return basis.sum(axis=0) * (1.0 + 0.25 * ((basis > 0).sum(axis=0) - 1))


def explain(weights: np.ndarray, threshold: float = 0.1, sparsity: float = 0.02) -> dict[str, float]:
    """Likely AUs behind 52 weights: ``{key: intensity}``, strongest first.

    Fits non-negative intensities in [0, 1] to the rule with an L1 penalty ``sparsity`` weighted
    per AU (see :func:`_explain_cost`), which keeps explanations short and simple, then refits
    the AUs it chose without the penalty. A sided AU found on both
    sides at similar strength (the weaker at least half the stronger) is reported once, unsided.
    """
    target = validate(np.asarray(weights, dtype=np.float64).reshape(-1), what="Weights to explain")
    keys, basis = _explain_basis()
    cost = sparsity * _explain_cost()

    def objective(x: np.ndarray) -> tuple[float, np.ndarray]:
        residual = basis @ x - target
        return float(residual @ residual + cost @ x), 2.0 * basis.T @ residual + cost

    fit = minimize(objective, np.zeros(len(keys)), jac=True, method="L-BFGS-B", bounds=[(0.0, 1.0)] * len(keys))
    # The penalty shrinks intensities; refit the chosen AUs without it to read them unbiased.
    support = np.flatnonzero(fit.x >= threshold / 2)
    intensities = np.zeros(len(keys))
    if support.size:
        intensities[support] = lsq_linear(basis[:, support], target, bounds=(0.0, 1.0)).x
    found = dict(zip(keys, intensities))
    result: dict[str, float] = {}
    for unit in ACTION_UNITS:
        if unit.number in _NOT_EXPLAINED:
            continue
        if not unit.sided:
            result[str(unit.number)] = found[str(unit.number)]
            continue
        left, right = found[f"L{unit.number}"], found[f"R{unit.number}"]
        if min(left, right) >= 0.5 * max(left, right) and not unit.needs_side:
            result[str(unit.number)] = (left + right) / 2.0
        else:
            result[f"L{unit.number}"], result[f"R{unit.number}"] = left, right
    kept = {k: round(float(v), 3) for k, v in result.items() if v >= threshold}
    return dict(sorted(kept.items(), key=lambda item: -item[1]))


def rule_markdown() -> str:
    """The AU catalogue and rule as the Markdown document ``docs/facs.md``."""
    lines = [
        "# FACS Action Units and the AU → ARKit rule",
        "",
        "Generated by `python -m expclip.facs > docs/facs.md` from `expclip/facs.py` (the one table the",
        "project uses); a test checks that this file matches it.",
        "",
        "## Intensity",
        "",
        "| FACS letter | meaning | value |",
        "|---|---|---|",
        *(f"| {k} | {INTENSITY_NAMES[k]} | {v:.1f} |" for k, v in INTENSITY_LEVELS.items()),
        "",
        "A code without a letter (`12`) means C. Numbers in [0, 1] are accepted everywhere a letter is.",
        "",
        "## Rule",
        "",
        "Each ARKit weight is the sum over active AUs of *intensity × weight*, clipped to [0, 1].",
        "`L12` / `R12` (also written `12L` / `AU12R`) drive only the subject's left / right shapes of a",
        "two-sided AU, and its one-piece",
        "shapes (`jawOpen`, `browInnerUp`, …) at half weight. *Side* says whether L/R forms exist;",
        "*one side only* AUs must be written with L or R.",
        "",
        "| AU | FACS name | movement | ARKit blendshapes (weight per unit intensity) | side |",
        "|---|---|---|---|---|",
    ]
    for unit in ACTION_UNITS:
        shapes = ", ".join(
            f"`{s}` {w:g}" if s in INDEX else f"`{s}Left/Right` {w:g}" for s, w in unit.drives
        )
        side = "one side only" if unit.needs_side else ("L/R" if unit.sided else "—")
        lines.append(f"| {unit.number} | {unit.name} | {unit.description} | {shapes} | {side} |")
    driven = {name for key in (f"L{u.number}" if u.needs_side else str(u.number) for u in ACTION_UNITS)
              for name in BLENDSHAPE_NAMES if _column(key)[INDEX[name]] > 0}
    driven |= {name.replace("Left", "Right") for name in driven if "Left" in name}
    untouched = [name for name in BLENDSHAPE_NAMES if name not in driven]
    lines += [
        "",
        f"No AU drives {', '.join(f'`{n}`' for n in untouched)}: FACS has no code for the whole mouth",
        "pushed sideways; the face-action knowledge base (`expclip/data/face_actions.yaml`, see",
        "[tead.md](tead.md)) writes them as blendshape weights, and the speech generator produces them.",
        "",
        "## Inverse (explanations)",
        "",
        "`expclip.facs.explain(weights)` fits non-negative intensities to this table with a small L1",
        "penalty, so one AU is preferred over a sum of several that make the same shape. AU41 and AU45",
        "are left out of the fit because their columns are AU43's, and AU31, 33, 35 and 38 because theirs",
        "are parts or sums of others (press; puff + funnel + pucker; pucker; sneer); similar left and",
        "right strengths are reported as one bilateral AU.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(rule_markdown())
