"""Atomic file replacement."""

from __future__ import annotations

from pathlib import Path

import pytest

from head.files import replace_when_done, write_text_atomic


def test_a_failed_write_keeps_the_old_file_and_leaves_no_partial(tmp_path: Path) -> None:
    target = write_text_atomic(tmp_path / "out.json", "old")
    with pytest.raises(RuntimeError), replace_when_done(target) as partial:
        partial.write_text("half")
        raise RuntimeError("crash")
    assert target.read_text() == "old" and list(tmp_path.iterdir()) == [target]
    write_text_atomic(target, "new")
    assert target.read_text() == "new" and list(tmp_path.iterdir()) == [target]
