"""Ablations of the training recipe, each a short run evaluated on the same test split.

    python -m train.expclip ablate --config train/configs/expclip_small.yaml --limit-samples 20000 --epochs 3 \\
        --out checkpoints/ablations

Variants: the full recipe; without blendshape augmentation (the paper's Table 1); with text
augmentation (one EDA rewrite of each transcript and situation, which the release leaves out); with a
symmetric contrastive term (not in the paper). Writes ``OUT/ablation.json`` and
``OUT/ablation.md``; every variant's checkpoint stays in ``OUT/NAME`` (and resumes if killed).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from train.expclip.evaluate import evaluate
from train.expclip.fit import FitConfig, fit

VARIANTS: dict[str, dict] = {
    "full recipe": {},
    "no blendshape augmentation": {"blendshape_augment": False},
    "plus text augmentation (1 EDA rewrite)": {"text_augment_variants": 1},
    "plus contrastive term (λ4 = 1)": {"lambda_contrastive": 1.0},
}
COLUMNS = ("ae_mse", "cross_mse", "retrieval_r@1", "retrieval_r@10", "emotion_accuracy")


def ablate(base: FitConfig, out: str | Path, progress: bool = True) -> dict[str, dict]:
    out = Path(out)
    results: dict[str, dict] = {}
    for name, change in VARIANTS.items():
        slug = name.split(" (")[0].replace(" ", "-")
        config = dataclasses.replace(base, out=str(out / slug), **change)
        fit(config, progress=progress)
        results[name] = {"change": change, **evaluate(config.out, config.data, config.feature_cache, progress=progress)}
    (out / "ablation.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = [f"Each run: {base.limit_samples or 'all'} training samples, {base.epochs} epochs; metrics on the "
             "TEAD test split (transcripts).", "", "| variant | " + " | ".join(COLUMNS) + " |",
             "|---|" + "---|" * len(COLUMNS)]
    for name, result in results.items():
        lines.append(f"| {name} | " + " | ".join(f"{result['expclip'][c]:.4f}" for c in COLUMNS) + " |")
    (out / "ablation.md").write_text("\n".join(lines) + "\n")
    return results
