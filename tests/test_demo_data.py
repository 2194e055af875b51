"""The demo's own small data: built in the cache when ``data/`` lacks it, used from ``data/`` when there."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from demo_data import DemoData
from expclip.tead import read_jsonl


def test_builds_small_tead_and_gallery_once(tmp_path, rig) -> None:
    data = DemoData(data_root=tmp_path / "no-data", cache=tmp_path / "cache", tead_size=200, gallery_size=3)
    stale = tmp_path / "cache" / "tead.partial-999999999"  # a killed build's leftovers (no such process)
    (stale / "train.jsonl").parent.mkdir(parents=True)
    (stale / "train.jsonl").write_text("{")
    assert not data.gallery_ready()
    results: list[Path] = []
    threads = [threading.Thread(target=lambda: results.append(data.gallery())) for _ in range(2)]
    for thread in threads:  # two requests at once build it once
        thread.start()
    for thread in threads:
        thread.join()
    gallery = results[0]
    assert results == [gallery, gallery] and gallery == tmp_path / "cache" / "mead3d-synthetic" / "images" / "test"
    assert data.gallery_ready()
    images = sorted(gallery.glob("*.jpg"))
    assert 1 <= len(images) <= 3
    meta = json.loads((gallery.parents[1] / "meta.json").read_text())
    assert meta["records"]["test"] == len(images)

    test = data.tead_test()
    samples = read_jsonl(test)
    assert test == tmp_path / "cache" / "tead" / "test.jsonl" and 10 <= len(samples) <= 30
    assert not list((tmp_path / "cache").glob("*.partial-*"))  # built aside, then renamed into place
    stamp = test.stat().st_mtime_ns
    assert DemoData(data_root=tmp_path / "no-data", cache=tmp_path / "cache").tead_test().stat().st_mtime_ns == stamp


def test_full_data_is_preferred(tmp_path) -> None:
    root = tmp_path / "data"
    (root / "tead").mkdir(parents=True)
    (root / "tead" / "test.jsonl").write_text("")
    (root / "mead3d-synthetic" / "images" / "test").mkdir(parents=True)
    data = DemoData(data_root=root, cache=tmp_path / "cache")
    assert data.tead_test() == root / "tead" / "test.jsonl"
    assert data.gallery_ready() and data.gallery() == root / "mead3d-synthetic" / "images" / "test"
    assert not (tmp_path / "cache").exists()


def test_the_demo_builds_its_data_without_train() -> None:
    """demo_data.py imports nothing of ``train/`` (also inside functions); the library never does (test_layers)."""
    import ast

    tree = ast.parse((Path(__file__).resolve().parents[1] / "demo_data.py").read_text())
    imported = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    imported += [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module]
    assert {"expclip.tead_offline", "expclip.mead3d_synthetic"} <= set(imported)
    assert not [name for name in imported if name.split(".")[0] == "train"]


def test_the_expression_map_is_built_in_the_background(tmp_path) -> None:
    import pytest
    import torch

    from demo_data import Unavailable
    from expclip.model import ExpCLIP, ExpCLIPConfig

    data = DemoData(data_root=tmp_path / "no-data", cache=tmp_path / "cache", tead_size=200)
    with pytest.raises(Unavailable, match="has not been started"):
        data.expression_map(timeout=0)
    torch.manual_seed(0)
    model = ExpCLIP(ExpCLIPConfig(text_dim=16, embed_dim=8, width=16, heads=2, encoder_layers=1, decoder_layers=1,
                                  ff_mult=2, projector_hidden=32, dropout=0.0)).eval()
    data.start(model, with_gallery=False)
    data.start(model, with_gallery=False)  # once
    emap = data.expression_map(timeout=120)
    assert data.map_ready() and len(emap.points) == len(read_jsonl(data.tead_test())) and emap.z.shape[1] == 8


def test_a_spoken_example_without_the_talking_corpus(tmp_path) -> None:
    import shutil
    import wave

    import pytest

    if not shutil.which("espeak-ng"):
        pytest.skip("espeak-ng is not installed (packages.txt)")
    speech = DemoData(data_root=tmp_path / "no-data", cache=tmp_path / "cache").speech_example(tmp_path)
    with wave.open(str(speech)) as wav:
        assert wav.getnframes() / wav.getframerate() > 1.0
    corpus = tmp_path / "data" / "talking" / "audio" / "test"
    corpus.mkdir(parents=True)
    shutil.copy(speech, corpus / "000001.wav")
    assert DemoData(data_root=tmp_path / "data").speech_example(tmp_path / "elsewhere") == corpus / "000001.wav"
