"""Training the speech generator with Expression Prompt Augmentation, through Hugging Face Accelerate.

    python -m train.generator fit --config train/configs/generator_small.yaml
    accelerate launch -m train.generator fit --config train/configs/generator_paper.yaml   # several GPUs

Per batch of windows (audio A, true frames B):
1. b̄ = E_sa(B); z = E(b̄) with ExpCLIP's frozen E; B′ = G(A, z); L_rec = |B′ − B|₁.
2. EPA: b̄_aug = (1 − λ)·b̄ + λ·b_aug, b_aug a random TEAD expression as a speaking face
   (:meth:`expclip.generator.Generator.speaking_prompt`, as at inference), λ ~ U[0, 1] per clip;
   z_aug = E(b̄_aug); B′_aug = G(A, z_aug); L_lm on the lip changes of B′_aug against B;
   L_style = ‖E(E_sa(B′_aug)) − z_aug‖².
Total: λ_rec·L_rec + λ_lm·L_lm + λ_style·L_style (+ λ_ap·L_ap on step 1's B′, :func:`expclip.losses.aperture_loss`,
when ``lambda_aperture`` is set). ``epa: false`` trains step 1 only; ``style_loss: false`` drops L_style.
``feature_augment`` gives each logmel training window a random gain and spectral tilt
(:func:`train.generator.data.augment_levels`); ``room_noise`` is the share of clips (train and test) heard
with a room's steady noise (:func:`train.generator.data.add_room_noise`), for any front end. With
``keep_best`` the checkpoint files hold the epoch whose test clips (voices no training clip has) gave the
lowest L_ap, the closure-weighted mouth-aperture error, rather than the last epoch; every epoch is in
``log.csv`` either way. Checkpoints, logs and resuming work as for ExpCLIP (:mod:`train.expclip.fit`).
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from expclip.checkpoint import load_model, save_checkpoint
from expclip.encoders import create_encoder, encoder_spec
from expclip.generator import Generator, GeneratorConfig
from expclip.losses import aperture_loss, frame_reconstruction_loss, lip_motion_loss, style_loss
from expclip.tead import read_samples
from train.config import config_from_dict, config_to_dict
from train.expclip.fit import _append_log, _schedule
from train.generator.data import ClipFeatures, ClipWindows


@dataclass
class GeneratorFitConfig:
    """A training run; ``train/configs/generator_small.yaml`` and ``generator_paper.yaml`` fill it in."""

    data: str = "data/talking"
    tead: str = "data/tead"  # the expressions EPA mixes in
    expclip: str = "checkpoints/expclip-small"  # whose E the generator copies, frozen, to make styles
    out: str = "checkpoints/generator-small"
    model: dict = field(default_factory=dict)  # GeneratorConfig fields
    audio_encoder_weights: str | None = None
    window: int = 90  # frames per training window (3 s at 30 fps)
    windows_per_clip: int = 2
    epochs: int = 20
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.01
    warmup_steps: int = 100
    epa: bool = True
    style_loss: bool = True
    lambda_rec: float = 1.0
    lambda_lm: float = 1.0
    lambda_style: float = 0.1
    lambda_aperture: float = 0.0  # L_ap on the own-style pass (0: off, the paper's losses only)
    closure_weight: float = 4.0  # how much more L_ap counts frames where the true lips meet
    feature_augment: bool = False  # logmel only: random gain and spectral tilt per window (other microphones)
    room_noise: float = 0.0  # share of clips given a room's steady noise before their features are made
    keep_best: bool = False  # keep the epoch with the lowest test L_ap (held-out voices), not the last
    seed: int = 0
    num_workers: int = 0
    mixed_precision: str = "auto"
    limit_clips: int = 0  # use only the first N training clips (0: all), for quick runs


def augment_prompts(prompts: torch.Tensor, bank: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """EPA: (B, 52) prompts mixed with random rows of ``bank`` (N, 52) by λ ~ U[0, 1] per row → (B, 52)."""
    picks = torch.randint(len(bank), (len(prompts),), generator=generator)
    lam = torch.rand(len(prompts), 1, generator=generator)
    return (1 - lam.to(prompts.device)) * prompts + lam.to(prompts.device) * bank[picks].to(prompts.device)


class GeneratorLosses(nn.Module):
    """The generator's training step as a module, so Accelerate wraps one object: batch → loss terms."""

    def __init__(self, generator: Generator, config: GeneratorFitConfig) -> None:
        super().__init__()
        self.generator = generator
        self.config = config

    def forward(self, audio: torch.Tensor, frames: torch.Tensor, bank: torch.Tensor | None,
                rng: torch.Generator | None) -> dict[str, torch.Tensor]:
        c, g = self.config, self.generator
        prompt = g.expression_prompt(frames)
        own = g(audio, g.style(prompt))
        terms = {"rec": frame_reconstruction_loss(own, frames)}
        total = c.lambda_rec * terms["rec"]
        if c.lambda_aperture:
            terms["ap"] = aperture_loss(own, frames, c.closure_weight)
            total = total + c.lambda_aperture * terms["ap"]
        if c.epa and bank is not None:
            style = g.style(augment_prompts(prompt, g.speaking_prompt(bank), rng))
            generated = g(audio, style)
            terms["lm"] = lip_motion_loss(generated, frames)
            total = total + c.lambda_lm * terms["lm"]
            if c.style_loss:
                terms["style"] = style_loss(g.style(g.expression_prompt(generated)), style.detach())
                total = total + c.lambda_style * terms["style"]
        terms["total"] = total
        return terms


def fit(config: GeneratorFitConfig, progress: bool = True) -> dict:
    """Train (or resume) and return the last epoch's metrics (with ``kept_epoch``, the one in the files, under
    ``keep_best``); {} when there was nothing left to train."""
    from accelerate import Accelerator
    from accelerate.utils import set_seed

    precision = config.mixed_precision
    if precision == "auto":
        precision = "bf16" if torch.cuda.is_available() else "no"
    accelerator = Accelerator(mixed_precision=precision)
    set_seed(config.seed)
    out = Path(config.out)
    main = accelerator.is_main_process

    if not 0.0 <= config.room_noise <= 1.0:
        raise ValueError(f"room_noise is a share of clips: give a number from 0 to 1, not {config.room_noise:g}.")
    expclip = load_model(config.expclip, accelerator.device)
    model_config = config_from_dict(GeneratorConfig, config.model, "model")
    model_config.audio_dim = encoder_spec(model_config.audio_encoder, kind="audio").dim
    model_config.expression_encoder = expclip.config.to_dict()
    audio_encoder = create_encoder(model_config.audio_encoder, config.audio_encoder_weights, device=accelerator.device,
                                   kind="audio")
    train_data = ClipFeatures(config.data, "train", audio_encoder, config.limit_clips, progress and main,
                              config.room_noise, config.seed)
    test_data = ClipFeatures(config.data, "test", audio_encoder, 0, progress and main, config.room_noise, config.seed)
    del audio_encoder
    bank = torch.from_numpy(np.stack([s.blendshapes for s in read_samples(config.tead, "train")])).float()

    if config.feature_augment and model_config.audio_encoder != "logmel":
        raise ValueError("feature_augment works on logmel levels only; turn it off for the "
                         f"{model_config.audio_encoder} audio encoder.")
    dataset = ClipWindows(train_data, config.window, config.windows_per_clip, config.seed, config.feature_augment)
    test_windows = ClipWindows(test_data, config.window, 1, config.seed)
    loader = DataLoader(dataset, batch_size=config.batch_size, shuffle=True, drop_last=len(dataset) > config.batch_size,
                        num_workers=config.num_workers, generator=torch.Generator().manual_seed(config.seed))
    generator = Generator(model_config)
    generator.style_encoder.load_state_dict(expclip.expression_encoder.state_dict())
    generator.set_speaking_mouth(torch.from_numpy(np.concatenate(train_data.weights)))
    del expclip
    step_module = GeneratorLosses(generator, config)
    trainable = [p for p in generator.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=config.lr, weight_decay=config.weight_decay)
    total_steps = config.epochs * max(1, len(loader))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: _schedule(s, config.warmup_steps, total_steps))
    step_module, optimizer, loader, scheduler = accelerator.prepare(step_module, optimizer, loader, scheduler)

    state_dir = out / "training-state"
    progress_file = state_dir / "progress.json"
    start_epoch, elapsed, best = 0, 0.0, float("inf")
    if progress_file.exists():
        accelerator.load_state(str(state_dir))
        saved = json.loads(progress_file.read_text())
        start_epoch, elapsed = saved["epoch"] + 1, saved.get("seconds", 0.0)
        best = saved.get("best_test_ap", best)
        accelerator.print(f"Resuming from epoch {start_epoch} of {config.epochs} ({state_dir}).")
    training_record = {"command": "python -m train.generator fit", **config_to_dict(config)}
    metrics: dict = {}
    for epoch in range(start_epoch, config.epochs):
        began = time.perf_counter()
        dataset.set_epoch(epoch)
        rng = torch.Generator().manual_seed(config.seed * 100_003 + epoch)
        sums: dict[str, float] = {}
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{config.epochs}", unit="batch", disable=not (progress and main))
        for audio, frames in bar:
            with accelerator.autocast():
                terms = step_module(audio, frames, bank, rng)
            accelerator.backward(terms["total"])
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            for name, value in terms.items():
                sums[name] = sums.get(name, 0.0) + value.item()
            bar.set_postfix(loss=f"{terms['total'].item():.4f}", refresh=False)
        elapsed += time.perf_counter() - began
        unwrapped = accelerator.unwrap_model(step_module)
        metrics = {"epoch": epoch + 1, **{f"train_{k}": v / max(1, len(loader)) for k, v in sums.items()},
                   **_validation(unwrapped, test_windows, accelerator.device, config.closure_weight),
                   "train_seconds": round(elapsed, 1), "train_clips": len(train_data),
                   "device": str(accelerator.device), "processes": accelerator.num_processes}
        accelerator.wait_for_everyone()
        accelerator.save_state(str(state_dir))
        improved = metrics["test_ap"] < best
        best = min(best, metrics["test_ap"])
        if main:
            if improved or not config.keep_best:
                save_checkpoint(out, unwrapped.generator, metrics, training_record)
            _append_log(out / "log.csv", metrics)
            progress_file.write_text(json.dumps({"epoch": epoch, "seconds": elapsed, "best_test_ap": best}))
            kept = " (kept)" if config.keep_best and improved else ""
            accelerator.print(f"epoch {epoch + 1}: loss {metrics['train_total']:.4f}, test L_rec "
                              f"{metrics['test_rec']:.4f}, L_lm {metrics['test_lm']:.4f}, "
                              f"L_ap {metrics['test_ap']:.4f}{kept}")
    if metrics and config.keep_best:
        metrics["kept_epoch"] = json.loads((out / "metrics.json").read_text())["epoch"]
    return metrics


@torch.no_grad()
def _validation(step_module: GeneratorLosses, windows: ClipWindows, device: torch.device, closure_weight: float,
                batch: int = 64) -> dict:
    """L_rec, L_lm and L_ap (own style) over one window per test clip."""
    step_module.eval()
    rec = lm = ap = 0.0
    items = [windows[i] for i in range(len(windows))]
    for start in range(0, len(items), batch):
        audio = torch.stack([a for a, _ in items[start:start + batch]]).to(device)
        frames = torch.stack([f for _, f in items[start:start + batch]]).to(device)
        generator = step_module.generator
        generated = generator(audio, generator.style(generator.expression_prompt(frames)))
        rec += frame_reconstruction_loss(generated, frames).item() * len(frames)
        lm += lip_motion_loss(generated, frames).item() * len(frames)
        ap += aperture_loss(generated, frames, closure_weight).item() * len(frames)
    step_module.train()
    return {"test_rec": rec / len(items), "test_lm": lm / len(items), "test_ap": ap / len(items)}


def load_generator_fit_config(path: str | Path, **overrides) -> GeneratorFitConfig:
    from train.config import load_config

    config = load_config(GeneratorFitConfig, path)
    return dataclasses.replace(config, **{k: v for k, v in overrides.items() if v is not None})
