"""The project's emotion knowledge base: categories, their words, AU prototypes and situations.

The data lives in ``expclip/data/emotions.yaml`` (schema in ``docs/tead.md``). Each category has
nouns, adjectives in three intensity bands, interjections, emoticons, looks (what the face and body
do, and idioms: "jaw clenched", "face like thunder"), an AU prototype (EMFACS for the basic emotions)
with variants, and everyday events written in the first person. The file also holds a lexicon of
interchangeable everyday words used for synonym replacement.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from expclip.facs import FACSError, parse_prototype

DEFAULT_PATH = Path(__file__).with_name("data") / "emotions.yaml"
BANDS = ("low", "mid", "high")
VALENCES = ("positive", "negative", "neutral", "mixed")
AROUSALS = ("low", "mid")  # low: a strong word does not make the face bigger ("utterly calm" is still a soft face)


class KnowledgeBaseError(ValueError):
    """The emotion knowledge base file is malformed."""


@dataclass(frozen=True, eq=False)
class Emotion:
    """One emotion category. ``prototypes[0]`` is the main AU prototype, ``{key: intensity}``."""

    name: str
    valence: str
    prototypes: tuple[dict[str, float], ...]
    nouns: tuple[str, ...]
    words: dict[str, tuple[str, ...]]
    interjections: tuple[str, ...]
    emoticons: tuple[str, ...]
    looks: tuple[str, ...]  # phrases that can follow a comma: "grinning from ear to ear", "over the moon"
    events: tuple[str, ...]
    arousal: str = "mid"

    @property
    def adjectives(self) -> tuple[str, ...]:
        """All adjectives, mild to strong."""
        return tuple(w for band in BANDS for w in self.words[band])

    @property
    def vocabulary(self) -> tuple[str, ...]:
        """Every word that names this emotion: its name, nouns and adjectives."""
        return (self.name, *self.nouns, *self.adjectives)


@dataclass(frozen=True, eq=False)
class KnowledgeBase:
    """All emotion categories plus the lexicon; hashed by identity so lookups can be cached."""

    emotions: tuple[Emotion, ...]
    lexicon: tuple[tuple[str, ...], ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(e.name for e in self.emotions)

    def __getitem__(self, name: str) -> Emotion:
        for emotion in self.emotions:
            if emotion.name == name:
                return emotion
        raise KeyError(f"No emotion called {name!r}; known: {', '.join(self.names)}.")

    def category_of(self, word: str) -> Emotion | None:
        """The emotion a tag or word names (``"furious"`` → anger), or None."""
        return _word_index(self).get(word.strip().lower())

    def synonyms(self, word: str) -> tuple[str, ...]:
        """Words that can replace ``word``: its lexicon group, or its emotion's same-band words."""
        return _synonym_index(self).get(word.lower(), ())


@lru_cache(maxsize=8)
def _word_index(kb: KnowledgeBase) -> dict[str, Emotion]:
    return {word.lower(): emotion for emotion in kb.emotions for word in emotion.vocabulary}


@lru_cache(maxsize=8)
def _synonym_index(kb: KnowledgeBase) -> dict[str, tuple[str, ...]]:
    groups = list(kb.lexicon)
    for emotion in kb.emotions:
        groups.extend(emotion.words[band] for band in BANDS)
        groups.append(emotion.nouns)
    index: dict[str, tuple[str, ...]] = {}
    for group in groups:
        for word in group:
            if " " not in word:
                index[word.lower()] = tuple(w for w in group if w != word and " " not in w)
    return index


def _strings(entry: dict, key: str, where: str, minimum: int = 1) -> tuple[str, ...]:
    values = entry.get(key, [])
    if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values):
        raise KnowledgeBaseError(f"{where}: '{key}' must be a list of non-empty strings.")
    if len(values) < minimum:
        raise KnowledgeBaseError(f"{where}: '{key}' needs at least {minimum} entries, it has {len(values)}.")
    return tuple(v.strip() for v in values)


def _emotion(entry: dict, where: str) -> Emotion:
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise KnowledgeBaseError(f"{where}: each emotion needs a 'name'.")
    where = f"{where} ({entry['name']})"
    if entry.get("valence") not in VALENCES:
        raise KnowledgeBaseError(f"{where}: valence must be one of {', '.join(VALENCES)}.")
    if entry.get("arousal", "mid") not in AROUSALS:
        raise KnowledgeBaseError(f"{where}: arousal must be one of {', '.join(AROUSALS)} (or left out: mid).")
    words = entry.get("words")
    if not isinstance(words, dict) or set(words) != set(BANDS):
        raise KnowledgeBaseError(f"{where}: 'words' must have exactly the bands {', '.join(BANDS)}.")
    try:
        prototypes = tuple(parse_prototype(p) for p in [entry.get("prototype", ""), *entry.get("variants", [])])
    except FACSError as error:
        raise KnowledgeBaseError(f"{where}: {error}") from None
    return Emotion(
        name=entry["name"],
        valence=entry["valence"],
        prototypes=prototypes,
        nouns=_strings(entry, "nouns", where),
        words={band: _strings(words, band, f"{where} words") for band in BANDS},
        interjections=_strings(entry, "interjections", where),
        emoticons=_strings(entry, "emoticons", where, minimum=0),
        looks=_strings(entry, "looks", where),
        events=_strings(entry, "events", where, minimum=8),
        arousal=entry.get("arousal", "mid"),
    )


def load_knowledge_base(path: str | Path | None = None) -> KnowledgeBase:
    """Read and check the knowledge base (the project's own by default); cached per path."""
    return _load(Path(path) if path is not None else DEFAULT_PATH)


@lru_cache(maxsize=4)
def _load(path: Path) -> KnowledgeBase:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise KnowledgeBaseError(f"Cannot read the emotion knowledge base {path}: {error}") from None
    if not isinstance(data, dict) or not isinstance(data.get("emotions"), list):
        raise KnowledgeBaseError(f"{path}: expected a mapping with an 'emotions' list.")
    emotions = tuple(_emotion(entry, f"{path} emotion {i + 1}") for i, entry in enumerate(data["emotions"]))
    names = [e.name for e in emotions]
    if len(set(names)) != len(names):
        raise KnowledgeBaseError(f"{path}: emotion names repeat.")
    lexicon = tuple(
        _strings({"group": group}, "group", f"{path} lexicon group {i + 1}", minimum=2)
        for i, group in enumerate(data.get("lexicon", []))
    )
    return KnowledgeBase(emotions, lexicon)


class EmotionPrototypes:
    """The face of each category's main AU prototype (through the AU rule), and the nearest one to a face."""

    def __init__(self, kb: KnowledgeBase | None = None) -> None:
        import numpy as np

        from expclip import facs

        self.kb = kb or load_knowledge_base()
        self.names = list(self.kb.names)
        self.faces = np.stack([facs.aus_to_blendshapes(self.kb[n].prototypes[0]) for n in self.names])

    def category(self, word: str) -> str | None:
        """The category a tag or label belongs to (``None`` when none does)."""
        emotion = self.kb.category_of(word) if word else None
        return emotion.name if emotion is not None else None

    def nearest(self, faces) -> list[str]:
        """Faces ``(N, 52)`` → the category whose prototype face is nearest each (squared distance)."""
        distances = ((faces[:, None, :] - self.faces[None]) ** 2).sum(-1)
        return [self.names[i] for i in distances.argmin(1)]
