"""Checkpoints: ``model.safetensors`` + ``config.json`` + ``metrics.json`` in one directory.

``config.json`` holds ``{"kind": "expclip" | "generator", "model": config fields, "training": {...}}``;
:func:`load_checkpoint` rebuilds the model of that kind (ExpCLIP, or the speech generator) from
``model`` and refuses weights that do not fit it, so inference never drifts from training.
Checkpoints written before ``kind`` existed are told apart by their model keys.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from expclip.generator import Generator, GeneratorConfig
from expclip.model import ExpCLIP, ExpCLIPConfig
from head.files import replace_when_done, write_text_atomic

WEIGHTS, CONFIG, METRICS = "model.safetensors", "config.json", "metrics.json"
# kind → (model class, config class, what it is in a sentence)
KINDS: dict[str, tuple[type, type, str]] = {
    "expclip": (ExpCLIP, ExpCLIPConfig, "an ExpCLIP model"),
    "generator": (Generator, GeneratorConfig, "a speech generator"),
}
_EXAMPLES = {"expclip": "checkpoints/expclip-small", "generator": "checkpoints/generator-small"}


class CheckpointError(ValueError):
    """A checkpoint directory that is missing files or whose config does not match its weights."""


def kind_of(model: ExpCLIP | Generator) -> str:
    """``"expclip"`` or ``"generator"``: the ``kind`` a model is saved under."""
    for kind, (model_class, _, _) in KINDS.items():
        if isinstance(model, model_class):
            return kind
    raise TypeError(f"Only ExpCLIP models and speech generators are saved as checkpoints, not {type(model).__name__}.")


def save_checkpoint(directory: str | Path, model: ExpCLIP | Generator, metrics: dict, training: dict | None = None) -> Path:
    """Write the three files (each through a partial file moved into place)."""
    directory = Path(directory)
    kind = kind_of(model)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    with replace_when_done(directory / WEIGHTS) as partial:
        save_file(state, str(partial), metadata={"format": "expclip"})
    config = {"kind": kind, "model": model.config.to_dict(), "training": training or {}}
    write_text_atomic(directory / CONFIG, json.dumps(config, indent=2) + "\n")
    write_text_atomic(directory / METRICS, json.dumps(metrics, indent=2) + "\n")
    return directory


def read_config(directory: str | Path) -> dict:
    path = Path(directory) / CONFIG
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(f"{directory} is not an ExpCLIP checkpoint: {CONFIG} is missing.") from None
    except json.JSONDecodeError as error:
        raise CheckpointError(f"{path} is not valid JSON ({error}).") from None


def _fields(kind: str) -> set[str]:
    return {f.name for f in dataclasses.fields(KINDS[kind][1])}


def checkpoint_kind(directory: str | Path, expected: str | None = None) -> str:
    """The kind of model a checkpoint holds (``"expclip"`` or ``"generator"``): its ``config.json``'s ``kind``.

    Checkpoints written before that key are told apart by their model keys: the kind with more keys that
    only its configuration has (``audio_encoder`` for a generator, ``text_encoder`` for ExpCLIP); when
    the keys fit both, ``expected``, else ``"expclip"``.
    """
    config = read_config(directory)
    kind = config.get("kind")
    if kind is not None:
        if kind not in KINDS:
            raise CheckpointError(f"{directory}/{CONFIG} names an unknown kind {kind!r}; a checkpoint holds "
                                  f"{' or '.join(repr(k) for k in KINDS)}.")
        return kind
    keys = set(config.get("model", {}))
    shared = _fields("expclip") & _fields("generator")
    hits = {k: len(keys & (_fields(k) - shared)) for k in KINDS}
    if any(hits.values()):
        return max(hits, key=hits.get)
    return expected or "expclip"


def model_config(directory: str | Path, kind: str | None = None):
    """The architecture stored in a checkpoint's ``config.json`` (an ``ExpCLIPConfig`` or ``GeneratorConfig``,
    as the checkpoint's kind says; ``kind`` given: that one, or a :class:`CheckpointError`)."""
    found = _checked_kind(Path(directory), kind)
    config_class = KINDS[found][1]
    values = read_config(directory).get("model", {})
    unknown = sorted(set(values) - _fields(found))
    if unknown:
        raise CheckpointError(f"{directory}/{CONFIG} has unknown model keys {', '.join(unknown)}; it was written by "
                              "another version of ExpCLIP or for another kind of model.")
    return config_class(**values)


def _checked_kind(directory: Path, expected: str | None) -> str:
    if expected is not None and expected not in KINDS:
        raise ValueError(f"Unknown checkpoint kind {expected!r}; use {' or '.join(repr(k) for k in KINDS)}.")
    found = checkpoint_kind(directory, expected)
    if expected is not None and found != expected:
        raise CheckpointError(f"{directory} holds {KINDS[found][2]}, not {KINDS[expected][2]}; give a checkpoint "
                              f"such as {_EXAMPLES[expected]} here and this one where {KINDS[found][2]} is expected.")
    return found


def load_checkpoint(directory: str | Path, device: str | torch.device = "cpu",
                    kind: str | None = None) -> ExpCLIP | Generator:
    """Rebuild the model a checkpoint holds (ExpCLIP or the speech generator, as ``config.json`` says) and
    load ``model.safetensors`` into it (eval mode, on ``device``).

    ``kind`` (``"expclip"`` or ``"generator"``) is what the caller expects: a checkpoint of the other
    kind is a :class:`CheckpointError` with one sentence.
    """
    directory = Path(directory)
    found = _checked_kind(directory, kind)
    config = model_config(directory, found)
    if not (directory / WEIGHTS).exists():
        raise CheckpointError(f"{directory} is not a checkpoint: {WEIGHTS} is missing.")
    model = KINDS[found][0](config)
    state = load_file(str(directory / WEIGHTS))
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = sorted(k for k in set(expected) & set(state) if expected[k].shape != state[k].shape)
    if missing or unexpected or wrong:
        detail = "; ".join(part for part in (
            f"missing {', '.join(missing[:3])}" if missing else "",
            f"unexpected {', '.join(unexpected[:3])}" if unexpected else "",
            f"shape differs for {', '.join(wrong[:3])}" if wrong else "") if part)
        raise CheckpointError(f"{directory}: config.json does not match model.safetensors ({detail}).")
    model.load_state_dict(state)
    return model.eval().to(device)


def load_model(directory: str | Path, device: str | torch.device = "cpu") -> ExpCLIP:
    """:func:`load_checkpoint` of an ExpCLIP checkpoint (a generator's is refused with one sentence)."""
    return load_checkpoint(directory, device, kind="expclip")


def load_generator(directory: str | Path, device: str | torch.device = "cpu") -> Generator:
    """:func:`load_checkpoint` of a speech-generator checkpoint (an ExpCLIP one is refused with one sentence)."""
    return load_checkpoint(directory, device, kind="generator")
