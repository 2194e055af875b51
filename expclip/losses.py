"""ExpCLIP's training losses, each defined once.

L = λ1·L_ae + λ2·L_emb + λ3·L_cross (+ λ4·L_con), with
* L_ae: MSE between D(E(b)) and b;
* L_emb: mean of 1 − cos(P_text(t), E(b)), with E(b) as a stop-gradient target: E is shaped by
  L_ae, P_text moves to it. Trained through both sides, the term pulled every embedding to one point
  within the first epoch (train L_emb → 0, contrastive loss at log(batch), the decoder stuck at the
  mean face), which the paper's λ2 = 10 makes hard to escape;
* L_cross: MSE between D(P_text(t)) and b;
* L_con (optional, not in the paper): symmetric InfoNCE between text and expression embeddings.

The speech generator's losses (``python -m train.generator fit``):
* L_rec: L1 between generated and true frames (B, T, 52), with the clip's own expression prompt;
* L_lm: L1 between the frame-to-frame changes of the mouth and jaw shapes of a clip generated
  under an augmented prompt and those of the true clip, so the lips stay in sync whatever the style;
* L_style: squared distance between E(E_sa(generated)) and the style it was asked for;
* L_ap (not in the paper): L1 on the mouth's aperture with the frames where the lips meet weighted up,
  so that closures on p/b/m survive an L1 that would otherwise average them away.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from expclip.lipsync import signed_aperture
from head.arkit import GROUPS, INDEX

LIP_SHAPES: tuple[int, ...] = tuple(INDEX[n] for n in GROUPS["jaw"] + GROUPS["mouth"])


def reconstruction_loss(reconstruction: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """L_ae: (B, 52) vs (B, 52) → scalar MSE."""
    return nn.functional.mse_loss(reconstruction, weights)


def alignment_loss(z_text: torch.Tensor, z_expression: torch.Tensor) -> torch.Tensor:
    """L_emb: 1 − cosine similarity of paired (B, D) embeddings, averaged."""
    return (1.0 - nn.functional.cosine_similarity(z_text, z_expression, dim=-1)).mean()


def cross_modal_loss(decoded_from_text: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """L_cross: D(P_text(t)) (B, 52) vs b (B, 52) → scalar MSE."""
    return nn.functional.mse_loss(decoded_from_text, weights)


def contrastive_loss(z_text: torch.Tensor, z_expression: torch.Tensor, temperature: float = 0.07) -> torch.Tensor:
    """Symmetric InfoNCE over a batch of paired unit embeddings (B, D)."""
    logits = z_text @ z_expression.T / temperature
    targets = torch.arange(len(logits), device=logits.device)
    return (nn.functional.cross_entropy(logits, targets) + nn.functional.cross_entropy(logits.T, targets)) / 2


@dataclass
class LossWeights:
    """λ1 (auto-encoder), λ2 (alignment), λ3 (cross-modal), λ4 (contrastive; 0 = off, as in the paper)."""

    ae: float = 1.0
    emb: float = 10.0
    cross: float = 10.0
    contrastive: float = 0.0


def expclip_loss(outputs: dict[str, torch.Tensor], weights: torch.Tensor, lambdas: LossWeights) -> dict[str, torch.Tensor]:
    """The weighted total and each term, from :meth:`expclip.model.ExpCLIP.forward` outputs."""
    terms = {
        "ae": reconstruction_loss(outputs["reconstruction"], weights),
        "emb": alignment_loss(outputs["z_text"], outputs["z_expression"].detach()),
        "cross": cross_modal_loss(outputs["cross"], weights),
    }
    if lambdas.contrastive > 0:
        terms["contrastive"] = contrastive_loss(outputs["z_text"], outputs["z_expression"])
    terms["total"] = sum(getattr(lambdas, name) * value for name, value in terms.items())
    return terms


def frame_reconstruction_loss(generated: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
    """L_rec: L1 between (B, T, 52) sequences."""
    return nn.functional.l1_loss(generated, frames)


def lip_motion_loss(generated: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
    """L_lm: L1 between frame-to-frame changes of the jaw and mouth shapes, (B, T, 52) vs (B, T, 52)."""
    lips = list(LIP_SHAPES)
    return nn.functional.l1_loss(torch.diff(generated[..., lips], dim=1), torch.diff(frames[..., lips], dim=1))


def aperture_loss(generated: torch.Tensor, frames: torch.Tensor, closure_weight: float = 4.0) -> torch.Tensor:
    """L_ap: L1 between the mouth apertures (:func:`expclip.lipsync.signed_aperture`) of (B, T, 52)
    sequences, where frames whose true lips touch (mouthClose > 0.05) count ``1 + closure_weight`` times.
    An L1 on each shape lets a model that is unsure when a closure comes leave it out (the closures are
    brief, the median frame is open); weighting them on the opening itself keeps them."""
    weight = 1.0 + closure_weight * (frames[..., INDEX["mouthClose"]] > 0.05).to(frames.dtype)
    error = (signed_aperture(generated) - signed_aperture(frames)).abs()
    return (weight * error).sum() / weight.sum()


def style_loss(style_of_generated: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
    """L_style: mean squared distance between (B, D) style embeddings."""
    return ((style_of_generated - style) ** 2).sum(-1).mean()
