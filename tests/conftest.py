"""Shared fixtures: the cached head rig (built by `make test`) and renderers."""

from __future__ import annotations

import os

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

from pathlib import Path

import pytest

from render.assets import resolve_mirror
from render.rig import Rig, ensure_rig, load_rig

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def rig() -> Rig:
    return load_rig(ensure_rig())


@pytest.fixture(scope="session")
def mirror() -> Path:
    """The ICT-FaceKit mirror (EXPCLIP_ASSET_MIRROR), needed by tests that read the source OBJs."""
    found = resolve_mirror()
    if found is None:
        pytest.skip("EXPCLIP_ASSET_MIRROR is not set; .ci/run points it at ../shared/assets")
    return found


@pytest.fixture(scope="session")
def renderer(rig: Rig):
    from render.renderer import HeadRenderer

    with HeadRenderer(rig, size=256, samples=0) as r:
        yield r
