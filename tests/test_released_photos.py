"""The released checkpoint on the Yale photos of the asset mirror (test only): its agreement stays at a floor,
as shipped and once its image path is calibrated on renders (``python -m train.expclip.image_calibration``)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

FACES = Path(os.environ.get("EXPCLIP_ASSET_MIRROR", "/nonexistent")) / "faces"
RENDERS = Path(__file__).resolve().parents[1] / "data" / "mead3d-synthetic"

# By the rules of train.expclip.photos (benchmarks/results/photos.md), the released checkpoint's default path
# reads, uncalibrated (no image_calibration.json beside its weights, as shipped today), 19 of the 30 photos as
# their label (happy 5, surprised 5, sleepy 4, wink 3, sad 2, normal 0), and with its calibration measured on the
# renders 24 (normal 4, sleepy 5). Each floor leaves one photo of room for MediaPipe's small differences between
# machines. Raise them with each retrained P_img (issue 17's goal is 27 of 30).
FLOORS = {
    "uncalibrated": (18, {"happy": 4, "surprised": 4, "sleepy": 3, "wink": 2}),
    "calibrated": (23, {"normal": 3, "happy": 4, "surprised": 4, "sleepy": 4, "wink": 2}),
}


@pytest.mark.skipif(not FACES.is_dir(), reason="EXPCLIP_ASSET_MIRROR/faces (real photos) is not available")
@pytest.mark.parametrize("state", list(FLOORS))
def test_released_checkpoint_reads_the_yale_photos_at_a_floor(state: str, tmp_path) -> None:
    from expclip.image_pipeline import load_image_pipeline
    from expclip.paths import default_checkpoint
    from train.expclip.photos import read_photos, summarise

    checkpoint = default_checkpoint("expclip-small")
    if state == "calibrated":
        if not (RENDERS / "test.jsonl").is_file():
            pytest.skip("data/mead3d-synthetic is not built (python -m train.mead3d synthetic)")
        from train.expclip.image_calibration import calibrate_checkpoint

        checkpoint = Path(shutil.copytree(checkpoint, tmp_path / "released"))
        calibrate_checkpoint(checkpoint, RENDERS, progress=False)
    else:
        (tmp_path / "released").mkdir()
        for path in Path(checkpoint).iterdir():
            if path.name != "image_calibration.json":
                shutil.copy2(path, tmp_path / "released" / path.name)
        checkpoint = tmp_path / "released"
    summary = summarise(read_photos(FACES, load_image_pipeline(checkpoint)))
    per_label = {label: row["agree"] for label, row in summary.items() if label != "all"}
    floor_all, floor_per_label = FLOORS[state]
    assert summary["all"]["agree"] >= floor_all, per_label
    assert all(per_label[label] >= floor for label, floor in floor_per_label.items()), per_label
