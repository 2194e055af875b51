"""Text → image retrieval over a folder of photos: :func:`index_gallery`, :func:`search`, :func:`retrieve`.

    from expclip import load
    from expclip.image_pipeline import load_image_pipeline
    from expclip.gallery import retrieve, contact_sheet
    hits = retrieve("a proud, beaming smile", "~/Photos", load(), load_image_pipeline(), k=8)
    sheet = contact_sheet(hits)                 # (H, W, 3) uint8, each face captioned "#rank score"

Every face photo is read once as the Image tab reads it (:meth:`~expclip.image_pipeline.ImageToExpression.read`)
and its weights embedded into the joint space by the expression encoder E (text queries meet them there, as
in training), and kept in an index folder, by default ``cache_dir()/galleries/<hash of the folder>-<hash of the checkpoint>``:

* ``embeddings.npy``: float32 ``(N, embed_dim)``, unit rows, row ``i`` ↔ the entry whose ``row`` is ``i``;
* ``manifest.json``: the gallery folder, encoder name, ``embed_dim``, the checkpoint identity (a hash
  of the weights and calibration the reading uses, so a retrained model starts a new index), a checksum of the
  embeddings, and one entry per image file: relative path, size, ``mtime_ns``, face box and row, or
  the one-sentence reason the file was skipped.

Re-indexing embeds only new or changed files (size or mtime differs), drops deleted ones and reuses
the rest. The embeddings are written first and the manifest (which carries their checksum) last,
each through a partial file, so a kill mid-run leaves the earlier index or one that is recognised
as stale and rebuilt; progress is saved every :data:`SAVE_EVERY_S` seconds and when a run stops.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont, ImageOps
from tqdm import tqdm

from expclip.images import ImageError, load_image
from expclip.landmarks import FaceNotFound
from head.files import replace_when_done, write_text_atomic

if TYPE_CHECKING:
    from expclip.image_pipeline import ImageToExpression
    from expclip.pipeline import TextToExpression

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff")
MANIFEST, EMBEDDINGS = "manifest.json", "embeddings.npy"
INDEX_VERSION = 4  # 2: faces embedded by E of their reading, not by P_img; 3: distant faces found too; 4: steadied points
BATCH_SIZE = 32      # faces per call of the image encoder
SAVE_EVERY_S = 60.0  # during a long run, write what is done at least this often

Box = tuple[float, float, float, float]


class GalleryError(ValueError):
    """A gallery folder or index that cannot be used (missing, empty, unreadable or stale)."""


@dataclass(frozen=True)
class Entry:
    """One image file of a gallery: ``path`` relative to the gallery (POSIX), its size and mtime.

    An indexed file has its face ``box`` ``(x0, y0, x1, y1)`` (pixels of the upright image) and its
    ``row`` in the embeddings; a skipped file has ``reason`` instead.
    """

    path: str
    size: int
    mtime_ns: int
    box: Box | None = None
    row: int | None = None
    reason: str | None = None

    def to_json(self) -> dict:
        data: dict = {"path": self.path, "size": self.size, "mtime_ns": self.mtime_ns}
        if self.reason is None:
            data.update(row=self.row, box=[round(v, 1) for v in self.box])
        else:
            data["reason"] = self.reason
        return data

    @classmethod
    def from_json(cls, data: dict) -> Entry:
        box = tuple(float(v) for v in data["box"]) if data.get("box") is not None else None
        return cls(str(data["path"]), int(data["size"]), int(data["mtime_ns"]), box,
                   data.get("row"), data.get("reason"))


@dataclass
class GalleryIndex:
    """A loaded index: ``embeddings (N, embed_dim)`` float32 and the ``N`` indexed entries in row order.

    ``skipped`` holds the files that gave no face, with their reasons.
    """

    gallery: Path
    folder: Path
    encoder: str
    embed_dim: int
    checkpoint: str
    embeddings: np.ndarray
    entries: list[Entry]
    skipped: list[Entry] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.entries)

    def absolute(self, entry: Entry) -> str:
        return str(self.gallery / entry.path)

    @classmethod
    def load(cls, folder: str | Path) -> GalleryIndex:
        """Read ``manifest.json`` and ``embeddings.npy`` of an index folder (or a :class:`GalleryError`)."""
        folder = Path(folder).expanduser()
        try:
            manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise GalleryError(f"{folder} holds no gallery index ({MANIFEST} is missing); "
                               "build one with index_gallery().") from None
        except (OSError, json.JSONDecodeError) as error:
            raise GalleryError(f"The gallery index in {folder} is unreadable ({error}); "
                               "index the gallery again.") from None
        try:
            return cls._from_manifest(folder, manifest)
        except (KeyError, TypeError, ValueError, OSError) as error:
            raise GalleryError(f"The gallery index in {folder} is damaged or out of date ({error}); "
                               "index the gallery again.") from None

    @classmethod
    def _from_manifest(cls, folder: Path, manifest: dict) -> GalleryIndex:
        if manifest.get("version") != INDEX_VERSION:
            raise ValueError(f"format version {manifest.get('version')}, expected {INDEX_VERSION}")
        entries = [Entry.from_json(e) for e in manifest["entries"]]
        indexed = sorted((e for e in entries if e.reason is None), key=lambda e: e.row)
        embeddings = np.load(folder / EMBEDDINGS, allow_pickle=False)
        embed_dim = int(manifest["embed_dim"])
        if embeddings.dtype != np.float32 or embeddings.shape != (len(indexed), embed_dim):
            raise ValueError(f"{EMBEDDINGS} is {embeddings.dtype} {embeddings.shape}, the manifest expects "
                             f"float32 ({len(indexed)}, {embed_dim})")
        if [e.row for e in indexed] != list(range(len(indexed))):
            raise ValueError("the entries' rows are not 0..N-1")
        if _checksum(embeddings) != manifest["embeddings_sha256"]:
            raise ValueError(f"{EMBEDDINGS} does not match the manifest's checksum")
        return cls(Path(manifest["gallery"]), folder, str(manifest["encoder"]), embed_dim,
                   str(manifest["checkpoint"]), embeddings, indexed, [e for e in entries if e.reason is not None])

    def save(self) -> None:
        """Write the embeddings, then the manifest that vouches for them (each atomically)."""
        with replace_when_done(self.folder / EMBEDDINGS) as partial, partial.open("wb") as fh:
            np.save(fh, np.ascontiguousarray(self.embeddings, np.float32))
        everything = sorted([*self.entries, *self.skipped], key=lambda e: e.path)
        manifest = {
            "version": INDEX_VERSION, "gallery": str(self.gallery), "encoder": self.encoder,
            "embed_dim": self.embed_dim, "checkpoint": self.checkpoint, "count": len(self.entries),
            "embeddings_sha256": _checksum(self.embeddings), "entries": [e.to_json() for e in everything],
        }
        write_text_atomic(self.folder / MANIFEST, json.dumps(manifest, indent=1) + "\n")


@dataclass
class IndexReport:
    """What :func:`index_gallery` did.

    ``total`` faces are in the index now: ``embedded_now`` new or changed files plus ``reused``
    unchanged ones; ``removed`` indexed files were gone; ``skipped`` lists ``(relative path, reason)``.
    """

    total: int
    embedded_now: int
    reused: int
    removed: int
    skipped: list[tuple[str, str]]
    folder: Path
    index: GalleryIndex = field(repr=False)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for a person, e.g. "Indexed 6 faces in photos (2 embedded now, 4 reused, 1 removed); 1 file
        skipped; index written to ~/.cache/expclip/galleries/…"."""
        skipped = f"; {len(self.skipped)} file{'s' * (len(self.skipped) != 1)} skipped" if self.skipped else ""
        return (f"Indexed {self.total} face{'s' * (self.total != 1)} in {self.index.gallery} ({self.embedded_now} "
                f"embedded now, {self.reused} reused, {self.removed} removed){skipped}; index written to {self.folder}.")


@dataclass(frozen=True)
class Hit:
    """One search result: the image's absolute ``path``, cosine ``score`` in [-1, 1] and face ``box``."""

    path: str
    score: float
    box: Box | None


# ----------------------------------------------------------------------------------------------- helpers

def _checksum(embeddings: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(embeddings, np.float32).tobytes()).hexdigest()


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def checkpoint_identity(image_pipe: ImageToExpression) -> str:
    """A hash of what a face's embedding depends on: the image encoder's name, the weights of the image projector,
    the decoder and the expression encoder, the image calibration and the neutral face photos are read against
    (changes when any is retrained or the pipeline reads renders instead)."""
    _require_projector(image_pipe)
    model = image_pipe.model
    digest = hashlib.sha256(image_pipe.encoder.name.encode("utf-8"))
    for part, module in (("image_projector", model.image_projector), ("decoder", model.decoder),
                         ("expression_encoder", model.expression_encoder)):
        for key, tensor in sorted(module.state_dict().items()):
            tensor = tensor.detach().cpu().contiguous()
            digest.update(f"{part}.{key}:{tensor.dtype}:{tuple(tensor.shape)}".encode())
            digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    for zone in (image_pipe.calibration.asymmetry, image_pipe.calibration.neutral):
        digest.update(np.asarray(zone, np.float64).tobytes())
    offsets = image_pipe.real_face_offsets()  # photos and renders are read against different neutral faces
    digest.update(b"rig" if offsets is None else np.asarray(offsets, np.float64).tobytes())
    return digest.hexdigest()


def default_index_folder(directory: str | Path, image_pipe: ImageToExpression) -> Path:
    """``cache_dir()/galleries/<hash of the resolved folder>-<hash of the checkpoint identity>``."""
    from head.assets import cache_dir

    resolved = Path(directory).expanduser().resolve()
    return cache_dir() / "galleries" / f"{_short_hash(str(resolved))}-{checkpoint_identity(image_pipe)[:12]}"


def _require_projector(image_pipe: ImageToExpression) -> None:
    if not image_pipe.has_projector:
        raise GalleryError("This checkpoint has no image projector, so photos cannot be placed in the joint space; "
                           "train one with `python -m train.expclip fit-image` or use the released checkpoint.")


def _accepted() -> str:
    return ", ".join(IMAGE_EXTENSIONS)


def scan_gallery(directory: str | Path) -> dict[str, os.stat_result]:
    """Image files under ``directory`` (recursive; hidden folders and files skipped) → relative path → stat.

    Raises :class:`GalleryError` when the folder is missing or holds no image files.
    """
    root = Path(directory).expanduser()
    if not root.is_dir():
        what = "is not a folder" if root.exists() else "does not exist"
        raise GalleryError(f"The gallery {root} {what}; give a folder of photos ({_accepted()}).")
    found: dict[str, os.stat_result] = {}
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
        for name in sorted(files):
            if name.startswith(".") or not name.lower().endswith(IMAGE_EXTENSIONS):
                continue
            path = Path(folder) / name
            try:
                found[path.relative_to(root).as_posix()] = path.stat()
            except OSError:
                continue  # vanished or a broken link between listing and stat
    if not found:
        raise GalleryError(f"The gallery {root} holds no images; accepted files end in {_accepted()}.")
    return found


def _previous_index(folder: Path, gallery: Path, checkpoint: str, notes: list[str]) -> GalleryIndex | None:
    """The earlier index in ``folder`` when it is readable and made for this gallery and checkpoint."""
    if not (folder / MANIFEST).exists():
        return None
    try:
        index = GalleryIndex.load(folder)
    except GalleryError as error:
        notes.append(f"{error} It was rebuilt.")
        return None
    if index.checkpoint != checkpoint or index.gallery != gallery:
        notes.append(f"The index in {folder} was made for another gallery or checkpoint; it was rebuilt.")
        return None
    return index


def _unchanged(entry: Entry, stat: os.stat_result | None) -> bool:
    return stat is not None and entry.size == stat.st_size and entry.mtime_ns == stat.st_mtime_ns


def _read_reason(error: Exception, name: str) -> str:
    if isinstance(error, (ImageError, FaceNotFound)):
        return str(error)
    detail = getattr(error, "strerror", None) or str(error)
    return f"{name} could not be read ({detail})."


class _Builder:
    """The index being built: reused rows, rows embedded so far, and skipped files."""

    def __init__(self, base: GalleryIndex) -> None:
        self.base = base
        self.rows: list[np.ndarray] = []
        self.entries: list[Entry] = []
        self.skipped: list[Entry] = []
        self.embedded = 0

    def add(self, entry: Entry, embedding: np.ndarray) -> None:
        self.entries.append(entry)
        self.rows.append(np.asarray(embedding, np.float32))

    def snapshot(self) -> GalleryIndex:
        order = sorted(range(len(self.entries)), key=lambda i: self.entries[i].path)
        entries = [replace(self.entries[i], row=row) for row, i in enumerate(order)]
        embeddings = (np.stack([self.rows[i] for i in order]) if order
                      else np.zeros((0, self.base.embed_dim), np.float32))
        return GalleryIndex(self.base.gallery, self.base.folder, self.base.encoder, self.base.embed_dim,
                            self.base.checkpoint, embeddings, entries, sorted(self.skipped, key=lambda e: e.path))


def _embed_pending(builder: _Builder, pending: list[tuple[str, os.stat_result]], image_pipe: ImageToExpression,
                   progress: bool) -> None:
    """Detect and embed the pending files in batches, saving progress every :data:`SAVE_EVERY_S` seconds."""
    root, last_save = builder.base.gallery, time.monotonic()
    batch: list[tuple[Entry, np.ndarray, object]] = []

    def flush() -> None:
        if batch:
            z = image_pipe.embed_faces([image for _, image, _ in batch], [face for _, _, face in batch])
            for (entry, _, _), row in zip(batch, z.float().numpy(), strict=True):
                builder.add(entry, row)
            builder.embedded += len(batch)
            batch.clear()

    for relative, stat in tqdm(pending, desc="Indexing faces", unit="img", disable=not progress):
        try:
            image, face = image_pipe.detect(root / relative, name=relative)
        except (ImageError, FaceNotFound, OSError) as error:
            reason = _read_reason(error, relative)
            builder.skipped.append(Entry(relative, stat.st_size, stat.st_mtime_ns, reason=reason))
            continue
        box = tuple(round(float(v), 1) for v in face.box)
        batch.append((Entry(relative, stat.st_size, stat.st_mtime_ns, box=box), image, face))
        if len(batch) >= BATCH_SIZE:
            flush()
            if time.monotonic() - last_save >= SAVE_EVERY_S:
                builder.snapshot().save()
                last_save = time.monotonic()
    flush()


# ------------------------------------------------------------------------------------------------ public

def index_gallery(directory: str | Path, image_pipe: ImageToExpression, progress: bool = True,
                  cache: Path | None = None) -> IndexReport:
    """Bring the face index of a folder of photos up to date and return what was done.

    Args:
        directory: the gallery; searched recursively for :data:`IMAGE_EXTENSIONS` (hidden folders skipped).
        image_pipe: an image pipeline with an image projector (``P_img``).
        progress: show a tqdm bar while embedding.
        cache: the index folder (default :func:`default_index_folder`).

    Files that are not images, are damaged or show no usable face are listed in ``skipped`` with
    their reason and do not stop the run. Raises :class:`GalleryError` (a ``ValueError``) when the
    folder is missing or holds no images, or the checkpoint has no image projector.
    """
    _require_projector(image_pipe)
    gallery = Path(directory).expanduser().resolve()
    files = scan_gallery(gallery)
    checkpoint = checkpoint_identity(image_pipe)
    folder = Path(cache).expanduser() if cache is not None else default_index_folder(gallery, image_pipe)
    notes: list[str] = []
    embed_dim = int(image_pipe.model.config.embed_dim)
    previous = _previous_index(folder, gallery, checkpoint, notes)
    base = previous or GalleryIndex(gallery, folder, image_pipe.encoder.name, embed_dim, checkpoint,
                                    np.zeros((0, embed_dim), np.float32), [])

    builder = _Builder(base)
    for entry in base.entries:
        if _unchanged(entry, files.get(entry.path)):
            builder.add(entry, base.embeddings[entry.row])
    builder.skipped = [e for e in base.skipped if _unchanged(e, files.get(e.path))]
    reused = len(builder.entries)
    removed = sum(1 for e in base.entries if e.path not in files)
    known = {e.path for e in (*builder.entries, *builder.skipped)}
    pending = [(path, stat) for path, stat in files.items() if path not in known]

    try:
        _embed_pending(builder, pending, image_pipe, progress)
    finally:
        index = builder.snapshot()
        if previous is None or index.entries != base.entries or index.skipped != base.skipped:
            index.save()
    return IndexReport(len(index), builder.embedded, reused, removed,
                       [(e.path, e.reason) for e in index.skipped], folder, index, notes)


def find_index(directory: str | Path) -> GalleryIndex:
    """The index of a gallery folder in the default cache (or an index folder itself)."""
    path = Path(directory).expanduser()
    if (path / MANIFEST).exists():
        return GalleryIndex.load(path)
    from head.assets import cache_dir

    if not path.is_dir():
        raise GalleryError(f"The gallery {path} does not exist; give a folder of photos ({_accepted()}).")
    prefix = _short_hash(str(path.resolve())) + "-"
    root = cache_dir() / "galleries"
    found = sorted(p for p in root.glob(prefix + "*") if (p / MANIFEST).exists()) if root.is_dir() else []
    if not found:
        raise GalleryError(f"The gallery {path} has not been indexed yet; run index_gallery() (or retrieve()) first.")
    if len(found) > 1:
        raise GalleryError(f"The gallery {path} has {len(found)} indexes (one per checkpoint) in {root}; "
                           "pass the index folder or the IndexReport of the checkpoint you mean.")
    return GalleryIndex.load(found[0])


def _query_vector(query: torch.Tensor | np.ndarray, embed_dim: int) -> np.ndarray:
    if isinstance(query, torch.Tensor):
        query = query.detach().float().cpu().numpy()
    vector = np.asarray(query, np.float32)
    if vector.ndim == 2 and vector.shape[0] == 1:
        vector = vector[0]
    if vector.shape != (embed_dim,):
        raise GalleryError(f"The query has shape {tuple(vector.shape)}; this index holds {embed_dim}-d embeddings, "
                           f"so give one ({embed_dim},) vector from the same checkpoint.")
    norm = float(np.linalg.norm(vector))
    if not math.isfinite(norm) or norm == 0.0:
        raise GalleryError("The query embedding is zero or not finite; give a real embedding.")
    return vector / norm


def _check_k(k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise GalleryError(f"k must be a whole number of at least 1 (got {k!r}).")
    return int(k)


def search(index: GalleryIndex | IndexReport | str | Path, query: torch.Tensor | np.ndarray, k: int = 8) -> list[Hit]:
    """The ``k`` indexed faces closest to a joint-space ``query`` ``(D,)`` (or ``(1, D)``).

    Args:
        index: a :class:`GalleryIndex`, an :class:`IndexReport`, an index folder, or a gallery folder
            indexed in the default cache.
        query: a text, expression or image embedding from the same checkpoint; normalised here.
        k: how many hits (at least 1; more than the gallery holds returns all).

    Returns:
        hits by descending cosine score, ties by path.
    """
    k = _check_k(k)
    if isinstance(index, IndexReport):
        index = index.index
    elif not isinstance(index, GalleryIndex):
        index = find_index(index)
    vector = _query_vector(query, index.embed_dim)
    if not len(index):
        return []
    rows = index.embeddings.astype(np.float64)
    # Rounded so that copies of one photo tie exactly: their embeddings can differ in the last bits
    # with the batch they were embedded in.
    scores = np.round(rows @ vector / np.maximum(np.linalg.norm(rows, axis=1), 1e-12), 6)
    paths = np.array([e.path for e in index.entries])
    order = np.lexsort((paths, -scores))[:k]
    return [Hit(index.absolute(index.entries[i]), float(scores[i]), index.entries[i].box) for i in order]


def retrieve(query_text: str, directory: str | Path, text_pipe: TextToExpression, image_pipe: ImageToExpression,
             k: int = 8, progress: bool = True, cache: Path | None = None) -> list[Hit]:
    """Index ``directory`` (incrementally), embed ``query_text`` with ``text_pipe`` and return the top ``k`` faces.

    ``text_pipe`` and ``image_pipe`` must come from the same checkpoint (one joint space).
    """
    k = _check_k(k)
    if not isinstance(query_text, str) or not query_text.strip():
        raise GalleryError("Give the expression to look for as text, e.g. 'a proud, beaming smile'.")
    _require_projector(image_pipe)
    if text_pipe.model.config.embed_dim != image_pipe.model.config.embed_dim:
        raise GalleryError("The text and image pipelines come from different checkpoints (their embedding sizes "
                           "differ); load both from the same one.")
    report = index_gallery(directory, image_pipe, progress=progress, cache=cache)
    return search(report, text_pipe.embed([query_text])[0], k)


# --------------------------------------------------------------------------------------------- contact sheet

def caption_height(thumb: int) -> int:
    """Pixels of the caption bar under each thumbnail of :func:`contact_sheet`."""
    return max(14, thumb // 7)


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType
        return ImageFont.load_default()


def _crop_box(image: np.ndarray, box: Box | None, margin: float = 0.25) -> np.ndarray:
    """The face box grown by ``margin`` on each side and made square (clipped), or the whole image."""
    if box is None:
        return image
    x0, y0, x1, y1 = box
    side = max(x1 - x0, y1 - y0) * (1 + 2 * margin)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    height, width = image.shape[:2]
    left, top = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
    right, bottom = int(min(width, cx + side / 2)), int(min(height, cy + side / 2))
    return image[top:bottom, left:right] if right - left >= 2 and bottom - top >= 2 else image


def _thumbnail(hit: Hit, thumb: int) -> Image.Image:
    """The hit's face (or whole image) letterboxed on grey to ``thumb × thumb``; a grey tile if unreadable."""
    tile = Image.new("RGB", (thumb, thumb), (235, 235, 235))
    try:
        picture = Image.fromarray(_crop_box(load_image(hit.path), hit.box))
    except (ImageError, OSError):
        ImageDraw.Draw(tile).text((thumb // 2, thumb // 2), "unreadable", fill=(120, 120, 120),
                                  font=_font(max(10, thumb // 12)), anchor="mm")
        return tile
    picture = ImageOps.contain(picture, (thumb, thumb), Image.Resampling.LANCZOS)
    tile.paste(picture, ((thumb - picture.width) // 2, (thumb - picture.height) // 2))
    return tile


def contact_sheet(hits: Sequence[Hit], columns: int = 4, thumb: int = 192) -> np.ndarray:
    """A grid of the hits' faces, each captioned "#rank  score".

    Returns:
        RGB uint8 ``(rows * (thumb + caption_height(thumb)), min(columns, len(hits)) * thumb, 3)``
        with ``rows = ceil(len(hits) / columns)``.
    """
    if not hits:
        raise GalleryError("There are no hits to show; the gallery held no face that could be indexed.")
    if columns < 1 or not 16 <= thumb <= 2048:
        raise GalleryError(f"Use at least 1 column and thumbnails of 16–2048 pixels (got {columns} and {thumb}).")
    columns = min(columns, len(hits))
    bar = caption_height(thumb)
    rows = math.ceil(len(hits) / columns)
    sheet = Image.new("RGB", (columns * thumb, rows * (thumb + bar)), (255, 255, 255))
    draw, font = ImageDraw.Draw(sheet), _font(max(10, int(bar * 0.7)))
    for rank, hit in enumerate(hits, start=1):
        x, y = ((rank - 1) % columns) * thumb, ((rank - 1) // columns) * (thumb + bar)
        sheet.paste(_thumbnail(hit, thumb), (x, y))
        draw.text((x + thumb // 2, y + thumb + bar // 2), f"#{rank}  {hit.score:.3f}", fill=(30, 30, 30),
                  font=font, anchor="mm")
    return np.asarray(sheet, dtype=np.uint8).copy()
