"""Every third-party package the code imports is pinned: the product's in requirements.txt, the tests' and
tools' in requirements.txt or requirements-dev.txt. Imports are read with ``ast`` (nothing is imported)."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# What runs in the product (the app, the CLIs, the library, training): requirements.txt only.
RUNTIME = ["expclip", "render", "head", "train", "app.py", "demo_data.py"]
# Measurements, scripts and tests: requirements.txt or requirements-dev.txt.
TOOLS = ["benchmarks", "scripts", "tests"]
# Not stdlib, yet no pin: setuptools comes with every virtualenv and builds the package (pyproject.toml);
# tests/test_install.py works with whichever version is there.
UNPINNED = {"setuptools"}


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> dict[str, str]:
    """``name==version`` lines of a requirements file → {canonical name: version}; any other form fails."""
    found = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;,]+)", line)
        assert match, f"{path.name}:{number}: {line!r} is not pinned as name==version"
        found[_canonical(match[1])] = match[2]
    return found


def _sources(place: str) -> list[Path]:
    path = REPO / place
    files = [path] if path.is_file() else sorted(path.rglob("*.py"))
    return [f for f in files if "node_modules" not in f.parts]


def _own_names(file: Path) -> set[str]:
    """The project's own top-level names as seen from ``file``: its packages, root modules, sibling modules."""
    names = {p.name for p in REPO.iterdir() if (p / "__init__.py").is_file()}
    names |= {p.stem for p in REPO.glob("*.py")} | {p.stem for p in file.parent.glob("*.py")}
    return names


def imported(places: list[str]) -> dict[str, set[str]]:
    """Third-party top-level module names imported anywhere in ``places`` → the files importing them."""
    found: dict[str, set[str]] = {}
    for place in places:
        for file in _sources(place):
            own = _own_names(file)
            for node in ast.walk(ast.parse(file.read_text(), filename=str(file))):
                if isinstance(node, ast.Import):
                    modules = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules = [node.module]
                else:
                    continue
                for module in modules:
                    top = module.split(".", 1)[0]
                    if top not in sys.stdlib_module_names and top not in own and top not in UNPINNED:
                        found.setdefault(top, set()).add(str(file.relative_to(REPO)))
    return found


def _unpinned(modules: dict[str, set[str]], pinned: dict[str, str]) -> list[str]:
    distributions = importlib.metadata.packages_distributions()
    problems = []
    for module, files in sorted(modules.items()):
        names = distributions.get(module)
        where = ", ".join(sorted(files)[:3])
        if not names:
            problems.append(f"{module} (imported by {where}) is not installed, so no distribution is known for it")
        elif not any(_canonical(name) in pinned for name in names):
            problems.append(f"{module} (imported by {where}) comes from {'/'.join(names)}, which is not pinned")
    return problems


def test_the_requirement_files_pin_every_line():
    runtime, dev = pins(REPO / "requirements.txt"), pins(REPO / "requirements-dev.txt")
    assert not set(runtime) & set(dev), "a package is pinned in both files"


def test_the_product_imports_only_what_requirements_txt_pins():
    modules = imported(RUNTIME)
    assert {"torch", "numpy", "sklearn"} <= set(modules)  # the scan sees the code
    assert not (problems := _unpinned(modules, pins(REPO / "requirements.txt"))), "\n".join(problems)


def test_tests_and_tools_import_only_pinned_packages():
    modules = imported(TOOLS)
    assert {"pytest"} <= set(modules)
    pinned = pins(REPO / "requirements.txt") | pins(REPO / "requirements-dev.txt")
    assert not (problems := _unpinned(modules, pinned)), "\n".join(problems)


@pytest.mark.parametrize("source, found", [
    ("import numpy as np\nfrom PIL import Image\nimport os.path\nfrom . import x\nimport expclip.arkit", {"numpy", "PIL"}),
])
def test_the_scan_skips_stdlib_relative_and_own_imports(tmp_path, monkeypatch, source, found):
    (tmp_path / "probe.py").write_text(source)
    monkeypatch.setattr(sys.modules[__name__], "REPO", tmp_path)
    (tmp_path / "expclip").mkdir()
    (tmp_path / "expclip" / "__init__.py").write_text("")
    assert set(imported(["probe.py"])) == found
