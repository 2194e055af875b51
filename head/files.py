"""Writing files so that a crash never leaves a half-written one in place."""

from __future__ import annotations

import json
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


def drop_torn_line(path: str | Path) -> None:
    """Cut a last line left unfinished by a crash, so that appending starts on a fresh line."""
    path = Path(path)
    if not path.is_file():
        return
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        with path.open("r+b") as fh:
            fh.truncate(data.rfind(b"\n") + 1)


def append_json_line(path: str | Path, record: dict) -> None:
    """Append one JSON line and make it durable before the caller goes on."""
    with Path(path).open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(record) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def read_json_lines(path: str | Path) -> Iterator[dict]:
    """The complete JSON lines of ``path``; a line torn by a crash is skipped."""
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            yield json.loads(line)
        except json.JSONDecodeError:
            continue
