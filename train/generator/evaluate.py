"""``python -m train.generator eval``: the generator on the test clips, beside a simple baseline.

For every test clip (whole, through the library's windowed inference, no blinks added):
* ``own``: style from the clip's own frames (E(E_sa(B))), the reconstruction setting;
* ``text``: style from the clip's prompt (what the corpus says the face shows), as users drive it;
* ``baseline`` (measured in the same run): the prompt's static expression with jawOpen raised by the
  speech envelope, the envelope's gain and offset fitted by least squares on the training clips.

Metrics per setting: ``lip_error`` (mean absolute error of the jaw and mouth shapes), ``lip_motion``
(L_lm), ``style_consistency`` (cosine between E(E_sa(generated)) and the requested style),
``emotion_accuracy`` (the clip's mean face nearest the clip's emotion prototype, over clips whose
emotion is known and not neutral), and ``envelope_correlation`` (jawOpen against the speech envelope).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from expclip import clips
from expclip.animation import Animator, load_animator
from expclip.emotions import EmotionPrototypes
from expclip.lipsync import loudness
from expclip.losses import LIP_SHAPES
from head.arkit import INDEX

JAW = INDEX["jawOpen"]


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    if a.std() < 1e-8 or b.std() < 1e-8:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def fit_envelope_gain(directory: str | Path, records: list[clips.ClipRecord]) -> tuple[float, float]:
    """Least-squares ``jawOpen ≈ gain · envelope + offset`` over the given clips."""
    envelopes, jaws = [], []
    for record in records:
        weights = clips.load_weights(directory, record)
        envelope = loudness(clips.load_audio(directory, record))
        frames = min(len(weights), len(envelope))
        envelopes.append(envelope[:frames])
        jaws.append(weights[:frames, JAW])
    x, y = np.concatenate(envelopes), np.concatenate(jaws)
    gain, offset = np.polyfit(x, y, 1)
    return float(gain), float(offset)


@torch.no_grad()
def evaluate(checkpoint: str | Path, data: str | Path, expclip: str | Path | None = None, limit: int = 0,
             progress: bool = True) -> dict:
    animator: Animator = load_animator(checkpoint, expclip)
    encoder = animator.generator.style
    test = clips.read_records(data, "test")[: limit or None]
    train = clips.read_records(data, "train")[:200]
    gain, offset = fit_envelope_gain(data, train)
    prototypes = EmotionPrototypes()
    lips = list(LIP_SHAPES)
    settings = ("own", "text", "baseline")
    sums = {s: {"lip_error": 0.0, "lip_motion": 0.0, "style_consistency": 0.0, "envelope_correlation": 0.0}
            for s in settings}
    correct = {s: 0 for s in (*settings, "truth")}
    labelled = 0
    truth_correlation = 0.0
    for record in tqdm(test, desc="test clips", unit="clip", disable=not progress):
        truth = clips.load_weights(data, record)
        samples = clips.load_audio(data, record)
        features = animator.features(samples)
        frames = min(len(features), len(truth))
        features, truth = features[:frames], truth[:frames]
        envelope = loudness(samples)[:frames]
        own_style = encoder(animator.generator.expression_prompt(torch.from_numpy(truth)[None]))[0]
        expression, _ = animator.prompt_expression(record.prompt)
        text_style = animator.styles(expression[None])[0]
        baseline = np.repeat(expression[None], frames, 0)
        baseline[:, JAW] = np.clip(expression[JAW] + gain * envelope + offset, 0.0, 1.0)
        outputs = {"own": (animator.generate(features, own_style), own_style),
                   "text": (animator.generate(features, text_style), text_style),
                   "baseline": (baseline.astype(np.float32), text_style)}
        category = prototypes.category(record.emotion)
        scored = category is not None and category != "neutral"
        labelled += scored
        for name, (generated, style) in outputs.items():
            metrics = sums[name]
            metrics["lip_error"] += float(np.abs(generated[:, lips] - truth[:, lips]).mean())
            metrics["lip_motion"] += float(np.abs(np.diff(generated[:, lips], axis=0) - np.diff(truth[:, lips], axis=0)).mean())
            pooled = encoder(animator.generator.expression_prompt(torch.from_numpy(generated)[None]))[0]
            metrics["style_consistency"] += float(torch.nn.functional.cosine_similarity(pooled, style, dim=0))
            metrics["envelope_correlation"] += _correlation(generated[:, JAW], envelope)
            if scored:
                correct[name] += prototypes.nearest(generated.mean(0, keepdims=True))[0] == category
        if scored:
            correct["truth"] += prototypes.nearest(truth.mean(0, keepdims=True))[0] == category
        truth_correlation += _correlation(truth[:, JAW], envelope)
    report: dict = {"clips": len(test), "clips_with_emotion": labelled,
                    "baseline_envelope_fit": {"gain": round(gain, 4), "offset": round(offset, 4)}}
    for name in settings:
        report[name] = {k: round(v / max(1, len(test)), 4) for k, v in sums[name].items()}
        report[name]["emotion_accuracy"] = round(correct[name] / max(1, labelled), 4)
    report["truth"] = {"emotion_accuracy": round(correct["truth"] / max(1, labelled), 4),
                       "envelope_correlation": round(truth_correlation / max(1, len(test)), 4)}
    return report
