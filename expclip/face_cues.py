"""Does a prompt name anything a face shows? The note for prompts that do not ("the quarterly report", "asdf").

The model maps such prompts to a near-neutral face (TEAD-offline trains it on no-face texts), which looks
the same as an answer to "expressionless"; :func:`no_cue_note` tells them apart for the person who typed
it. A prompt names a face when one of its words (or a word with a plain English ending removed: "smiling"
→ "smil", "winks" → "wink") is a word of the knowledge bases' faces: an emotion's name, nouns,
adjectives, interjections and looks (:mod:`expclip.emotions`), a face action's wordings
(:mod:`expclip.face_actions`), a FACS name or an AU code (``AU12``, ``L12``, ``12R``), or a face word
(:data:`FACE_WORDS`). Everything else (events, objects, nonsense) is not a cue.
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np

NEAR_NEUTRAL = 0.2  # a face whose largest weight is below this reads as near neutral
NOTE = "No facial cue was recognised in the prompt, so the face stays near neutral."
FACE_WORDS = frozenset("face faces facial expression expressions look looks looking mood feel feeling feels "
                       "emotion emotional eyes eye mouth lips lip brow brows eyebrow eyebrows cheek cheeks jaw nose "
                       "tongue teeth chin forehead gaze glance stare".split())
_STOP = frozenset("a an the and or but of to in on at by for with from as is are was were be been am i me my "
                  "you your he she his her they them their it its this that these those so very too just like "
                  "up down out off over all some any no not".split())
_AU = re.compile(r"^(au)?[lr]?\d{1,2}[lr]?$")
_ENDINGS = ("ingly", "ing", "edly", "ed", "ies", "es", "s", "ly", "y", "e")


def stem(word: str) -> str:
    """``word`` without one plain English ending (at least 3 letters kept): "smiling" → "smil"."""
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            return word[: -len(ending)]
    return word


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


@lru_cache(maxsize=1)
def vocabulary() -> frozenset[str]:
    """The stems of every word the knowledge bases use for a face (stop words left out)."""
    from expclip import facs
    from expclip.emotions import load_knowledge_base
    from expclip.face_actions import load_face_actions

    texts: list[str] = []
    for emotion in load_knowledge_base().emotions:
        texts += [*emotion.vocabulary, *emotion.interjections, *emotion.looks]
    texts += [phrase for action in load_face_actions().actions for phrase in action.phrases]
    texts += [au.name for au in facs.ACTION_UNITS]
    words = {stem(w) for text in texts for w in _words(text) if w not in _STOP and not w.isdigit()}
    return frozenset(words | {stem(w) for w in FACE_WORDS})


def names_a_face(prompt: str) -> bool:
    """Whether any word of ``prompt`` is a face word of the knowledge bases or an AU code."""
    known = vocabulary()
    return any(_AU.match(w) or (w not in _STOP and stem(w) in known) for w in _words(prompt))


def no_cue_note(prompt: str, weights: np.ndarray) -> str | None:
    """:data:`NOTE` when ``prompt`` names no face and its ``weights (52,)`` are near neutral, else None."""
    if float(np.max(weights)) >= NEAR_NEUTRAL or names_a_face(prompt):
        return None
    return NOTE
