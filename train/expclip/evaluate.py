"""Evaluation on the TEAD test split, beside a nearest-neighbour baseline measured in the same run.

Metrics (texts are the test transcripts, read as the text path reads prompts: :mod:`expclip.prompt_reading`):
* ``ae_mse``: D(E(b)) vs b; ``cross_mse``: D(P_text(t)) vs b;
* ``retrieval_r@k``: text → expression retrieval among all test expressions (cosine in the joint space);
* ``emotion_accuracy``: the decoded face's nearest emotion prototype (the AU rule applied to each
  category's main prototype) against the category of the sample's first tag.
The baseline answers each test text with the weights of the training sample whose frozen text
embedding is closest; its retrieval ranks test expressions by distance to those weights.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from expclip.checkpoint import load_model, read_config
from expclip.emotions import EmotionPrototypes
from expclip.prompt_reading import read_prompt
from expclip.encoders import create_encoder
from expclip.tead import TeadSample, read_samples
from head import arkit
from train.expclip.features import FeatureCache


def _recall(scores: np.ndarray, ks=(1, 5, 10)) -> dict[str, float]:
    """``scores`` (N, N), higher = better match; the right answer for row i is column i."""
    rank = (scores > scores.diagonal()[:, None]).sum(1)
    return {f"retrieval_r@{k}": float((rank < k).mean()) for k in ks}


def _emotion_accuracy(predicted: np.ndarray, samples: list[TeadSample]) -> tuple[float, int]:
    """Share of the samples with a known first-tag emotion whose face is nearest that emotion's prototype."""
    prototypes = EmotionPrototypes()
    truth = [next((prototypes.category(t) for t in s.tags[:1] if prototypes.category(t)), None) for s in samples]
    keep = [i for i, category in enumerate(truth) if category is not None]
    if not keep:
        return float("nan"), 0
    guesses = prototypes.nearest(predicted[keep])
    return float(np.mean([g == truth[i] for g, i in zip(guesses, keep)])), len(keep)


def _squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a**2).sum(1)[:, None] + (b**2).sum(1)[None] - 2 * a @ b.T


@torch.no_grad()
def evaluate(checkpoint: str | Path, data: str | Path, feature_cache: str = ".cache/text-features",
             progress: bool = True) -> dict:
    model = load_model(checkpoint)
    weights_id = read_config(checkpoint).get("training", {}).get("text_encoder_weights")
    encoder = create_encoder(model.config.text_encoder, weights_id)
    cache = FeatureCache(feature_cache, encoder, weights_id or "")
    train, test = read_samples(data, "train"), read_samples(data, "test")
    readings = [read_prompt(s.transcript) for s in test]
    test_text = cache.features([r.text for r in readings], progress=progress).astype(np.float32)
    plain_text = cache.features([r.plain for r in readings], progress=progress).astype(np.float32)
    raw_text = cache.features([s.transcript for s in test], progress=progress).astype(np.float32)  # for the baseline
    train_text = cache.features([s.transcript for s in train], progress=progress).astype(np.float32)
    truth = np.stack([s.blendshapes for s in test])
    train_weights = np.stack([s.blendshapes for s in train])

    b = torch.from_numpy(truth)
    z_expression = model.embed_expression(b)
    z_text = model.embed_text(torch.from_numpy(test_text))
    reconstruction = model.decode(z_expression).numpy()
    plain = model.decode(model.embed_text(torch.from_numpy(plain_text))).numpy()
    cross = np.stack([r.face(face, p) for r, face, p in zip(readings, model.decode(z_text).numpy(), plain)])
    # Retrieval is in the joint space, where a prompt read mirrored stands for the mirrored face.
    mirrored = np.array([r.mirrored for r in readings])
    z_target = model.embed_expression(torch.from_numpy(np.where(mirrored[:, None], arkit.mirror(truth), truth)))
    accuracy, labelled = _emotion_accuracy(cross, test)
    ours = {
        "ae_mse": float(((reconstruction - truth) ** 2).mean()),
        "cross_mse": float(((cross - truth) ** 2).mean()),
        **_recall((z_text @ z_target.T).numpy()),
        "emotion_accuracy": accuracy,
    }

    nearest = np.concatenate([(raw_text[i:i + 512] @ train_text.T).argmax(1) for i in range(0, len(raw_text), 512)])
    guess = train_weights[nearest]
    baseline = {
        "cross_mse": float(((guess - truth) ** 2).mean()),
        **_recall(-_squared_distances(guess, truth)),
        "emotion_accuracy": _emotion_accuracy(guess, test)[0],
    }
    return {"checkpoint": str(checkpoint), "data": str(data), "test_samples": len(test),
            "emotion_labelled": labelled, "expclip": ours, "nearest_neighbour": baseline}
