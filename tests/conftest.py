"""Shared fixtures: the cached head rig and its landmark correspondence (built by `make test`) and renderers."""

from __future__ import annotations

import os
import warnings

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

from pathlib import Path

import pytest

from head.assets import resolve_mirror
from head.rig import Rig, ensure_rig, load_rig

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session", autouse=True)
def landmark_correspondence() -> None:
    """The cached rig's MediaPipe correspondence, built once when missing (``make test`` builds it with
    ``python -m render rig``); without a cached rig it is left to the tests that need one."""
    from head.correspondence import correspondence_path
    from head.rig import default_rig_path

    if default_rig_path().is_file() and not correspondence_path().is_file():
        from render.correspondence_build import ensure_correspondence

        try:
            ensure_correspondence()
        except Exception as error:  # the tests that need it say so; the others need not fail
            warnings.warn(f"The landmark correspondence could not be built: {error}")


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
