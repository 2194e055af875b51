"""The encoder registry: frozen pretrained encoders of each kind (text, image, audio), created by name.

``list_encoders("text")`` → ``["clip-vit-b-32", "minilm"]``; ``create_encoder("minilm")`` returns a
frozen module whose ``encode(texts)`` gives L2-normalised features of shape ``(N, dim)``.

The members register themselves with :func:`register` when they are imported:
:mod:`expclip.encoders.text`, :mod:`expclip.encoders.image` and :mod:`expclip.encoders.audio`
(``expclip.encoders`` imports them all). This module imports none of them.

A name is unique within its kind. Nothing is loaded or downloaded at import.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator

import torch
from torch import nn


class EncoderUnavailable(RuntimeError):
    """An encoder whose weights or package are not on this machine."""


class PromptError(ValueError):
    """A prompt that cannot be encoded (empty, not text)."""


@dataclass(frozen=True)
class EncoderSpec:
    name: str
    kind: str
    dim: int
    description: str
    factory: Callable[[str | None], nn.Module]


_REGISTRY: dict[tuple[str, str], EncoderSpec] = {}


def register(name: str, kind: str, dim: int, description: str):
    """Class decorator adding an encoder of ``kind`` (text, image, audio) to the registry under ``name``."""

    def wrap(factory):
        _REGISTRY[kind, name] = EncoderSpec(name, kind, dim, description, factory)
        return factory

    return wrap


def list_encoders(kind: str = "text") -> list[str]:
    return sorted(name for (k, name) in _REGISTRY if k == kind)


def encoder_spec(name: str, kind: str = "text") -> EncoderSpec:
    if (kind, name) not in _REGISTRY:
        raise EncoderUnavailable(f"No {kind} encoder called {name!r}; known {kind} encoders: "
                                 f"{', '.join(list_encoders(kind))}.")
    return _REGISTRY[kind, name]


def create_encoder(name: str, pretrained: str | None = None, device: str | torch.device = "cpu",
                   kind: str = "text") -> nn.Module:
    """Build a registered encoder, frozen and in eval mode, on ``device``."""
    encoder = encoder_spec(name, kind).factory(pretrained)
    encoder.requires_grad_(False)
    return encoder.eval().to(device)


@contextmanager
def _offline() -> Iterator[None]:
    """Keep Hugging Face libraries from reaching the network while loading.

    huggingface_hub reads ``HF_HUB_OFFLINE`` once, when it is first imported, so its constant is
    switched too (else a missing weight costs a minute of retries before the error).
    """
    import huggingface_hub.constants as hub

    saved = {k: os.environ.get(k) for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    saved_constant = hub.HF_HUB_OFFLINE
    os.environ.update({k: "1" for k in saved})
    hub.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        hub.HF_HUB_OFFLINE = saved_constant
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
