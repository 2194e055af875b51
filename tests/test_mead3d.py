"""MEAD-3D builders (synthetic renders, real media), P_img training and evaluation, and the image CLIs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import imageio.v2 as imageio
import numpy as np
import pytest
import torch
from PIL import Image

from expclip.checkpoint import load_model, save_checkpoint
from expclip.mead3d import load_landmarks, read_meta, read_records
from expclip.model import ExpCLIP, ExpCLIPConfig
from head.arkit import BLENDSHAPE_NAMES
from train.expclip.fit_image import FitImageConfig, _with_image_projector, fit_image
from train.mead3d.media import build_from_media, parse_label
from expclip.mead3d_synthetic import SyntheticConfig, build_synthetic
from expclip.tead_offline import OfflineConfig, build_offline
from render.renderer import HeadRenderer

REPO = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], cwd=REPO, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("mead3d")
    build_offline(OfflineConfig(size=60, seed=3), root / "tead", progress=False)
    build_synthetic(SyntheticConfig(tead=str(root / "tead"), train_size=12, test_size=6, image_size=256), root / "synthetic",
                    progress=False, renderer=HeadRenderer)
    return root / "synthetic"


@pytest.fixture(scope="module")
def base_checkpoint(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    config = ExpCLIPConfig(text_dim=384, width=16, heads=2, encoder_layers=1, decoder_layers=1, embed_dim=16,
                           projector_hidden=32, ff_mult=2)
    return save_checkpoint(tmp_path_factory.mktemp("base") / "ck", ExpCLIP(config), {"test_ae_mse": 0.1})


def test_synthetic_build(synthetic: Path) -> None:
    meta = read_meta(synthetic)
    assert meta["builder"] == "synthetic" and meta["records"]["train"] + meta["dropped_without_face"]["train"] == 12
    records = read_records(synthetic, "train")
    landmarks = load_landmarks(synthetic, records)
    assert landmarks.shape == (len(records), 478, 3) and len(records) >= 10
    first = records[0]
    assert Image.open(synthetic / first.image).size == (256, 256)
    assert first.blendshapes.shape == (52,) and first.text
    # an emotion sample has its label and level; face-action and no-face samples have neither
    assert all((r.label and 1 <= r.intensity <= 3) or (not r.label and r.intensity == 0) for r in records)
    assert any(r.label for r in records)
    assert {"yaw", "pitch", "roll", "skin_tint", "identity"} <= set(first.extra)  # a random face per image
    assert len({tuple(r.extra["identity"]) for r in records}) == len(records)
    # varied: poses and skin tones differ between images
    assert len({round(r.extra["yaw"], 3) for r in records}) == len(records)
    # test expressions come from TEAD's test split
    tead_test = {json.loads(line)["transcript"] for line in (synthetic.parent / "tead" / "test.jsonl").open()}
    assert all(r.text in tead_test for r in read_records(synthetic, "test"))


def test_synthetic_build_resumes(synthetic: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(synthetic, copy)
    lines = (copy / "train.jsonl").read_text().splitlines()
    (copy / "train.jsonl").write_text("\n".join(lines[:-2]) + "\n" + lines[-2][:30])  # a torn last line
    build_synthetic(SyntheticConfig(tead=str(synthetic.parent / "tead"), train_size=12, test_size=6, image_size=256),
                    copy, progress=False, renderer=HeadRenderer)
    assert [r.image for r in read_records(copy, "train")] == [r.image for r in read_records(synthetic, "train")]


def test_media_build_from_videos_and_photos(tmp_path: Path, renderer) -> None:
    source = tmp_path / "MEAD"
    clip = source / "M003" / "video" / "front" / "happy" / "level_2"
    clip.mkdir(parents=True)
    smile = np.zeros(52, np.float32)
    smile[[BLENDSHAPE_NAMES.index("mouthSmileLeft"), BLENDSHAPE_NAMES.index("mouthSmileRight")]] = 0.9
    with imageio.get_writer(clip / "001.mp4", fps=10, macro_block_size=16) as writer:
        for t in range(10):
            writer.append_data(renderer.render(smile * t / 9))
    (source / "sad").mkdir()
    Image.fromarray(renderer.render(np.zeros(52))).save(source / "sad" / "photo.png")
    (source / "sad" / "broken.jpg").write_bytes(b"not a picture")
    meta = build_from_media(source, tmp_path / "out", every=0.3, test_share=0.0, progress=False)
    records = read_records(tmp_path / "out", "train")
    video = [r for r in records if r.source.startswith("M003")]
    assert len(video) == 4 and all(r.label == "happy" and r.intensity == 2 for r in video)
    assert [r for r in records if r.label == "sad"]
    smiles = [r.blendshapes[BLENDSHAPE_NAMES.index("mouthSmileLeft")] for r in video]
    assert smiles[-1] > smiles[0] + 0.2  # the fitted weights follow the rendered smile
    assert len(meta["skipped_files"]) == 1 and "broken.jpg" in meta["skipped_files"][0]
    again = build_from_media(source, tmp_path / "out", every=0.3, test_share=0.0, progress=False)
    assert again["records"]["train"] == len(records)  # a rerun adds nothing


def test_parse_label() -> None:
    assert parse_label(Path("W015/video/left_30/surprised/level_3/012.mp4")).__dict__ == {"label": "surprised",
                                                                                         "intensity": 3}
    assert parse_label(Path("holiday/IMG_001.jpg")).label == ""


def test_projector_step_lowers_the_loss(base_checkpoint: Path, synthetic: Path) -> None:
    from expclip.encoders import create_encoder
    from expclip.losses import alignment_loss, cross_modal_loss
    from train.expclip.fit_image import image_features

    model = _with_image_projector(load_model(base_checkpoint), "landmarks")
    features, records = image_features(create_encoder("landmarks", kind="image"), synthetic, "train", progress=False)
    weights = torch.from_numpy(np.stack([r.blendshapes for r in records]))
    frozen = {k: v.clone() for k, v in model.state_dict().items() if not k.startswith("image_projector")}
    model.requires_grad_(False)
    model.image_projector.requires_grad_(True)
    optimiser = torch.optim.Adam(model.image_projector.parameters(), lr=1e-3)
    with torch.no_grad():
        targets = model.embed_expression(weights)

    def loss() -> torch.Tensor:
        z = model.embed_image(features)
        return alignment_loss(z, targets) + cross_modal_loss(model.decode(z), weights)

    before = loss().item()
    for _ in range(20):
        optimiser.zero_grad()
        value = loss()
        value.backward()
        optimiser.step()
    assert loss().item() < before
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in frozen.items())  # E, D, P_text untouched


def test_fit_image_writes_an_extended_checkpoint_and_the_clis_use_it(base_checkpoint: Path, synthetic: Path,
                                                                     tmp_path: Path) -> None:
    out = tmp_path / "with-image"
    metrics = fit_image(FitImageConfig(data=str(synthetic), checkpoint=str(base_checkpoint), out=str(out), epochs=3,
                                       batch_size=8), progress=False)
    assert {"projector_mse", "fit_mse", "text_to_image_r@1", "image_to_text_r@10"} <= set(metrics)
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["test_ae_mse"] == 0.1 and saved["image"]["test_images"] == metrics["test_images"]
    assert load_model(out).config.image_encoder == "landmarks"

    photo = synthetic / read_records(synthetic, "test")[0].image
    result = _run("expclip", "image", str(photo), "--checkpoint", str(out), "--json", str(tmp_path / "r.json"),
                  "--png", str(tmp_path / "r.png"), "--size", "128")
    assert result.returncode == 0, result.stderr
    payload = json.loads((tmp_path / "r.json").read_text())
    assert payload["method"] == "projector+fit" and len(payload["face_box"]) == 4 and len(payload["blendshapes"]) == 52
    assert Image.open(tmp_path / "r.png").height == 128

    gallery = synthetic / "images" / "test"
    result = _run("expclip", "retrieve", "wide-eyed and gasping", "--gallery", str(gallery), "-k", "3",
                  "--checkpoint", str(out), "--json", str(tmp_path / "hits.json"), "--png", str(tmp_path / "grid.png"))
    assert result.returncode == 0, result.stderr
    hits = json.loads((tmp_path / "hits.json").read_text())["hits"]
    assert len(hits) == 3 and hits[0]["score"] >= hits[1]["score"] >= hits[2]["score"]
    again = _run("expclip", "index", str(gallery), "--checkpoint", str(out))
    assert again.returncode == 0 and "0 embedded now" in again.stdout, again.stdout + again.stderr

    evaluated = _run("train.expclip", "eval", "--checkpoint", str(out), "--images", str(synthetic), "--quiet")
    assert evaluated.returncode == 0, evaluated.stderr
    assert json.loads(evaluated.stdout)["images"]["test_images"] == metrics["test_images"]


def test_cli_errors(tmp_path: Path, base_checkpoint: Path) -> None:
    (tmp_path / "doc.jpg").write_bytes(b"%PDF-1.4")
    result = _run("expclip", "fit", str(tmp_path / "doc.jpg"))
    assert result.returncode == 2 and "is not an image" in result.stderr and "Traceback" not in result.stderr
    blank = tmp_path / "blank.png"
    Image.new("RGB", (200, 200), (90, 90, 90)).save(blank)
    result = _run("expclip", "image", str(blank), "--method", "projector", "--checkpoint", str(base_checkpoint))
    assert result.returncode == 2 and "no image projector" in result.stderr
    result = _run("train.mead3d", "build", "--source", str(tmp_path / "none"), "--out", str(tmp_path / "o"))
    assert result.returncode == 2 and "is not a folder" in result.stderr
