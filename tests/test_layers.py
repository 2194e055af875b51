"""Arrows only point down (app/CLI/train → expclip → head; render → head), read from the source with ``ast``.

Nothing is imported: every ``import`` of every module of ``expclip/``, ``render/`` and ``head/`` (also
those inside functions) is resolved to the project's module it names, and the rules of the layers
(DESIGN.md "Layout") and the absence of import cycles are checked on that graph.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LIBRARY = ("expclip", "render", "head")  # the packages whose modules are checked
ABOVE = ("train", "app", "demo_data", "benchmarks", "scripts", "tests")  # what the library must never import


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    path = REPO.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _imports(path: Path) -> list[tuple[int, str]]:
    """``(line, module)`` for every import in a file: ``from a.b import c`` names ``a.b.c`` when that is a module."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.append((node.lineno, full if _is_module(full) else base))
    return found


def _resolve(name: str) -> str:
    """The project module an imported name lies in (its longest prefix that is a module)."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if _is_module(candidate):
            return candidate
    return name


MODULES = {_module_name(p): p for package in LIBRARY for p in sorted((REPO / package).rglob("*.py"))
           if "__pycache__" not in p.parts}
IMPORTS = {module: [(line, _resolve(name)) for line, name in _imports(path)] for module, path in MODULES.items()}


def _top(name: str) -> str:
    return name.split(".")[0]


def _violations(modules: list[str], forbidden: tuple[str, ...]) -> list[str]:
    return [f"{MODULES[m].relative_to(REPO)}:{line} imports {target}"
            for m in modules for line, target in IMPORTS[m] if _top(target) in forbidden]


def test_the_graph_was_read() -> None:
    assert {"expclip.pipeline", "expclip.encoders", "expclip.encoders.registry", "render.renderer", "head.rig",
            "head.arkit"} <= set(MODULES)
    assert (IMPORTS["render.renderer"] and any(t == "head.rig" for _, t in IMPORTS["render.renderer"]))


def test_the_library_never_imports_training_the_app_or_the_tests() -> None:
    assert _violations(list(MODULES), ABOVE) == []


def test_head_imports_nothing_above_it() -> None:
    assert _violations([m for m in MODULES if _top(m) == "head"], ("expclip", "render", *ABOVE)) == []


def test_render_knows_no_models() -> None:
    assert _violations([m for m in MODULES if _top(m) == "render"], ("expclip",)) == []


def test_the_expclip_library_does_not_render() -> None:
    """Only the command line (``python -m expclip``) draws pictures and writes videos."""
    library = [m for m in MODULES if _top(m) == "expclip" and m != "expclip.__main__"]
    assert _violations(library, ("render",)) == []


def _cycle() -> list[str] | None:
    graph = {m: sorted({t for _, t in IMPORTS[m] if t in MODULES and t != m}) for m in MODULES}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for module in sorted(graph):
        if module not in state and (found := visit(module)):
            return found
    return None


def test_there_is_no_import_cycle() -> None:
    cycle = _cycle()
    assert cycle is None, "import cycle: " + " → ".join(cycle)


@pytest.mark.parametrize("module", ["head.arkit", "head.files", "head.assets", "head.rig", "head.correspondence",
                                    "head.landmarks", "head.geometry", "head.media"])
def test_the_head_layer_holds_its_modules(module: str) -> None:
    assert module in MODULES
