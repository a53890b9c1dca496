"""The import rules and size limits of ``docs/architecture.md``, enforced.

Every rule here reads the source with :mod:`ast` (nothing is imported), so a
violation is reported with its file and line. Run this file as a script to list
the violations under some paths::

    python tests/test_architecture.py sheaftopo/report sheaftopo/cli
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "sheaftopo"

#: The layers, bottom up: what each unit (a subpackage or a top-level module of
#: ``sheaftopo``) may import from the rest of the package. Keep in step with
#: ``docs/architecture.md``. ``_validation`` and ``_core`` are the shared lower
#: layer; every other unit is imported only through its public names.
LOWER = frozenset({"_validation", "_core"})
ALLOWED: dict[str, frozenset[str]] = {
    "_validation": frozenset(),
    "_core": frozenset({"_validation"}),
    "persistence": LOWER,
    "sheaf": LOWER,
    "geometry": LOWER,
    "fiber": LOWER,
    "verify": LOWER,
    "io": LOWER,
    "datasets": LOWER | {"fiber"},
    "distributed": LOWER | {"persistence", "fiber"},
    "torch": LOWER | {"persistence", "sheaf", "geometry", "datasets"},
    "report": LOWER | {"persistence", "sheaf", "geometry", "fiber", "distributed", "io"},
    "cli": LOWER
    | {"persistence", "sheaf", "geometry", "fiber", "distributed", "io", "datasets", "torch"}
    | {"report", "verify"},
    "__main__": frozenset({"cli"}),
}

#: Longest source file (lines) without a stated reason, and the phrase that states one:
#: a module docstring line starting with it explains why the file is one piece.
MAX_FILE_LINES = 600
LONG_FILE_REASON = "Why this file is long:"
#: Longest function, in lines of code (docstring, blank and comment lines not counted).
MAX_FUNCTION_LINES = 80


@dataclass(frozen=True)
class Import:
    """One ``import`` of a ``sheaftopo`` module or name, resolved to absolute form."""

    path: Path
    line: int
    module: str  # the module named after ``from`` / ``import``
    names: tuple[str, ...]  # the names taken (empty for ``import x.y``)
    type_checking: bool  # inside ``if TYPE_CHECKING:``


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _source_files(paths: list[Path] | None = None) -> list[Path]:
    files = sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)
    if paths:
        files = [f for f in files if any(f == p or p in f.parents for p in paths)]
    return files


def _imports(path: Path) -> Iterator[Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    guarded: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            guarded.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names = tuple(a.name for a in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "sheaftopo":
                    yield Import(path, node.lineno, alias.name, (), id(node) in guarded)
            continue
        else:
            continue
        if target.split(".")[0] == "sheaftopo":
            yield Import(path, node.lineno, target, names, id(node) in guarded)


def _is_module(dotted: str) -> bool:
    rel = Path(*dotted.split("."))
    return (ROOT / rel).with_suffix(".py").is_file() or (ROOT / rel / "__init__.py").is_file()


def _where(imp: Import) -> str:
    return f"{imp.path.relative_to(ROOT)}:{imp.line}"


def private_import_violations(paths: list[Path] | None = None) -> list[str]:
    """Imports of another unit's private module or private name."""
    out = []
    for path in _source_files(paths):
        own = _unit(_module_name(path))
        for imp in _imports(path):
            unit = _unit(imp.module)
            if unit in ("", own) or unit == "_validation":
                continue
            inner = imp.module.split(".")[2:]
            if unit != "_core" and any(p.startswith("_") for p in inner):
                out.append(f"{_where(imp)}: imports private module {imp.module}")
                continue
            for name in imp.names:
                if name.startswith("_") and not _is_module(f"{imp.module}.{name}"):
                    out.append(f"{_where(imp)}: imports private name {name} from {imp.module}")
                elif name.startswith("_") and unit != "_core":
                    out.append(f"{_where(imp)}: imports private module {imp.module}.{name}")
    return out


def layer_violations(paths: list[Path] | None = None) -> list[str]:
    """Imports that go against the layer order of :data:`ALLOWED`."""
    out = []
    for path in _source_files(paths):
        own = _unit(_module_name(path))
        if own == "" or path.name == "__main__.py":
            # sheaftopo/__init__.py lazily re-exports every unit; a __main__ is a
            # program (``python -m ...``), not library code, and may call the CLI
            continue
        for imp in _imports(path):
            unit = _unit(imp.module)
            if unit in ("", own) or imp.type_checking:
                continue
            if own not in ALLOWED:
                out.append(f"{_where(imp)}: unit {own!r} is not in the layer table")
            elif unit not in ALLOWED[own]:
                out.append(f"{_where(imp)}: {own} may not import {unit} ({imp.module})")
    return out


def _module_graph() -> dict[str, set[str]]:
    """Edges between modules of the same unit (lazy imports included, TYPE_CHECKING not)."""
    graph: dict[str, set[str]] = {}
    for path in _source_files():
        me = _module_name(path)
        edges = graph.setdefault(me, set())
        for imp in _imports(path):
            if imp.type_checking or _unit(imp.module) != _unit(me):
                continue
            targets = [imp.module]
            targets += [f"{imp.module}.{n}" for n in imp.names if _is_module(f"{imp.module}.{n}")]
            for target in targets:
                is_package = (ROOT / Path(*target.split(".")) / "__init__.py").is_file()
                if target != me and not (is_package and me.startswith(target + ".")):
                    edges.add(target)
    return graph


def import_cycles() -> list[list[str]]:
    """Cycles in the module graph (within each unit) and in the unit graph."""
    graph = _module_graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt in graph and nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return cycles


def _docstring_lines(node: ast.AST) -> range:
    body = getattr(node, "body", [])
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        if isinstance(body[0].value.value, str):
            return range(body[0].lineno, body[0].end_lineno + 1)
    return range(0)


def size_violations(paths: list[Path] | None = None) -> list[str]:
    """Long files without a stated reason, and long functions (see the limits above)."""
    out = []
    for path in _source_files(paths):
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        tree = ast.parse(text)
        rel = path.relative_to(ROOT)
        doc = ast.get_docstring(tree) or ""
        if len(lines) > MAX_FILE_LINES and not any(
            ln.strip().startswith(LONG_FILE_REASON) for ln in doc.splitlines()
        ):
            out.append(f"{rel}: {len(lines)} lines (over {MAX_FILE_LINES}, no reason stated)")
        for node in ast.walk(tree):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            skip = _docstring_lines(node)
            n = sum(
                1
                for i in range(node.lineno, node.end_lineno + 1)
                if i not in skip
                and lines[i - 1].strip()
                and not lines[i - 1].strip().startswith("#")
            )
            if n > MAX_FUNCTION_LINES:
                out.append(f"{rel}:{node.lineno}: function {node.name} has {n} lines of code")
    return out


def test_layer_table_is_acyclic() -> None:
    done: set[str] = set()

    def depth(unit: str, seen: tuple[str, ...]) -> None:
        assert unit not in seen, f"layer table cycle: {' -> '.join((*seen, unit))}"
        for dep in ALLOWED[unit]:
            depth(dep, (*seen, unit))
        done.add(unit)

    for unit in ALLOWED:
        depth(unit, ())


def test_every_unit_is_in_the_layer_table() -> None:
    units = {_unit(_module_name(p)) for p in _source_files()} - {""}
    assert units <= set(ALLOWED), sorted(units - set(ALLOWED))


def _documented_layers() -> dict[str, frozenset[str]]:
    """The layer table of docs/architecture.md (the section "The layers")."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    section = text.split("## The layers", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, frozenset[str]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`"):
            continue
        unit, allowed = cells[0].strip("`"), cells[2]
        if allowed == "every unit above":
            rows[unit] = frozenset(rows)
        else:
            rows[unit] = frozenset(a.strip().strip("`") for a in allowed.split(",") if "`" in a)
    return rows


def test_documented_layers_match_the_enforced_ones() -> None:
    documented = _documented_layers()
    enforced = {u: a for u, a in ALLOWED.items() if u != "__main__"}
    assert documented == enforced


def test_every_core_module_is_documented() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    table = text.split("## The shared lower layer", 1)[1].split("\n## ", 1)[0]
    modules = sorted(p.name for p in (PACKAGE / "_core").glob("*.py") if p.name != "__init__.py")
    missing = [m for m in modules if f"`_core/{m}`" not in table]
    assert not missing, f"docs/architecture.md does not describe {missing}"


def test_no_private_imports_across_units() -> None:
    found = private_import_violations()
    assert not found, "\n".join(found)


def test_imports_follow_the_layers() -> None:
    found = layer_violations()
    assert not found, "\n".join(found)


def test_no_import_cycles() -> None:
    found = import_cycles()
    assert not found, "\n".join(" -> ".join(c) for c in found)


def test_file_and_function_sizes() -> None:
    found = size_violations()
    assert not found, "\n".join(found)


def test_the_rules_catch_what_they_should() -> None:
    """The checker itself can fail: a planted back door, cycle and long function are seen."""
    first = PACKAGE / "torch" / "_zz_planted_a.py"
    second = PACKAGE / "torch" / "_zz_planted_b.py"
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES + 1))
    first.write_text(
        "from sheaftopo.persistence._mst import mst\n"
        "from sheaftopo.report import analyze\n"
        "from ._zz_planted_b import g\n"
        f"def f():\n{body}\n",
        encoding="utf-8",
    )
    second.write_text("def g():\n    from ._zz_planted_a import f\n", encoding="utf-8")
    try:
        back_doors = private_import_violations([first])
        assert any("private module sheaftopo.persistence._mst" in v for v in back_doors)
        assert any("may not import report" in v for v in layer_violations([first]))
        assert any("function f has" in v for v in size_violations([first]))
        assert any("sheaftopo.torch._zz_planted_b" in c for c in map(str, import_cycles()))
    finally:
        first.unlink()
        second.unlink()


if __name__ == "__main__":  # pragma: no cover - a contributor's listing tool
    where = [Path(a).resolve() for a in sys.argv[1:]] or None
    for line in private_import_violations(where) + layer_violations(where) + size_violations(where):
        print(line)
    prefixes = [str(p.relative_to(ROOT)).replace("/", ".") for p in where or [PACKAGE]]
    for cycle in import_cycles():
        if any(c.startswith(prefix) for c in cycle for prefix in prefixes):
            print("cycle: " + " -> ".join(cycle))
