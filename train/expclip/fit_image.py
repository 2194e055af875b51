"""Training the image projector P_img on MEAD-3D, with E, D and the image encoder frozen (as in the paper).

    python -m train.expclip fit-image --config train/configs/expclip_image_small.yaml

Loss: ``λ2 · L_emb(P_img(f), E(b)) + λ3 · L_cross(D(P_img(f)), b)`` with the losses of
:mod:`expclip.losses`. The result is the base checkpoint plus P_img, written to ``out`` (by default
the base checkpoint itself) with its config naming the image encoder and its metrics extended by
the image evaluation (:func:`evaluate_images`).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from expclip.checkpoint import load_model, read_config, save_checkpoint
from expclip.encoders import create_encoder, encoder_spec
from expclip.landmarks import FaceLandmarks
from expclip.losses import alignment_loss, cross_modal_loss
from expclip.mead3d import load_landmarks, read_meta, read_records
from expclip.model import ExpCLIP
from train.config import config_to_dict, load_config


@dataclass
class FitImageConfig:
    """A P_img training run (``train/configs/expclip_image_small.yaml``)."""

    data: str = "data/mead3d-synthetic"
    checkpoint: str = "checkpoints/expclip-small"  # the trained E, D and P_text
    out: str = ""                                   # default: ``checkpoint`` (P_img is added to it)
    image_encoder: str = "landmarks"
    image_encoder_weights: str | None = None
    epochs: int = 80
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.01
    lambda_emb: float = 10.0
    lambda_cross: float = 10.0
    feature_noise: float = 0.01  # Gaussian noise on the frozen features during training (landmark jitter)
    seed: int = 0


def load_fit_image_config(path: str | Path, **overrides) -> FitImageConfig:
    config = load_config(FitImageConfig, path)
    return dataclasses.replace(config, **{k: v for k, v in overrides.items() if v is not None})


def image_features(encoder, directory: str | Path, split: str, progress: bool = True) -> tuple[torch.Tensor, list]:
    """Frozen image features ``(N, dim)`` of a MEAD-3D split, and its records."""
    from PIL import Image

    records = read_records(directory, split)
    landmarks = load_landmarks(directory, records)
    if encoder.name == "landmarks":
        return encoder.features(landmarks).float(), records
    rows = []
    for record, points in tqdm(list(zip(records, landmarks)), desc=f"{encoder.name} features ({split})",
                               disable=not progress):
        image = np.asarray(Image.open(Path(directory) / record.image).convert("RGB"))
        face = FaceLandmarks(points, (*points[:, :2].min(0), *points[:, :2].max(0)), image.shape[1::-1])
        rows.append(encoder.encode([image], [face]))
    return torch.cat(rows).float(), records


def _with_image_projector(base: ExpCLIP, encoder_name: str) -> ExpCLIP:
    config = dataclasses.replace(base.config, image_encoder=encoder_name,
                                 image_dim=encoder_spec(encoder_name, "image").dim)
    model = ExpCLIP(config)
    state = {k: v for k, v in base.state_dict().items() if not k.startswith("image_projector.")}
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert not unexpected and all(k.startswith("image_projector.") for k in missing)
    return model


def fit_image(config: FitImageConfig, progress: bool = True) -> dict:
    """Train P_img and write the extended checkpoint; returns the image metrics."""
    torch.manual_seed(config.seed)
    read_meta(config.data)
    started = time.time()
    base = load_model(config.checkpoint)
    model = _with_image_projector(base, config.image_encoder)
    encoder = create_encoder(config.image_encoder, config.image_encoder_weights, kind="image")
    features, records = image_features(encoder, config.data, "train", progress)
    weights = torch.from_numpy(np.stack([r.blendshapes for r in records]))

    model.requires_grad_(False)
    model.image_projector.requires_grad_(True)
    model.eval()
    model.image_projector.train()
    with torch.no_grad():
        targets = model.embed_expression(weights)  # E is frozen: its embeddings are fixed targets
    optimiser = torch.optim.AdamW(model.image_projector.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    steps = config.epochs * -(-len(records) // config.batch_size)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimiser, config.lr, total_steps=steps, pct_start=0.1)
    generator = torch.Generator().manual_seed(config.seed)
    bar = tqdm(total=steps, desc="fit-image", unit="step", disable=not progress)
    for _ in range(config.epochs):
        order = torch.randperm(len(records), generator=generator)
        for batch in order.split(config.batch_size):
            f = features[batch] + config.feature_noise * torch.randn(len(batch), features.shape[1], generator=generator)
            z = model.embed_image(f)
            loss = config.lambda_emb * alignment_loss(z, targets[batch]) + \
                config.lambda_cross * cross_modal_loss(model.decode(z), weights[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            scheduler.step()
            bar.update()
            bar.set_postfix(loss=f"{loss.item():.4f}")
    bar.close()
    model.eval()
    minutes = (time.time() - started) / 60

    out = Path(config.out or config.checkpoint)
    base_config = read_config(config.checkpoint)
    metrics = evaluate_images(model, encoder, config.data, progress=progress)
    metrics["fit_image_minutes"] = round(minutes, 2)
    all_metrics = _read_metrics(config.checkpoint)
    all_metrics["image"] = metrics
    training = {**base_config.get("training", {}), "image": config_to_dict(config),
                "image_encoder_weights": config.image_encoder_weights}
    save_checkpoint(out, model, all_metrics, training)
    from train.expclip.image_calibration import calibrate_checkpoint

    calibrate_checkpoint(out, config.data, progress=progress)  # the new P_img's neutral floors, beside it
    return metrics


def _read_metrics(checkpoint: str | Path) -> dict:
    import json

    path = Path(checkpoint) / "metrics.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def evaluate_checkpoint_images(checkpoint: str | Path, data: str | Path, progress: bool = True) -> dict:
    """:func:`evaluate_images` for a saved checkpoint with P_img."""
    model = load_model(checkpoint)
    if model.config.image_encoder is None:
        raise ValueError(f"{checkpoint} has no image projector; train one with `python -m train.expclip fit-image`.")
    weights = read_config(checkpoint).get("training", {}).get("image_encoder_weights")
    encoder = create_encoder(model.config.image_encoder, weights, kind="image")
    return evaluate_images(model, encoder, data, progress=progress)


def _recall(scores: torch.Tensor, ks=(1, 5, 10)) -> dict[str, float]:
    """``scores (N, N)``; the right answer of row i is column i."""
    rank = (scores > scores.diagonal()[:, None]).sum(1)
    return {f"r@{k}": float((rank < k).float().mean()) for k in ks}


@torch.no_grad()
def evaluate_images(model: ExpCLIP, encoder, data: str | Path, progress: bool = True, fit_baseline: bool = True) -> dict:
    """Test-split metrics: image → weights MSE and MAE (projector, and direct fitting as a baseline),
    and image ↔ text retrieval R@k (texts: the records' descriptions)."""
    from expclip.pipeline import TextToExpression

    features, records = image_features(encoder, data, "test", progress)
    truth = np.stack([r.blendshapes for r in records])
    z_image = model.embed_image(features)
    decoded = model.decode(z_image).numpy()
    result = {"test_images": len(records), "projector_mse": float(((decoded - truth) ** 2).mean()),
              "projector_mae": float(np.abs(decoded - truth).mean())}
    if fit_baseline:
        from expclip.fitting import default_fitter

        fitter = default_fitter()
        landmarks = load_landmarks(data, records)
        fitted = np.stack([fitter.fit(p).weights for p in tqdm(landmarks, desc="fitting baseline", disable=not progress)])
        result.update(fit_mse=float(((fitted - truth) ** 2).mean()), fit_mae=float(np.abs(fitted - truth).mean()))
    texts = [r.text for r in records]
    if all(texts):
        text_encoder = create_encoder(model.config.text_encoder)
        z_text = TextToExpression(model, text_encoder).embed(texts)
        scores = z_text @ z_image.T
        result.update({f"text_to_image_{k}": v for k, v in _recall(scores).items()})
        result.update({f"image_to_text_{k}": v for k, v in _recall(scores.T).items()})
    return result
