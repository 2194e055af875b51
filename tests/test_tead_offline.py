"""The offline TEAD annotator: determinism, variety, and expressions a FACS coder would expect (emotion samples;
the face-action and no-face samples are tested in test_face_actions.py)."""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pytest

from expclip import facs
from head import arkit
from expclip.emotions import load_knowledge_base
from train.config import CONFIG_DIR, load_config
from train.expclip.data import build_text_table
from train.expclip.fit import FitConfig
from train.expclip.gallery import PROMPTS
from expclip.tead_offline import OfflineAnnotator, OfflineConfig, third_person
from train.tead.stats import compute_stats, emotion_of

N = 3000


@pytest.fixture(scope="module")
def drawn():
    return list(OfflineAnnotator(OfflineConfig(size=N, seed=0)).draws(progress=False))


@pytest.fixture(scope="module")
def samples(drawn):
    """The emotion samples (about two thirds of a build)."""
    return [s for kind, s in drawn if kind == "emotion"]


def test_same_seed_same_data_other_seed_other_data(drawn) -> None:
    again = list(OfflineAnnotator(OfflineConfig(size=200, seed=0)).samples(progress=False))
    assert [s.to_json() for s in again] == [s.to_json() for _, s in drawn[:200]]
    samples = [s for _, s in drawn]
    other = list(OfflineAnnotator(OfflineConfig(size=200, seed=1)).samples(progress=False))
    assert len({s.transcript for s in other} & {s.transcript for s in samples[:200]}) < 5


def test_emotion_samples_do_not_depend_on_the_face_action_share(samples) -> None:
    """Each concern draws from its own generator: without face actions the emotion samples come in the same order."""
    alone = list(OfflineAnnotator(OfflineConfig(size=300, seed=0, face_action_share=0.0, no_face_share=0.0)).samples(
        progress=False))
    assert [s.transcript for s in alone[:150]] == [s.transcript for s in samples[:150]]


def test_transcripts_are_unique_and_varied(drawn, samples) -> None:
    assert len({s.transcript.lower() for _, s in drawn}) == N
    transcripts = [s.transcript for s in samples]
    openings = Counter(" ".join(t.lower().split()[:2]) for t in transcripts)
    assert openings.most_common(1)[0][1] < 0.06 * len(samples)  # "me rn: <look>" leads with about 5 %
    vocabulary = {w for t in transcripts for w in re.findall(r"[a-z']+", t.lower())}
    assert len(vocabulary) > 1500
    assert len({s.situation for s in samples}) > 0.9 * len(samples)


def test_every_sample_is_complete_and_consistent(samples) -> None:
    for s in samples:
        assert 3 <= len(s.tags) <= 5 and len(set(s.tags)) == len(s.tags)
        assert s.au_text == facs.describe(s.aus)
        assert s.situation.endswith(".") and s.situation[0].isupper()
        assert all(0.05 <= v <= 1.0 for v in s.aus.values())
        assert s.blendshapes.shape == (52,) and 0 <= s.blendshapes.min() and s.blendshapes.max() <= 1
        assert np.abs(s.blendshapes - facs.aus_to_blendshapes(s.aus)).max() < 0.12


def test_shares_of_neutral_subtle_mixed_and_asymmetric(samples) -> None:
    n = len(samples)
    neutral = sum(s.emotions == {"neutral": 1.0} for s in samples) / n
    subtle = sum(0 < max(s.emotions.values()) <= 0.35 for s in samples if "neutral" not in s.emotions) / n
    mixed = sum(len(s.emotions) > 1 for s in samples) / n
    asymmetric = sum(any(k[0] in "LR" for k in s.aus) for s in samples) / n
    assert 0.03 < neutral < 0.07 and 0.11 < subtle < 0.19 and 0.3 < mixed < 0.45 and asymmetric > 0.4
    assert np.mean([s.blendshapes.sum() for s in samples if "neutral" in s.emotions]) < 0.3


def test_tags_name_the_sample_emotions(samples) -> None:
    kb = load_knowledge_base()
    for s in samples[:500]:
        named = {kb.category_of(t).name for t in s.tags if kb.category_of(t)}
        assert named <= set(s.emotions) and emotion_of(s, kb) in named | {"neutral"}


def _looks_in(text: str, looks: tuple[str, ...]) -> set[str]:
    """The looks written in ``text``, in the first person or any third person."""
    text = text.lower()
    return {look for look in looks
            if any(form.lower() in text for form in (look, *(third_person(look, p) for p in ("she", "he", "they"))))}


def test_looks_of_the_main_emotion_appear_in_transcripts_and_situations(samples) -> None:
    kb = load_knowledge_base()
    every_look = tuple(look for e in kb.emotions for look in e.looks)
    shares = {"transcript": [], "situation": []}
    for s in samples:
        main, strength = max(s.emotions.items(), key=lambda item: item[1])
        for field, flags in shares.items():
            found = _looks_in(getattr(s, field), every_look)
            flags.append(bool(found))
            if strength < 0.4:  # subtle expressions get no look
                assert not found, (field, s)
            assert found <= set(kb[main].looks), (field, s.emotions, found)
    for field, flags in shares.items():
        assert 0.35 < np.mean(flags) < 0.5, field
    looked = [s.transcript for s in samples if _looks_in(s.transcript, every_look)]
    assert any(t.startswith("me rn: ") or " me rn: " in t for t in looked)
    bare = {re.sub(r"^(me rn|literally)\W*|[^a-z' -]+$", "", t.lower()).strip() for t in looked}
    assert len(bare & {look.lower() for look in every_look}) > 50  # some posts are only the look


def test_held_out_gallery_prompts_are_not_training_texts(samples) -> None:
    sources = load_config(FitConfig, CONFIG_DIR / "expclip_small.yaml").sources  # the release's, looks included
    table = build_text_table(samples, sources)
    texts = [t.lower() for t in table.texts]
    for prompt in PROMPTS:
        assert not [t for t in texts if prompt.lower() in t], prompt


def test_every_event_and_look_turns_into_third_person() -> None:
    first_person = re.compile(r"\b(I|me|my|mine|myself|I'm|I've|I'd|I'll)\b")
    for emotion in load_knowledge_base().emotions:
        for event in (*emotion.events, *emotion.looks):
            for pronoun in ("she", "he", "they"):
                converted = third_person(event, pronoun)
                assert not first_person.search(converted), (event, converted)
    assert third_person("I've lost my keys and I was late", "she") == "she's lost her keys and she was late"
    assert third_person("my boss thanked me", "they") == "their boss thanked them"


def test_expressions_match_what_a_facs_coder_expects(samples) -> None:
    stats = compute_stats(samples)
    m = stats.shape_mean
    emotions = [e for e in stats.means if e != "neutral"]

    def top(shape: str, emotion: str, share: float = 0.2) -> None:
        """``emotion`` is among the top ``share`` of emotions on ``shape`` and clearly above the median."""
        values = sorted((m(e, shape) for e in emotions), reverse=True)
        assert m(emotion, shape) >= values[int(share * len(values))], (emotion, shape)
        assert m(emotion, shape) > 2 * np.median(values) + 0.02, (emotion, shape)

    for shape in ("mouthSmile", "cheekSquint"):
        top(shape, "happiness")
    for shape in ("jawOpen", "eyeWide", "browInnerUp", "browOuterUp"):
        top(shape, "surprise", 0.3)
    for shape in ("noseSneer", "mouthUpperUp"):
        top(shape, "disgust")
    for shape in ("browInnerUp", "mouthFrown"):
        top(shape, "sadness", 0.3)
    for shape in ("browDown", "mouthPress"):
        top(shape, "anger", 0.3)
    # none of them everywhere: each signature shape is low for most emotions
    for shape in ("mouthSmile", "jawOpen", "noseSneer", "mouthFrown", "browDown", "eyeWide"):
        assert np.median([m(e, shape) for e in emotions]) < 0.2, shape


def test_strength_is_explicit_in_emotion_samples(samples) -> None:
    """A strong main emotion (0.75 or more) lifts the face's largest weight to 0.8; a subtle one stays at most
    half of its main prototype's face."""
    kb = load_knowledge_base()
    strong = [s for s in samples if next(iter(s.emotions.values())) >= 0.75
              and kb[next(iter(s.emotions))].arousal != "low" and "neutral" not in s.emotions]
    assert len(strong) > 200 and np.mean([s.blendshapes.max() >= 0.78 for s in strong]) > 0.97
    for s in samples:
        name, strength = next(iter(s.emotions.items()))
        if name != "neutral" and strength < 0.4:
            plain = facs.aus_to_blendshapes(kb[name].prototypes[0])
            assert s.blendshapes.max() <= 0.5 * plain.max() + 0.1, (s.transcript, s.emotions)


def test_calm_and_other_low_arousal_words_are_near_neutral(drawn) -> None:
    """Samples whose text is only about being calm, relaxed or serene have a soft, near-neutral face."""
    calm = re.compile(r"\b(calm|relaxed|serene|at ease|peaceful|tranquil)\b", re.IGNORECASE)
    faces = [s.blendshapes for kind, s in drawn
             if kind in ("emotion", "action") and calm.search(s.transcript) and set(s.emotions) <= {"calm"}]
    assert len(faces) > 20
    faces = np.stack(faces)
    assert np.mean(faces.max(1) <= 0.35) > 0.9  # a random blink or parted lips now and then
    brow_down = faces[:, [arkit.INDEX["browDownLeft"], arkit.INDEX["browDownRight"]]].max(1)
    assert brow_down.max() < 0.1


def test_some_transcripts_are_an_interjection_alone_with_a_clear_face(samples) -> None:
    """So that "eww!" or "yay" is learnt as a face, not as one of the no-face nonsense strings."""
    kb = load_knowledge_base()
    alone = [s for s in samples if s.emotions and (name := next(iter(s.emotions))) in kb.names
             and re.sub(r"[!.]+$", "", s.transcript).lower().split(" ")[0] in kb[name].interjections]
    alone = [s for s in alone if len(s.transcript) < 20]
    assert 0.008 * len(samples) < len(alone) < 0.06 * len(samples)
    tops = np.array([float(s.blendshapes.max()) for s in alone])
    assert np.median(tops) > 0.4 and (tops > 0.12).all()  # "peace!" is calm, a soft face
