"""Training ExpCLIP with Hugging Face Accelerate: one CPU, one GPU, or many GPUs and machines.

    python -m train.expclip fit --config train/configs/expclip_small.yaml
    accelerate launch -m train.expclip fit --config train/configs/expclip_paper.yaml   # several GPUs

Each epoch writes ``OUT/model.safetensors`` + ``config.json`` + ``metrics.json`` (the released form),
appends a row to ``OUT/log.csv``, and saves the full training state (model, optimiser, scheduler,
RNGs) to ``OUT/training-state/`` so that the same command resumes after a crash or a kill.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from expclip.checkpoint import save_checkpoint
from expclip.encoders import create_encoder, encoder_spec
from expclip.losses import LossWeights, cross_modal_loss, expclip_loss, reconstruction_loss
from expclip.model import ExpCLIP, ExpCLIPConfig
from expclip.tead import TEXT_SOURCES, read_samples
from train.augment import BlendshapeAugment
from train.config import config_from_dict, config_to_dict
from train.expclip.data import FeaturePairs, build_text_table
from train.expclip.features import FeatureCache


@dataclass
class FitConfig:
    """A training run; ``train/configs/expclip_small.yaml`` and ``expclip_paper.yaml`` fill it in."""

    data: str = "data/tead"
    out: str = "checkpoints/expclip-small"
    model: dict = field(default_factory=dict)  # ExpCLIPConfig fields
    text_encoder_weights: str | None = None
    epochs: int = 30
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.01
    warmup_steps: int = 200
    lambda_ae: float = 1.0
    lambda_emb: float = 10.0
    lambda_cross: float = 10.0
    lambda_contrastive: float = 0.0
    sources: tuple = TEXT_SOURCES  # and/or "look": the knowledge base's looks in the transcript or situation, alone
    source_shares: dict = field(default_factory=dict)  # {source: share of the samples that get its text}, else all
    text_augment_variants: int = 1
    blendshape_augment: bool = True
    seed: int = 0
    feature_cache: str = ".cache/text-features"
    num_workers: int = 0
    mixed_precision: str = "auto"  # bf16 on a GPU, off on a CPU; or "no" / "bf16" / "fp16"
    limit_samples: int = 0  # use only the first N training samples (0: all), for quick runs

    @property
    def lambdas(self) -> LossWeights:
        return LossWeights(self.lambda_ae, self.lambda_emb, self.lambda_cross, self.lambda_contrastive)


def _schedule(step: int, warmup: int, total: int) -> float:
    if step < warmup:
        return (step + 1) / warmup
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, (step - warmup) / max(1, total - warmup))))


@torch.no_grad()
def validation_losses(model: ExpCLIP, features: torch.Tensor, weights: torch.Tensor, batch: int = 1024) -> dict:
    """Auto-encoder and cross-modal MSE over (N, text_dim) features and (N, 52) weights."""
    model.eval()
    ae = cross = 0.0
    for start in range(0, len(weights), batch):
        w, f = weights[start:start + batch], features[start:start + batch]
        ae += reconstruction_loss(model.decode(model.embed_expression(w)), w).item() * len(w)
        cross += cross_modal_loss(model.decode(model.embed_text(f)), w).item() * len(w)
    model.train()
    return {"test_ae_mse": ae / len(weights), "test_cross_mse": cross / len(weights)}


def fit(config: FitConfig, progress: bool = True) -> dict:
    """Train (or resume) and return the final metrics."""
    from accelerate import Accelerator
    from accelerate.utils import set_seed

    precision = config.mixed_precision
    if precision == "auto":
        precision = "bf16" if torch.cuda.is_available() else "no"
    accelerator = Accelerator(mixed_precision=precision)
    set_seed(config.seed)
    out = Path(config.out)
    model_config = config_from_dict(ExpCLIPConfig, config.model, "model")
    model_config.text_dim = encoder_spec(model_config.text_encoder).dim

    train_samples = read_samples(config.data, "train")
    if config.limit_samples:
        train_samples = train_samples[:config.limit_samples]
    test_samples = read_samples(config.data, "test")
    encoder = create_encoder(model_config.text_encoder, config.text_encoder_weights, device=accelerator.device)
    cache = FeatureCache(config.feature_cache, encoder, config.text_encoder_weights or "")
    table = build_text_table(train_samples, config.sources, config.text_augment_variants, config.seed,
                             shares=config.source_shares)
    main = accelerator.is_main_process
    caching_began = time.perf_counter()
    with accelerator.main_process_first():  # one process encodes; the others read the cache
        features = cache.features(table.texts, progress=progress and main)
        test_features = torch.from_numpy(cache.features([s.transcript for s in test_samples],
                                                        progress=progress and main).astype(np.float32))
    caching = {"feature_seconds": time.perf_counter() - caching_began, "encoded_texts": cache.encoded}
    distinct_texts = len(set(table.texts).union(s.transcript for s in test_samples))
    del encoder
    test_weights = torch.from_numpy(np.stack([s.blendshapes for s in test_samples]))

    dataset = FeaturePairs(features, table, np.stack([s.blendshapes for s in train_samples]),
                           BlendshapeAugment() if config.blendshape_augment else None, config.seed)
    loader = DataLoader(dataset, batch_size=config.batch_size, shuffle=True, drop_last=len(dataset) > config.batch_size,
                        num_workers=config.num_workers, generator=torch.Generator().manual_seed(config.seed))
    model = ExpCLIP(model_config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    total_steps = config.epochs * max(1, len(loader))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: _schedule(s, config.warmup_steps, total_steps))
    model, optimizer, loader, scheduler = accelerator.prepare(model, optimizer, loader, scheduler)

    state_dir = out / "training-state"
    progress_file = state_dir / "progress.json"
    start_epoch, elapsed = 0, 0.0
    if progress_file.exists():
        accelerator.load_state(str(state_dir))
        saved = json.loads(progress_file.read_text())
        start_epoch, elapsed = saved["epoch"] + 1, saved.get("seconds", 0.0)
        earlier = saved.get("caching", {})  # a resumed run adds what this one encoded to the first run's
        caching = {k: earlier.get(k, 0) + v for k, v in caching.items()}
        accelerator.print(f"Resuming from epoch {start_epoch} of {config.epochs} ({state_dir}).")
    training_record = {"command": "python -m train.expclip fit", **config_to_dict(config),
                       "text_encoder": model_config.text_encoder}
    metrics: dict = {}
    for epoch in range(start_epoch, config.epochs):
        began = time.perf_counter()
        dataset.set_epoch(epoch)
        sums: dict[str, float] = {}
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{config.epochs}", unit="batch", disable=not (progress and main))
        for text_features, weights in bar:
            with accelerator.autocast():
                terms = expclip_loss(model(weights, text_features), weights, config.lambdas)
            accelerator.backward(terms["total"])
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            for name, value in terms.items():
                sums[name] = sums.get(name, 0.0) + value.item()
            bar.set_postfix(loss=f"{terms['total'].item():.4f}", refresh=False)
        elapsed += time.perf_counter() - began
        train_means = {f"train_{k}": v / max(1, len(loader)) for k, v in sums.items()}
        unwrapped = accelerator.unwrap_model(model)
        metrics = {"epoch": epoch + 1, **train_means,
                   **validation_losses(unwrapped, test_features.to(accelerator.device), test_weights.to(accelerator.device)),
                   "train_seconds": round(elapsed, 1), "steps": (epoch + 1) * len(loader),
                   "seconds_per_step": round(elapsed / ((epoch + 1) * len(loader)), 3),
                   "feature_seconds": round(caching["feature_seconds"], 1), "encoded_texts": caching["encoded_texts"],
                   "distinct_texts": distinct_texts, "train_samples": len(train_samples),
                   "device": str(accelerator.device), "processes": accelerator.num_processes}
        accelerator.wait_for_everyone()
        accelerator.save_state(str(state_dir))
        if main:
            save_checkpoint(out, unwrapped, metrics, training_record)
            _append_log(out / "log.csv", metrics)
            progress_file.write_text(json.dumps({"epoch": epoch, "seconds": elapsed, "caching": caching}))
            accelerator.print(f"epoch {epoch + 1}: loss {metrics['train_total']:.4f}, test ae MSE "
                              f"{metrics['test_ae_mse']:.5f}, cross MSE {metrics['test_cross_mse']:.5f}")
    return metrics


def _append_log(path: Path, row: dict) -> None:
    new = not path.exists()
    with path.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(row))
        if new:
            writer.writeheader()
        writer.writerow(row)
        handle.flush()
        os.fsync(handle.fileno())


def load_fit_config(path: str | Path, **overrides) -> FitConfig:
    from train.config import load_config

    config = load_config(FitConfig, path)
    return dataclasses.replace(config, **{k: v for k, v in overrides.items() if v is not None})
