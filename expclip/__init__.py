"""ExpCLIP: text, images and speech in one embedding space with 52 ARKit blendshape expressions."""

from __future__ import annotations


def load(checkpoint=None, device: str = "cpu", text_encoder_weights=None):
    """Load the text → expression pipeline (see :func:`expclip.pipeline.load`); imported lazily so that
    ``import expclip.facs`` stays light."""
    from expclip.pipeline import load as _load

    return _load(checkpoint, device=device, text_encoder_weights=text_encoder_weights)
