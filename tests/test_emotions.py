"""The emotion knowledge base: coverage, EMFACS prototypes, vocabulary lookups."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from expclip import facs
from expclip.emotions import KnowledgeBaseError, load_knowledge_base
from train.expclip.gallery import PROMPTS

# Key phrases of the gallery's held-out prompts: the knowledge base must not teach them.
HELD_OUT = ("won the lottery", "grumpy cat", "poker face", "not to laugh", "brow lowerer", "lip tightener",
            "wrinkles her nose", "at the smell", "quietly furious", "smirk", "smug", "deep in thought",
            "out of my mind", "jaw-dropping", "beaming smile", "of the dark", "night shift", "funeral")
EMFACS = {
    "happiness": "6+12", "sadness": "1+4+15", "surprise": "1+2+5+26", "fear": "1+2+4+5+7+20+26",
    "anger": "4+5+7+23", "disgust": "9+15+16", "contempt": "L12+L14",
}


def test_at_least_40_categories_with_everything_filled_in() -> None:
    kb = load_knowledge_base()
    emotional = [e for e in kb.emotions if e.name != "neutral"]
    assert len(emotional) >= 40
    for name in ("amusement", "pride", "embarrassment", "shame", "guilt", "relief", "awe", "confusion", "boredom",
                 "interest", "pain", "disappointment", "determination", "anxiety", "love", "jealousy", "calm",
                 "exhaustion"):
        assert name in kb.names
    for emotion in emotional:
        assert all(emotion.words[band] for band in ("low", "mid", "high")), emotion.name
        assert emotion.prototypes[0], emotion.name
        assert len(emotion.events) >= 8 and emotion.nouns and emotion.interjections


def test_basic_emotions_follow_emfacs() -> None:
    kb = load_knowledge_base()
    for name, prototype in EMFACS.items():
        assert set(kb[name].prototypes[0]) == set(facs.parse_prototype(prototype)), name
    assert kb["surprise"].prototypes[0]["5"] == facs.INTENSITY_LEVELS["B"]
    assert kb["contempt"].prototypes[0] == {"L12": 0.2, "L14": 0.2}


def test_words_belong_to_one_emotion_and_have_synonyms() -> None:
    kb = load_knowledge_base()
    owners: dict[str, str] = {}
    for emotion in kb.emotions:
        for word in emotion.adjectives:
            assert owners.setdefault(word, emotion.name) == emotion.name, f"{word} is in two emotions"
    anger = kb["anger"]
    assert kb.category_of(anger.words["high"][0].upper()) is anger
    assert kb.category_of("sandwich") is None
    word = anger.words["mid"][0]
    assert set(kb.synonyms(word)) == set(anger.words["mid"]) - {word} - {w for w in anger.words["mid"] if " " in w}
    group = kb.lexicon[0]
    assert set(kb.synonyms(group[0])) == set(group[1:])


def test_looks_describe_faces_and_idioms_of_one_emotion_each() -> None:
    kb = load_knowledge_base()
    owners: dict[str, str] = {}
    for emotion in kb.emotions:
        assert 10 <= len(emotion.looks) <= 14, emotion.name
        for look in emotion.looks:
            assert owners.setdefault(look.lower(), emotion.name) == emotion.name, f"{look} is in two emotions"
    for look, owner in owners.items():  # so a look found in a text names one emotion
        inside = [other for other in owners if other != look and re.search(rf"\b{re.escape(look)}\b", other)]
        assert all(owners[other] == owner for other in inside), (look, inside)
    assert "jaw clenched" in kb["anger"].looks and "over the moon" in kb["happiness"].looks
    assert "deadpan" in kb["neutral"].looks and "nose scrunched up" in kb["disgust"].looks


def test_held_out_gallery_prompts_stay_unseen() -> None:
    kb = load_knowledge_base()
    texts = [text.lower() for e in kb.emotions
             for text in (*e.looks, *e.events, *e.vocabulary, *e.interjections)]
    for phrase in (*HELD_OUT, *(p.lower() for p in PROMPTS)):
        assert not [t for t in texts if phrase in t], phrase


def test_common_mood_words_are_known() -> None:
    kb = load_knowledge_base()
    for word, name in (("grumpy", "annoyance"), ("upset", "sadness"), ("irate", "anger"), ("stressed", "anxiety"),
                       ("pensive", "concentration"), ("bummed", "disappointment")):
        assert kb.category_of(word) is kb[name], word


def test_malformed_file_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "kb.yaml"
    bad.write_text("emotions:\n  - name: glee\n    valence: positive\n    prototype: '6+99'\n"
                   "    words: {low: [a], mid: [b], high: [c]}\n")
    with pytest.raises(KnowledgeBaseError, match=r"kb.yaml emotion 1 \(glee\): AU99 is not in the catalogue"):
        load_knowledge_base(bad)
    bad.write_text("emotions:\n  - name: glee\n    valence: happy\n")
    with pytest.raises(KnowledgeBaseError, match="valence must be one of positive, negative, neutral, mixed"):
        load_knowledge_base(bad)
    entry = ("emotions:\n  - name: glee\n    valence: positive\n    prototype: '6+12'\n"
             "    words: {low: [a], mid: [b], high: [c]}\n    nouns: [glee]\n    interjections: [yay]\n")
    bad.write_text(entry + "    looks: [grinning, 3]\n")
    with pytest.raises(KnowledgeBaseError, match=r"\(glee\): 'looks' must be a list of non-empty strings"):
        load_knowledge_base(bad)
    bad.write_text(entry + "    events: [a, b, c, d, e, f, g, h]\n")
    with pytest.raises(KnowledgeBaseError, match=r"\(glee\): 'looks' needs at least 1 entries, it has 0"):
        load_knowledge_base(bad)
