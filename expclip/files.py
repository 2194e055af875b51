"""Writing files so that a crash never leaves a half-written one in place."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


@contextmanager
def replace_when_done(path: str | Path) -> Iterator[Path]:
    """Yield a hidden partial file beside ``path``; it replaces ``path`` only if the block finishes.

    The earlier ``path``, if any, stays untouched until then; a failed block leaves no partial file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    try:
        yield partial
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def write_text_atomic(path: str | Path, text: str) -> Path:
    with replace_when_done(path) as partial:
        partial.write_text(text, encoding="utf-8")
    return Path(path)
