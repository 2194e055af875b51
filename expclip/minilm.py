"""A plain-PyTorch BERT encoder that reads a Hugging Face BERT folder (all-MiniLM-L6-v2) directly.

Loading the same weights through transformers cost about 3.5 s on a 2-core CPU (importing the library
and ``from_pretrained``); this module needs only torch, safetensors and the Rust ``tokenizers``
package and loads in about 0.2 s. Its outputs equal transformers' ``BertModel`` to float
rounding (checked in ``tests/test_encoders.py``).

BERT is post-norm: ``x = LN(x + SelfAttention(x))``, then ``x = LN(x + FFN(x))`` with an exact-erf GELU;
the input is ``LN(word + position + token_type[0])``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F


class BertFolderError(ValueError):
    """A model folder whose files do not describe a BERT this module can run."""


@dataclass(frozen=True)
class BertConfig:
    """The sizes of a BERT, as in a Hugging Face ``config.json``."""

    vocab_size: int
    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    max_positions: int
    type_vocab_size: int
    layer_norm_eps: float

    @classmethod
    def from_json(cls, path: str | Path) -> BertConfig:
        """Read ``config.json``; anything but an absolute-position, GELU BERT is refused with one sentence."""
        raw = json.loads(Path(path).read_text())
        kind = (raw.get("model_type"), raw.get("hidden_act", "gelu"), raw.get("position_embedding_type", "absolute"))
        if kind != ("bert", "gelu", "absolute"):
            raise BertFolderError(f"{path} describes a {kind[0]} model with {kind[1]} activation and {kind[2]} positions; "
                                  "only BERT with gelu and absolute positions is supported.")
        try:
            config = cls(vocab_size=raw["vocab_size"], hidden_size=raw["hidden_size"],
                         num_layers=raw["num_hidden_layers"], num_heads=raw["num_attention_heads"],
                         intermediate_size=raw["intermediate_size"], max_positions=raw["max_position_embeddings"],
                         type_vocab_size=raw.get("type_vocab_size", 2), layer_norm_eps=raw.get("layer_norm_eps", 1e-12))
        except KeyError as missing:
            raise BertFolderError(f"{path} lacks the BERT size {missing.args[0]!r}.") from None
        if config.hidden_size % config.num_heads:
            raise BertFolderError(f"{path}: hidden_size {config.hidden_size} is not a multiple of "
                                  f"num_attention_heads {config.num_heads}.")
        return config


class BertLayer(nn.Module):
    """One post-norm transformer block; query, key and value share one matmul."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        width, eps = config.hidden_size, config.layer_norm_eps
        self.heads = config.num_heads
        self.qkv = nn.Linear(width, 3 * width)
        self.attention_out = nn.Linear(width, width)
        self.attention_norm = nn.LayerNorm(width, eps=eps)
        self.ff_in = nn.Linear(width, config.intermediate_size)
        self.ff_out = nn.Linear(config.intermediate_size, width)
        self.ff_norm = nn.LayerNorm(width, eps=eps)

    def forward(self, x: torch.Tensor, real: torch.Tensor | None) -> torch.Tensor:
        """``x`` ``(N, L, H)`` when ``real`` is None (no padding); else ``(T, H)``, the T real tokens of a padded
        batch whose ``real`` ``(N, L)`` bool marks them. Returns the same shape as ``x``."""
        qkv = self.qkv(x)
        if real is not None:  # only attention needs the (N, L) layout; padding rows stay zero
            qkv = qkv.new_zeros(*real.shape, qkv.shape[-1]).index_put_((real,), qkv)
        n, length, width = qkv.shape[0], qkv.shape[1], qkv.shape[2] // 3
        q, k, v = qkv.view(n, length, 3, self.heads, width // self.heads).permute(2, 0, 3, 1, 4)
        keep = None if real is None else real[:, None, None, :]
        attended = F.scaled_dot_product_attention(q, k, v, attn_mask=keep)  # (N, heads, L, H / heads)
        attended = attended.transpose(1, 2).reshape(n, length, width)
        if real is not None:
            attended = attended[real]
        x = self.attention_norm(x + self.attention_out(attended))
        return self.ff_norm(x + self.ff_out(F.gelu(self.ff_in(x))))


class BertEncoder(nn.Module):
    """BERT without its pooler: token ids → contextual token features.

    Build it with :meth:`from_folder`; the constructor alone leaves the weights unset.
    """

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.config = config
        # the tables are filled from the weights file; from_pretrained skips a random initialisation, which on
        # the meta device would import torch._dynamo (1.5 s)
        self.word_embeddings, self.position_embeddings, self.token_type_embeddings = (
            nn.Embedding.from_pretrained(torch.empty(rows, config.hidden_size))
            for rows in (config.vocab_size, config.max_positions, config.type_vocab_size))
        self.embedding_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.layers = nn.ModuleList(BertLayer(config) for _ in range(config.num_layers))

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``ids`` ``(N, L)`` int64, ``mask`` ``(N, L)`` (1 for real tokens, 0 for padding) → ``(N, L, H)``.

        Every row needs at least one real token; padded positions come out as zeros. In a padded batch the
        layers run on the real tokens only (the matmuls are most of the time) and pad them for attention.
        """
        if ids.shape[1] > self.config.max_positions:
            raise ValueError(f"{ids.shape[1]} tokens are more than this BERT's {self.config.max_positions} positions.")
        positions = torch.arange(ids.shape[1], device=ids.device)
        x = self.word_embeddings(ids) + self.position_embeddings(positions) + self.token_type_embeddings.weight[0]
        x = self.embedding_norm(x)
        real = None if bool(mask.all()) else mask.bool()
        if real is not None:
            x = x[real]  # (T, H)
        for layer in self.layers:
            x = layer(x, real)
        return x if real is None else x.new_zeros(*real.shape, x.shape[-1]).index_put_((real,), x)

    @classmethod
    def from_folder(cls, folder: str | Path) -> BertEncoder:
        """Build from ``config.json`` and ``model.safetensors`` (or ``pytorch_model.bin``) in a Hugging Face folder."""
        folder = Path(folder)
        config = BertConfig.from_json(folder / "config.json")
        with torch.device("meta"):  # no random initialisation: every tensor comes from the file
            model = cls(config)
        try:
            model.load_state_dict(_renamed(_read_weights(folder), config, folder), assign=True)
        except RuntimeError as error:  # a tensor whose shape differs from config.json
            raise BertFolderError(f"The weights in {folder} do not fit its config.json: "
                                  f"{str(error).splitlines()[-1].strip()}") from None
        return model


class BertTokenizer:
    """``tokenizer.json`` through the Rust ``tokenizers`` package: texts → padded ids, cut to ``max_tokens``.

    A text longer than ``max_tokens`` keeps its [CLS] and [SEP] and the first ``max_tokens - 2`` word pieces
    between them, as transformers' ``truncation=True`` does.
    """

    def __init__(self, path: str | Path, max_tokens: int) -> None:
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(path))
        pad = self.tokenizer.padding or {}
        # tokenizer.json may fix a length (all-MiniLM-L6-v2's pads and cuts everything to 128); pad to the longest instead
        self.tokenizer.enable_padding(pad_id=pad.get("pad_id", 0), pad_token=pad.get("pad_token", "[PAD]"))
        self.tokenizer.enable_truncation(max_tokens)

    def __call__(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
        """Token ids ``(N, L)`` int64, attention mask ``(N, L)`` int64 and the indices of the texts that were cut."""
        encodings = self.tokenizer.encode_batch(texts)
        ids = torch.tensor([e.ids for e in encodings])
        mask = torch.tensor([e.attention_mask for e in encodings])
        return ids, mask, [i for i, e in enumerate(encodings) if e.overflowing]


def _read_weights(folder: Path) -> dict[str, torch.Tensor]:
    if (folder / "model.safetensors").exists():
        from safetensors.torch import load_file

        state = load_file(folder / "model.safetensors")
    elif (folder / "pytorch_model.bin").exists():
        state = torch.load(folder / "pytorch_model.bin", map_location="cpu", weights_only=True)
    else:
        raise BertFolderError(f"{folder} has neither model.safetensors nor pytorch_model.bin.")
    return {name: t.float() if t.is_floating_point() else t for name, t in state.items()}  # float32, as transformers


def _renamed(state: dict[str, torch.Tensor], config: BertConfig, folder: Path) -> dict[str, torch.Tensor]:
    """Hugging Face ``BertModel`` names → this module's, with query/key/value stacked into ``qkv``."""
    state = {name.removeprefix("bert."): tensor for name, tensor in state.items()}
    names = {"word_embeddings.weight": "embeddings.word_embeddings.weight",
             "position_embeddings.weight": "embeddings.position_embeddings.weight",
             "token_type_embeddings.weight": "embeddings.token_type_embeddings.weight",
             "embedding_norm.weight": "embeddings.LayerNorm.weight", "embedding_norm.bias": "embeddings.LayerNorm.bias"}
    parts = {"attention_out": "attention.output.dense", "attention_norm": "attention.output.LayerNorm",
             "ff_in": "intermediate.dense", "ff_out": "output.dense", "ff_norm": "output.LayerNorm"}
    for i in range(config.num_layers):
        for ours, theirs in parts.items():
            for p in ("weight", "bias"):
                names[f"layers.{i}.{ours}.{p}"] = f"encoder.layer.{i}.{theirs}.{p}"
    missing = [theirs for theirs in names.values() if theirs not in state]
    missing += [f"encoder.layer.{i}.attention.self.{part}.{p}" for i in range(config.num_layers)
                for part in ("query", "key", "value") for p in ("weight", "bias")
                if f"encoder.layer.{i}.attention.self.{part}.{p}" not in state]
    if missing:
        raise BertFolderError(f"The weights in {folder} do not fit its config.json: {len(missing)} tensors are missing, "
                              f"e.g. {missing[0]}.")
    out = {ours: state[theirs] for ours, theirs in names.items()}
    for i in range(config.num_layers):
        prefix = f"encoder.layer.{i}.attention.self"
        for p in ("weight", "bias"):
            out[f"layers.{i}.qkv.{p}"] = torch.cat([state[f"{prefix}.{part}.{p}"] for part in ("query", "key", "value")])
    return out
