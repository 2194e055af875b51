"""The ExpCLIP model: a transformer auto-encoder over 52 blendshape weights and a text projector.

* ``E`` (:class:`ExpressionEncoder`): the 52 weights become 52 tokens (weight × a learned direction
  per shape + a learned position) behind a learned summary token; a transformer encoder reads them;
  the summary token plus a linear skip of the raw weights, projected and L2-normalised, is the
  expression embedding ``z`` of shape (B, D).
* ``D`` (:class:`ExpressionDecoder`): ``z`` becomes a memory token; 52 learned queries go through a
  transformer whose self-attention sees the queries and the memory token; each query outputs its
  blendshape's logit, plus a linear skip from ``z``, through a sigmoid, so the output is in [0, 1].
  The skips let the auto-encoder learn from its first steps (without them it sat at the mean face
  for hundreds of steps); the transformers model how shapes combine.
* ``P_text`` and ``P_img`` (:class:`Projector`): MLPs from frozen text features (B, text_dim) or
  image features (B, image_dim) to (B, D), L2-normalised, so text, images and expressions share
  one space. ``P_text`` can be wider than ``P_img`` and be made of residual blocks
  (``text_projector_hidden``, ``text_projector_blocks``): it carries the hard part of the mapping,
  many phrasings of one face, and the 3-layer MLP of the first releases underfitted it. ``P_img``
  exists when the config names an image encoder; it is trained after the rest, with E and D frozen
  (``python -m train.expclip fit-image``).

Frozen encoders live outside the model (:mod:`expclip.encoders`); the model sees their features.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from head.arkit import NUM_BLENDSHAPES


@dataclass
class ExpCLIPConfig:
    """Architecture; saved as ``config.json`` beside the weights and used to rebuild the model."""

    text_encoder: str = "minilm"
    text_dim: int = 384
    embed_dim: int = 256
    width: int = 128
    heads: int = 4
    encoder_layers: int = 2
    decoder_layers: int = 2
    ff_mult: int = 4
    dropout: float = 0.1
    projector_hidden: int = 512
    text_projector_hidden: int = 0  # P_text's width; 0: projector_hidden
    text_projector_blocks: int = 0  # 0: P_text is the 3-layer MLP of P_img; n: n pre-norm residual MLP blocks
    image_encoder: str | None = None
    image_dim: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


def _transformer(width: int, heads: int, layers: int, ff_mult: int, dropout: float) -> nn.TransformerEncoder:
    layer = nn.TransformerEncoderLayer(width, heads, width * ff_mult, dropout, batch_first=True, norm_first=True,
                                       activation="gelu")
    return nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)


class ExpressionEncoder(nn.Module):
    """E: weights (B, 52) → unit embeddings (B, embed_dim)."""

    def __init__(self, config: ExpCLIPConfig) -> None:
        super().__init__()
        self.value = nn.Parameter(torch.randn(NUM_BLENDSHAPES, config.width) * 0.5)  # one direction per shape
        self.position = nn.Parameter(torch.randn(NUM_BLENDSHAPES, config.width) * 0.02)
        self.summary = nn.Parameter(torch.randn(1, 1, config.width) * 0.02)
        self.transformer = _transformer(config.width, config.heads, config.encoder_layers, config.ff_mult, config.dropout)
        self.skip = nn.Linear(NUM_BLENDSHAPES, config.width)
        self.norm = nn.LayerNorm(config.width)
        self.out = nn.Linear(config.width, config.embed_dim)

    def forward(self, weights: torch.Tensor) -> torch.Tensor:
        tokens = weights.unsqueeze(-1) * self.value + self.position  # (B, 52, W)
        tokens = torch.cat([self.summary.expand(len(weights), -1, -1), tokens], dim=1)
        # The linear skip carries every weight straight to the summary, so the auto-encoder learns
        # from the first steps; the transformer adds the interactions between shapes.
        summary = self.norm(self.transformer(tokens)[:, 0] + self.skip(weights))
        return nn.functional.normalize(self.out(summary), dim=-1)


class ExpressionDecoder(nn.Module):
    """D: embeddings (B, embed_dim) → weights (B, 52) in [0, 1]."""

    def __init__(self, config: ExpCLIPConfig) -> None:
        super().__init__()
        self.memory = nn.Linear(config.embed_dim, config.width)
        self.queries = nn.Parameter(torch.randn(NUM_BLENDSHAPES, config.width) * 0.02)
        self.transformer = _transformer(config.width, config.heads, config.decoder_layers, config.ff_mult, config.dropout)
        self.norm = nn.LayerNorm(config.width)
        self.out = nn.Linear(config.width, 1)
        self.skip = nn.Linear(config.embed_dim, NUM_BLENDSHAPES)
        nn.init.constant_(self.skip.bias, -2.0)  # most weights of a face are near 0
        self.scale = config.embed_dim**0.5  # unit vectors → entries of unit variance

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        z = z * self.scale
        memory = self.memory(z).unsqueeze(1)  # (B, 1, W)
        tokens = torch.cat([memory, self.queries.expand(len(z), -1, -1) + memory], dim=1)
        hidden = self.norm(self.transformer(tokens)[:, 1:])
        return torch.sigmoid(self.out(hidden).squeeze(-1) + self.skip(z))


class Projector(nn.Module):
    """P_text / P_img: frozen features (B, in_dim) → unit embeddings (B, embed_dim).

    ``blocks == 0``: Linear → GELU → Dropout → Linear → GELU → Linear (width ``hidden``).
    ``blocks > 0``: Linear into width ``hidden``, then ``blocks`` pre-norm residual blocks
    (LayerNorm → Linear to 2·hidden → GELU → Dropout → Linear back, added to the input), LayerNorm, Linear out.
    """

    def __init__(self, config: ExpCLIPConfig, in_dim: int, hidden: int = 0, blocks: int = 0) -> None:
        super().__init__()
        hidden = hidden or config.projector_hidden
        self.blocks = None
        if blocks == 0:
            self.net = nn.Sequential(
                nn.Linear(in_dim, hidden), nn.GELU(), nn.Dropout(config.dropout),
                nn.Linear(hidden, hidden), nn.GELU(),
                nn.Linear(hidden, config.embed_dim),
            )
            return
        self.input = nn.Linear(in_dim, hidden)
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.LayerNorm(hidden), nn.Linear(hidden, 2 * hidden), nn.GELU(), nn.Dropout(config.dropout),
                          nn.Linear(2 * hidden, hidden))
            for _ in range(blocks)
        )
        self.norm = nn.LayerNorm(hidden)
        self.output = nn.Linear(hidden, config.embed_dim)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        if self.blocks is None:
            return nn.functional.normalize(self.net(features), dim=-1)
        hidden = self.input(features)
        for block in self.blocks:
            hidden = hidden + block(hidden)
        return nn.functional.normalize(self.output(self.norm(hidden)), dim=-1)


class ExpCLIP(nn.Module):
    """E, D, P_text and (optionally) P_img together. Losses live in :mod:`expclip.losses`, not here."""

    def __init__(self, config: ExpCLIPConfig) -> None:
        super().__init__()
        self.config = config
        self.expression_encoder = ExpressionEncoder(config)
        self.decoder = ExpressionDecoder(config)
        self.text_projector = Projector(config, config.text_dim, config.text_projector_hidden,
                                        config.text_projector_blocks)
        self.image_projector = Projector(config, config.image_dim) if config.image_encoder else None

    def embed_expression(self, weights: torch.Tensor) -> torch.Tensor:
        """(B, 52) → (B, embed_dim), unit length."""
        return self.expression_encoder(weights)

    def embed_text(self, text_features: torch.Tensor) -> torch.Tensor:
        """Frozen text features (B, text_dim) → (B, embed_dim), unit length."""
        return self.text_projector(text_features)

    def embed_image(self, image_features: torch.Tensor) -> torch.Tensor:
        """Frozen image features (B, image_dim) → (B, embed_dim), unit length."""
        if self.image_projector is None:
            raise ValueError("This checkpoint has no image projector; train one with `python -m train.expclip fit-image`.")
        return self.image_projector(image_features)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """(B, embed_dim) → (B, 52) weights in [0, 1]."""
        return self.decoder(z)

    def forward(self, weights: torch.Tensor, text_features: torch.Tensor) -> dict[str, torch.Tensor]:
        """Everything the training losses need, for a batch of (weights (B, 52), text features (B, text_dim))."""
        z_expression = self.embed_expression(weights)
        z_text = self.embed_text(text_features)
        return {
            "z_expression": z_expression,
            "z_text": z_text,
            "reconstruction": self.decode(z_expression),
            "cross": self.decode(z_text),
        }
