"""The layering docs/architecture.md promises, checked on the source: who may import whom, the one
home of the item format, and the size limits (no module over 450 lines, no class over 250, no
CLI function above cyclomatic complexity 10)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "digestcli"
CLI = ("cli.py", "cli_base.py", "cli_workspace.py")
CLI_MAY_IMPORT = {"commands", "progress", "errors", "cli_base", "cli_workspace", ""}  # "": the package itself (__version__)


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def imported(path: Path) -> set[str]:
    """The digestcli modules ``path`` imports (first part after the package: "commands", "store", ...)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    inside = path.parent != PACKAGE  # commands/x.py: ".." is the package
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            parts = (node.module or "").split(".")
            if node.level == 1 and inside:
                found.add("commands")
            elif node.level == 2 or (node.level == 1 and not inside):
                found.add(parts[0])
                if not parts[0]:  # "from . import x"
                    found.update(alias.name for alias in node.names if alias.name != "__version__")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("digestcli"):
            found.add((node.module or "").split(".")[1] if "." in (node.module or "") else "")
    return found


def test_stage_modules_never_import_the_command_layer_or_the_cli() -> None:
    stages = [p for p in modules() if p.parent == PACKAGE and p.name not in CLI and p.name != "__init__.py"]
    offenders = {p.name: sorted(imported(p) & {"commands", *(name[:-3] for name in CLI)}) for p in stages}
    assert {name: found for name, found in offenders.items() if found} == {}


def test_the_command_layer_never_imports_the_cli() -> None:
    offenders = {p.name: sorted(imported(p) & {name[:-3] for name in CLI}) for p in (PACKAGE / "commands").glob("*.py")}
    assert {name: found for name, found in offenders.items() if found} == {}


@pytest.mark.parametrize("name", CLI)
def test_the_cli_imports_only_the_command_layer_progress_and_errors(name: str) -> None:
    assert imported(PACKAGE / name) - CLI_MAY_IMPORT == set()


def test_only_items_py_reads_front_matter_by_key() -> None:
    raw = re.compile(r"\.meta\.get\(|\.meta\[|\bmeta\.get\(\"")
    readers = [p.relative_to(PACKAGE).as_posix() for p in modules() if raw.search(p.read_text(encoding="utf-8"))]
    assert readers == ["items.py"]


def test_only_items_py_knows_the_notes_marker_and_body_labels() -> None:
    words = ("Your notes go below this line", "**What's new", "How it works:**", "body_hash")
    knowing = {p.relative_to(PACKAGE).as_posix() for p in modules()
               if any(w in p.read_text(encoding="utf-8") for w in words)}
    assert knowing == {"items.py"}


@pytest.mark.parametrize("path", modules(), ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_no_module_over_450_lines_and_no_class_over_250(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    lines = len(text.splitlines())
    assert lines <= 450, f"{lines} lines"
    classes = [node for node in ast.walk(ast.parse(text)) if isinstance(node, ast.ClassDef)]
    assert [c.name for c in classes if (c.end_lineno or 0) - c.lineno + 1 > 250] == []


@pytest.mark.parametrize("name", CLI)
def test_no_cli_function_above_cyclomatic_complexity_10(name: str) -> None:
    from radon.complexity import cc_visit

    blocks = cc_visit((PACKAGE / name).read_text(encoding="utf-8"))
    functions = [b for b in blocks if type(b).__name__ == "Function"]
    functions += [m for b in blocks if type(b).__name__ == "Class" for m in b.methods]
    assert functions, "radon found no function: the check would pass on anything"
    assert {f.name: f.complexity for f in functions if f.complexity > 10} == {}
