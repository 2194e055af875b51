"""Frozen pretrained encoders, created by name from one registry (:mod:`expclip.encoders.registry`).

    from expclip.encoders import create_encoder, list_encoders
    list_encoders("text")                       # ["clip-vit-b-32", "minilm"]
    encoder = create_encoder("minilm")          # encode(texts) → (N, 384), unit length
    create_encoder("logmel", kind="audio")      # encode(samples) → (batch, frames, 240)

The members register themselves on import: text (:mod:`expclip.encoders.text`), image
(:mod:`expclip.encoders.image`) and audio (:mod:`expclip.encoders.audio`) encoders. This package
imports the registry first, then every member, so the registry is complete once it is imported.
"""

from expclip.encoders.registry import (EncoderSpec, EncoderUnavailable, PromptError, create_encoder, encoder_spec,
                                       list_encoders, register)
from expclip.encoders.text import FrozenTextEncoder, check_prompts
from expclip.encoders import audio, image, text  # noqa: E402,F401  (the members register themselves)

__all__ = ["EncoderSpec", "EncoderUnavailable", "FrozenTextEncoder", "PromptError", "check_prompts", "create_encoder",
           "encoder_spec", "list_encoders", "register"]
