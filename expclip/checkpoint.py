"""Checkpoints: ``model.safetensors`` + ``config.json`` + ``metrics.json`` in one directory.

``config.json`` holds ``{"model": config fields, "training": {...}}``; loading rebuilds the model
(ExpCLIP, or the speech generator) from ``model`` and refuses weights that do not fit it, so
inference never drifts from training.
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


class CheckpointError(ValueError):
    """A checkpoint directory that is missing files or whose config does not match its weights."""


def save_checkpoint(directory: str | Path, model: ExpCLIP | Generator, metrics: dict, training: dict | None = None) -> Path:
    """Write the three files (each through a partial file moved into place)."""
    directory = Path(directory)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    with replace_when_done(directory / WEIGHTS) as partial:
        save_file(state, str(partial), metadata={"format": "expclip"})
    config = {"model": model.config.to_dict(), "training": training or {}}
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


def model_config(directory: str | Path, config_class: type = ExpCLIPConfig):
    """The architecture stored in a checkpoint's ``config.json``, as ``config_class``."""
    values = read_config(directory).get("model", {})
    known = {f.name for f in dataclasses.fields(config_class)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise CheckpointError(f"{directory}/{CONFIG} has unknown model keys {', '.join(unknown)}; it was written by "
                              "another version of ExpCLIP or for another kind of model.")
    return config_class(**values)


def load_model(directory: str | Path, device: str | torch.device = "cpu") -> ExpCLIP:
    """Rebuild ExpCLIP from ``config.json`` and load ``model.safetensors`` into it (eval mode)."""
    return _load(Path(directory), device, ExpCLIP, ExpCLIPConfig)


def load_generator(directory: str | Path, device: str | torch.device = "cpu") -> Generator:
    """Rebuild the speech generator from ``config.json`` and load its weights (eval mode)."""
    return _load(Path(directory), device, Generator, GeneratorConfig)


def _load(directory: Path, device: str | torch.device, model_class: type, config_class: type):
    config = model_config(directory, config_class)
    if not (directory / WEIGHTS).exists():
        raise CheckpointError(f"{directory} is not a checkpoint: {WEIGHTS} is missing.")
    model = model_class(config)
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
