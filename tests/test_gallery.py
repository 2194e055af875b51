"""Text → image retrieval over a folder of photos: the incremental index, search, retrieve, contact sheet."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from expclip.checkpoint import save_checkpoint
from head import arkit
from expclip.gallery import (
    EMBEDDINGS,
    IMAGE_EXTENSIONS,
    MANIFEST,
    GalleryError,
    GalleryIndex,
    Hit,
    caption_height,
    contact_sheet,
    default_index_folder,
    index_gallery,
    retrieve,
    search,
)
from expclip.image_pipeline import ImageToExpression, load_image_pipeline
from expclip.model import ExpCLIP, ExpCLIPConfig
from expclip.pipeline import TextToExpression, load

FACES = {  # relative path → expression; six files, four formats, one in a subfolder
    "neutral.png": {},
    "jaw_open.jpg": {"jawOpen": 0.8},
    "smile.png": {"mouthSmileLeft": 0.9, "mouthSmileRight": 0.9},
    "sub/blink.jpeg": {"eyeBlinkLeft": 1.0, "eyeBlinkRight": 1.0},
    "brow_up.webp": {"browInnerUp": 0.9},
    "brow_down.png": {"browDownLeft": 0.8, "browDownRight": 0.8},
}
BROKEN = {"broken.jpg", "truncated.png"}
GAIN = 300.0


def _tiny_checkpoint(directory: Path, seed: int) -> Path:
    torch.manual_seed(seed)
    model = ExpCLIP(ExpCLIPConfig(width=16, heads=2, encoder_layers=1, decoder_layers=1, embed_dim=16,
                                  projector_hidden=32, image_encoder="landmarks", image_dim=1434))
    with torch.no_grad():  # landmark features are small offsets from the neutral face: amplify them and drop the
        for layer in model.image_projector.net:  # biases, so random faces land far apart (cosines well below 1)
            if isinstance(layer, torch.nn.Linear):
                layer.bias.zero_()
        model.image_projector.net[0].weight.mul_(GAIN)
        # A face is embedded by E of its decoded weights: let D's and E's direct paths carry the differences.
        model.decoder.skip.weight.mul_(10.0)
        model.expression_encoder.skip.weight.mul_(10.0)
    return save_checkpoint(directory, model, metrics={})


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _tiny_checkpoint(tmp_path_factory.mktemp("checkpoint"), seed=0)


@pytest.fixture(scope="module")
def image_pipe(checkpoint: Path) -> ImageToExpression:
    return load_image_pipeline(checkpoint, neutral_face="rig")  # the gallery below is renders of the rig


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory, renderer) -> Path:
    """A gallery: six rendered faces, two broken images, a text file and a hidden folder."""
    root = tmp_path_factory.mktemp("source")
    for relative, weights in FACES.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(renderer.render(arkit.from_dict(weights))[..., :3]).save(path, quality=95)
    (root / "broken.jpg").write_text("not a picture\n")
    (root / "truncated.png").write_bytes((root / "neutral.png").read_bytes()[:400])
    (root / "notes.txt").write_text("ignored: not an image extension\n")
    (root / ".hidden").mkdir()
    shutil.copy(root / "smile.png", root / ".hidden" / "copy.png")
    return root


@pytest.fixture
def gallery(tmp_path: Path, source: Path) -> Path:
    return Path(shutil.copytree(source, tmp_path / "photos"))


def _embed_file(image_pipe: ImageToExpression, path: Path) -> np.ndarray:
    image, face = image_pipe.detect(path)
    return image_pipe.embed_faces([image], [face])[0].numpy()


def _assert_rows_match_files(index: GalleryIndex, image_pipe: ImageToExpression) -> None:
    """Every row is the embedding of the file its entry names."""
    for entry in index.entries:
        expected = _embed_file(image_pipe, index.gallery / entry.path)
        np.testing.assert_allclose(index.embeddings[entry.row], expected, atol=1e-5, err_msg=entry.path)


def test_first_index_embeds_every_face_and_lists_broken_files(gallery: Path, image_pipe, tmp_path: Path) -> None:
    report = index_gallery(gallery, image_pipe, progress=False, cache=tmp_path / "index")
    assert (report.total, report.embedded_now, report.reused, report.removed) == (6, 6, 0, 0)
    assert {path for path, _ in report.skipped} == BROKEN
    for path, reason in report.skipped:
        assert path in reason and reason.endswith(".") and reason.count(". ") == 0, reason
    assert report.folder == tmp_path / "index"

    index = GalleryIndex.load(report.folder)
    assert sorted(e.path for e in index.entries) == sorted(FACES)
    assert index.embeddings.dtype == np.float32 and index.embeddings.shape == (6, 16)
    np.testing.assert_allclose(np.linalg.norm(index.embeddings, axis=1), 1.0, atol=1e-5)
    _assert_rows_match_files(index, image_pipe)

    manifest = json.loads((report.folder / MANIFEST).read_text())
    assert manifest["gallery"] == str(gallery.resolve()) and manifest["encoder"] == "landmarks"
    assert manifest["embed_dim"] == 16
    entries = {e["path"]: e for e in manifest["entries"]}
    assert set(entries) == set(FACES) | BROKEN
    smile = entries["smile.png"]
    assert smile["size"] == (gallery / "smile.png").stat().st_size
    assert smile["mtime_ns"] == (gallery / "smile.png").stat().st_mtime_ns
    x0, y0, x1, y1 = smile["box"]
    assert 0 <= x0 < x1 <= 256 and 0 <= y0 < y1 <= 256 and x1 - x0 > 60
    assert "reason" in entries["broken.jpg"] and "box" not in entries["broken.jpg"]
    assert not list(report.folder.glob(".*partial"))


def test_index_command_ends_with_a_one_line_summary(gallery: Path, checkpoint: Path) -> None:
    folder = default_index_folder(gallery, load_image_pipeline(checkpoint))  # in the cache; a folder is read as photos
    try:
        result = subprocess.run([sys.executable, "-m", "expclip", "index", str(gallery), "--checkpoint",
                                 str(checkpoint)], cwd=Path(__file__).resolve().parents[1], capture_output=True,
                                text=True, timeout=600)
        assert result.returncode == 0, result.stderr[-2000:]
        *_, last = result.stdout.strip().splitlines()
        assert last == (f"Indexed 6 faces in {gallery.resolve()} (6 embedded now, 0 reused, 0 removed); 2 files skipped; "
                        f"index written to {folder}.")
        for marker in ("embeddings=", "array(", "GalleryIndex(", "Entry("):
            assert marker not in result.stdout and marker not in result.stderr
        assert {line.split(":")[0] for line in result.stderr.splitlines() if line.startswith("skipped ")} == {
            f"skipped {name}" for name in BROKEN}
        assert GalleryIndex.load(folder).embeddings.shape == (6, 16)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_reindexing_embeds_only_new_or_changed_files(gallery: Path, image_pipe, renderer, tmp_path: Path) -> None:
    cache = tmp_path / "index"
    index_gallery(gallery, image_pipe, progress=False, cache=cache)

    again = index_gallery(gallery, image_pipe, progress=False, cache=cache)
    assert (again.total, again.embedded_now, again.reused, again.removed) == (6, 0, 6, 0)
    assert {path for path, _ in again.skipped} == BROKEN

    changed = gallery / "neutral.png"
    before = GalleryIndex.load(cache)
    old_row = before.embeddings[next(e.row for e in before.entries if e.path == "neutral.png")]
    stat = changed.stat()
    Image.fromarray(renderer.render(arkit.from_dict({"mouthFunnel": 1.0, "cheekPuff": 1.0}))[..., :3]).save(changed)
    os.utime(changed, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    touched = index_gallery(gallery, image_pipe, progress=False, cache=cache)
    assert (touched.total, touched.embedded_now, touched.reused, touched.removed) == (6, 1, 5, 0)
    new_row = touched.index.embeddings[next(e.row for e in touched.index.entries if e.path == "neutral.png")]
    assert np.abs(new_row - old_row).max() > 1e-4
    _assert_rows_match_files(GalleryIndex.load(cache), image_pipe)

    (gallery / "jaw_open.jpg").unlink()
    (gallery / "broken.jpg").unlink()
    removed = index_gallery(gallery, image_pipe, progress=False, cache=cache)
    assert (removed.total, removed.embedded_now, removed.reused, removed.removed) == (5, 0, 5, 1)
    assert [path for path, _ in removed.skipped] == ["truncated.png"]
    assert "jaw_open.jpg" not in {e.path for e in GalleryIndex.load(cache).entries}

    shutil.copy(gallery / "smile.png", gallery / "sub" / "a_smile_copy.png")
    added = index_gallery(gallery, image_pipe, progress=False, cache=cache)
    assert (added.total, added.embedded_now, added.reused, added.removed) == (6, 1, 5, 0)
    _assert_rows_match_files(GalleryIndex.load(cache), image_pipe)


def test_a_damaged_or_foreign_index_is_rebuilt(gallery: Path, image_pipe, tmp_path: Path) -> None:
    cache = tmp_path / "index"
    index_gallery(gallery, image_pipe, progress=False, cache=cache)
    rows = np.load(cache / EMBEDDINGS)
    np.save(cache / EMBEDDINGS, rows[::-1].copy())  # as if a run died between the two writes
    with pytest.raises(GalleryError, match="checksum"):
        GalleryIndex.load(cache)
    with pytest.raises(GalleryError, match="index the gallery again"):
        search(cache, rows[0], k=1)
    rebuilt = index_gallery(gallery, image_pipe, progress=False, cache=cache)
    assert (rebuilt.embedded_now, rebuilt.reused) == (6, 0) and rebuilt.notes
    _assert_rows_match_files(GalleryIndex.load(cache), image_pipe)

    other = load_image_pipeline(_tiny_checkpoint(tmp_path / "retrained", seed=1), neutral_face="rig")
    moved = index_gallery(gallery, other, progress=False, cache=cache)
    assert (moved.embedded_now, moved.reused) == (6, 0)


def test_the_default_index_folder_depends_on_gallery_and_projector(gallery: Path, image_pipe, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXPCLIP_CACHE", str(tmp_path / "cache"))
    report = index_gallery(gallery, image_pipe, progress=False)
    assert report.folder == default_index_folder(gallery, image_pipe)
    assert report.folder.parent == tmp_path / "cache" / "galleries" and (report.folder / EMBEDDINGS).exists()
    other = load_image_pipeline(_tiny_checkpoint(tmp_path / "retrained", seed=1), neutral_face="rig")
    assert default_index_folder(gallery, other) != report.folder
    assert default_index_folder(gallery / "sub", image_pipe) != report.folder
    hits = search(gallery, report.index.embeddings[0], k=2)  # finds the index from the gallery folder
    assert len(hits) == 2 and hits[0].path == str(gallery.resolve() / report.index.entries[0].path)


def test_search_ranks_by_cosine_with_ties_by_path(gallery: Path, image_pipe, tmp_path: Path) -> None:
    shutil.copy(gallery / "smile.png", gallery / "a_smile_copy.png")
    report = index_gallery(gallery, image_pipe, progress=False, cache=tmp_path / "index")
    index = report.index
    for entry in index.entries:
        top, second = search(report, torch.from_numpy(index.embeddings[entry.row]), k=2)
        assert top.score == pytest.approx(1.0, abs=1e-5)
        if entry.path not in ("smile.png", "a_smile_copy.png"):
            assert top.path == str(gallery.resolve() / entry.path) and second.score < 0.95
    tied = search(index, index.embeddings[0], k=2)
    assert [Path(h.path).name for h in tied] == ["a_smile_copy.png", "smile.png"]
    assert tied[0].score == tied[1].score

    query = np.random.default_rng(0).normal(size=16).astype(np.float32) * 3.0
    hits = search(index, query, k=4)
    expected = index.embeddings.astype(np.float64) @ query / np.linalg.norm(query)
    by_path = {str(gallery.resolve() / e.path): expected[e.row] for e in index.entries}
    assert len(hits) == 4 and all(isinstance(h, Hit) for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert [h.score for h in hits] == pytest.approx(sorted(by_path.values(), reverse=True)[:4], abs=1e-6)
    for hit in hits:
        assert hit.score == pytest.approx(by_path[hit.path], abs=1e-6) and len(hit.box) == 4

    everything = search(index, query[None], k=50)
    assert len(everything) == 7 and {h.path for h in everything} == set(by_path)


def test_bad_arguments_give_one_sentence_errors(gallery: Path, image_pipe, tmp_path: Path) -> None:
    report = index_gallery(gallery, image_pipe, progress=False, cache=tmp_path / "index")
    for k in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="k must be a whole number of at least 1"):
            search(report, report.index.embeddings[0], k=k)
    with pytest.raises(ValueError, match="16-d"):
        search(report, np.ones(8, np.float32), k=1)

    missing = tmp_path / "nowhere"
    with pytest.raises(ValueError, match="does not exist") as error:
        index_gallery(missing, image_pipe, progress=False, cache=tmp_path / "other")
    assert str(missing) in str(error.value) and all(ext in str(error.value) for ext in IMAGE_EXTENSIONS)
    empty = tmp_path / "empty"
    (empty / ".hidden").mkdir(parents=True)
    (empty / "notes.txt").write_text("no pictures here")
    shutil.copy(gallery / "smile.png", empty / ".hidden" / "face.png")
    with pytest.raises(ValueError, match="holds no images") as error:
        index_gallery(empty, image_pipe, progress=False, cache=tmp_path / "other")
    assert str(empty) in str(error.value) and ".tiff" in str(error.value)
    with pytest.raises(ValueError, match="no image projector"):
        index_gallery(gallery, ImageToExpression(), progress=False, cache=tmp_path / "other")


def test_retrieve_ranks_the_gallery_for_a_text_query(gallery: Path, checkpoint: Path, image_pipe,
                                                     tmp_path: Path) -> None:
    text_pipe = load(checkpoint)
    assert isinstance(text_pipe, TextToExpression)
    hits = retrieve("a wide, happy smile", gallery, text_pipe, image_pipe, k=3, progress=False,
                    cache=tmp_path / "index")
    assert len(hits) == 3
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    index = GalleryIndex.load(tmp_path / "index")
    z = text_pipe.embed(["a wide, happy smile"])[0].numpy()
    expected = sorted((float(index.embeddings[e.row] @ z) for e in index.entries), reverse=True)[:3]
    assert [h.score for h in hits] == pytest.approx(expected, abs=1e-5)
    assert len(retrieve("a frown", gallery, text_pipe, image_pipe, k=20, progress=False,
                        cache=tmp_path / "index")) == 6
    with pytest.raises(ValueError, match="expression to look for"):
        retrieve("  ", gallery, text_pipe, image_pipe, progress=False, cache=tmp_path / "index")


def test_contact_sheet_lays_out_captioned_faces(gallery: Path, image_pipe, tmp_path: Path) -> None:
    report = index_gallery(gallery, image_pipe, progress=False, cache=tmp_path / "index")
    hits = search(report, report.index.embeddings[0], k=5)
    sheet = contact_sheet(hits, columns=3, thumb=64)
    bar = caption_height(64)
    assert sheet.dtype == np.uint8 and sheet.shape == (2 * (64 + bar), 3 * 64, 3)
    first = sheet[:64, :64].astype(int)
    assert first.std() > 10  # a face, not an empty tile
    assert (sheet[64:64 + bar, :64] < 128).any()  # the caption is drawn
    assert (sheet[64 + bar:, 128:] == 255).all()  # the sixth cell stays empty

    (gallery / "neutral.png").unlink()  # a file gone since indexing still gives a tile
    gone = [Hit(str(gallery / "neutral.png"), 0.5, None)]
    assert contact_sheet(gone, thumb=32).shape == (32 + caption_height(32), 32, 3)
    with pytest.raises(ValueError, match="no hits"):
        contact_sheet([])
