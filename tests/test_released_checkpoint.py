"""The released checkpoints/expclip-small: its files, its card, and faces that match the words."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import expclip
from expclip.paths import default_checkpoint
from head.arkit import INDEX

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CHECKPOINT = default_checkpoint()
SUITE_SLICE_FLOOR = 16  # of the 18: the release passes 17 (2026-12-04; "screaming" opens the jaw too little)


@pytest.fixture(scope="module")
def pipe():
    return expclip.load()


def _shape(weights: np.ndarray, base: str) -> float:
    names = [base] if base in INDEX else [base + "Left", base + "Right"]
    return float(np.mean([weights[INDEX[n]] for n in names]))


def test_files_card_and_reported_metrics() -> None:
    files = {p.name for p in DEFAULT_CHECKPOINT.iterdir()}
    assert {"model.safetensors", "config.json", "metrics.json", "README.md"} <= files
    assert (DEFAULT_CHECKPOINT / "model.safetensors").stat().st_size <= 20 * 2**20
    card = (DEFAULT_CHECKPOINT / "README.md").read_text()
    assert "python -m train.expclip fit --config train/configs/expclip_small.yaml" in card
    metrics = json.loads((DEFAULT_CHECKPOINT / "metrics.json").read_text())
    assert metrics["test_ae_mse"] <= 0.012
    config = json.loads((DEFAULT_CHECKPOINT / "config.json").read_text())
    assert config["model"]["text_encoder"] == "minilm" and config["training"]["data"] == "data/tead"


@pytest.mark.parametrize("prompt, high, low", [
    ("so happy, a big smile", {"mouthSmile": 0.3, "cheekSquint": 0.2}, {"mouthFrown": 0.1, "browDown": 0.1}),
    ("eww, gross", {"noseSneer": 0.3}, {"mouthSmile": 0.1}),
    ("yuck", {"noseSneer": 0.3}, {"mouthSmile": 0.1}),
    ("heartbroken and sad", {"mouthFrown": 0.2, "browInnerUp": 0.2}, {"mouthSmile": 0.1}),
    pytest.param("shocked, jaw dropped", {"eyeWide": 0.3, "jawOpen": 0.2}, {"mouthSmile": 0.1, "browDown": 0.15},
                 marks=pytest.mark.xfail(strict=True, reason="regressed in the 2026-12-03 release, still so on 2026-12-04: the jaw drops "
                                                             "(0.50) but the eyes no longer widen")),
    ("furious, absolutely livid", {"browDown": 0.2}, {"mouthSmile": 0.1}),
])
def test_faces_match_the_words(pipe, prompt: str, high: dict, low: dict) -> None:
    weights = pipe.weights(prompt)[0]
    for shape, minimum in high.items():
        assert _shape(weights, shape) >= minimum, (prompt, shape, _shape(weights, shape))
    for shape, maximum in low.items():
        assert _shape(weights, shape) <= maximum, (prompt, shape, _shape(weights, shape))


def test_neutral_is_calm_and_intensity_scales(pipe) -> None:
    assert pipe.weights("a neutral face")[0].max() < 0.2
    strong = pipe.weights("so happy, a big smile")[0]
    np.testing.assert_allclose(pipe.weights("so happy, a big smile", intensity=0.5)[0], strong * 0.5, atol=1e-5)
    assert "12" in pipe.explain(strong)


def test_default_cli_answers_with_the_released_model(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "expclip", "text", "that's disgusting", "--json", str(tmp_path / "o.json")],
                            cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "o.json").read_text())["blendshapes"]["noseSneerLeft"] > 0.2


def test_a_fixed_slice_of_the_prompt_suite(pipe) -> None:
    """The first two prompts of every kind of train/prompts/face-suite.jsonl (kept out of training); the whole
    suite runs in `python -m train.expclip eval --prompts` and its table is in the model card."""
    from train.expclip.prompt_suite import read_suite

    suite = read_suite(REPO / "train" / "prompts" / "face-suite.jsonl")
    kinds: dict[str, list] = {}
    for prompt in suite:
        if len(kinds.setdefault(prompt.kind, [])) < 2:
            kinds[prompt.kind].append(prompt)
    chosen = [p for prompts in kinds.values() for p in prompts]
    weights = pipe.weights([p.prompt for p in chosen])
    passed = {p.prompt: p.passes(w) for p, w in zip(chosen, weights)}
    assert len(chosen) == 18
    assert sum(passed.values()) >= SUITE_SLICE_FLOOR, passed
    for kind in ("emotion", "no-face"):
        assert all(passed[p.prompt] for p in kinds[kind]), (kind, passed)
