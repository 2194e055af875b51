"""The emotion knowledge base: coverage, EMFACS prototypes, vocabulary lookups."""

from __future__ import annotations

from pathlib import Path

import pytest

from expclip import facs
from expclip.emotions import KnowledgeBaseError, load_knowledge_base

EMFACS = {
    "happiness": "6+12", "sadness": "1+4+15", "surprise": "1+2+5+26", "fear": "1+2+4+5+7+20+26",
    "anger": "4+5+7+23", "disgust": "9+15+16", "contempt": "R12+R14",
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
    assert kb["contempt"].prototypes[0] == {"R12": 0.2, "R14": 0.2}


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


def test_malformed_file_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "kb.yaml"
    bad.write_text("emotions:\n  - name: glee\n    valence: positive\n    prototype: '6+99'\n"
                   "    words: {low: [a], mid: [b], high: [c]}\n")
    with pytest.raises(KnowledgeBaseError, match=r"kb.yaml emotion 1 \(glee\): AU99 is not in the catalogue"):
        load_knowledge_base(bad)
    bad.write_text("emotions:\n  - name: glee\n    valence: happy\n")
    with pytest.raises(KnowledgeBaseError, match="valence must be one of positive, negative, neutral, mixed"):
        load_knowledge_base(bad)
