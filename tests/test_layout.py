"""The code's shape, as the README's Development section states it: every module listed in pipeline
order, imports only forward along that order, no imports inside functions, no module over ~400 lines."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
GIS = REPO / "gis"
#: The modules that order or expose the stages import across them (the README says so).
ACROSS = ("__init__.py", "pipeline.py", "cli/")
MAX_LINES = 420  # "no module over ~400 lines"


def _rows() -> list[list[str]]:
    """Return the README's module table: per row, the module paths it names (relative to gis/)."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("### The modules, in pipeline order", 1)[1]
    table = section[section.index("| module |") :]
    rows = []
    for line in table.splitlines()[2:]:
        if not line.startswith("| `"):
            break
        first = line.split("|")[1]
        rows.append([m.removeprefix("gis/") for m in re.findall(r"`([^`]+)`", first)])
    return rows


def _modules() -> list[Path]:
    return sorted(p for p in GIS.rglob("*") if p.suffix in (".py", ".js") and "_vendor" not in p.parts)


def _row_of(rel: str, rows: list[list[str]]) -> int:
    """Return the row of the table that names a module: itself, or the package folder holding it."""
    for i, names in enumerate(rows):
        for name in names:
            if rel == name or (name.endswith("/") and rel.startswith(name)):
                return i
            if rel.endswith("/__init__.py") and name.startswith(rel.removesuffix("__init__.py")):
                return i  # a package's __init__: the first row of the package
    raise AssertionError(f"gis/{rel} is not in the README's table of modules")


def _rel(path: Path) -> str:
    return path.relative_to(GIS).as_posix()


def _target(module: str) -> str | None:
    """Return the file (relative to gis/) of an imported ``gis.x.y`` module, or None when not ours."""
    if module != "gis" and not module.startswith("gis."):
        return None
    parts = module.split(".")[1:]
    base = GIS.joinpath(*parts) if parts else GIS
    if base.with_suffix(".py").is_file():
        return _rel(base.with_suffix(".py"))
    if (base / "__init__.py").is_file():
        return _rel(base / "__init__.py")
    return None


def test_every_module_is_in_the_readme_table():
    rows = _rows()
    assert len(rows) > 20
    missing = []
    for path in _modules():
        try:
            _row_of(_rel(path), rows)
        except AssertionError as exc:
            missing.append(str(exc))
    assert missing == []


def test_imports_go_only_forward_along_the_pipeline():
    rows = _rows()
    backward = []
    for path in _modules():
        rel = _rel(path)
        if path.suffix != ".py" or rel.startswith(ACROSS):
            continue
        own = _row_of(rel, rows)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                target = _target(name)
                if target is None or target == "__init__.py":
                    continue
                if _row_of(target, rows) > own:
                    backward.append(f"gis/{rel} imports gis/{target}, which comes after it")
    assert sorted(set(backward)) == []


def test_no_imports_inside_functions():
    inside = []
    for path in _modules():
        if path.suffix != ".py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                for sub in ast.walk(node):
                    if isinstance(sub, ast.Import | ast.ImportFrom):
                        module = sub.module if isinstance(sub, ast.ImportFrom) else sub.names[0].name
                        if module and (module == "gis" or module.startswith("gis.")):
                            inside.append(f"gis/{_rel(path)}:{sub.lineno} imports {module} inside {node.name}")
    assert inside == []


@pytest.mark.parametrize("path", _modules(), ids=_rel)
def test_no_module_over_about_400_lines(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"gis/{_rel(path)} has {lines} lines: split it by what its parts do"
