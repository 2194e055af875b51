"""The face-action knowledge base: what a face can do (gaze, winks, tongue out, puffed cheeks…), how people
say it, the 52 weights it means, and the intensity words that scale it.

The data lives in ``expclip/data/face_actions.yaml`` (schema in ``docs/tead.md``). Each action has a face
(AUs through :mod:`expclip.facs` and/or ARKit weights) at its plain strength, side-free wordings and, for
one-sided or lateral actions, wordings with a ``{side}`` slot. Sides are the subject's own (ARKit): an
action is written for the subject's left, its right twin is the mirror image; side-free wordings of a
one-sided action mean the left (the default side), so one prompt always means one face.

:func:`intensify` writes a strength word into a wording ("slightly sticking my tongue out", "a huge
wink", "eyes wide open, as far as it goes") and :func:`scale_face` makes the face match it: a low word
gives at most half of the plain face, a high word lifts its largest weight to 0.85 or more.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import yaml

from expclip import facs
from head.arkit import BLENDSHAPE_NAMES, INDEX, MIRROR, MIRROR_PERMUTATION

DEFAULT_PATH = Path(__file__).with_name("data") / "face_actions.yaml"
BANDS = ("low", "plain", "high")
SIDE_WORDS = {"L": "left", "R": "right"}
MAIN_SHARE = 0.6  # a shape is one of a face's main shapes when it has at least this share of the largest weight
HIGH_OTHERS = 1.3  # a high word scales a face by at least this
PLAIN_SCALE = (0.85, 1.05)  # the natural spread of a plain wording's face
MIN_PHRASES = 3

# Regions of the face; an action occupies those where it drives a shape by REGION_THRESHOLD or more.
REGIONS: dict[str, tuple[str, ...]] = {
    "brow": ("brow",),
    "lids": ("eyeBlink", "eyeSquint", "eyeWide", "cheekSquint"),
    "gaze": ("eyeLook",),
    "nose": ("noseSneer",),
    "mouth": ("mouth", "jaw", "tongue", "cheekPuff"),
}
REGION_THRESHOLD = 0.15
_REGION_OF = np.array([next(r for r, prefixes in REGIONS.items() if n.startswith(prefixes)) for n in BLENDSHAPE_NAMES])


class FaceActionError(ValueError):
    """The face-action knowledge base file is malformed."""


@dataclass(frozen=True)
class IntensityWords:
    """The words of one strength band and how they change a face.

    ``low``: every weight times a factor drawn from ``scale``; ``high``: the whole face scaled so that its
    largest weight reaches at least a value drawn from ``floor`` (and by :data:`HIGH_OTHERS` at least).
    """

    band: str
    adverbs: tuple[str, ...]
    adjectives: tuple[str, ...]
    suffixes: tuple[str, ...]
    scale: tuple[float, float] = (1.0, 1.0)
    floor: tuple[float, float] = (0.0, 0.0)
    also_read: tuple[str, ...] = ()  # words a prompt is read for (expclip.strength_words) that the builder does not write
    not_read: tuple[str, ...] = ()  # the builder's words a prompt is not read for: they often mean something else

    @property
    def read_words(self) -> tuple[str, ...]:
        """The words and phrases that put a prompt in this band, longest first (suffixes without their comma)."""
        words = {w.lstrip(", ").strip() for w in (*self.adverbs, *self.adjectives, *self.suffixes, *self.also_read)}
        return tuple(sorted(words - set(self.not_read), key=lambda w: (-len(w), w)))


@dataclass(frozen=True, eq=False)
class FaceAction:
    """One action on one side: ``face`` (52,) at its plain strength, its AUs and its wordings.

    ``side`` is ``""`` for a two-sided action, else ``"L"``/``"R"``; ``phrases`` are complete wordings
    (a one-sided action's side-free ones only on the default side, the left); ``weight`` is how often the
    action is drawn relative to others (the two sides of a one-sided action share it).
    """

    name: str
    base: str
    side: str
    face: np.ndarray
    aus: dict[str, float]
    shapes: dict[str, float]
    phrases: tuple[str, ...]
    scalable: bool
    weight: float = 1.0

    @property
    def main(self) -> np.ndarray:
        """Indices of the main shapes: at least :data:`MAIN_SHARE` of the largest weight; empty for a blank face."""
        top = float(self.face.max())
        return np.flatnonzero(self.face >= MAIN_SHARE * top) if top > 0 else np.zeros(0, dtype=np.int64)

    @property
    def regions(self) -> frozenset[str]:
        """The regions of the face this action moves (:data:`REGIONS`)."""
        return frozenset(_REGION_OF[self.face >= REGION_THRESHOLD])

    @property
    def one_sided(self) -> bool:
        return bool(self.side)

    def shape_text(self) -> str:
        """A plain description of the weights the AUs do not give: ``"mouth pushed to the left"``."""
        parts = []
        for name in self.shapes:
            words = re.sub(r"([A-Z])", r" \1", name).lower().split()
            side = words.pop() if words[-1] in ("left", "right") else ""
            parts.append(f"{' '.join(words)} pushed to the {side}" if side else f"{' '.join(words)} moved")
        return ", ".join(parts)


@dataclass(frozen=True, eq=False)
class FaceActionBase:
    """All actions (both sides of one-sided ones) and the intensity bands; hashed by identity."""

    actions: tuple[FaceAction, ...]
    intensity: dict[str, IntensityWords]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.actions)

    def __getitem__(self, name: str) -> FaceAction:
        for action in self.actions:
            if action.name == name:
                return action
        raise KeyError(f"No face action called {name!r}; known: {', '.join(self.names)}.")

    @property
    def weights(self) -> np.ndarray:
        """How often each action is drawn, (len(actions),), summing to 1."""
        weights = np.array([a.weight for a in self.actions], dtype=np.float64)
        return weights / weights.sum()

    def phrasings_reaching(self, shape: str, threshold: float = 0.3) -> list[tuple[str, str]]:
        """``(action, phrase)`` pairs whose plain face drives ``shape`` to ``threshold`` or more."""
        index = INDEX[shape]
        return [(a.name, p) for a in self.actions if a.face[index] >= threshold for p in a.phrases]


def _strings(entry: dict, key: str, where: str, minimum: int = 0) -> tuple[str, ...]:
    values = entry.get(key, [])
    if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values):
        raise FaceActionError(f"{where}: '{key}' must be a list of non-empty strings.")
    if len(values) < minimum:
        raise FaceActionError(f"{where}: '{key}' needs at least {minimum} entries, it has {len(values)}.")
    return tuple(v.strip() for v in values)


def _range(entry: dict, key: str, where: str) -> tuple[float, float]:
    value = entry.get(key)
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, (int, float)) for v in value)
            and 0.0 <= value[0] <= value[1] <= 1.0):
        raise FaceActionError(f"{where}: '{key}' must be [low, high] with 0 <= low <= high <= 1.")
    return float(value[0]), float(value[1])


def _intensity(data: object, where: str) -> dict[str, IntensityWords]:
    if not isinstance(data, dict) or set(data) != {"low", "high"}:
        raise FaceActionError(f"{where}: 'intensity' must have exactly the bands low and high.")
    bands = {}
    for band, entry in data.items():
        if not isinstance(entry, dict):
            raise FaceActionError(f"{where} intensity {band}: expected a mapping.")
        here = f"{where} intensity {band}"
        words = {k: _strings(entry, k, here, minimum=3) for k in ("adverbs", "adjectives", "suffixes")}
        words.update({k: _strings(entry, k, here) for k in ("also_read", "not_read")})
        extra = {"scale": _range(entry, "scale", here)} if band == "low" else {"floor": _range(entry, "floor", here)}
        bands[band] = IntensityWords(band, **words, **extra)
    bands["plain"] = IntensityWords("plain", (), (), (), scale=PLAIN_SCALE)
    return bands


def _mirror_aus(aus: dict[str, float]) -> dict[str, float]:
    swap = {"L": "R", "R": "L", "": ""}
    codes = {k: facs.parse_code(k) for k in aus}
    return facs.normalize_aus({f"{swap[c.side]}{c.number}": aus[k] for k, c in codes.items()})


def _face(aus: dict[str, float], shapes: dict[str, float]) -> np.ndarray:
    face = facs.aus_to_blendshapes(aus)
    for name, value in shapes.items():
        face[INDEX[name]] = max(face[INDEX[name]], value)
    return face


def _action(entry: object, where: str) -> list[FaceAction]:
    """One YAML entry → one action, or the left and right twins of a one-sided one."""
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise FaceActionError(f"{where}: each action needs a 'name'.")
    name = entry["name"]
    where = f"{where} ({name})"
    if "aus" not in entry and "shapes" not in entry:
        raise FaceActionError(f"{where}: give the face as 'aus' (a prototype such as \"19E+25C\") and/or 'shapes'.")
    try:
        aus = facs.parse_prototype(entry.get("aus", ""))
    except facs.FACSError as error:
        raise FaceActionError(f"{where}: {error}") from None
    shapes = entry.get("shapes") or {}
    if not isinstance(shapes, dict) or not all(n in INDEX and isinstance(v, (int, float)) and 0 < v <= 1
                                               for n, v in shapes.items()):
        raise FaceActionError(f"{where}: 'shapes' must map ARKit names to weights in (0, 1].")
    side = entry.get("side", "")
    if side not in ("", "left"):
        raise FaceActionError(f"{where}: 'side' must be 'left' (the right twin is made by mirroring) or left out.")
    scalable = entry.get("scalable", True)
    if not isinstance(scalable, bool):
        raise FaceActionError(f"{where}: 'scalable' must be true or false.")
    weight = entry.get("weight", 1.0)
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight <= 0:
        raise FaceActionError(f"{where}: 'weight' must be a positive number.")
    phrases = _strings(entry, "phrases", where)
    sided = _strings(entry, "sided", where)
    if side and len(sided) < MIN_PHRASES:
        raise FaceActionError(f"{where}: a one-sided action needs at least {MIN_PHRASES} 'sided' wordings "
                              "with {side}.")
    if not side and sided:
        raise FaceActionError(f"{where}: 'sided' wordings need 'side: left'.")
    if any("{side}" not in p for p in sided) or any("{" in p for p in phrases):
        raise FaceActionError(f"{where}: every 'sided' wording needs {{side}} and 'phrases' take none.")
    if len(phrases) + len(sided) < MIN_PHRASES:
        raise FaceActionError(f"{where}: give at least {MIN_PHRASES} wordings.")
    shapes = {n: float(v) for n, v in shapes.items()}
    if not side:
        return [FaceAction(name, name, "", _face(aus, shapes), aus, shapes, phrases, scalable, float(weight))]
    left_face = _face(aus, shapes)
    twins = []
    for code in ("L", "R"):
        word = SIDE_WORDS[code]
        worded = tuple(p.format(side=word) for p in sided)
        if code == "L":
            twins.append(FaceAction(f"{name}_left", name, "L", left_face, aus, shapes, phrases + worded, scalable,
                                    weight / 2))
        else:
            twins.append(FaceAction(f"{name}_right", name, "R", left_face[MIRROR_PERMUTATION].copy(), _mirror_aus(aus),
                                    {MIRROR[n]: v for n, v in shapes.items()}, worded, scalable, weight / 2))
    return twins


def load_face_actions(path: str | Path | None = None) -> FaceActionBase:
    """Read and check the face-action knowledge base (the project's own by default); cached per path."""
    return _load(Path(path) if path is not None else DEFAULT_PATH)


@lru_cache(maxsize=4)
def _load(path: Path) -> FaceActionBase:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise FaceActionError(f"Cannot read the face-action knowledge base {path}: {error}") from None
    if not isinstance(data, dict) or not isinstance(data.get("actions"), list):
        raise FaceActionError(f"{path}: expected a mapping with an 'actions' list and 'intensity'.")
    actions = tuple(a for i, entry in enumerate(data["actions"]) for a in _action(entry, f"{path} action {i + 1}"))
    names = [a.name for a in actions]
    if len(set(names)) != len(names):
        raise FaceActionError(f"{path}: action names repeat.")
    return FaceActionBase(actions, _intensity(data.get("intensity"), str(path)))


# --- Strength words ------------------------------------------------------------------------------------

_ARTICLE = re.compile(r"^(a|an) (?=\w)", re.IGNORECASE)
_GERUND = re.compile(r"^\w+ing\b")
_PARTICIPLE = re.compile(r"\b(?:\w+(?:ed|en)|shut|out|up|open|apart|down|stuck|wide)\b")


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def intensify(phrase: str, words: IntensityWords, rng: np.random.Generator) -> str:
    """``phrase`` with a strength word of ``words``' band; a plain band returns it as it is.

    The word goes where it reads: an adjective after a leading article ("a huge wink"), a one-word adverb
    before a leading gerund ("slightly poking my tongue out") or before the first participle ("tongue
    barely out"), else a suffix ("cheeks full of air, as far as it goes").
    """
    if words.band == "plain":
        return phrase
    single = [a for a in words.adverbs if " " not in a]
    ways = ["suffix"]
    if _ARTICLE.match(phrase):
        ways.append("adjective")
    if _GERUND.match(phrase):
        ways.append("gerund")
    elif _PARTICIPLE.search(phrase):
        ways.append("participle")
    way = ways[int(rng.integers(len(ways)))]
    if way == "adjective":
        adjective = words.adjectives[int(rng.integers(len(words.adjectives)))]
        rest = _ARTICLE.sub("", phrase, count=1)
        return f"{_article(adjective)} {adjective} {rest}"
    if way == "gerund":
        return f"{single[int(rng.integers(len(single)))]} {phrase}"
    if way == "participle":
        match = _PARTICIPLE.search(phrase)
        adverb = single[int(rng.integers(len(single)))]
        return f"{phrase[:match.start()]}{adverb} {phrase[match.start():]}"
    return phrase + words.suffixes[int(rng.integers(len(words.suffixes)))]


def strength_factor(top: float, words: IntensityWords, rng: np.random.Generator) -> float:
    """The factor a face whose largest weight is ``top`` is scaled by for ``words``' band.

    low and plain: drawn from the band's ``scale``; high: enough to lift the largest weight to a value drawn
    from ``floor``, and at least :data:`HIGH_OTHERS`.
    """
    if words.band == "high":
        return max(HIGH_OTHERS, float(rng.uniform(*words.floor)) / max(top, 1e-6))
    return float(rng.uniform(*words.scale))


def scale_face(face: np.ndarray, words: IntensityWords, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """The plain ``face`` (52,) at the strength of ``words``' band, clipped to [0, 1], and the factor used
    (:func:`strength_factor`); scaling the whole face keeps its shape (a one-sided face stays one-sided)."""
    factor = strength_factor(float(face.max()), words, rng)
    return np.clip(face * factor, 0.0, 1.0).astype(np.float32), factor


def merge_faces(base: np.ndarray, action: np.ndarray, regions: frozenset[str], damping: float = 0.35) -> np.ndarray:
    """An action's face over another (an emotion's): in the action's regions the base is damped by ``damping``,
    then the two merge by maximum, so a one-sided action stays one-sided; shape (52,)."""
    out = np.asarray(base, dtype=np.float32).copy()
    if regions:
        out[np.isin(_REGION_OF, sorted(regions))] *= damping
    return np.maximum(out, action).astype(np.float32)
