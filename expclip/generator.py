"""The speech-driven animation generator (the paper's Section 4): speech + a style → 52 weights per frame.

* ``E_sa`` (:class:`SelfAttentionPooling`): a transformer encoder over a clip's frames (B, T, 52)
  scores each frame; the softmax of the scores weights the frames into one expression prompt
  b̄ (B, 52). Being a convex mix of real frames, b̄ is itself a plausible expression.
* The style is ``z = E(b̄)`` with ExpCLIP's frozen expression encoder ``E`` (B, style_dim). The
  generator keeps its own frozen copy of ``E`` (``style_encoder``), so every style goes through the
  encoder it was trained with: at inference a prompt or a photo becomes an expression (52 weights,
  through ExpCLIP's text or image path and its decoder), and that expression becomes the style.
* The decoder (:class:`SpeechDecoder`): speech features (B, T, audio_dim) → a transformer decoder
  whose self-attention runs over the frames (with a learned relative-position bias, so windows of
  any length behave alike) and whose cross-attention reads ``style_tokens`` tokens made from ``z``;
  a 2-layer head → (B, T, 52) in [0, 1].

Losses (L_rec, L_lm, L_style) and Expression Prompt Augmentation live in :mod:`expclip.losses` and
the training loop, not here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from expclip.model import ExpCLIPConfig, ExpressionEncoder
from head.arkit import INDEX, NUM_BLENDSHAPES


# The shapes that articulate speech (see docs/talking.md). A clip's expression prompt pools its
# frames, so it carries the mouth of someone speaking; a static expression from text or a photo
# does not. ``speaking_prompt`` raises these shapes to their mean level in the training clips, in
# EPA's expressions and at inference alike, so that a prompt says how the face feels, not that the
# mouth is shut.
ARTICULATION: tuple[str, ...] = ("jawOpen", "mouthClose", "mouthFunnel", "mouthPucker", "mouthLowerDownLeft",
                                 "mouthLowerDownRight", "mouthUpperUpLeft", "mouthUpperUpRight", "mouthRollLower",
                                 "mouthRollUpper")


@dataclass
class GeneratorConfig:
    """Architecture; saved as ``config.json`` beside the weights and used to rebuild the model."""

    audio_encoder: str = "logmel"
    audio_dim: int = 80
    fps: float = 30.0
    width: int = 128
    heads: int = 4
    decoder_layers: int = 2
    pool_layers: int = 1
    style_tokens: int = 4
    ff_mult: int = 2
    dropout: float = 0.1
    max_distance: int = 64  # frames; relative positions farther apart share one bias
    expression_encoder: dict = field(default_factory=dict)  # the ExpCLIPConfig of the frozen E it was trained with

    @property
    def style_dim(self) -> int:
        return ExpCLIPConfig(**self.expression_encoder).embed_dim

    def to_dict(self) -> dict:
        return asdict(self)


class RelativePositionBias(nn.Module):
    """A learned bias per head and clipped frame distance: (T, T) → (heads, T, T) additive attention mask."""

    def __init__(self, heads: int, max_distance: int) -> None:
        super().__init__()
        self.max_distance = max_distance
        self.bias = nn.Embedding(2 * max_distance + 1, heads)
        nn.init.zeros_(self.bias.weight)

    def forward(self, frames: int, device: torch.device) -> torch.Tensor:
        positions = torch.arange(frames, device=device)
        distance = (positions[None, :] - positions[:, None]).clamp(-self.max_distance, self.max_distance)
        return self.bias(distance + self.max_distance).permute(2, 0, 1)


def _gelu(x: torch.Tensor) -> torch.Tensor:
    """GELU as a plain function: it keeps PyTorch's fused inference path off the encoder layers, a path
    that misreads an additive float mask such as the relative-position bias (it returned NaN)."""
    return nn.functional.gelu(x)


def _attention_mask(bias: torch.Tensor, batch: int) -> torch.Tensor:
    """(heads, T, T) → (batch · heads, T, T), the float mask layout of ``nn.MultiheadAttention``."""
    return bias.unsqueeze(0).expand(batch, -1, -1, -1).reshape(-1, *bias.shape[1:])


class SelfAttentionPooling(nn.Module):
    """E_sa: frames (B, T, 52) → expression prompt b̄ (B, 52), a softmax-weighted mix of the frames."""

    def __init__(self, config: GeneratorConfig) -> None:
        super().__init__()
        self.heads = config.heads
        self.embed = nn.Linear(NUM_BLENDSHAPES, config.width)
        layer = nn.TransformerEncoderLayer(config.width, config.heads, config.width * config.ff_mult, config.dropout,
                                           batch_first=True, norm_first=True, activation=_gelu)
        self.encoder = nn.TransformerEncoder(layer, config.pool_layers, enable_nested_tensor=False)
        self.position = RelativePositionBias(config.heads, config.max_distance)
        self.score = nn.Linear(config.width, 1)

    def frame_weights(self, frames: torch.Tensor) -> torch.Tensor:
        """(B, T, 52) → (B, T), each row summing to 1."""
        mask = _attention_mask(self.position(frames.shape[1], frames.device), len(frames))
        hidden = self.encoder(self.embed(frames), mask=mask)
        return torch.softmax(self.score(hidden).squeeze(-1), dim=-1)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return (self.frame_weights(frames).unsqueeze(-1) * frames).sum(1)


class SpeechDecoder(nn.Module):
    """Speech features (B, T, audio_dim) + style (B, style_dim) → weights (B, T, 52) in [0, 1]."""

    def __init__(self, config: GeneratorConfig) -> None:
        super().__init__()
        self.config = config
        self.audio_in = nn.Sequential(nn.Linear(config.audio_dim, config.width), nn.GELU(),
                                      nn.Linear(config.width, config.width))
        self.style_in = nn.Linear(config.style_dim, config.style_tokens * config.width)
        self.style_position = nn.Parameter(torch.randn(config.style_tokens, config.width) * 0.02)
        layer = nn.TransformerDecoderLayer(config.width, config.heads, config.width * config.ff_mult, config.dropout,
                                           batch_first=True, norm_first=True, activation=_gelu)
        self.decoder = nn.TransformerDecoder(layer, config.decoder_layers)
        self.position = RelativePositionBias(config.heads, config.max_distance)
        self.head = nn.Sequential(nn.LayerNorm(config.width), nn.Linear(config.width, config.width), nn.GELU(),
                                  nn.Linear(config.width, NUM_BLENDSHAPES))
        nn.init.constant_(self.head[-1].bias, -2.0)  # most weights of a face are near 0

    def style_memory(self, style: torch.Tensor) -> torch.Tensor:
        """(B, style_dim) → (B, style_tokens, width)."""
        tokens = self.style_in(style * self.config.style_dim**0.5)  # unit vectors → entries of unit variance
        return tokens.view(len(style), self.config.style_tokens, -1) + self.style_position

    def forward(self, audio: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        mask = _attention_mask(self.position(audio.shape[1], audio.device), len(audio))
        hidden = self.decoder(self.audio_in(audio), self.style_memory(style), tgt_mask=mask)
        return torch.sigmoid(self.head(hidden))


class Generator(nn.Module):
    """E_sa, the speech decoder, and the frozen copy of ExpCLIP's ``E`` that turns expressions into styles."""

    def __init__(self, config: GeneratorConfig) -> None:
        super().__init__()
        self.config = config
        self.pooling = SelfAttentionPooling(config)
        self.decoder = SpeechDecoder(config)
        self.style_encoder = ExpressionEncoder(ExpCLIPConfig(**config.expression_encoder)).requires_grad_(False).eval()
        self.register_buffer("speaking_mouth", torch.zeros(NUM_BLENDSHAPES))  # set by training from its clips

    def train(self, mode: bool = True) -> "Generator":
        super().train(mode)
        self.style_encoder.eval()  # frozen: no dropout either
        return self

    def expression_prompt(self, frames: torch.Tensor) -> torch.Tensor:
        """E_sa: (B, T, 52) → (B, 52)."""
        return self.pooling(frames)

    def set_speaking_mouth(self, frames: torch.Tensor) -> None:
        """Mean level of the :data:`ARTICULATION` shapes over training frames (N, 52)."""
        mouth = torch.zeros(NUM_BLENDSHAPES)
        shapes = [INDEX[name] for name in ARTICULATION]
        mouth[shapes] = frames[:, shapes].float().mean(0).cpu()
        self.speaking_mouth.copy_(mouth)

    def speaking_prompt(self, expressions: torch.Tensor) -> torch.Tensor:
        """A static expression (B, 52) as a speaking face: articulation shapes at least their speaking level."""
        return torch.maximum(expressions, self.speaking_mouth.to(expressions))

    def style(self, expressions: torch.Tensor) -> torch.Tensor:
        """Frozen E: expressions (B, 52) → unit styles (B, style_dim); gradients reach the input only."""
        return self.style_encoder(expressions)

    def forward(self, audio: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """(B, T, audio_dim), (B, style_dim) unit vectors → (B, T, 52)."""
        return self.decoder(audio, style)
