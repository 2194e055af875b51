"""CLIP ViT-B/32 through open_clip, shared by the text and image towers: weights found offline or not at all."""

from __future__ import annotations

import os
from pathlib import Path

from expclip.encoders.registry import EncoderUnavailable, _offline

DEFAULT_TAG = "laion2b_s34b_b79k"


def load_clip(pretrained: str | None = None, where: str = "EXPCLIP_CLIP_WEIGHTS"):
    """``(model, preprocess)`` of CLIP ViT-B/32: ``pretrained`` (an open_clip tag looked up in the Hugging Face
    cache only, or a local checkpoint file), else ``$EXPCLIP_CLIP_WEIGHTS``, else :data:`DEFAULT_TAG`.

    A missing weight raises :class:`EncoderUnavailable` with one sentence naming ``where`` to give one.
    """
    import open_clip

    pretrained = pretrained or os.environ.get("EXPCLIP_CLIP_WEIGHTS") or DEFAULT_TAG
    if os.path.sep in pretrained and not Path(pretrained).exists():
        raise EncoderUnavailable(f"CLIP weights {pretrained} do not exist; give an open_clip checkpoint file.")
    try:
        with _offline():
            model, _, preprocess = open_clip.create_model_and_transforms("ViT-B-32", pretrained=pretrained)
    except Exception as error:  # open_clip raises several types for a missing cache entry
        raise EncoderUnavailable(
            f"CLIP ViT-B/32 weights '{pretrained}' are not on this machine ({type(error).__name__}); put them in the "
            f"Hugging Face cache or pass a local open_clip checkpoint file ({where})."
        ) from None
    return model, preprocess
