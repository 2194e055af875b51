"""Text → expression inference: ``expclip.load()`` and :class:`TextToExpression`.

    import expclip
    pipe = expclip.load()                          # the released checkpoints/expclip-small
    weights = pipe.weights(["a proud, beaming smile", "poker face"])     # (2, 52) in [0, 1]
    mixed = pipe.blend({"joy": 0.7, "surprise": 0.3})                    # (52,)
    pipe.explain(weights[0])                       # likely AUs: {"12": 0.8, "6": 0.5, ...}

Each prompt is read first (:mod:`expclip.prompt_reading`): when it names only the right side the model sees it
with its sides swapped and the face is mirrored back; a prompt with strength words is also decoded without them,
and its face held to what the words ask (at most half the plain face for "slightly", strong for "a huge").
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import torch

from expclip import facs
from expclip.checkpoint import load_model, read_config
from expclip.encoders import FrozenTextEncoder, PromptError, check_prompts, create_encoder
from expclip.model import ExpCLIP
from expclip.paths import default_checkpoint
from expclip.prompt_reading import PromptReading, read_prompt
from expclip.side_words import named_sides
from expclip.strength_words import strengthen
from head.arkit import mirror


class TextToExpression:
    """A trained ExpCLIP with its frozen text encoder; every method accepts one prompt or many."""

    def __init__(self, model: ExpCLIP, encoder: FrozenTextEncoder) -> None:
        if encoder.dim != model.config.text_dim:
            raise ValueError(f"Text encoder {encoder.name} gives {encoder.dim}-d features; the model expects "
                             f"{model.config.text_dim}.")
        self.model = model
        self.encoder = encoder

    @property
    def truncated(self) -> list[int]:
        """Indices of the prompts of the latest call that were cut to the encoder's token limit."""
        return self.encoder.last_truncated

    @staticmethod
    def read(prompts: str | Sequence[str]) -> list[PromptReading]:
        """How each prompt is read (:func:`expclip.prompt_reading.read_prompt`), after checking them."""
        return [read_prompt(p) for p in check_prompts(prompts)]

    @torch.inference_mode()
    def embed(self, prompts: str | Sequence[str]) -> torch.Tensor:
        """Prompts → joint-space embeddings (N, embed_dim), unit length, of each prompt as the model reads it
        (a right-sided prompt as its left twin)."""
        return self.embed_texts([r.text for r in self.read(prompts)])

    @torch.inference_mode()
    def embed_texts(self, texts: list[str]) -> torch.Tensor:
        """Texts exactly as given, already read (e.g. a :class:`PromptReading`'s ``text`` or ``plain``) →
        joint-space embeddings (N, embed_dim)."""
        features = self.encoder.encode(texts)
        return self.model.embed_text(features.to(next(self.model.parameters()).device))

    @torch.inference_mode()
    def decode(self, z: torch.Tensor, intensity: float = 1.0) -> np.ndarray:
        """Embeddings (N, embed_dim) → weights (N, 52); ``intensity`` scales the change from neutral."""
        return scale_weights(self.model.decode(z).float().cpu().numpy(), intensity)

    @torch.inference_mode()
    def weights(self, prompts: str | Sequence[str], intensity: float = 1.0) -> np.ndarray:
        """Prompts → (N, 52) weights in [0, 1] (N = 1 for a single string)."""
        _check_intensity(intensity)
        readings = self.read(prompts)
        faces = self.decode(self.embed_texts([r.text for r in readings]))
        worded = [i for i, r in enumerate(readings) if r.band != "plain"]  # their plain form is decoded too
        plain = faces.copy()
        if worded:
            plain[worded] = self.decode(self.embed_texts([readings[i].plain for i in worded]))
        return scale_weights(np.stack([r.face(f, p) for r, f, p in zip(readings, faces, plain)]), intensity)

    def blend(self, weighted: Mapping[str, float] | Sequence[tuple[str, float]], intensity: float = 1.0) -> np.ndarray:
        """A weighted mix of prompts, e.g. ``{"joy": 0.7, "surprise": 0.3}``, mixed in the joint space → (52,)."""
        items = list(weighted.items()) if isinstance(weighted, Mapping) else list(weighted)
        if not items:
            raise PromptError("Give at least one (prompt, weight) pair to blend.")
        prompts = [p for p, _ in items]
        mix = torch.tensor([float(w) for _, w in items])
        if (mix < 0).any() or mix.sum() <= 0:
            raise ValueError("Blend weights must be non-negative and not all zero.")
        _check_intensity(intensity)
        readings = self.read(prompts)
        z_all = self.embed_texts([r.text for r in readings])
        z = (z_all * (mix / mix.sum()).unsqueeze(1).to(z_all.device)).sum(0, keepdim=True)
        face = self.decode(torch.nn.functional.normalize(z, dim=-1))[0]
        bands = {r.band for r in readings}
        if len(bands) == 1:  # one strength for all of them ("a huge smile" + "a huge wink")
            face = strengthen(face, face, bands.pop())
        # The decoded face leans left; mirror it when more of the mix names the right than the left.
        right = sum(float(w) for r, (_, w) in zip(readings, items) if r.mirrored)
        left = sum(float(w) for r, (_, w) in zip(readings, items) if not r.mirrored and "L" in named_sides(r.prompt))
        if right > left:
            face = mirror(face)
        return scale_weights(face, intensity)

    def mix(self, prompt: str, second: str = "", share: float = 0.5, intensity: float = 1.0) -> np.ndarray:
        """``prompt`` with ``share`` of ``second`` mixed in → (52,): 0 (or no second prompt) is ``prompt`` alone, 1 ``second`` alone."""
        prompt, second = (prompt or "").strip(), (second or "").strip()
        if not prompt:
            raise PromptError("Type a prompt first, e.g. 'a proud, beaming smile'.")
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"The second prompt's share {share:g} is outside 0–1.")
        if not second or share == 0.0:
            return self.weights(prompt, intensity)[0]
        if share == 1.0:
            return self.weights(second, intensity)[0]
        return self.blend([(prompt, 1.0 - share), (second, share)], intensity)

    @staticmethod
    def explain(weights: np.ndarray) -> dict[str, float]:
        """Likely Action Units behind (52,) weights, strongest first (see :func:`expclip.facs.explain`)."""
        return facs.explain(weights)


def _check_intensity(intensity: float) -> None:
    if not 0.0 <= intensity <= 2.0:
        raise ValueError(f"Intensity {intensity} is outside 0–2 (1 is the model's own strength).")


def scale_weights(weights: np.ndarray, intensity: float = 1.0) -> np.ndarray:
    """Weights (..., 52) times ``intensity`` (0–2), clipped to [0, 1]."""
    _check_intensity(intensity)
    return np.clip(np.asarray(weights) * intensity, 0.0, 1.0).astype(np.float32)


def load(checkpoint: str | Path | None = None, device: str = "cpu", text_encoder_weights: str | None = None) -> TextToExpression:
    """Load a checkpoint (the released small model by default) with the text encoder it was trained with."""
    directory = Path(checkpoint) if checkpoint is not None else default_checkpoint()
    model = load_model(directory, device)
    training = read_config(directory).get("training", {})
    weights = text_encoder_weights or training.get("text_encoder_weights")
    encoder = create_encoder(model.config.text_encoder, pretrained=weights, device=device)
    return TextToExpression(model, encoder)
