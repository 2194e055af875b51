"""A tiny end-to-end run: talking corpus → ``python -m train.generator fit`` (loss drops, resume works) →
``eval`` → ``python -m expclip animate`` with every export read back."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from head import arkit

REPO = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("generator-train")
    tead, talking, out = root / "tead", root / "talking", root / "ckpt"
    built = _run("-m", "train.tead", "build", "--annotator", "offline", "--size", "300", "--seed", "0",
                 "--out", str(tead), "--quiet")
    assert built.returncode == 0, built.stderr
    corpus = _run("-m", "train.talking", "build", "--size", "24", "--seed", "0", "--tead", str(tead),
                  "--out", str(talking), "--quiet")
    assert corpus.returncode == 0, corpus.stderr
    config = yaml.safe_load((REPO / "train/configs/generator_small.yaml").read_text())
    config.update(data=str(talking), tead=str(tead), out=str(out), epochs=4, batch_size=8, warmup_steps=4, window=45,
                  windows_per_clip=3, lr=0.003, room_noise=0.5, keep_best=True)
    config["model"].update(width=32, heads=2, decoder_layers=1, max_distance=16)
    (root / "tiny.yaml").write_text(yaml.safe_dump(config))
    first = _run("-m", "train.generator", "fit", "--config", str(root / "tiny.yaml"), "--epochs", "3", "--quiet")
    assert first.returncode == 0, first.stderr
    resumed = _run("-m", "train.generator", "fit", "--config", str(root / "tiny.yaml"), "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    return {"root": root, "talking": talking, "out": out, "resumed": resumed}


def test_loss_drops_and_the_run_resumes(trained) -> None:
    out = trained["out"]
    rows = list(csv.DictReader((out / "log.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4]
    assert "Resuming from epoch 3 of 4" in trained["resumed"].stdout + trained["resumed"].stderr
    assert trained["resumed"].stdout.strip().splitlines()[-1].startswith("Trained 4 epochs ")  # a person's summary
    assert float(rows[-1]["train_total"]) < 0.8 * float(rows[0]["train_total"])
    assert float(rows[-1]["test_rec"]) < float(rows[0]["test_rec"])
    assert {"train_rec", "train_lm", "train_style"} <= set(rows[0])
    # keep_best: the files hold the epoch whose test clips gave the lowest L_ap, whichever it was.
    best = min(rows, key=lambda r: float(r["test_ap"]))
    assert json.loads((out / "metrics.json").read_text())["epoch"] == int(best["epoch"])
    config = json.loads((out / "config.json").read_text())
    assert config["model"]["width"] == 32 and config["model"]["expression_encoder"]["embed_dim"] == 128
    assert {p.name for p in out.iterdir()} >= {"model.safetensors", "config.json", "metrics.json", "training-state"}


def test_eval_reports_each_setting_beside_the_baseline(trained) -> None:
    result = _run("-m", "train.generator", "eval", "--checkpoint", str(trained["out"]), "--data",
                  str(trained["talking"]), "--limit", "2", "--quiet")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert result.stderr.strip().splitlines()[-1].startswith(f"Evaluated {trained['out']} on ")
    assert report["clips"] == 2
    for setting in ("own", "text", "baseline"):
        assert set(report[setting]) == {"lip_error", "lip_motion", "style_consistency", "envelope_correlation",
                                        "emotion_accuracy"}
        assert 0 <= report[setting]["lip_error"] < 0.5


def test_animate_writes_video_csv_json_and_glb(trained, tmp_path: Path) -> None:
    from expclip.clips import read_records

    record = read_records(trained["talking"], "test")[0]
    speech = trained["talking"] / record.audio
    outputs = {ext: tmp_path / f"out.{ext}" for ext in ("mp4", "csv", "json", "glb")}
    result = _run("-m", "expclip", "animate", str(speech), "--prompt", "quietly furious", "--checkpoint",
                  str(trained["out"]), "--video", str(outputs["mp4"]), "--csv", str(outputs["csv"]), "--json",
                  str(outputs["json"]), "--glb", str(outputs["glb"]), "--size", "128")
    assert result.returncode == 0, result.stderr
    frames = round(record.seconds * 30)
    assert abs(len(arkit.read_csv(outputs["csv"])) - frames) <= 1
    written = json.loads(outputs["json"].read_text())
    assert written["fps"] == 30 and abs(len(written["frames"]) - frames) <= 1
    assert outputs["glb"].read_bytes()[:4] == b"glTF"
    from render.video import audio_duration

    assert abs(audio_duration(outputs["mp4"]) - record.seconds) < 0.1  # the video carries the sound


def test_animate_timeline_and_compare(trained, tmp_path: Path) -> None:
    from expclip.clips import read_records

    record = read_records(trained["talking"], "test")[0]
    speech = str(trained["talking"] / record.audio)
    result = _run("-m", "expclip", "animate", speech, "--timeline", "0:calm", "1:furious", "--checkpoint",
                  str(trained["out"]), "--json", str(tmp_path / "t.json"))
    assert result.returncode == 0, result.stderr
    styles = json.loads((tmp_path / "t.json").read_text())["styles"]
    assert [s["start"] for s in styles] == [0.0, 1.0]
    both = _run("-m", "expclip", "animate", speech, "--compare", "overjoyed", "deeply sad", "--checkpoint",
                str(trained["out"]), "--video", str(tmp_path / "both.mp4"), "--size", "96")
    assert both.returncode == 0, both.stderr and (tmp_path / "both.mp4").stat().st_size > 0


def test_animate_errors_are_sentences(trained, tmp_path: Path) -> None:
    fake = tmp_path / "speech.wav"
    fake.write_bytes(b"%PDF-1.4 not audio at all")
    cases = [
        ((str(fake), "--prompt", "calm", "--json", str(tmp_path / "x.json")), "speech.wav"),
        ((str(tmp_path / "missing.wav"), "--prompt", "calm", "--json", str(tmp_path / "x.json")), "missing.wav"),
        ((str(fake), "--timeline", "soon:calm", "--json", str(tmp_path / "x.json")), "is not SECONDS:PROMPT"),
        ((str(fake), "--prompt", "calm"), "Say what to write"),
        ((str(fake), "--prompt", "calm", "--intensity", "3", "--json", str(tmp_path / "x.json")), None),
    ]
    for args, expected in cases:
        result = _run("-m", "expclip", "animate", *args, "--checkpoint", str(trained["out"]))
        assert result.returncode == 2, (args, result.stderr)
        last = result.stderr.strip().splitlines()[-1]
        assert "Traceback" not in result.stderr and last.startswith("error: ") and result.stderr.count("error: ") == 1
        if expected:
            assert expected in last, result.stderr


def test_empty_prompt_is_neutral_and_said(trained, tmp_path: Path) -> None:
    from expclip.animation import load_animator
    from expclip.clips import load_audio, read_records

    animator = load_animator(trained["out"])
    record = read_records(trained["talking"], "test")[0]
    samples = load_audio(trained["talking"], record)
    clip = animator.animate(samples, "", seed=1)
    assert any("neutral" in note for note in clip.notes)
    assert clip.frames.shape == (round(len(samples) / 16_000 * 30), 52)
    silent = animator.animate(np.zeros(16_000, np.float32), "calm")
    assert any("silent" in note for note in silent.notes)
