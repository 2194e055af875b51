"""The released checkpoint on the Yale photos of the asset mirror (test only): its agreement stays at a floor."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

FACES = Path(os.environ.get("EXPCLIP_ASSET_MIRROR", "/nonexistent")) / "faces"

# The released checkpoint's default path reads 19 of the 30 photos as their label by the rules of
# train.expclip.photos (benchmarks/results/photos.md: happy 5, surprised 5, sleepy 4, wink 3, sad 2,
# normal 0); the floor leaves one photo of room for MediaPipe's small differences between machines.
# Raise it with each retrained P_img (issue 17's goal is 27 of 30).
FLOOR_ALL = 18
FLOOR_PER_LABEL = {"happy": 4, "surprised": 4, "sleepy": 3, "wink": 2}


@pytest.mark.skipif(not FACES.is_dir(), reason="EXPCLIP_ASSET_MIRROR/faces (real photos) is not available")
def test_released_checkpoint_reads_the_yale_photos_at_a_floor() -> None:
    from expclip.image_pipeline import load_image_pipeline
    from train.expclip.photos import read_photos, summarise

    summary = summarise(read_photos(FACES, load_image_pipeline()))
    per_label = {label: row["agree"] for label, row in summary.items() if label != "all"}
    assert summary["all"]["agree"] >= FLOOR_ALL, per_label
    assert all(per_label[label] >= floor for label, floor in FLOOR_PER_LABEL.items()), per_label
