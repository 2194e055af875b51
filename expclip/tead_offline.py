"""The offline TEAD annotator: the emotion knowledge base + the AU rule → text/expression samples.

Built by ``python -m train.tead build --annotator offline`` (``train/configs/tead_offline.yaml``) and,
small, by the demo (``demo_data.py``); it needs nothing from ``train/``.

Each sample mixes 1–3 emotions with intensities, turns their AU prototypes into AUs with natural
variation (dropped and extra AUs, jittered intensities, left/right asymmetry), the AUs into 52
blendshape weights by the rule, and writes a tweet-like first-person transcript, 3–5 tags, a
third-person situation sentence and an AU description. Transcripts and situations of visible
expressions often carry one of the main emotion's looks ("jaw clenched", "over the moon").
Everything is drawn from two seeded generators, one for the looks and one for all the rest (so
that changing the looks leaves most other texts as they were): a seed gives the same dataset on
every machine.
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
from expclip.tead import TeadSample, read_meta, split_by_seed, write_tead
from expclip.configs import config_to_dict


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
# AUs never split into different left and right strengths (gaze and blinks move both eyes together).
SYMMETRIC_ONLY = frozenset({43, 45, 61, 62, 63, 64})
# Small movements people make whatever they feel (pursing, biting or sucking the lips, a squint...).
FIDGETS = ("18A", "22A", "28A", "32B", "34A", "44B", "L30A", "R30A", "29A", "17A", "L14A")

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

    def __init__(self, config: OfflineConfig, kb: KnowledgeBase | None = None) -> None:
        self.config = config
        self.kb = kb or load_knowledge_base()
        self.neutral = self.kb["neutral"]
        self.emotional = tuple(e for e in self.kb.emotions if e.name != "neutral")
        self.rng = np.random.default_rng(config.seed)
        self.look_rng = np.random.default_rng([config.seed, 1])
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

    def _aus(self, mixture: dict[Emotion, float]) -> dict[str, float]:
        """Prototype AUs scaled by intensity, merged by maximum, with drops, extras and asymmetry."""
        cfg = self.config
        merged: dict[str, float] = {}
        for emotion, strength in mixture.items():
            use_variant = len(emotion.prototypes) > 1 and self.rng.random() < cfg.variant_share
            prototype = emotion.prototypes[1 + int(self.rng.integers(len(emotion.prototypes) - 1))] if use_variant \
                else emotion.prototypes[0]
            scale = min(strength / 0.8, 1.25)
            for key, value in prototype.items():
                if self.rng.random() < cfg.au_drop:
                    continue
                jittered = value * scale * float(np.exp(self.rng.normal(0.0, cfg.au_jitter)))
                merged[key] = max(merged.get(key, 0.0), jittered)
        if self.rng.random() < 0.12:
            merged["25"] = max(merged.get("25", 0.0), float(self.rng.uniform(0.1, 0.4)))
        if self.rng.random() < 0.05:
            merged[self._pick(("61", "62", "63", "64"))] = float(self.rng.uniform(0.1, 0.5))
        if self.rng.random() < 0.03:
            merged["45"] = float(self.rng.uniform(0.3, 1.0))
        if self.rng.random() < 0.06:
            merged.update(facs.parse_prototype(self._pick(FIDGETS)))
        result: dict[str, float] = {}
        for key, value in merged.items():
            code = facs.parse_code(key)
            symmetric = code.side or not code.unit.sided or code.number in SYMMETRIC_ONLY
            if not symmetric and self.rng.random() < cfg.asymmetry_share:
                tilt = float(self.rng.uniform(-cfg.asymmetry, cfg.asymmetry))
                result[f"L{key}"] = max(result.get(f"L{key}", 0.0), value * (1 + tilt))
                result[f"R{key}"] = max(result.get(f"R{key}", 0.0), value * (1 - tilt))
            else:
                result[key] = max(result.get(key, 0.0), value)
        return facs.normalize_aus({k: round(min(v, 1.0), 2) for k, v in result.items() if v >= 0.05})

    def _blendshapes(self, aus: dict[str, float]) -> np.ndarray:
        weights = facs.aus_to_blendshapes(aus)
        active = weights > 0
        weights[active] += self.rng.normal(0.0, self.config.blendshape_noise, int(active.sum())).astype(np.float32)
        return np.clip(weights, 0.0, 1.0)

    def _adjective(self, emotion: Emotion, strength: float) -> tuple[str, str]:
        band = _band(strength)
        words = emotion.words[band] if self.rng.random() < 0.85 else emotion.adjectives
        return self._pick(INTENSIFIERS[band]), self._pick(words)

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

    def sample(self, seen: set[str]) -> TeadSample:
        """One new sample whose transcript is not in ``seen`` (which it joins)."""
        mixture = self._emotions()
        aus = self._aus(mixture)
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

    def samples(self, progress: bool = True) -> Iterator[TeadSample]:
        seen: set[str] = set()
        for _ in tqdm(range(self.config.size), desc="TEAD offline", unit="sample", disable=not progress):
            yield self.sample(seen)


def build_offline(config: OfflineConfig, out: str | Path, overwrite: bool = False, progress: bool = True) -> dict:
    """Generate ``config.size`` samples and write the TEAD directory ``out``; returns its meta."""
    out = Path(out)
    if not overwrite and any((out / name).exists() for name in ("meta.json", "train.jsonl", "test.jsonl")):
        raise FileExistsError(f"{out} already holds a TEAD build; pass --overwrite to replace it or choose another --out.")
    if config.size < 1 or not 0.0 <= config.test_share < 1.0:
        raise ValueError("--size must be at least 1 and test_share in [0, 1).")
    samples = list(OfflineAnnotator(config).samples(progress=progress))
    train, test = split_by_seed(samples, config.seed, config.test_share)
    write_tead(out, train, test, {"seed": config.seed, "annotator": "offline", "config": config_to_dict(config)})
    return read_meta(out)
