"""``python -m train.tead build --annotator offline`` and ``stats`` as a user runs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from PIL import Image

from expclip.tead import read_meta, read_samples

REPO = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "train.tead", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300)


def test_offline_build_then_stats(tmp_path: Path) -> None:
    out = tmp_path / "tead"
    result = _run("build", "--annotator", "offline", "--size", "400", "--seed", "3", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "Wrote 360 train and 40 test samples" in result.stdout
    meta = read_meta(out)
    assert meta["annotator"] == "offline" and meta["seed"] == 3 and meta["config"]["size"] == 400
    assert len(read_samples(out, "test")) == 40

    again = _run("build", "--annotator", "offline", "--size", "400", "--seed", "3", "--out", str(out))
    assert again.returncode == 2 and "already holds a TEAD build; pass --overwrite" in again.stderr
    replaced = _run("build", "--annotator", "offline", "--size", "100", "--out", str(out), "--overwrite", "--quiet")
    assert replaced.returncode == 0 and read_meta(out)["counts"] == {"train": 90, "test": 10}

    stats = _run("stats", str(out), "--top", "5")
    assert stats.returncode == 0, stats.stderr
    assert "# TEAD statistics: 100 samples" in stats.stdout
    assert "| happiness |" in stats.stdout or "| anger |" in stats.stdout
    assert "## AU frequency" in stats.stdout
    with Image.open(out / "stats.png") as image:
        assert image.size[0] > 1000


def test_bad_input_gets_one_sentence(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("size: 10\nsparkle: 3\n")
    result = _run("build", "--annotator", "offline", "--config", str(config), "--out", str(tmp_path / "o"))
    assert result.returncode == 2 and "unknown key(s) sparkle" in result.stderr
    result = _run("stats", str(tmp_path / "nothing"))
    assert result.returncode == 2 and "does not exist; give a TEAD directory" in result.stderr
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"transcript": "x", "aus": {"12": "C"}}\n{"transcript": ""}\n')
    result = _run("stats", str(broken))
    assert result.returncode == 2 and "broken.jsonl:2: 'transcript' must be a non-empty string" in result.stderr
