"""The offline TEAD annotator: the emotion knowledge base + the AU rule → text/expression samples.

Built by ``python -m train.tead build --annotator offline`` (``train/configs/tead_offline.yaml``) and,
small, by the demo (``demo_data.py``); it needs nothing from ``train/``.

Three kinds of samples:

* **emotion** samples mix 1–3 emotions with intensities, turn their AU prototypes into AUs with natural
  variation (dropped and extra AUs, jittered intensities, left/right asymmetry), the AUs into 52
  blendshape weights by the rule, and write a tweet-like first-person transcript, 3–5 tags, a
  third-person situation sentence and an AU description. Transcripts and situations of visible
  expressions often carry one of the main emotion's looks ("jaw clenched", "over the moon"). The strength
  is explicit: a strong main emotion lifts its main shapes to 0.8 or more, a subtle one keeps them at
  most half of the plain prototype's.
* **face-action** samples (``face_action_share``) say what the face does, from the face-action knowledge
  base (:mod:`expclip.face_actions`): one action alone, with an emotion ("so angry, one eyebrow raised"),
  two actions of different regions ("smiling while looking down"), or AU codes ("AU25 (lips part)",
  "L12 + AU6"); a strength word scales the face ("slightly", "a huge").
* **no-face** samples (``no_face_share``): texts that name no face ("the bus timetable", "qwfp") with the
  neutral face.

Everything is drawn from seeded generators, one per concern (emotion texts and faces, looks, the kind of
each sample, face actions, strength), so that adding one leaves the others' draws as they were: a seed
gives the same dataset on every machine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
from tqdm import tqdm

from expclip import facs
from expclip.emotions import Emotion, KnowledgeBase, load_knowledge_base
from expclip.face_actions import FaceAction, FaceActionBase, intensify, load_face_actions, merge_faces, scale_face
from expclip.tead import TeadSample, read_meta, split_by_seed, write_tead
from expclip.configs import config_to_dict

# Bumped whenever the same config and seed give different samples: 2 added face-action and no-face samples,
# explicit strength, AU8/31/33/35/38/66 and stronger AU25/26, left as the default side; 3 added transcripts that
# are an interjection alone ("eww!"), so that short exclamations are not learnt as the no-face nonsense strings.
BUILDER_VERSION = 3
ACTION_MODES = ("action", "action+emotion", "action+action", "au-codes")  # the kinds of face-action samples
KINDS = ("emotion", *ACTION_MODES, "no-face")


@dataclass
class OfflineConfig:
    """How the offline annotator mixes emotions; ``train/configs/tead_offline.yaml`` holds the defaults."""

    size: int = 50000
    seed: int = 0
    test_share: float = 0.1
    neutral_share: float = 0.05
    subtle_share: float = 0.15
    mixture_shares: tuple[float, ...] = (0.6, 0.3, 0.1)  # 1, 2 or 3 emotions in a sample
    variant_share: float = 0.4  # how often a prototype variant replaces the main prototype
    au_jitter: float = 0.15  # log-normal sigma of each AU's intensity
    au_drop: float = 0.08
    asymmetry_share: float = 0.3  # how often a two-sided AU gets different left and right strengths
    asymmetry: float = 0.25
    blendshape_noise: float = 0.02
    look_share: float = 0.5  # how often a transcript, and separately a situation, of a visible expression has a look
    face_action_share: float = 0.3  # samples that say what the face does (expclip/data/face_actions.yaml)
    no_face_share: float = 0.03  # samples whose text names no face, with the neutral face
    action_modes: tuple[float, ...] = (0.5, 0.2, 0.15, 0.15)  # face actions: alone, with an emotion, two, AU codes
    action_bands: tuple[float, ...] = (0.2, 0.6, 0.2)  # strength words of face actions: low, none, high
    strong_floor: tuple[float, float] = (0.82, 1.0)  # a strong emotion's main shapes rise to at least this


# --- Wording ---------------------------------------------------------------------------------

INTENSIFIERS = {
    "low": ("a bit", "a little", "slightly", "kind of", "kinda", "sort of", "somewhat", "a tad", "mildly",
            "a little bit", "low-key", "vaguely"),
    "mid": ("", "", "pretty", "quite", "really", "genuinely", "honestly", "very", "rather", "properly"),
    "high": ("so", "so so", "incredibly", "extremely", "absolutely", "utterly", "completely", "beyond",
             "ridiculously", "seriously", "insanely", "unbelievably", "deeply", "truly"),
}

CORES = (
    "I'm {adv} {adj}", "I am {adv} {adj}", "feeling {adv} {adj}", "I feel {adv} {adj}",
    "honestly {adv} {adj}", "{adv} {adj} right now", "{adv} {adj} today", "can't lie, I'm {adv} {adj}",
    "I've been {adv} {adj} all day", "still {adv} {adj}", "I'm just {adv} {adj}", "me: {adv} {adj}",
    "currently {adv} {adj}", "been feeling {adv} {adj}", "not gonna lie, {adv} {adj}",
    "I'm {adv} {adj} tbh", "{adv} {adj} rn", "and now I'm {adv} {adj}", "so yeah, {adv} {adj}",
    "I'm sitting here {adv} {adj}", "woke up {adv} {adj}", "left feeling {adv} {adj}",
    "I can't stop feeling {adv} {adj}", "I'm honestly {adv} {adj}", "{adv} {adj}, no joke",
)
REASONS = (" because {event}", " that {event}", " since {event}", ", {event}", " now that {event}",
           ". {Event}", " — {event}", "... {event}", " cause {event}", " bc {event}", ": {event}")
EVENT_FIRST = ("{Event} and I'm {adv} {adj}", "{Event}. {Core}", "{Event}... {core}", "{Event} so {core}",
               "{Event}, {core}", "{Event} and now {core}", "{Event}!! {Core}")
MIXERS = (" but also {adv} {adj}", " and {adv} {adj}", " but {adv} {adj}", ", yet {adv} {adj}",
          " and kinda {adj}", ", also {adv} {adj}", " while being {adv} {adj}", " and a little {adj} too",
          ", plus {adv} {adj}", " — {adj} and {adj0} at once")
NEUTRAL_OPENERS = ("", "", "", "today", "this morning", "earlier", "just now", "yesterday", "so", "update:",
                   "tonight", "after lunch", "fyi", "for the record,", "quick note:")
LOOK_TAILS = ("me rn: {look}", "me right now: {look}", "literally {look}", "({look})", "... {look}",
              "— {look}", "{Look}.", "just {look}", "picture me {look}")
LOOK_ALONE = ("{Look}", "me rn: {look}", "literally {look}", "{Look}, {adv} {adj}", "{Core}, {look}",
              "me rn: {look}, {adv} {adj}")  # half without an emotion word, so that the look itself is learnt
LOOK_ALONE_SHARE = 0.4  # of transcripts with a look: the look (and sometimes the feeling) only, no event
INTERJECTION_ALONE = ("{i}", "{I}!", "{i}!!", "{I}...", "{i} {i}", "{I}.")
INTERJECTION_ALONE_SHARE = 0.04  # of visible emotion transcripts: the main emotion's interjection alone
NEUTRAL_LOOKS = (", {look}", ". {Look}", " ({look})", ", me rn: {look}")
NEUTRAL_TAILS = ("", "", " anyway", " nothing special", " just a normal day", " that's about it",
                 " moving on", " same as usual", " so that's done", " ok", " on to the next thing")
ENDINGS = {"positive": ("!", "!!", ".", "", "!!!", " :)"), "negative": (".", "", "...", "!", ". ugh", " :/"),
           "neutral": (".", "", "."), "mixed": (".", "", "...", "?!", "!")}
SUBJECTS = (
    ("A woman", "she"), ("A man", "he"), ("A person", "they"), ("A student", "they"), ("A young woman", "she"),
    ("An older man", "he"), ("A teenager", "they"), ("A nurse", "she"), ("A father", "he"), ("A mother", "she"),
    ("Someone", "they"), ("A coworker", "he"), ("A teacher", "she"), ("A commuter", "they"), ("A retiree", "he"),
    ("A young man", "he"), ("An office worker", "she"), ("A grandmother", "she"), ("A college student", "he"),
    ("A shop owner", "they"), ("A new employee", "she"), ("A runner", "he"), ("A parent", "they"),
)
FRAMES = (  # agency-neutral: the event may be something that happened to the subject or that they did
    "{S} is telling a friend that {event}.", "{S} is thinking about how {event}.", "{S} explains that {event}.",
    "{S} remembers that {event}.", "{S} is posting online that {event}.", "{S} is writing in a diary that {event}.",
    "{S} tells a coworker that {event}.", "{S} describes how {event}.", "{S} is texting a sibling that {event}.",
    "{S} keeps going back to the moment when {event}.", "{S} mentions over dinner that {event}.",
)
SIDE_NAMES = {"L": "left", "R": "right"}
SUBTLE_CAP = 0.45  # a subtle emotion's main shapes stay at most this share of its main prototype's face
# AUs never split into different left and right strengths (gaze and blinks move both eyes together).
SYMMETRIC_ONLY = frozenset({43, 45, 61, 62, 63, 64, 66})
# Small movements people make whatever they feel (pursing, biting or sucking the lips, a squint...).
FIDGETS = ("18A", "22A", "28A", "32B", "34A", "44B", "L30A", "R30A", "29A", "17A", "L14A")

# --- Face-action and no-face wording ----------------------------------------------------------------

ACTION_FRAMES = ("{P}", "{P}.", "{P}!", "me rn: {p}", "literally {p}", "just {p}", "{P} lol", "me in every photo: {p}",
                 "selfie: {p}", "just me, {p}", "{P}, as usual", "{P} again", "face: {p}", "{P} for the camera",
                 "{P} haha", "me: {p}", "{P}...", "mood: {p}", "{P} in the mirror", "current face: {p}")
EMOTION_ACTION_FRAMES = ("{adv} {adj}, {p}", "{P}, {adv} {adj}", "{Core}, {p}", "{P} and {adv} {adj}",
                         "{adj}, {p}", "{Adj} but {p}", "{P}, feeling {adv} {adj}", "{Core} — {p}",
                         "me rn: {adv} {adj}, {p}", "{Adj} and {p}")
PAIR_JOINS = (", ", " and ", ", and ", " plus ", " — ")
GERUND_JOINS = (" while ", " and ", ", ")  # before a second wording that starts with a gerund
NOUN_JOINS = (" with ", ", ", " and ")  # before one that does not
ACTION_SCENES = ("is posing for a photo", "looks into the camera", "sits on the sofa", "pulls a face at a friend",
                 "stands at the bus stop", "is on a video call", "waits in line at the bakery",
                 "sits at the kitchen table", "is filming a short video", "leans on the counter",
                 "is chatting with a neighbour", "sits in the back of a car", "looks up from a book",
                 "stands by the window", "is watching a match on TV")
AU_CODE_FORMS = ("AU{n}{letter}", "AU {n}{letter}", "au{n}{letter}")
AU_SIDED_FORMS = ("{s}{n}{letter}", "AU{n}{letter}{s}", "AU{n}{letter} {side}", "{side} AU{n}{letter}",
                  "AU {s}{n}{letter}")
AU_NAMED = ("{code} ({name})", "{code}: {name}", "{name} ({code})", "{code} - {phrase}", "{code}, {phrase}",
            "{phrase} ({code})")  # never "{code} {name}" or "{code} {phrase}": the held-out prompt suite writes AUs so
AU_JOINS = (" + ", "+", ", ", " and ")
AU_PREFIXES = ("FACS: ", "action units ", "AUs: ", "coded as ", "FACS code ")
NO_FACE_THINGS = (
    "the monthly budget", "a spreadsheet of sales figures", "the train timetable", "a red bicycle by the fence",
    "printer settings", "the parking permit", "item four on the agenda", "the annual tax return", "kitchen tiles",
    "the wifi password", "a cardboard box", "a shipping label", "the invoice number", "a grocery list",
    "the weather in Oslo", "a wooden chair", "the meeting minutes", "chapter three", "lorem ipsum dolor sit amet",
    "hello world", "test", "version 2.1", "a stack of folders", "the quarterly budget review", "an empty parking lot",
    "the bus route map", "a grey office building", "spare batteries", "the user manual", "a bowl of rice",
    "the recycling schedule", "a houseplant on the desk", "database migration", "the password reset form",
    "a list of phone numbers", "page 12", "the shopping centre car park", "a set of keys", "the tram stop",
    "an old laptop", "the electricity bill", "a map of the city", "the sales report for March", "a filing cabinet",
    "the lunch menu", "a pair of socks", "the project timeline", "a loaf of bread", "the office printer",
    "the terms and conditions", "a plastic bottle", "the train to Leeds", "the annual report", "a green door",
    "a pencil sharpener", "system settings", "a delivery van", "the spreadsheet template", "a cup of tea on the table",
)
NO_FACE_WORDS = ("monday", "wednesday", "thursday", "friday", "saturday", "sunday", "january", "march", "august",
                 "november", "noon", "3 pm", "next week", "ok", "hmm", "test 123", "lorem", "n/a", "todo", "untitled",
                 "draft", "asap", "table", "chair", "window", "invoice", "receipt", "folder", "settings", "update")
NO_FACE_FRAMES = ("{t}", "{T}", "{T}.", "{t}?", "re: {t}", "note: {t}", "{t} v{n}", "{T} ({n})", "{t} #{n}", "see {t}",
                  "{T} - page {n}", "{t}, {t2}", "{T} and {t2}")
NO_FACE_SCENES = ("{S} types '{t}' into a search box.", "{S} reads a note that says '{t}'.",
                  "{S} writes '{t}' on a sticky note.", "{S} reads out '{t}' from a list.",
                  "{S} scrolls past a page titled '{t}'.")
_LETTERS = "abcdefghijklmnopqrstuvwxyz"

PRONOUNS = {
    "she": {"I": "she", "me": "her", "my": "her", "mine": "hers", "myself": "herself", "I'm": "she's",
            "I've": "she's", "I'd": "she'd", "I'll": "she'll", "I was": "she was", "I am": "she is",
            "I have": "she has", "I had": "she had", "I don't": "she doesn't"},
    "he": {"I": "he", "me": "him", "my": "his", "mine": "his", "myself": "himself", "I'm": "he's",
           "I've": "he's", "I'd": "he'd", "I'll": "he'll", "I was": "he was", "I am": "he is",
           "I have": "he has", "I had": "he had", "I don't": "he doesn't"},
    "they": {"I": "they", "me": "them", "my": "their", "mine": "theirs", "myself": "themselves",
             "I'm": "they're", "I've": "they've", "I'd": "they'd", "I'll": "they'll", "I was": "they were",
             "I am": "they are", "I have": "they have", "I had": "they had", "I don't": "they don't"},
}
_FIRST_PERSON = re.compile(r"\b(I was|I am|I have|I had|I don't|I'm|I've|I'd|I'll|I|me|my|mine|myself)\b",
                           re.IGNORECASE)


def third_person(clause: str, pronoun: str) -> str:
    """Rewrite a first-person clause for a subject: ``"my boss praised me"`` → ``"her boss praised her"``."""
    table = PRONOUNS[pronoun]

    def swap(match: re.Match) -> str:
        word = match.group(0)
        key = word if word.startswith("I") else word.lower()
        key = next((k for k in table if k.lower() == key.lower()), key)
        return table[key]

    return _FIRST_PERSON.sub(swap, clause)


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def _tidy(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return re.sub(r"\s+([,.!?:;])", r"\1", text)


# --- Sampling --------------------------------------------------------------------------------

def _band(intensity: float) -> str:
    return "low" if intensity < 0.4 else ("mid" if intensity < 0.75 else "high")


class OfflineAnnotator:
    """Draws TEAD samples from the knowledge base; the same seed gives the same samples."""

    def __init__(self, config: OfflineConfig, kb: KnowledgeBase | None = None,
                 actions: FaceActionBase | None = None) -> None:
        _check(config)
        self.config = config
        self.kb = kb or load_knowledge_base()
        self.actions = actions or load_face_actions()
        self.neutral = self.kb["neutral"]
        self.emotional = tuple(e for e in self.kb.emotions if e.name != "neutral")
        self.rng = np.random.default_rng(config.seed)
        self.look_rng = np.random.default_rng([config.seed, 1])
        self.kind_rng = np.random.default_rng([config.seed, 2])
        self.action_rng = np.random.default_rng([config.seed, 3])
        self.strength_rng = np.random.default_rng([config.seed, 4])
        self.interjection_rng = np.random.default_rng([config.seed, 5])
        self._plain_faces = {e.name: facs.aus_to_blendshapes(e.prototypes[0]) for e in self.emotional}
        self._scalable = tuple(a for a in self.actions.actions if a.scalable)
        weights = np.array([a.weight for a in self._scalable])
        self._scalable_weights = weights / weights.sum()
        compat = {("positive", "positive"): 3.0, ("negative", "negative"): 3.0}
        self._partner_weights = {
            e.name: np.array([0.0 if o is e else compat.get((e.valence, o.valence), 1.0) for o in self.emotional])
            for e in self.emotional
        }

    # One generator call per choice keeps the stream reproducible across numpy versions.
    def _pick(self, options, rng: np.random.Generator | None = None):
        return options[int((rng or self.rng).integers(len(options)))]

    def _emotions(self) -> dict[Emotion, float]:
        """The emotion mixture of one sample: ``{emotion: intensity}``, strongest first."""
        cfg, draw = self.config, self.rng.random()
        if draw < cfg.neutral_share:
            return {}
        subtle = draw < cfg.neutral_share + cfg.subtle_share
        primary = self._pick(self.emotional)
        strength = self.rng.uniform(0.12, 0.35) if subtle else self.rng.uniform(0.45, 1.0)
        mixture = {primary: float(strength)}
        count = 1 + int(self.rng.choice(len(cfg.mixture_shares), p=np.asarray(cfg.mixture_shares) / sum(cfg.mixture_shares)))
        weights = self._partner_weights[primary.name].copy()
        for _ in range(count - 1):
            weights[[self.emotional.index(e) for e in mixture]] = 0.0
            other = self.emotional[int(self.rng.choice(len(self.emotional), p=weights / weights.sum()))]
            mixture[other] = float(strength * self.rng.uniform(0.3, 0.8))
        return mixture

    def _aus(self, mixture: dict[Emotion, float], rng: np.random.Generator | None = None) -> dict[str, float]:
        """Prototype AUs scaled by intensity, merged by maximum, with drops, extras and asymmetry."""
        cfg, rng = self.config, rng or self.rng
        merged: dict[str, float] = {}
        for emotion, strength in mixture.items():
            use_variant = len(emotion.prototypes) > 1 and rng.random() < cfg.variant_share
            prototype = emotion.prototypes[1 + int(rng.integers(len(emotion.prototypes) - 1))] if use_variant \
                else emotion.prototypes[0]
            scale = min(strength / 0.8, 1.25)
            for key, value in prototype.items():
                if rng.random() < cfg.au_drop:
                    continue
                jittered = value * scale * float(np.exp(rng.normal(0.0, cfg.au_jitter)))
                merged[key] = max(merged.get(key, 0.0), jittered)
        if rng.random() < 0.12:
            merged["25"] = max(merged.get("25", 0.0), float(rng.uniform(0.1, 0.4)))
        if rng.random() < 0.05:
            merged[self._pick(("61", "62", "63", "64"), rng)] = float(rng.uniform(0.1, 0.5))
        if rng.random() < 0.03:
            merged["45"] = float(rng.uniform(0.3, 1.0))
        if rng.random() < 0.06:
            merged.update(facs.parse_prototype(self._pick(FIDGETS, rng)))
        result: dict[str, float] = {}
        for key, value in merged.items():
            code = facs.parse_code(key)
            symmetric = code.side or not code.unit.sided or code.number in SYMMETRIC_ONLY
            if not symmetric and rng.random() < cfg.asymmetry_share:
                tilt = float(rng.uniform(-cfg.asymmetry, cfg.asymmetry))
                result[f"L{key}"] = max(result.get(f"L{key}", 0.0), value * (1 + tilt))
                result[f"R{key}"] = max(result.get(f"R{key}", 0.0), value * (1 - tilt))
            else:
                result[key] = max(result.get(key, 0.0), value)
        return facs.normalize_aus({k: round(min(v, 1.0), 2) for k, v in result.items() if v >= 0.05})

    def _blendshapes(self, aus: dict[str, float]) -> np.ndarray:
        return self._noisy(facs.aus_to_blendshapes(aus), self.rng)

    def _noisy(self, weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Gaussian noise (``blendshape_noise``) on the active shapes of ``weights`` (52,), clipped."""
        weights = np.asarray(weights, dtype=np.float32).copy()
        active = weights > 0
        weights[active] += rng.normal(0.0, self.config.blendshape_noise, int(active.sum())).astype(np.float32)
        return np.clip(weights, 0.0, 1.0)

    def _explicit_strength(self, aus: dict[str, float], mixture: dict[Emotion, float]) -> dict[str, float]:
        """The AUs scaled so that the strength is explicit: a strong main emotion lifts the face's largest weight
        to ``strong_floor`` (unless its arousal is low: "utterly calm" stays soft), a subtle one keeps it at most
        :data:`SUBTLE_CAP` of its main prototype's."""
        primary, strength = next(iter(mixture.items()))
        band = _band(strength)
        top = float(facs.aus_to_blendshapes(aus).max())
        if band == "mid" or top <= 0 or (band == "high" and primary.arousal == "low"):
            return aus
        if band == "high":
            factor = max(1.0, float(self.strength_rng.uniform(*self.config.strong_floor)) / top)
        else:
            factor = min(1.0, SUBTLE_CAP * float(self._plain_faces[primary.name].max()) / top)
        scaled = {k: round(min(v * factor, 1.0), 2) for k, v in aus.items()}
        return {k: v for k, v in scaled.items() if v >= 0.05}

    def _adjective(self, emotion: Emotion, strength: float, rng: np.random.Generator | None = None) -> tuple[str, str]:
        rng = rng or self.rng
        band = _band(strength)
        words = emotion.words[band] if rng.random() < 0.85 else emotion.adjectives
        return self._pick(INTENSIFIERS[band], rng), self._pick(words, rng)

    def _tags(self, mixture: dict[Emotion, float]) -> list[str]:
        if not mixture:
            pool = list(self.neutral.adjectives) + list(self.neutral.nouns)
            return [str(t) for t in self.rng.permutation(pool)[: 3 + int(self.rng.integers(3))]]
        count = 3 + int(self.rng.integers(3))
        tags: list[str] = []
        ordered = list(mixture.items())
        for i in range(count * 4):
            emotion, strength = ordered[0] if i % 2 == 0 or len(ordered) == 1 else ordered[1 + (i // 2) % (len(ordered) - 1)]
            pool = emotion.words[_band(strength)] + emotion.nouns if self.rng.random() < 0.7 else emotion.vocabulary
            tag = self._pick(pool)
            if tag not in tags:
                tags.append(tag)
            if len(tags) == count:
                break
        return tags

    def _look(self, emotion: Emotion, strength: float) -> str | None:
        """One of ``emotion``'s looks for ``look_share`` of visible (not subtle) expressions, else None."""
        if _band(strength) == "low" or self.look_rng.random() >= self.config.look_share:
            return None
        return self._pick(emotion.looks, self.look_rng)

    def _neutral_transcript(self, event: str) -> str:
        look = self._look(self.neutral, 1.0)
        text = f"{self._pick(NEUTRAL_OPENERS)} {event}"
        if self.rng.random() < 0.5:
            text += self._pick((", then ", " and ", ". Also ", ", after that ")) + self._pick(self.neutral.events)
        if self.rng.random() < 0.4:
            text += self._pick((", feeling {adj}", ". All {adj}", ". {Adj}", ", {adj} I guess")).format(
                adj=(adj := self._pick(self.neutral.adjectives)), Adj=_capitalise(adj))
        if look:
            text += self._pick(NEUTRAL_LOOKS, self.look_rng).format(look=look, Look=_capitalise(look))
        return _tidy(_capitalise(text.strip()) + self._pick(NEUTRAL_TAILS) + self._pick(ENDINGS["neutral"]))

    def _sentence(self, primary: Emotion, core: str, event: str, adv: str, adj: str) -> str:
        """The core phrase with its reason, in either order, sometimes after an interjection."""
        if self.rng.random() < 0.6:
            text = core + self._pick(REASONS).format(event=event, Event=_capitalise(event))
        else:
            text = self._pick(EVENT_FIRST).format(Event=_capitalise(event), adv=adv, adj=adj, core=core,
                                                  Core=_capitalise(core))
        if self.rng.random() < 0.35:
            interjection = self._pick(primary.interjections)
            text = self._pick(("{i}, {t}", "{i}!! {T}", "{i} {t}", "{I}. {T}", "{i}... {t}")).format(
                i=interjection, I=_capitalise(interjection), t=text, T=_capitalise(text))
        return text

    def _transcript(self, mixture: dict[Emotion, float], event: str) -> str:
        if not mixture:
            return self._neutral_transcript(event)
        ordered = list(mixture.items())
        primary, strength = ordered[0]
        adv, adj = self._adjective(primary, strength)
        core = self._pick(CORES).format(adv=adv, adj=adj)
        for emotion, other in ordered[1:]:
            adv2, adj2 = self._adjective(emotion, other)
            core += self._pick(MIXERS).format(adv=adv2, adj=adj2, adj0=adj)
        look = self._look(primary, strength)
        inside = look is not None and self.look_rng.random() < 0.5  # "I'm so happy, grinning from ear to ear, because"
        text = self._sentence(primary, f"{core}, {look}" if inside else core, event, adv, adj)
        if look and self.look_rng.random() < LOOK_ALONE_SHARE:  # the look, sometimes the feeling, no event
            text = self._pick(LOOK_ALONE, self.look_rng).format(look=look, Look=_capitalise(look), adv=adv, adj=adj,
                                                                core=core, Core=_capitalise(core))
        if primary.interjections and strength >= 0.45 and self.interjection_rng.random() < INTERJECTION_ALONE_SHARE:
            interjection = self._pick(primary.interjections, self.interjection_rng)
            return self._pick(INTERJECTION_ALONE, self.interjection_rng).format(i=interjection,
                                                                               I=_capitalise(interjection))
        tail = look if look and look not in text else None  # a look the sentence left out ends the post
        text = _capitalise(text) if self.rng.random() < 0.8 else text.lower()
        text += self._pick(ENDINGS[primary.valence])
        if tail:
            text += " " + self._pick(LOOK_TAILS, self.look_rng).format(look=tail, Look=_capitalise(tail))
        if primary.emoticons and self.rng.random() < 0.2:
            text += " " + self._pick(primary.emoticons)
        if self.rng.random() < 0.2:
            text += " #" + re.sub(r"[^A-Za-z]", "", self._pick(primary.nouns + primary.words[_band(strength)]))
        return _tidy(text)

    def _situation(self, event: str, look: str | None) -> str:
        """The event in the third person after a subject and a frame, sometimes ending with a look."""
        subject, pronoun = self._pick(SUBJECTS)
        sentence = self._pick(FRAMES).format(S=subject, event=third_person(event, pronoun))
        return f"{sentence[:-1]}, {third_person(look, pronoun)}." if look else sentence

    def _kind(self) -> str:
        """Whether the next sample is an emotion, a face-action or a no-face sample."""
        draw = self.kind_rng.random()
        if draw < self.config.no_face_share:
            return "no-face"
        return "action" if draw < self.config.no_face_share + self.config.face_action_share else "emotion"

    def _unique(self, draw, seen: set[str], what: str) -> tuple:
        """Call ``draw() -> (transcript, ...)`` until its transcript is not in ``seen``, which it joins."""
        for _ in range(50):
            drawn = draw()
            if drawn[0].lower() not in seen:
                seen.add(drawn[0].lower())
                return drawn
        raise ValueError(f"After {len(seen)} samples the knowledge bases give no new transcripts for {what}; "
                         "build fewer samples or add wordings to expclip/data/.")

    def _emotion_sample(self, seen: set[str]) -> TeadSample:
        mixture = self._emotions()
        aus = self._aus(mixture)
        if mixture:
            aus = self._explicit_strength(aus, mixture)
        emotion = next(iter(mixture), self.neutral)
        event = self._pick(emotion.events)
        for _ in range(50):
            transcript = self._transcript(mixture, event)
            if transcript.lower() not in seen:
                break
            event = self._pick(emotion.events)
        else:
            raise ValueError(f"After {len(seen)} samples the knowledge base gives no new transcripts for "
                             f"{emotion.name}; build fewer samples or add events to expclip/data/emotions.yaml.")
        seen.add(transcript.lower())
        tags = self._tags(mixture)
        situation = self._situation(event, self._look(emotion, mixture.get(emotion, 1.0)))
        return TeadSample(
            transcript=transcript,
            tags=tags,
            aus=aus,
            au_text=facs.describe(aus),
            situation=situation,
            blendshapes=self._blendshapes(aus),
            emotions={e.name: round(s, 3) for e, s in mixture.items()} or {"neutral": 1.0},
        )

    # --- Face actions ---------------------------------------------------------------------------------

    def _band_words(self, action: FaceAction):
        """The strength band of one action's wording (plain for actions that do not scale)."""
        if not action.scalable:
            return self.actions.intensity["plain"]
        shares = np.asarray(self.config.action_bands, dtype=np.float64)
        band = ("low", "plain", "high")[int(self.action_rng.choice(3, p=shares / shares.sum()))]
        return self.actions.intensity[band]

    def _worded(self, action: FaceAction) -> tuple[str, np.ndarray, dict[str, float]]:
        """A wording of ``action`` with its strength word, the face it means (52,), and its AUs at that strength."""
        rng = self.action_rng
        words = self._band_words(action)
        phrase = intensify(self._pick(action.phrases, rng), words, rng)
        face, factor = scale_face(action.face, words, rng)
        return phrase, face, {k: min(1.0, v * factor) for k, v in action.aus.items()}

    def _action_text(self, actions: list[FaceAction], aus: dict[str, float]) -> str:
        """The AU description, plus the weights no AU gives (``"mouth pushed to the left"``)."""
        extra = [a.shape_text() for a in actions if a.shapes]
        return ", ".join(filter(None, [facs.describe(aus) if aus or not extra else "", *extra]))

    def _action_tags(self, actions: list[FaceAction], emotion_tags: list[str]) -> list[str]:
        """3–5 tags: short wordings of the actions (other than the transcript's), then the emotion's words."""
        rng = self.action_rng
        count = 3 + int(rng.integers(3))
        pool = [p for a in actions for p in a.phrases if len(p.split()) <= 4]
        tags: list[str] = list(emotion_tags[:2])
        for phrase in rng.permutation(pool)[: count * 2]:
            if len(tags) == count:
                break
            if str(phrase) not in tags:
                tags.append(str(phrase))
        for phrase in (p for a in actions for p in a.phrases):
            if len(tags) >= 3:
                break
            if phrase not in tags:
                tags.append(phrase)
        return tags[:count]

    def _action_situation(self, phrase: str, feeling: str = "") -> str:
        """``"A woman looks into the camera, one eyebrow raised."``, the wording in the third person."""
        rng = self.action_rng
        subject, pronoun = self._pick(SUBJECTS, rng)
        scene = self._pick(ACTION_SCENES, rng)
        told = third_person(phrase, pronoun)
        told = f"with {told}" if re.match(r"^(a|an) ", told) else told
        middle = f" feels {feeling} and {scene}" if feeling else f" {scene}"  # "feels angry and is posing for…"
        return _tidy(f"{subject}{middle}, {told}.")

    def _pair(self) -> tuple[FaceAction, FaceAction]:
        """Two actions of different regions of the face (a wink and a tongue, a smile and a gaze)."""
        rng = self.action_rng
        first = self._action(scalable_only=True)
        partners = [a for a in self._scalable if a.regions and not (a.regions & first.regions) and a.base != first.base]
        return first, self._pick(partners or [first], rng)

    def _action(self, scalable_only: bool = False) -> FaceAction:
        """One action, drawn by the knowledge base's weights; ``scalable_only`` leaves out the resting faces
        (relaxed, blank, eyes ahead), which do not combine with another action or an emotion."""
        actions, weights = (self._scalable, self._scalable_weights) if scalable_only else \
            (self.actions.actions, self.actions.weights)
        return actions[int(self.action_rng.choice(len(actions), p=weights))]

    def _action_sample(self, seen: set[str]) -> tuple[str, TeadSample]:
        """A face-action sample and its kind, one of :data:`ACTION_MODES`."""
        rng = self.action_rng
        shares = np.asarray(self.config.action_modes, dtype=np.float64)
        mode = ACTION_MODES[int(rng.choice(len(ACTION_MODES), p=shares / shares.sum()))]
        if mode == "au-codes":
            return mode, self._au_sample(seen)
        if mode == "action+emotion":
            return mode, self._emotion_action_sample(seen)
        if mode == "action":
            action = self._action()

            def draw():
                phrase, face, aus = self._worded(action)
                text = self._pick(ACTION_FRAMES, rng).format(p=phrase, P=_capitalise(phrase))
                return _tidy(text), phrase, face, aus
            transcript, phrase, face, aus = self._unique(draw, seen, action.name)
            aus = facs.normalize_aus(aus)
            return mode, TeadSample(transcript, self._action_tags([action], []), aus, self._action_text([action], aus),
                                    self._action_situation(phrase), self._noisy(face, rng))
        first, second = self._pair()

        def draw():
            (p1, f1, a1), (p2, f2, a2) = self._worded(first), self._worded(second)
            joins = GERUND_JOINS if re.match(r"^\w+ing\b", p2) else NOUN_JOINS
            return _tidy(_capitalise(p1) + self._pick(joins + PAIR_JOINS, rng) + p2), p1, p2, f1, f2, _max_merge(a1, a2)
        transcript, p1, p2, f1, f2, aus = self._unique(draw, seen, f"{first.name} with {second.name}")
        aus = facs.normalize_aus(aus)
        return mode, TeadSample(transcript, self._action_tags([first, second], []), aus,
                                self._action_text([first, second], aus), self._action_situation(f"{p1} and {p2}"),
                                self._noisy(np.maximum(f1, f2), rng))

    def _emotion_action_sample(self, seen: set[str]) -> TeadSample:
        """An emotion and an action: ``"so angry, one eyebrow raised"``; the action's regions damp the emotion's."""
        rng = self.action_rng
        emotion = self._pick(self.emotional, rng)
        strength = float(rng.uniform(0.45, 1.0))
        mixture = {emotion: strength}
        emotion_aus = self._aus(mixture, rng)
        action = self._action(scalable_only=True)

        def draw():
            phrase, face, action_aus = self._worded(action)
            adv, adj = self._adjective(emotion, strength, rng)
            core = self._pick(CORES, rng).format(adv=adv, adj=adj)
            text = self._pick(EMOTION_ACTION_FRAMES, rng).format(
                p=phrase, P=_capitalise(phrase), adv=adv, adj=adj, Adj=_capitalise(adj), Core=_capitalise(core))
            return _tidy(text), phrase, face, adj, action_aus
        transcript, phrase, face, adj, action_aus = self._unique(draw, seen, f"{emotion.name} with {action.name}")
        merged = merge_faces(facs.aus_to_blendshapes(emotion_aus), face, action.regions)
        aus = facs.normalize_aus(_max_merge(emotion_aus, action_aus))
        emotion_tags = [adj, self._pick(emotion.nouns, rng)]
        return TeadSample(transcript, self._action_tags([action], emotion_tags), aus, self._action_text([action], aus),
                          self._action_situation(phrase, adj), self._noisy(merged, rng),
                          {emotion.name: round(strength, 3)})

    def _au_code(self, unit: facs.ActionUnit, side: str, letter: str) -> str:
        """One AU as people type it: ``AU25``, ``L12``, ``AU12R``, ``AU46 left``, ``au6C``."""
        rng = self.action_rng
        if side:
            form = self._pick(AU_SIDED_FORMS, rng)
            return form.format(n=unit.number, s=side, side=SIDE_NAMES[side], letter=letter)
        return self._pick(AU_CODE_FORMS, rng).format(n=unit.number, letter=letter)

    def _au_sample(self, seen: set[str]) -> TeadSample:
        """1–3 AUs written as FACS codes ("AU25 (lips part)", "L12 + AU6"), with the face of the rule."""
        rng = self.action_rng

        def draw():
            count = 1 + int(rng.choice(3, p=[0.55, 0.3, 0.15]))
            units = [facs.ACTION_UNITS[i] for i in rng.choice(len(facs.ACTION_UNITS), size=count, replace=False)]
            aus: dict[str, float] = {}
            parts = []
            for unit in units:
                symmetric = not unit.sided or unit.number in SYMMETRIC_ONLY
                side = "" if symmetric else ("L" if rng.random() < 0.5 else "R") \
                    if unit.needs_side or rng.random() < 0.35 else ""
                letter = self._pick("ABCDE", rng) if rng.random() < 0.35 else ""
                code = self._au_code(unit, side, letter)
                if rng.random() < 0.6:
                    code = self._pick(AU_NAMED, rng).format(code=code, name=unit.name.lower(), phrase=unit.phrase)
                parts.append(code)
                aus[f"{side}{unit.number}"] = facs.INTENSITY_LEVELS[letter] if letter else facs.INTENSITY_LEVELS["C"]
            text = self._pick(AU_JOINS, rng).join(parts)
            if rng.random() < 0.2:
                text = self._pick(AU_PREFIXES, rng) + text
            return text, facs.normalize_aus(aus), units
        transcript, aus, units = self._unique(draw, seen, "AU codes")
        tags = [f"AU{u.number}" for u in units] + [u.name.lower() for u in units]
        subject, _ = self._pick(SUBJECTS, rng)
        situation = f"{subject}'s face is coded {facs.name_list(aus)}."
        return TeadSample(transcript, tags[:5] if len(tags) >= 3 else tags + ["FACS"], aus, facs.describe(aus),
                          situation, self._noisy(facs.aus_to_blendshapes(aus), rng))

    # --- No face ----------------------------------------------------------------------------------------

    def _no_face_sample(self, seen: set[str]) -> TeadSample:
        """A text that names no face ("the train timetable", "qwfp") with the neutral face."""
        rng = self.action_rng

        def thing() -> str:
            draw = rng.random()
            if draw < 0.25:
                return "".join(self._pick(_LETTERS, rng) for _ in range(3 + int(rng.integers(7))))
            return self._pick(NO_FACE_WORDS if draw < 0.45 else NO_FACE_THINGS, rng)

        def draw():
            t, t2 = thing(), thing()
            text = self._pick(NO_FACE_FRAMES, rng).format(t=t, T=_capitalise(t), t2=t2, n=1 + int(rng.integers(99)))
            return text, t
        transcript, t = self._unique(draw, seen, "texts without a face")
        subject, _ = self._pick(SUBJECTS, rng)
        pool = list(self.neutral.adjectives) + list(self.neutral.nouns)
        tags = [str(x) for x in rng.permutation(pool)[: 3 + int(rng.integers(3))]]
        return TeadSample(transcript, tags, {}, facs.describe({}),
                          self._pick(NO_FACE_SCENES, rng).format(S=subject, t=t), np.zeros(52, dtype=np.float32),
                          {"neutral": 1.0})

    def draw(self, seen: set[str]) -> tuple[str, TeadSample]:
        """The next sample's kind (one of :data:`KINDS`) and the sample, whose transcript is not in ``seen``."""
        kind = self._kind()
        if kind == "action":
            return self._action_sample(seen)
        if kind == "no-face":
            return kind, self._no_face_sample(seen)
        return kind, self._emotion_sample(seen)

    def sample(self, seen: set[str]) -> TeadSample:
        """One new sample whose transcript is not in ``seen`` (which it joins)."""
        return self.draw(seen)[1]

    def draws(self, progress: bool = True) -> Iterator[tuple[str, TeadSample]]:
        """``config.size`` samples with their kinds."""
        seen: set[str] = set()
        for _ in tqdm(range(self.config.size), desc="TEAD offline", unit="sample", disable=not progress):
            yield self.draw(seen)

    def samples(self, progress: bool = True) -> Iterator[TeadSample]:
        for _, sample in self.draws(progress):
            yield sample


def _max_merge(*aus: dict[str, float]) -> dict[str, float]:
    """AU dicts merged by maximum per key."""
    merged: dict[str, float] = {}
    for part in aus:
        for key, value in part.items():
            merged[key] = max(merged.get(key, 0.0), value)
    return merged


def _check(config: OfflineConfig) -> None:
    """One sentence on a config whose shares cannot work."""
    for name in ("neutral_share", "subtle_share", "face_action_share", "no_face_share", "look_share", "test_share"):
        if not 0.0 <= getattr(config, name) <= 1.0:
            raise ValueError(f"{name} must be between 0 and 1, not {getattr(config, name)}.")
    if config.face_action_share + config.no_face_share > 1.0:
        raise ValueError("face_action_share and no_face_share together must not exceed 1.")
    for name, count in (("action_modes", len(ACTION_MODES)), ("action_bands", 3), ("mixture_shares", 0)):
        shares = getattr(config, name)
        if (count and len(shares) != count) or any(v < 0 for v in shares) or sum(shares) <= 0:
            raise ValueError(f"{name} must be {count or 'some'} non-negative shares, not all zero; got {list(shares)}.")


def build_offline(config: OfflineConfig, out: str | Path, overwrite: bool = False, progress: bool = True) -> dict:
    """Generate ``config.size`` samples and write the TEAD directory ``out``; returns its meta."""
    out = Path(out)
    if not overwrite and any((out / name).exists() for name in ("meta.json", "train.jsonl", "test.jsonl")):
        raise FileExistsError(f"{out} already holds a TEAD build; pass --overwrite to replace it or choose another --out.")
    if config.size < 1 or not 0.0 <= config.test_share < 1.0:
        raise ValueError("--size must be at least 1 and test_share in [0, 1).")
    samples = list(OfflineAnnotator(config).samples(progress=progress))
    train, test = split_by_seed(samples, config.seed, config.test_share)
    write_tead(out, train, test, {"seed": config.seed, "annotator": "offline", "builder_version": BUILDER_VERSION,
                                  "config": config_to_dict(config)})
    return read_meta(out)
