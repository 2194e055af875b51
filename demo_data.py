"""The data the demo shows besides its models: TEAD's test split (the expression map), a gallery of
synthetic MEAD-3D test renders (text → image retrieval) and a spoken sentence for the speech examples.

A checkout that has built the full sets (``data/tead``, ``data/mead3d-synthetic``) uses them. A fresh
machine or a Hugging Face Space has neither, so the demo builds small ones itself, once, into the
project cache (``$EXPCLIP_CACHE/demo-data``, default ``~/.cache/expclip/demo-data``): a TEAD of
``TEAD_SIZE`` samples (about 20 s) and ``GALLERY_SIZE`` renders of its test expressions (about 15 s).
Both builds are safe to interrupt: TEAD is written to a temporary folder and renamed when complete,
and the gallery builder resumes where it stopped. :meth:`DemoData.start` builds the map and the gallery
in a background thread, so that a first start serves at once.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import threading
from pathlib import Path

log = logging.getLogger("expclip.app")

REPO = Path(__file__).resolve().parent
TEAD_SIZE = 16_000  # its 10 % test split gives the 1 500 points of the map
GALLERY_SIZE = 96


class Unavailable(RuntimeError):
    """A feature this server cannot offer (a checkpoint or data set it was started without, or not built yet)."""


class DemoData:
    """Paths of the demo's TEAD test split and gallery, building small ones on first use when missing.

    ``tead_test()`` and ``gallery()`` block until their data exists; they are safe to call from
    several threads (each build runs once).
    """

    def __init__(self, data_root: str | Path | None = None, cache: str | Path | None = None,
                 tead_size: int = TEAD_SIZE, gallery_size: int = GALLERY_SIZE) -> None:
        from head.assets import cache_dir

        self.data_root = Path(data_root) if data_root else REPO / "data"
        self.cache = Path(cache) if cache else cache_dir() / "demo-data"
        self.tead_size, self.gallery_size = tead_size, gallery_size
        self._tead_lock = threading.Lock()
        self._gallery_lock = threading.Lock()
        self._map = None  # an ExpressionMap, or the Unavailable that says why there is none
        self._map_ready = threading.Event()
        self._background: threading.Thread | None = None
        self._background_lock = threading.Lock()

    def start(self, model, with_gallery: bool = True) -> None:
        """Build the expression map of ``model`` (an ExpCLIP), then the gallery, in a background thread (once)."""
        with self._background_lock:
            if self._background is None:
                self._background = threading.Thread(target=self._build, args=(model, with_gallery), daemon=True,
                                                    name="demo-data")
                self._background.start()

    def _build(self, model, with_gallery: bool) -> None:
        from expclip.manifold import ExpressionMap

        try:
            self._map = ExpressionMap.from_tead(model, self.tead_test())
        except Exception as error:
            log.exception("the expression map failed")
            self._map = Unavailable(f"The manifold could not be computed ({error}).")
        finally:
            self._map_ready.set()
        if with_gallery:
            try:
                self.gallery()
            except Exception:  # retrieval builds it again on request and shows the error then
                log.exception("building the demo gallery failed")

    def map_ready(self) -> bool:
        return self._map_ready.is_set()

    def expression_map(self, timeout: float | None = None):
        """The :class:`expclip.manifold.ExpressionMap` once :meth:`start` built it (waiting up to ``timeout`` s)."""
        if self._background is None:
            raise Unavailable("The expression map has not been started; call DemoData.start(model) first.")
        if not self._map_ready.wait(timeout):
            raise Unavailable("The expression map is still being computed; try again in a few seconds.")
        if isinstance(self._map, Unavailable):
            raise self._map
        return self._map

    def speech_example(self, folder: Path) -> Path | None:
        """A short spoken sentence: the talking corpus's first test clip when built, else one spoken by eSpeak NG."""
        corpus = self.data_root / "talking" / "audio" / "test"
        found = next(iter(sorted(corpus.glob("*.wav"))), None) if corpus.is_dir() else None
        if found is not None or not shutil.which("espeak-ng"):
            return found
        speech = Path(folder) / "hello.wav"
        subprocess.run(["espeak-ng", "-w", str(speech), "Hello there, this is a short test of the talking head."],
                       capture_output=True, check=False, timeout=30)
        return speech if speech.exists() and speech.stat().st_size > 1000 else None

    @property
    def tead_dir(self) -> Path:
        full = self.data_root / "tead"
        return full if (full / "test.jsonl").is_file() else self.cache / "tead"

    @property
    def gallery_dir(self) -> Path:
        """The synthetic MEAD-3D folder (``images/test`` holds the gallery)."""
        full = self.data_root / "mead3d-synthetic"
        return full if (full / "images" / "test").is_dir() else self.cache / "mead3d-synthetic"

    def gallery_ready(self) -> bool:
        folder = self.gallery_dir
        return folder != self.cache / "mead3d-synthetic" or (folder / "meta.json").is_file()

    def tead_test(self) -> Path:
        """TEAD's ``test.jsonl``, building a ``tead_size`` TEAD in the cache if there is none."""
        with self._tead_lock:
            folder = self.tead_dir
            if not (folder / "test.jsonl").is_file():
                self._build_tead(folder)
            return folder / "test.jsonl"

    def gallery(self) -> Path:
        """The folder of gallery images, rendering ``gallery_size`` test expressions if there is none."""
        with self._gallery_lock:
            folder = self.gallery_dir
            if not self.gallery_ready():
                self.tead_test()
                self._build_gallery(folder)
            return folder / "images" / "test"

    def _build_tead(self, folder: Path) -> None:
        from expclip.tead_offline import OfflineConfig, build_offline

        for stale in folder.parent.glob(folder.name + ".partial-*"):  # left by killed processes
            pid = stale.name.rsplit("-", 1)[-1]
            if not pid.isdigit() or int(pid) == os.getpid() or not _alive(int(pid)):
                shutil.rmtree(stale, ignore_errors=True)
        partial = folder.with_name(folder.name + f".partial-{os.getpid()}")
        build_offline(OfflineConfig(size=self.tead_size, seed=0), partial, progress=False)
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(partial, folder)

    def _build_gallery(self, folder: Path) -> None:
        from expclip.mead3d_synthetic import SyntheticConfig, build_synthetic
        from render.renderer import HeadRenderer

        build_synthetic(SyntheticConfig(tead=str(self.tead_dir), train_size=0,
                                        test_size=self.gallery_size), folder,
                        progress=False, renderer=HeadRenderer)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True
