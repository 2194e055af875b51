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
