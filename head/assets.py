"""Where the ICT-FaceKit source files come from: a local mirror, else the public repository.

The head model is ICT-FaceKit's Light model (MIT licence, USC Institute for Creative
Technologies). It is never committed: set-up reads it from a mirror directory with the public
layout (``EXPCLIP_ASSET_MIRROR`` or ``--mirror``), or downloads the files listed in
``ict_facekit_files.json`` at a pinned commit and checks each against its SHA-256.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

MANIFEST_PATH = Path(__file__).with_name("ict_facekit_files.json")
MIRROR_ENV = "EXPCLIP_ASSET_MIRROR"
CACHE_ENV = "EXPCLIP_CACHE"
SOURCE_URL_ENV = "EXPCLIP_ICT_URL"
PUBLIC_URL = "https://raw.githubusercontent.com/ICT-VGL/ICT-FaceKit/{commit}"


class AssetError(RuntimeError):
    """Raised when the head model cannot be found or fetched; the message says how to get it."""


@dataclass(frozen=True)
class Manifest:
    """The pinned ICT-FaceKit files: repository-relative path → SHA-256."""

    commit: str
    files: dict[str, str]


def load_manifest() -> Manifest:
    data = json.loads(MANIFEST_PATH.read_text())
    return Manifest(commit=data["commit"], files=dict(data["files"]))


def cache_dir() -> Path:
    """The project's cache directory (``EXPCLIP_CACHE``, else ``~/.cache/expclip``)."""
    root = os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "expclip"
    path = Path(root).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def resolve_mirror(mirror: str | Path | None = None) -> Path | None:
    """The ICT-FaceKit directory inside a mirror (flag first, then ``EXPCLIP_ASSET_MIRROR``).

    A mirror may be the ICT-FaceKit folder itself or a folder that contains ``ICT-FaceKit/``.
    Returns None when no mirror is configured.
    """
    given = mirror if mirror is not None else os.environ.get(MIRROR_ENV)
    if not given:
        return None
    root = Path(given).expanduser()
    for candidate in (root, root / "ICT-FaceKit"):
        if (candidate / "FaceXModel" / "generic_neutral_mesh.obj").is_file():
            return candidate
    raise AssetError(
        f"The asset mirror {root} has no FaceXModel/generic_neutral_mesh.obj (looked in {root} and "
        f"{root / 'ICT-FaceKit'}); point {MIRROR_ENV} or --mirror at a copy of ICT-VGL/ICT-FaceKit."
    )


def _verify(root: Path, manifest: Manifest) -> None:
    for rel, expected in manifest.files.items():
        path = root / rel
        if not path.is_file():
            raise AssetError(f"{path} is missing from the ICT-FaceKit files; the rig needs all of {MANIFEST_PATH.name}.")
        if sha256_of(path) != expected:
            raise AssetError(
                f"{path} does not match the pinned ICT-FaceKit commit {manifest.commit[:10]} (SHA-256 differs); "
                "replace it with the file from that commit."
            )


def _download(url: str, dest: Path, expected_sha256: str) -> None:
    tmp = dest.with_name(dest.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=60) as response, tmp.open("wb") as fh:
            shutil.copyfileobj(response, fh)
    except (urllib.error.URLError, OSError) as err:
        tmp.unlink(missing_ok=True)
        raise AssetError(
            f"Could not download {url} ({err}); without internet, set {MIRROR_ENV} to a local copy of "
            "ICT-VGL/ICT-FaceKit (for example ../shared/assets)."
        ) from None
    if sha256_of(tmp) != expected_sha256:
        tmp.unlink()
        raise AssetError(f"The download of {url} has the wrong SHA-256; the source may have changed or be corrupted.")
    os.replace(tmp, dest)


def fetch_sources(mirror: str | Path | None = None) -> Path:
    """Return a directory holding the pinned ICT-FaceKit files, every file checked by SHA-256.

    Order: the mirror (flag or ``EXPCLIP_ASSET_MIRROR``), else a download of the public files
    (``EXPCLIP_ICT_URL`` overrides the base URL) into the cache. Downloads resume file by file.
    """
    manifest = load_manifest()
    local = resolve_mirror(mirror)
    if local is not None:
        _verify(local, manifest)
        return local
    base = (os.environ.get(SOURCE_URL_ENV) or PUBLIC_URL).format(commit=manifest.commit).rstrip("/")
    root = cache_dir() / f"ict-facekit-{manifest.commit[:10]}"
    missing = [
        rel for rel, digest in manifest.files.items()
        if not (root / rel).is_file() or sha256_of(root / rel) != digest
    ]
    for rel in tqdm(missing, desc="Downloading ICT-FaceKit", unit="file", disable=not missing):
        dest = root / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        _download(f"{base}/{rel}", dest, manifest.files[rel])
    return root


def temporary_sibling(final: Path) -> Path:
    """A new temporary file beside ``final`` (same file system, so ``os.replace`` onto it is atomic)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=final.name + ".", suffix=".tmp")
    os.close(fd)
    return Path(tmp)
