"""A suite of prompts people type, each with what a person expects of the 52 weights, and how many pass.

    python -m train.expclip eval --checkpoint checkpoints/expclip-small --prompts train/prompts/face-suite.jsonl \
        [--data data/tead]

Each line of the suite is ``{"prompt", "kind", "expect": [condition, ...]}``; a prompt passes when all its
conditions hold. A condition is a sum of terms compared with a number: ``"mouthSmile >= 0.35"``,
``"eyeBlinkLeft - eyeBlinkRight >= 0.4"``, ``"abs(jawLeft - jawRight) >= 0.3"``, ``"max <= 0.3"``. A term is
one of the 52 names, a name without ``Left``/``Right`` (the mean of both sides), ``abs(...)`` of a sum, or
``max`` (the largest weight). The suite is kept out of training.

Beside the checkpoint, in the same run: the checkpoint without the prompt reading (each prompt straight
through P_text and D, no strength words read off, no side swap: :mod:`expclip.prompt_reading`), the
zero-shot label baseline (the knowledge base's emotion whose name MiniLM finds nearest the prompt, as that
emotion's prototype face) and, with ``--data``, the nearest-neighbour baseline (the weights of the TEAD
training text nearest the prompt).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from head.arkit import INDEX

_TERM = re.compile(r"\s*([+-])?\s*(abs\((?P<inner>[^()]*)\)|(?P<name>[A-Za-z]+))")
_SLACK = 1e-6  # float32 weights against decimal thresholds
_CONDITION = re.compile(r"^(?P<lhs>.+?)\s*(?P<op>>=|<=)\s*(?P<value>-?\d+(?:\.\d+)?)\s*$")


class SuiteError(ValueError):
    """A suite line or condition that cannot be read."""


def _terms(text: str, where: str) -> list[tuple[float, str, str | None]]:
    """``"a - abs(b - c)"`` → ``[(1, "a", None), (-1, "abs", "b - c")]``."""
    terms, position = [], 0
    text = text.strip()
    while position < len(text):
        match = _TERM.match(text, position)
        if match is None or (terms and match.group(1) is None):
            raise SuiteError(f"{where}: cannot read {text!r} from {text[position:]!r} on; write e.g. "
                             "'mouthSmileLeft - mouthSmileRight >= 0.25'.")
        sign = -1.0 if match.group(1) == "-" else 1.0
        if match.group("inner") is not None:
            _terms(match.group("inner"), where)  # checked now, evaluated later
            terms.append((sign, "abs", match.group("inner")))
        else:
            name = match.group("name")
            if name != "max" and name not in INDEX and f"{name}Left" not in INDEX:
                raise SuiteError(f"{where}: {name!r} is not an ARKit blendshape (nor one without Left/Right, nor max).")
            terms.append((sign, name, None))
        position = match.end()
    return terms


def _value(terms: list[tuple[float, str, str | None]], weights: np.ndarray) -> float:
    total = 0.0
    for sign, name, inner in terms:
        if name == "abs":
            value = abs(_value(_terms(inner, "condition"), weights))
        elif name == "max":
            value = float(weights.max())
        elif name in INDEX:
            value = float(weights[INDEX[name]])
        else:
            value = 0.5 * float(weights[INDEX[f"{name}Left"]] + weights[INDEX[f"{name}Right"]])
        total += sign * value
    return total


@dataclass(frozen=True)
class Condition:
    text: str
    terms: tuple
    op: str
    value: float

    @classmethod
    def parse(cls, text: str, where: str = "condition") -> Condition:
        match = _CONDITION.match(text)
        if match is None:
            raise SuiteError(f"{where}: {text!r} is not 'TERMS >= NUMBER' or 'TERMS <= NUMBER'.")
        return cls(text, tuple(_terms(match.group("lhs"), where)), match.group("op"), float(match.group("value")))

    def holds(self, weights: np.ndarray) -> bool:
        """Whether ``weights (52,)`` meet the condition."""
        value = _value(list(self.terms), np.asarray(weights, np.float32))
        return value >= self.value - _SLACK if self.op == ">=" else value <= self.value + _SLACK


@dataclass(frozen=True)
class SuitePrompt:
    prompt: str
    kind: str
    expect: tuple[Condition, ...]

    def passes(self, weights: np.ndarray) -> bool:
        return all(condition.holds(weights) for condition in self.expect)


def read_suite(path: str | Path) -> list[SuitePrompt]:
    """The suite's prompts (JSON lines), or a :class:`SuiteError` naming the line that is wrong."""
    prompts = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            entry = json.loads(line)
            prompt, kind, expect = entry["prompt"], entry["kind"], entry["expect"]
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise SuiteError(f"{where}: not a {{\"prompt\", \"kind\", \"expect\"}} JSON line ({error}).") from None
        if not expect:
            raise SuiteError(f"{where}: {prompt!r} expects nothing; give at least one condition.")
        prompts.append(SuitePrompt(prompt, kind, tuple(Condition.parse(c, where) for c in expect)))
    return prompts


def _rates(passed: list[bool], suite: list[SuitePrompt]) -> dict:
    kinds = Counter(p.kind for p in suite)
    by_kind = {kind: sum(ok for ok, p in zip(passed, suite) if p.kind == kind) / count for kind, count in kinds.items()}
    return {"pass_rate": sum(passed) / len(suite), "passed": int(sum(passed)), "by_kind": by_kind,
            "failed": [p.prompt for ok, p in zip(passed, suite) if not ok]}


def evaluate_suite(checkpoint: str | Path, suite_path: str | Path, data: str | Path | None = None,
                   neighbours: int = 20_000) -> dict:
    """Pass rates of the checkpoint and the baselines on the suite (overall, per kind, the failed prompts)."""
    import expclip
    from expclip.emotions import EmotionPrototypes
    from expclip.tead import read_samples

    suite = read_suite(suite_path)
    pipe = expclip.load(checkpoint)
    texts = [p.prompt for p in suite]
    ours = pipe.weights(texts)
    features = pipe.encoder.encode(texts).float().numpy()
    with torch.inference_mode():  # the prompts straight through P_text and D, without the prompt reading
        model_only = pipe.decode(pipe.model.embed_text(torch.from_numpy(features)))
    prototypes = EmotionPrototypes()
    labels = pipe.encoder.encode(prototypes.names).float().numpy()
    zero_shot = prototypes.faces[(features @ labels.T).argmax(1)]
    report = {"checkpoint": str(checkpoint), "suite": str(suite_path), "prompts": len(suite),
              "expclip": _rates([p.passes(w) for p, w in zip(suite, ours)], suite),
              "expclip_without_reading": _rates([p.passes(w) for p, w in zip(suite, model_only)], suite),
              "zero_shot_label": _rates([p.passes(w) for p, w in zip(suite, zero_shot)], suite)}
    if data is not None:
        train = read_samples(data, "train")[:neighbours]
        train_text = np.concatenate([pipe.encoder.encode([s.transcript for s in train[i:i + 256]]).float().numpy()
                                     for i in range(0, len(train), 256)])
        nearest = np.stack([train[i].blendshapes for i in (features @ train_text.T).argmax(1)])
        report["nearest_neighbour"] = {**_rates([p.passes(w) for p, w in zip(suite, nearest)], suite),
                                       "train_texts": len(train)}
    return report
