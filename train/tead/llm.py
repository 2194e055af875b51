"""The LLM TEAD annotator: a user's corpus → any OpenAI-compatible chat-completions endpoint → TEAD.

Each corpus line is sent with the AU catalogue and in-context examples; the answer is a JSON
object of tags, activated AUs and a situation. Answers are validated, turned into blendshapes by
the AU rule, and appended to ``OUT/annotations.jsonl`` as they arrive (flushed and synced), so a
crash or Ctrl-C loses nothing and a rerun resumes with the lines still missing. When every line
has been tried, the annotations are split into ``train.jsonl``/``test.jsonl`` with ``meta.json``.

Requests retry with exponential backoff on 429, 5xx, timeouts and dropped connections (honouring
``Retry-After``); a bounded thread pool keeps ``concurrency`` requests in flight. Malformed
answers, unknown AU ids and empty or non-UTF-8 lines are logged to ``OUT/skipped.jsonl``,
counted in the summary and never stop the run.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from tqdm import tqdm

from expclip import facs
from expclip.tead import TeadSample, sample_from_json, split_by_seed, write_tead

log = logging.getLogger(__name__)

ANNOTATIONS = "annotations.jsonl"
SKIPPED = "skipped.jsonl"
MAX_TAGS = 5


class LLMError(RuntimeError):
    """A problem that stops the whole run (bad URL, refused key, unknown model)."""


@dataclass
class LLMConfig:
    """Endpoint and run settings; ``base_url`` is the part before ``/chat/completions``."""

    base_url: str
    model: str
    api_key: str | None = None
    concurrency: int = 4
    timeout: float = 60.0
    max_retries: int = 5
    backoff: float = 1.0  # seconds before the first retry; doubled each time, at most 30 s
    temperature: float = 0.2
    examples: int = 3
    json_mode: bool = False  # ask for response_format json_object (not every server has it)
    seed: int = 0
    test_share: float = 0.1


@dataclass
class RunSummary:
    """What a run did; ``skipped`` counts lines by reason, ``unknown_aus`` AU ids dropped from answers."""

    corpus_lines: int = 0
    already_done: int = 0
    annotated: int = 0
    skipped: Counter = field(default_factory=Counter)
    unknown_aus: int = 0
    retries: int = 0
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def as_dict(self) -> dict:
        return {**{k: v for k, v in self.__dict__.items() if k != "skipped"}, "skipped": dict(self.skipped)}


# --- Corpus ----------------------------------------------------------------------------------

def read_corpus(path: str | Path, column: int | None = None) -> tuple[list[tuple[int, str]], Counter]:
    """Lines of a corpus as ``(line number, text)``, de-duplicated, plus counts of skipped lines.

    ``column`` picks a tab-separated field (WASSA-2017 files: ``id<TAB>tweet<TAB>emotion<TAB>score``
    → column 1). Empty, non-UTF-8 and repeated lines are skipped and counted.
    """
    path = Path(path)
    if not path.is_file():
        raise LLMError(f"Corpus {path} does not exist; give a UTF-8 text file with one transcript per line.")
    lines, problems, seen = [], Counter(), set()
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                text = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError:
                problems["non_utf8_line"] += 1
                log.warning("%s:%d: not UTF-8, skipped", path, number)
                continue
            if column is not None:
                fields = text.split("\t")
                text = fields[column] if len(fields) > column else ""
            text = " ".join(text.split())
            if not text:
                problems["empty_line"] += 1
                continue
            if text in seen:
                problems["duplicate_line"] += 1
                continue
            seen.add(text)
            lines.append((number, text))
    return lines, problems


# --- Prompt ----------------------------------------------------------------------------------

EXAMPLES: tuple[tuple[str, dict], ...] = (
    ("Finally got the keys to my first flat today!!! can't stop grinning",
     {"tags": ["happy", "proud", "excited", "grateful"], "aus": {"6": "C", "12": "D", "25": "B"},
      "situation": "A young woman has just been handed the keys to her first apartment."}),
    ("Third time this week the bus drove right past me. Unbelievable.",
     {"tags": ["angry", "frustrated", "annoyed"], "aus": {"4": "D", "7": "C", "23": "C", "24": "B"},
      "situation": "A commuter watches a full bus pass the stop without stopping again."}),
    ("oh sure, HE gets the credit for my slides. classic",
     {"tags": ["contemptuous", "bitter", "resentful"], "aus": {"R12": "B", "R14": "B", "63": "B"},
      "situation": "An employee sees a colleague praised for work she did herself."}),
)


def system_prompt() -> str:
    catalogue = "\n".join(f"- {au.number}: {au.name} ({au.description})" for au in facs.ACTION_UNITS)
    return (
        "You annotate short first-person texts with the facial expression the writer would make.\n"
        "Answer with one JSON object and nothing else, with exactly these keys:\n"
        '  "tags": 3 to 5 single-word emotion tags, strongest first;\n'
        '  "aus": the activated FACS Action Units as {"id": intensity}; ids come only from the list below, '
        "optionally prefixed L or R for one side of the face (the writer's own side); intensity is a FACS "
        "letter A (trace) to E (maximum); {} for a neutral face;\n"
        '  "situation": one sentence in the third person describing the situation behind the text.\n'
        f"Action Units:\n{catalogue}"
    )


def build_messages(text: str, examples: int) -> list[dict]:
    messages = [{"role": "system", "content": system_prompt()}]
    for transcript, answer in EXAMPLES[:examples]:
        messages.append({"role": "user", "content": transcript})
        messages.append({"role": "assistant", "content": json.dumps(answer)})
    messages.append({"role": "user", "content": text})
    return messages


# --- Answers ---------------------------------------------------------------------------------

class AnswerError(ValueError):
    """An answer that cannot become a sample; ``reason`` is the summary's key for it."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def _json_object(content: str) -> dict:
    """The JSON object in a reply, tolerating code fences and text around it."""
    fenced = re.search(r"```(?:json)?\s*(.*?)```", content, re.DOTALL)
    text = fenced.group(1) if fenced else content
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        raise AnswerError("malformed_answer", f"no JSON object in the answer {content[:80]!r}")
    try:
        value = json.loads(text[start:end + 1])
    except json.JSONDecodeError as error:
        raise AnswerError("malformed_answer", f"the answer is not valid JSON ({error})") from None
    if not isinstance(value, dict):
        raise AnswerError("malformed_answer", "the answer is not a JSON object")
    return value


def parse_answer(transcript: str, content: str) -> tuple[TeadSample, list[str]]:
    """Validate an answer; returns the sample and the AU ids that were dropped as unknown."""
    answer = _json_object(content)
    tags = answer.get("tags")
    if isinstance(tags, str):
        tags = [t.strip() for t in tags.split(",")]
    if not isinstance(tags, list) or not tags or not all(isinstance(t, str) and t.strip() for t in tags):
        raise AnswerError("malformed_answer", "'tags' must be a non-empty list of strings")
    tags = list(dict.fromkeys(t.strip().lower() for t in tags))[:MAX_TAGS]
    situation = answer.get("situation")
    if not isinstance(situation, str) or not situation.strip():
        raise AnswerError("malformed_answer", "'situation' must be a non-empty string")
    raw = answer.get("aus", {})
    if isinstance(raw, list):  # ["6", "R12D"]: the letter in the code, else C
        raw = {str(item): None for item in raw}
    if not isinstance(raw, dict):
        raise AnswerError("malformed_answer", "'aus' must be an object of AU id → intensity")
    aus: dict[str, float] = {}
    unknown: list[str] = []
    for key, value in raw.items():
        try:
            code = facs.parse_code(key)
            if value is None:
                value = code.intensity if code.intensity is not None else "C"
            aus[code.key] = max(aus.get(code.key, 0.0), facs.parse_intensity(value))
        except facs.FACSError:
            unknown.append(str(key))
    if raw and not aus:
        raise AnswerError("no_valid_aus", f"none of the AU ids {', '.join(unknown)} is in the catalogue")
    aus = facs.normalize_aus(aus)
    sample = TeadSample(transcript=transcript, tags=tags, aus=aus, au_text=facs.describe(aus),
                        situation=situation.strip(), blendshapes=facs.aus_to_blendshapes(aus))
    return sample, unknown


# --- HTTP ------------------------------------------------------------------------------------

class _Retryable(Exception):
    def __init__(self, message: str, wait: float | None = None) -> None:
        super().__init__(message)
        self.wait = wait


class ChatClient:
    """A minimal chat-completions client over ``urllib`` with retries and token counting."""

    def __init__(self, config: LLMConfig, summary: RunSummary, lock: threading.Lock) -> None:
        if not re.match(r"^https?://", config.base_url):
            raise LLMError(f"Base URL {config.base_url!r} must start with http:// or https://.")
        self.config = config
        self.url = config.base_url.rstrip("/") + "/chat/completions"
        self.summary = summary
        self.lock = lock
        self.stopping = threading.Event()

    def _post(self, body: dict) -> dict:
        headers = {"Content-Type": "application/json"}
        if self.config.api_key:
            headers["Authorization"] = f"Bearer {self.config.api_key}"
        request = urllib.request.Request(self.url, data=json.dumps(body).encode(), headers=headers, method="POST")
        with self.lock:
            self.summary.requests += 1
        try:
            with urllib.request.urlopen(request, timeout=self.config.timeout) as response:
                payload = response.read()
        except urllib.error.HTTPError as error:
            detail = error.read()[:200].decode("utf-8", "replace")
            if error.code == 429 or error.code >= 500:
                retry_after = error.headers.get("Retry-After")
                wait = float(retry_after) if retry_after and retry_after.replace(".", "", 1).isdigit() else None
                raise _Retryable(f"HTTP {error.code}", wait) from None
            if error.code in (401, 403):
                raise LLMError(f"{self.url} refused the key (HTTP {error.code}); set --api-key or OPENAI_API_KEY.") from None
            if error.code == 404:
                raise LLMError(f"{self.url} answered 404: check --base-url (it should end in /v1) and --model.") from None
            raise AnswerError("rejected_request", f"HTTP {error.code}: {detail}") from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            raise _Retryable(f"connection problem ({getattr(error, 'reason', error)})") from None
        try:
            return json.loads(payload)
        except json.JSONDecodeError:
            raise AnswerError("malformed_answer", "the server's reply is not JSON") from None

    def complete(self, messages: list[dict]) -> str:
        """The assistant's reply text, after up to ``max_retries`` retries of transient failures."""
        body: dict = {"model": self.config.model, "messages": messages, "temperature": self.config.temperature}
        if self.config.json_mode:
            body["response_format"] = {"type": "json_object"}
        for attempt in range(self.config.max_retries + 1):
            try:
                reply = self._post(body)
                break
            except _Retryable as problem:
                if attempt == self.config.max_retries:
                    raise AnswerError("gave_up_after_retries", f"{problem} after {attempt + 1} attempts") from None
                delay = problem.wait if problem.wait is not None else min(30.0, self.config.backoff * 2 ** attempt)
                with self.lock:
                    self.summary.retries += 1
                if self.stopping.wait(delay * (1.0 + 0.1 * random.random())):
                    raise AnswerError("interrupted", "the run was interrupted") from None
        usage = reply.get("usage") or {}
        with self.lock:
            self.summary.prompt_tokens += int(usage.get("prompt_tokens") or 0)
            self.summary.completion_tokens += int(usage.get("completion_tokens") or 0)
        try:
            content = reply["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise AnswerError("malformed_answer", "the reply has no choices[0].message.content") from None
        if not isinstance(content, str):
            raise AnswerError("malformed_answer", "the reply's content is not text")
        return content


# --- The run ---------------------------------------------------------------------------------

def read_annotations(path: Path) -> dict[str, dict]:
    """Annotations already written, by transcript. A line torn by a kill is cut off the file."""
    done: dict[str, dict] = {}
    if not path.exists():
        return done
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        keep = data.rfind(b"\n") + 1
        log.warning("%s: the last line was cut off by an interrupted run; dropping it", path)
        with path.open("r+b") as handle:
            handle.truncate(keep)
        data = data[:keep]
    for number, line in enumerate(data.decode("utf-8").splitlines(), start=1):
        if line.strip():
            try:
                obj = json.loads(line)
                done[obj["transcript"]] = obj
            except (json.JSONDecodeError, KeyError, TypeError):
                raise LLMError(f"{path}:{number}: not an annotation line; move the file away to start over.") from None
    return done


class _Appender:
    """Appends JSON lines, each flushed and synced before the next."""

    def __init__(self, path: Path) -> None:
        self.handle = path.open("a", encoding="utf-8")
        self.lock = threading.Lock()

    def write(self, obj: dict) -> None:
        with self.lock:
            self.handle.write(json.dumps(obj, ensure_ascii=False) + "\n")
            self.handle.flush()
            os.fsync(self.handle.fileno())

    def close(self) -> None:
        self.handle.close()


def annotate(corpus: str | Path, out: str | Path, config: LLMConfig, column: int | None = None,
             progress: bool = True) -> RunSummary:
    """Annotate every corpus line not yet in ``out/annotations.jsonl``, then write the TEAD split."""
    if config.concurrency < 1 or config.max_retries < 0 or not 0 <= config.examples <= len(EXAMPLES):
        raise LLMError(f"Use --concurrency ≥ 1, --max-retries ≥ 0 and --examples from 0 to {len(EXAMPLES)}.")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    lines, problems = read_corpus(corpus, column)
    summary = RunSummary(corpus_lines=len(lines) + sum(problems.values()))
    summary.skipped.update(problems)
    done = read_annotations(out / ANNOTATIONS)
    pending = [(n, t) for n, t in lines if t not in done]
    summary.already_done = len(lines) - len(pending)
    lock = threading.Lock()
    client = ChatClient(config, summary, lock)
    appender, skipped_log = _Appender(out / ANNOTATIONS), (out / SKIPPED).open("w", encoding="utf-8")
    bar = tqdm(total=len(pending), desc="TEAD llm", unit="line", disable=not progress)

    def work(number: int, text: str) -> None:
        try:
            sample, unknown = parse_answer(text, client.complete(build_messages(text, config.examples)))
        except AnswerError as problem:
            with lock:
                summary.skipped[problem.reason] += 1
                skipped_log.write(json.dumps({"line": number, "transcript": text, "reason": problem.reason,
                                              "detail": str(problem)}) + "\n")
                skipped_log.flush()
            log.warning("line %d skipped (%s): %s", number, problem.reason, problem)
            return
        if unknown:
            log.warning("line %d: unknown AU ids dropped: %s", number, ", ".join(unknown))
        appender.write({"line": number, **sample.to_json()})
        with lock:
            summary.annotated += 1
            summary.unknown_aus += len(unknown)

    executor = ThreadPoolExecutor(max_workers=config.concurrency)
    in_flight: set[Future] = set()
    try:
        for item in pending:
            in_flight.add(executor.submit(work, *item))
            if len(in_flight) >= config.concurrency:
                finished, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
                _finish(finished, bar, summary)
        finished, in_flight = wait(in_flight)
        _finish(finished, bar, summary)
    except BaseException:  # Ctrl-C or a fatal LLMError: stop waiting retries, keep what was written
        client.stopping.set()
        executor.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        executor.shutdown(wait=True)
        bar.close()
        appender.close()
        skipped_log.close()
    _write_split(out, config, summary)
    return summary


def _finish(finished: set[Future], bar: tqdm, summary: RunSummary) -> None:
    for future in finished:
        future.result()  # re-raises LLMError from a worker
        bar.update(1)
    bar.set_postfix(ok=summary.annotated, skipped=sum(summary.skipped.values()),
                    tokens=summary.prompt_tokens + summary.completion_tokens, refresh=False)


def _write_split(out: Path, config: LLMConfig, summary: RunSummary) -> None:
    records = sorted(read_annotations(out / ANNOTATIONS).values(), key=lambda obj: obj.get("line", 0))
    samples = [sample_from_json(obj, f"{out / ANNOTATIONS}") for obj in records]
    train, test = split_by_seed(samples, config.seed, config.test_share)
    write_tead(out, train, test, {
        "seed": config.seed, "annotator": "llm", "model": config.model, "base_url": config.base_url,
        "last_run": summary.as_dict(), "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    })
