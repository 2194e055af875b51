"""The package works installed, away from the source tree: ``expclip``, ``render`` and ``head`` with their
data and the released checkpoints land in a folder, and a process outside the repository that sees only
that folder finds and loads the default checkpoints."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("expclip", "render", "head")


def _setuptools_builds_wheels() -> bool:
    """setuptools builds wheels itself from 70.1; older ones need the ``wheel`` package."""
    import setuptools

    version = tuple(int(part) for part in setuptools.__version__.split(".")[:2] if part.isdigit())
    return version >= (70, 1) or importlib.util.find_spec("wheel") is not None


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("install")
    source, target = root / "source", root / "site"
    source.mkdir()
    shutil.copy(REPO / "pyproject.toml", source)  # a copy, so that the build leaves nothing in the repository
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "training-state", "ablations")
    for folder in (*PACKAGES, "checkpoints"):
        shutil.copytree(REPO / folder, source / folder, ignore=ignore)
    if _setuptools_builds_wheels():
        command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
                   "--target", str(target), str(source)]
    else:  # no wheel builder here: setuptools' build_py lays out the same files a wheel would hold
        command = [sys.executable, "-c", "from setuptools import setup; setup()", "--quiet", "build_py",
                   "--build-lib", str(target)]
    result = subprocess.run(command, cwd=source, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return target


def test_every_module_and_data_file_is_installed(installed: Path) -> None:
    def files(root: Path) -> set[str]:
        return {str(p.relative_to(root)) for package in PACKAGES for p in (root / package).rglob("*")
                if p.is_file() and "__pycache__" not in p.parts and "_checkpoints" not in p.parts}

    assert files(installed) == files(REPO)
    for name in ("expclip-small", "generator-small"):
        assert {"config.json", "model.safetensors"} <= {p.name for p in (installed / "expclip" / "_checkpoints" / name).iterdir()}


def test_an_installed_package_finds_and_loads_its_default_checkpoints(installed: Path, tmp_path: Path) -> None:
    script = """
import json, expclip
from expclip.checkpoint import load_checkpoint
from expclip.paths import default_checkpoint
found = {name: str(default_checkpoint(name)) for name in ("expclip-small", "generator-small")}
kinds = {name: type(load_checkpoint(path)).__name__ for name, path in found.items()}
weights = expclip.load().weights("a proud, beaming smile")
print(json.dumps({"module": expclip.__file__, "found": found, "kinds": kinds, "shape": list(weights.shape),
                  "smile": float(weights[0].max())}))
"""
    env = {k: v for k, v in os.environ.items() if k not in ("EXPCLIP_CHECKPOINT", "EXPCLIP_CHECKPOINTS", "PYTHONPATH")}
    env["PYTHONPATH"] = str(installed)
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert Path(report["module"]).is_relative_to(installed)
    for name, path in report["found"].items():
        assert Path(path) == installed / "expclip" / "_checkpoints" / name
    assert report["kinds"] == {"expclip-small": "ExpCLIP", "generator-small": "Generator"}
    assert report["shape"] == [1, 52] and report["smile"] > 0.1
