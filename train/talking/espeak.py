"""eSpeak NG through ctypes: speech samples with phoneme, word and sentence timings.

libespeak-ng runs in synchronous mode (``AUDIO_OUTPUT_SYNCHRONOUS``): ``espeak_Synth`` calls our
callback with each chunk of 16-bit samples and the events that fall in it. With
``espeakINITIALIZE_PHONEME_EVENTS`` the events include one ``espeakEVENT_PHONEME`` per phoneme, whose
``id.string`` is the phoneme's mnemonic in eSpeak's ASCII notation (``"aI"``, ``"tS"``, ``"_:"`` for a
pause) and whose ``sample`` (samples since the start of the text; ``audio_position`` is the same in
whole milliseconds, used when ``sample`` is missing) is where the phoneme starts in the audio; the
times match the audio's own pauses and voicing within 10 ms (``tests/test_talking_corpus.py``).
The library keeps one global voice and one callback per process, so :class:`Espeak` is a
per-process singleton (:func:`engine`).

Some voices are not reproducible within one process: pitch flutter and the noise of Klatt and breathy
voices advance library state (a function-static flutter index, libc's ``rand``) that no call resets,
so the same request sounds slightly different depending on what was spoken before. Builders that must
give the same samples for the same request whatever ran before use :class:`IsolatedEspeak`: a helper
process initialises the library once and forks a fresh copy of that untouched state for each request.

::

    speech = engine().synthesize("Hello there.", voice="en-us+f2", rate=160)
    speech.samples, speech.sample_rate     # (n,) float32, 22050
    speech.phonemes[:2]                    # [Event(start=0.012, kind='phoneme', value='h'), Event(0.064, ..., '@')]
    speech.resampled(16000)                # the same speech at 16 kHz, events unchanged
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np

# speak_lib.h
AUDIO_OUTPUT_SYNCHRONOUS = 2
POS_CHARACTER = 1
ESPEAK_CHARS_UTF8 = 1
ESPEAK_INITIALIZE_PHONEME_EVENTS = 0x0001
ESPEAK_INITIALIZE_DONT_EXIT = 0x8000
EE_OK = 0
EVENT_LIST_TERMINATED, EVENT_WORD, EVENT_SENTENCE, EVENT_MARK, EVENT_PLAY, EVENT_END = 0, 1, 2, 3, 4, 5
EVENT_MSG_TERMINATED, EVENT_PHONEME, EVENT_SAMPLERATE = 6, 7, 8
PARAM_RATE, PARAM_VOLUME, PARAM_PITCH, PARAM_RANGE, PARAM_WORDGAP = 1, 2, 3, 4, 7

LIBRARY_NAMES = ("espeak-ng", "libespeak-ng.so.1")

# The English voices of espeak-ng's own data (the mbrola voices need the separate mbrola program).
ENGLISH_VOICES = ("en", "en-us", "en-gb-x-rp", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-gbcwmd",
                  "en-029", "en-us-nyc")
# Voice variants (espeak-ng-data/voices/!v) that sound like a person; robotic, echoing and joke voices are left out.
VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "f1", "f2", "f3", "f4", "f5",
            "klatt", "klatt2", "klatt4", "Alex", "Alicia", "Andy", "Annie", "adam", "anika", "aunty",
            "belinda", "benjamin", "boris", "caleb", "david", "edward", "grandma", "grandpa", "iven",
            "john", "linda", "max", "michael", "norbert", "paul", "quincy", "rob", "robert", "shelby",
            "steph", "travis", "victor", "zac")


class EspeakError(RuntimeError):
    """libespeak-ng is missing or refused a request; the message says which and what to do."""


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint), ("text_position", ctypes.c_int),
                ("length", ctypes.c_int), ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", _EventId)]


class _VoiceSpec(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("languages", ctypes.c_char_p), ("identifier", ctypes.c_char_p),
                ("gender", ctypes.c_ubyte), ("age", ctypes.c_ubyte), ("variant", ctypes.c_ubyte),
                ("xx1", ctypes.c_ubyte), ("score", ctypes.c_int), ("spare", ctypes.c_void_p)]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


@dataclass(frozen=True)
class Event:
    """A timed event: ``kind`` is ``"phoneme"`` (``value`` the mnemonic), ``"word"`` or ``"sentence"``
    (``value`` the 1-based character position in the text) or ``"end"`` (end of a clause)."""

    start: float  # seconds from the start of the audio
    kind: str
    value: str | int


@dataclass
class Speech:
    """Synthesized speech: ``samples`` ``(n,)`` float32 in [-1, 1] at ``sample_rate``, and its events."""

    samples: np.ndarray
    sample_rate: int
    events: list[Event] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.sample_rate

    @property
    def phonemes(self) -> list[Event]:
        return [e for e in self.events if e.kind == "phoneme"]

    @property
    def words(self) -> list[Event]:
        return [e for e in self.events if e.kind == "word"]

    @property
    def sentences(self) -> list[Event]:
        return [e for e in self.events if e.kind == "sentence"]

    def resampled(self, sample_rate: int) -> Speech:
        """The same speech at ``sample_rate`` (polyphase filter); event times are unchanged."""
        if sample_rate == self.sample_rate:
            return self
        from math import gcd

        from scipy.signal import resample_poly

        g = gcd(sample_rate, self.sample_rate)
        samples = resample_poly(self.samples, sample_rate // g, self.sample_rate // g).astype(np.float32)
        return Speech(np.clip(samples, -1.0, 1.0), sample_rate, list(self.events))


def load_library(names: tuple[str, ...] = LIBRARY_NAMES) -> ctypes.CDLL:
    """libespeak-ng as a ctypes library (``EXPCLIP_ESPEAK_LIBRARY`` may name the file)."""
    candidates = [os.environ["EXPCLIP_ESPEAK_LIBRARY"]] if os.environ.get("EXPCLIP_ESPEAK_LIBRARY") else []
    for name in names:
        candidates.append(ctypes.util.find_library(name) or name)
    for candidate in candidates:
        try:
            return ctypes.CDLL(candidate)
        except OSError:
            continue
    raise EspeakError("libespeak-ng is not installed; install the Debian package espeak-ng "
                      "(`sudo apt-get install espeak-ng`, or `make setup` as root) to build the talking corpus.")


class Espeak:
    """One initialised libespeak-ng. Not thread-safe: calls are serialised with a lock."""

    def __init__(self, library: ctypes.CDLL | None = None) -> None:
        lib = library or load_library()
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_CALLBACK]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetVoiceByProperties.argtypes = [ctypes.POINTER(_VoiceSpec)]
        lib.espeak_SetVoiceByProperties.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
                                     ctypes.c_uint, ctypes.POINTER(ctypes.c_uint), ctypes.c_void_p]
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_Synchronize.restype = ctypes.c_int
        self._lib = lib
        self._lock = threading.Lock()
        self.sample_rate = int(lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, None,
                                                     ESPEAK_INITIALIZE_PHONEME_EVENTS | ESPEAK_INITIALIZE_DONT_EXIT))
        if self.sample_rate <= 0:
            raise EspeakError("libespeak-ng could not start (espeak_Initialize failed); its voice data "
                              "(espeak-ng-data) may be missing: reinstall the Debian package espeak-ng.")
        self._chunks: list[np.ndarray] = []
        self._events: list[tuple[int, int, int, str | int]] = []
        self._callback = _CALLBACK(self._collect)  # kept alive for as long as the library may call it
        lib.espeak_SetSynthCallback(self._callback)

    def _collect(self, wav, count: int, events) -> int:
        if count > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, (count,)).copy())
        i = 0
        while events[i].type != EVENT_LIST_TERMINATED:
            event = events[i]
            if event.type == EVENT_PHONEME:
                value: str | int = event.id.string.decode("ascii", "replace")
            else:
                value = int(event.text_position)
            self._events.append((event.type, event.sample, event.audio_position, value))
            i += 1
        return 0

    def set_voice(self, name: str) -> None:
        """A voice by name: ``"en-us"``, or with a variant, ``"en-gb-x-rp+f3"``."""
        if self._lib.espeak_SetVoiceByName(name.encode()) != EE_OK:
            raise EspeakError(f"eSpeak NG has no voice {name!r}; list them with `espeak-ng --voices=en`.")

    def set_voice_by_properties(self, language: str = "en", gender: int = 0, age: int = 0, variant: int = 0) -> None:
        """A voice by properties (gender 0 any, 1 male, 2 female; ``variant`` picks among matches)."""
        spec = _VoiceSpec(None, language.encode(), None, gender, age, variant, 0, 0, None)
        if self._lib.espeak_SetVoiceByProperties(ctypes.byref(spec)) != EE_OK:
            raise EspeakError(f"eSpeak NG has no voice for language {language!r}, gender {gender}, age {age}.")

    def set_parameters(self, rate: int | None = None, pitch: int | None = None, pitch_range: int | None = None,
                       volume: int | None = None, word_gap: int | None = None) -> None:
        """Speaking ``rate`` (words per minute, 80-450), ``pitch`` and ``pitch_range`` (0-100, 50 normal),
        ``volume`` (0-200, 100 normal), ``word_gap`` (pause between words in units of 10 ms)."""
        for parameter, value in ((PARAM_RATE, rate), (PARAM_PITCH, pitch), (PARAM_RANGE, pitch_range),
                                 (PARAM_VOLUME, volume), (PARAM_WORDGAP, word_gap)):
            if value is not None and self._lib.espeak_SetParameter(parameter, int(value), 0) != EE_OK:
                raise EspeakError(f"eSpeak NG refused parameter {parameter} = {value}.")

    def synthesize(self, text: str, voice: str | None = None, rate: int | None = None, pitch: int | None = None,
                   pitch_range: int | None = None, word_gap: int | None = None) -> Speech:
        """Speak ``text`` (plain UTF-8) → :class:`Speech` at the library's sample rate (22050 Hz)."""
        if not text.strip():
            raise EspeakError("Nothing to say: the text is empty.")
        data = text.encode("utf-8")
        with self._lock:
            if voice is not None:
                self.set_voice(voice)
            self.set_parameters(rate=rate, pitch=pitch, pitch_range=pitch_range, word_gap=word_gap)
            self._chunks, self._events = [], []
            status = self._lib.espeak_Synth(data, len(data) + 1, 0, POS_CHARACTER, 0, ESPEAK_CHARS_UTF8, None, None)
            self._lib.espeak_Synchronize()
            chunks, raw = self._chunks, self._events
            self._chunks, self._events = [], []
        if status != EE_OK:
            raise EspeakError(f"eSpeak NG could not speak the text (error {status}).")
        samples = (np.concatenate(chunks) if chunks else np.zeros(0, np.int16)).astype(np.float32) / 32768.0
        kinds = {EVENT_PHONEME: "phoneme", EVENT_WORD: "word", EVENT_SENTENCE: "sentence", EVENT_END: "end"}
        events = []
        for kind, sample, milliseconds, value in raw:
            if kind not in kinds:
                continue
            start = sample / self.sample_rate if sample > 0 or milliseconds == 0 else milliseconds / 1000.0
            events.append(Event(start, kinds[kind], value))
        return Speech(samples, self.sample_rate, events)


def _serve(connection: Connection, answers: Connection) -> None:
    """Helper process of :class:`IsolatedEspeak`: initialise once, fork a child per request."""
    try:
        pristine = Espeak()
    except EspeakError as error:
        answers.send(error)
        return
    answers.send(pristine.sample_rate)
    while True:
        try:
            request = connection.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        pid = os.fork()
        if pid == 0:  # the child speaks from the untouched state, answers, and leaves without cleanup
            try:
                result: object = pristine.synthesize(**request)
            except Exception as error:  # noqa: BLE001 - sent back and raised in the caller
                result = EspeakError(str(error))
            try:
                answers.send(result)
            finally:
                os._exit(0)
        _, status = os.waitpid(pid, 0)
        if status != 0:
            answers.send(EspeakError(f"eSpeak NG crashed while speaking (status {status})."))


def _serve_fds(requests: int, answers: int) -> None:
    _serve(Connection(requests, writable=False), Connection(answers, readable=False))


class IsolatedEspeak:
    """:meth:`Espeak.synthesize` whose output depends only on the request (see the module notes).

    Costs a process fork per call (a few milliseconds); use as a context manager or call :meth:`close`.
    """

    def __init__(self) -> None:
        load_library()  # the one-sentence error here, not in the helper
        requests_in, requests_out = os.pipe()
        answers_in, answers_out = os.pipe()
        root = str(Path(__file__).resolve().parents[2])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}
        code = f"import train.talking.espeak as m; m._serve_fds({requests_in}, {answers_out})"
        self._process = subprocess.Popen([sys.executable, "-c", code], pass_fds=(requests_in, answers_out), env=env)
        os.close(requests_in)
        os.close(answers_out)
        self._requests = Connection(requests_out, readable=False)
        self._answers = Connection(answers_in, writable=False)
        self.sample_rate = int(self._receive())  # type: ignore[arg-type]

    def _receive(self) -> object:
        try:
            answer = self._answers.recv()
        except EOFError:
            raise EspeakError("The eSpeak NG helper process stopped unexpectedly.") from None
        if isinstance(answer, Exception):
            raise answer
        return answer

    def synthesize(self, text: str, voice: str | None = None, rate: int | None = None, pitch: int | None = None,
                   pitch_range: int | None = None, word_gap: int | None = None) -> Speech:
        if not text.strip():
            raise EspeakError("Nothing to say: the text is empty.")
        self._requests.send({"text": text, "voice": voice, "rate": rate, "pitch": pitch,
                               "pitch_range": pitch_range, "word_gap": word_gap})
        return self._receive()  # type: ignore[return-value]

    def close(self) -> None:
        if self._process.poll() is None:
            try:
                self._requests.send(None)
            except OSError:
                pass
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._requests.close()
        self._answers.close()

    def __enter__(self) -> IsolatedEspeak:  # noqa: PYI034
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_ENGINE: Espeak | None = None
_ENGINE_PID: int | None = None


def engine() -> Espeak:
    """The process's :class:`Espeak` (created on first use; a forked child makes its own)."""
    global _ENGINE, _ENGINE_PID
    if _ENGINE is None or _ENGINE_PID != os.getpid():
        _ENGINE, _ENGINE_PID = Espeak(), os.getpid()
    return _ENGINE


def voice_names() -> list[str]:
    """Every ``language+variant`` voice the corpus builder may use."""
    return [f"{language}+{variant}" for language in ENGLISH_VOICES for variant in VARIANTS]
