"""A tiny end-to-end run of ``python -m train.expclip fit`` (loss drops, resume works), then eval and
the inference pipeline on the checkpoint it wrote."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from expclip import facs
from expclip.encoders import PromptError
from expclip.face_actions import load_face_actions
from expclip.pipeline import load
from expclip.tead import TeadSample
from head import arkit
from train.expclip.data import FeaturePairs, au_name_text, build_text_table, sample_looks

REPO = Path(__file__).resolve().parents[1]


def test_au_name_texts_list_every_au_or_the_strongest_as_people_type_them() -> None:
    aus = {"4": 0.8, "5": 0.3, "7": 0.6, "23": 0.9, "R12": 0.2}
    texts = {au_name_text(aus, np.random.default_rng([0, i])) for i in range(300)}
    assert facs.name_list(aus) in texts
    for text in ("AU23 + AU4", "AU23 and AU4", "lip tightener and brow lowerer", "AU23",
                 "AU23 (lip tightener), AU4 (brow lowerer)", "lip tightener, brow lowerer and lid tightener"):
        assert text in texts, text
    assert not [t for t in texts if "AU5" in t and "AU12" not in t]  # weaker AUs only in the full list
    one_sided = au_name_text({"L12": 0.5, "6": 0.3}, np.random.default_rng([0, 3]))
    assert one_sided == "AU12 (lip corner puller, left) + AU6 (cheek raiser)"
    assert au_name_text({}, np.random.default_rng(0)) == "no action units, neutral face"


def _sample(transcript: str, situation: str, emotions: dict | None = None) -> TeadSample:
    return TeadSample(transcript=transcript, tags=["furious", "anger"], aus={"4": 0.8}, au_text="brows lowered",
                      situation=situation, blendshapes=np.zeros(52, dtype=np.float32), emotions=emotions or {})


def test_looks_are_found_in_transcripts_and_third_person_situations() -> None:
    angry = _sample("Me rn: face like thunder!", "A man says that his boss shouted, steam coming out of his ears.",
                    {"anger": 0.9})
    assert sample_looks(angry) == ["face like thunder", "steam coming out of my ears"]
    assert sample_looks(_sample("Over the moon!! #joy", "A woman explains that she won.")) == ["over the moon"]
    assert sample_looks(_sample("I'm furious, my boss shouted.", "A man says his boss shouted.")) == []
    assert sample_looks(_sample("my jaw clenchedness", "A man is thinking.")) == []  # whole words only


def test_the_look_source_adds_the_look_alone_as_a_training_text() -> None:
    samples = [_sample("So angry, face like thunder.", "A man explains that it rained.", {"anger": 0.9}),
               _sample("So angry.", "A man explains that it rained.", {"anger": 0.9})]
    table = build_text_table(samples, ("transcript", "situation", "look"))
    assert [[table.texts[r] for r in row[:n]] for row, n in zip(table.rows, table.counts)] == [
        ["So angry, face like thunder.", "A man explains that it rained.", "face like thunder"],
        ["So angry.", "A man explains that it rained."]]
    assert build_text_table(samples, ("look",)).counts.tolist() == [1, 1]  # no look: the transcript


def test_right_sided_texts_are_learnt_swapped_with_the_face_mirrored() -> None:
    kb = load_face_actions()
    right = _sample("winking my right eye", "A man explains that he winks.")
    right.blendshapes = kb["wink_right"].face.copy()
    plain = _sample("a cheeky wink", "A man explains that he winks.")
    plain.blendshapes = kb["wink_right"].face.copy()
    table = build_text_table([right, plain], ("transcript", "situation"))
    texts = [[table.texts[r] for r in row[:n]] for row, n in zip(table.rows, table.counts)]
    assert texts == [["winking my left eye", "A man explains that he winks."], ["a cheeky wink", "A man explains that he winks."]]
    assert table.mirrored[:, :2].all()  # the side-free texts of a right-sided face are learnt on the left too
    pairs = FeaturePairs(np.eye(len(table.texts), dtype=np.float32), table, np.stack([right.blendshapes, plain.blendshapes]))
    for index in range(2):
        _, weights = pairs[index]
        assert np.allclose(weights.numpy(), kb["wink_left"].face)


def test_source_shares_give_a_source_to_that_share_of_the_samples() -> None:
    samples = [_sample(f"So angry {i}, face like thunder.", f"A man explains that {i} went wrong.", {"anger": 0.9})
               for i in range(400)]
    full = build_text_table(samples, ("transcript", "situation", "look"))
    half = build_text_table(samples, ("transcript", "situation", "look"), shares={"situation": 0.5, "look": 0.0})
    assert len(full.texts) == 801 and full.counts.tolist() == [3] * 400
    situations = sum(t.startswith("A man") for t in half.texts)
    assert 160 < situations < 240 and "face like thunder" not in half.texts
    assert half.texts[:1] == ["So angry 0, face like thunder."] and set(half.counts) == {1, 2}
    with pytest.raises(ValueError, match="and shares for \\['mood'\\]"):
        build_text_table(samples, ("transcript",), shares={"mood": 0.5})
    with pytest.raises(ValueError, match="Training text sources must be chosen from .*look; got \\['mood'\\]"):
        build_text_table(samples, ("mood",))


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("expclip-train")
    data, out = root / "tead", root / "ckpt"
    # Emotion samples only: the tiny model's loss-drop thresholds below were set on them; the face-action samples'
    # one-shape faces (a wink at 1.0) are learnt more slowly by a 32-wide model in 44 steps (test_face_actions_model).
    tead_config = yaml.safe_load((REPO / "train/configs/tead_offline.yaml").read_text())
    tead_config.update(face_action_share=0.0, no_face_share=0.0)
    (root / "tead.yaml").write_text(yaml.safe_dump(tead_config))
    built = _run("-m", "train.tead", "build", "--annotator", "offline", "--size", "400", "--seed", "0",
                 "--config", str(root / "tead.yaml"), "--out", str(data), "--quiet")
    assert built.returncode == 0, built.stderr
    config = yaml.safe_load((REPO / "train/configs/expclip_small.yaml").read_text())
    config.update(data=str(data), out=str(out), epochs=4, batch_size=32, warmup_steps=5, text_augment_variants=0,
                  feature_cache=str(root / "features"), lr=0.003)
    config["model"].update(width=32, embed_dim=32, projector_hidden=64, encoder_layers=1, decoder_layers=1)
    (root / "tiny.yaml").write_text(yaml.safe_dump(config))
    first = _run("-m", "train.expclip", "fit", "--config", str(root / "tiny.yaml"), "--epochs", "3", "--quiet")
    assert first.returncode == 0, first.stderr
    resumed = _run("-m", "train.expclip", "fit", "--config", str(root / "tiny.yaml"), "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    return {"root": root, "data": data, "out": out, "resumed": resumed}


def test_loss_drops_and_the_run_resumes(trained) -> None:
    out = trained["out"]
    rows = list(csv.DictReader((out / "log.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4]  # the second command trained only epoch 4
    assert "Resuming from epoch 3 of 4" in trained["resumed"].stdout + trained["resumed"].stderr
    assert trained["resumed"].stdout.strip().splitlines()[-1].startswith("Trained 4 epochs ")  # a person's summary
    # The faces get better: reconstruction and text → weights MSE drop. (L_emb, and with it the total, can rise
    # for a while: its target E(b) starts nearly collapsed, so early alignment is easy, and spreads out as E learns.)
    assert float(rows[-1]["train_ae"]) < 0.8 * float(rows[0]["train_ae"])
    assert float(rows[-1]["train_cross"]) < 0.9 * float(rows[0]["train_cross"])
    assert float(rows[-1]["test_cross_mse"]) < float(rows[0]["test_cross_mse"])
    metrics = json.loads((out / "metrics.json").read_text())
    config = json.loads((out / "config.json").read_text())
    assert metrics["epoch"] == 4 and config["model"]["width"] == 32 and config["training"]["epochs"] == 4
    # Timing for the model card: the first command encoded every text from an empty cache, the resumed one none.
    assert metrics["encoded_texts"] == metrics["distinct_texts"] > 360 and metrics["feature_seconds"] > 0
    assert metrics["steps"] == 4 * 11 and metrics["seconds_per_step"] > 0
    assert {p.name for p in out.iterdir()} >= {"model.safetensors", "config.json", "metrics.json", "training-state"}


def test_eval_prints_metrics_beside_the_baseline(trained) -> None:
    result = _run("-m", "train.expclip", "eval", "--checkpoint", str(trained["out"]), "--data", str(trained["data"]),
                  "--quiet")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert result.stderr.strip().splitlines()[-1].startswith(f"Evaluated {trained['out']} on ")
    assert report["test_samples"] == 40
    for key in ("ae_mse", "cross_mse", "retrieval_r@1", "retrieval_r@5", "retrieval_r@10", "emotion_accuracy"):
        assert 0 <= report["expclip"][key] <= 1
    assert set(report["nearest_neighbour"]) == {"cross_mse", "retrieval_r@1", "retrieval_r@5", "retrieval_r@10",
                                                "emotion_accuracy"}
    assert report["expclip"]["retrieval_r@10"] >= report["expclip"]["retrieval_r@1"]


def test_pipeline_batches_intensity_blend_and_explain(trained) -> None:
    pipe = load(trained["out"])
    one = pipe.weights("so happy today")
    many = pipe.weights(["so happy today", "furious at my boss", "poker face"])
    assert one.shape == (1, 52) and many.shape == (3, 52)
    np.testing.assert_allclose(one[0], many[0], atol=1e-5)
    assert 0 <= many.min() and many.max() <= 1
    np.testing.assert_allclose(pipe.weights("so happy today", intensity=0.5), np.clip(one * 0.5, 0, 1), atol=1e-5)
    blended = pipe.blend({"so happy today": 1.0, "furious at my boss": 0.0})
    np.testing.assert_allclose(blended, one[0], atol=1e-5)
    halfway = pipe.blend([("so happy today", 0.5), ("furious at my boss", 0.5)])
    assert halfway.shape == (52,) and not np.allclose(halfway, one[0])
    assert all(isinstance(k, str) and 0 < v <= 1 for k, v in pipe.explain(many[1]).items())
    with pytest.raises(PromptError, match="Prompt 1 is empty"):
        pipe.weights("  ")
    with pytest.raises(ValueError, match="Intensity 3 is outside 0–2"):
        pipe.weights("hi", intensity=3)
    with pytest.raises(ValueError, match="non-negative and not all zero"):
        pipe.blend({"a": 0.0})


def test_text_cli_writes_json_and_png(trained, tmp_path: Path) -> None:
    result = _run("-m", "expclip", "text", "a proud, beaming smile", "--checkpoint", str(trained["out"]),
                  "--json", str(tmp_path / "out.json"), "--png", str(tmp_path / "face.png"), "--size", "128")
    assert result.returncode == 0, result.stderr
    written = json.loads((tmp_path / "out.json").read_text())
    assert written["prompt"] == "a proud, beaming smile" and "aus" in written
    assert arkit.parse_weights(tmp_path / "out.json").shape == (52,)
    from PIL import Image

    with Image.open(tmp_path / "face.png") as image:
        assert image.size == (128, 128)
    blend = _run("-m", "expclip", "text", "joy", "surprise", "--blend", "0.7", "--checkpoint", str(trained["out"]))
    assert blend.returncode == 2 and "--blend needs one weight per prompt: 2 prompts, 1 weights" in blend.stderr
    empty = _run("-m", "expclip", "text", " ", "--checkpoint", str(trained["out"]))
    assert empty.returncode == 2 and "error: Prompt 1 is empty" in empty.stderr and "Traceback" not in empty.stderr
    missing = _run("-m", "expclip", "text", "hi", "--checkpoint", str(tmp_path / "nothing"))
    assert missing.returncode == 2 and "is not an ExpCLIP checkpoint" in missing.stderr


def test_gallery_and_ablation_commands(trained, tmp_path: Path) -> None:
    result = _run("-m", "train.expclip", "gallery", "--checkpoint", str(trained["out"]), "--out", str(tmp_path / "g.png"))
    assert result.returncode == 0, result.stderr
    from PIL import Image

    from train.expclip.gallery import PROMPTS

    with Image.open(tmp_path / "g.png") as image:
        assert image.size[0] == 4 * 256
    rows = [json.loads(line) for line in (tmp_path / "g.jsonl").read_text().splitlines()]
    assert [r["prompt"] for r in rows] == list(PROMPTS)

    ablation = _run("-m", "train.expclip", "ablate", "--config", str(trained["root"] / "tiny.yaml"), "--epochs", "1",
                    "--limit-samples", "200", "--out", str(tmp_path / "ablations"), "--quiet")
    assert ablation.returncode == 0, ablation.stderr
    report = json.loads((tmp_path / "ablations" / "ablation.json").read_text())
    assert list(report) == ["full recipe", "no blendshape augmentation", "plus text augmentation (1 EDA rewrite)",
                            "plus contrastive term (λ4 = 1)"]
    assert "| no blendshape augmentation |" in (tmp_path / "ablations" / "ablation.md").read_text()
