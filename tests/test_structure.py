"""The structure bar of src/optel, checked in CI: module and function sizes, no import circle.

No module over 400 physical lines, no function over 60 lines (decorators aside), and no import
circle between optel modules: module-level and function-level imports both count, imports under
``if TYPE_CHECKING:`` do not. Each failure names the offender with its size, or the circle with
the file and line of every import in it. The checker is tried on small synthetic packages first,
so that a checker that finds nothing cannot pass for a clean tree.
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60

# Functions allowed past MAX_FUNCTION_LINES, "module:qualified.name" -> why. Only generated tables
# belong here; an entry that no longer names a long function fails the test, so the list stays short.
LONG_FUNCTION_ALLOWED: dict[str, str] = {}


def find_modules(src: Path, package: str = "optel") -> dict[str, Path]:
    """Dotted module name -> file, for every .py file of ``package`` under ``src``."""
    found = {}
    for path in sorted((src / package).rglob("*.py")):
        parts = path.relative_to(src).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def long_modules(modules: dict[str, Path], limit: int = MAX_MODULE_LINES) -> list[tuple[str, int]]:
    """(module, physical lines) for each module over ``limit`` lines, longest first."""
    sizes = [(name, len(path.read_text().splitlines())) for name, path in modules.items()]
    return sorted(((n, size) for n, size in sizes if size > limit), key=lambda x: -x[1])


def long_functions(
    modules: dict[str, Path], limit: int = MAX_FUNCTION_LINES
) -> list[tuple[str, int]]:
    """("module:qualified.name", lines) for each function or method over ``limit`` lines."""
    found = []
    for name, path in modules.items():
        for qualname, node in _functions(ast.parse(path.read_text()), ""):
            size = node.end_lineno - node.lineno + 1  # type: ignore[operator]
            if size > limit:
                found.append((f"{name}:{qualname}", size))
    return sorted(found, key=lambda x: -x[1])


def _functions(node: ast.AST, prefix: str):
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            qualname = f"{prefix}{child.name}"
            if not isinstance(child, ast.ClassDef):
                yield qualname, child
            yield from _functions(child, qualname + ".")
        else:
            yield from _functions(child, prefix)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


class _Imports(ast.NodeVisitor):
    """The optel modules one module imports, anywhere but under ``if TYPE_CHECKING:``."""

    def __init__(self, name: str, is_package: bool, modules: dict[str, Path]) -> None:
        self.package = name if is_package else name.rpartition(".")[0]
        self.modules = modules
        self.found: dict[str, int] = {}  # imported module -> line of its first import

    def _add(self, target: str, line: int) -> None:
        if target in self.modules:
            self.found.setdefault(target, line)

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node.test):
            for statement in node.orelse:
                self.visit(statement)
        else:
            self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node.lineno)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:
            parts = self.package.split(".")
            parts = parts[: len(parts) - (node.level - 1)]
            base = ".".join(parts + ([node.module] if node.module else []))
        for alias in node.names:
            sub = f"{base}.{alias.name}"
            self._add(sub if sub in self.modules else base, node.lineno)


def import_graph(modules: dict[str, Path]) -> dict[str, dict[str, int]]:
    """Module -> {optel module it imports: line of the import}; self-imports left out."""
    graph = {}
    for name, path in modules.items():
        visitor = _Imports(name, path.name == "__init__.py", modules)
        visitor.visit(ast.parse(path.read_text()))
        graph[name] = {dep: line for dep, line in visitor.found.items() if dep != name}
    return graph


def import_circles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Each group of modules that import one another in a circle (strongly connected, > 1)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles = []

    def visit(v: str) -> None:  # Tarjan's algorithm; the package is far too small to recurse deep
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while not group or group[-1] != v:
                group.append(stack.pop())
            if len(group) > 1:
                circles.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(circles)


def describe_circle(group: list[str], graph: dict[str, dict[str, int]], modules) -> str:
    """One closed path through ``group``, each step with the file and line of its import."""
    members = set(group)
    start = group[0]
    paths = {start: [start]}
    queue = [start]
    while queue:  # breadth first: the shortest way from start back to itself
        v = queue.pop(0)
        for w in sorted(graph[v]):
            if w == start:
                cycle = [*paths[v], start]
                steps = [
                    f"{a} -> {b} ({_shown(modules[a])}:{graph[a][b]})"
                    for a, b in zip(cycle, cycle[1:])
                ]
                return f"circle of {len(group)} {group}: " + "; ".join(steps)
            if w in members and w not in paths:
                paths[w] = [*paths[v], w]
                queue.append(w)
    raise AssertionError(f"{group} is not a circle")


def _shown(path: Path) -> Path:
    return path.relative_to(SRC.parent) if SRC.parent in path.parents else path


# The bar on src/optel.

MODULES = find_modules(SRC)


def test_the_checker_sees_the_whole_package() -> None:
    assert {"optel", "optel.consent.detect", "optel.instrumentation.openai"} <= set(MODULES)
    assert len(MODULES) > 50


def test_no_module_is_over_400_lines() -> None:
    offenders = [f"{name}: {size} lines" for name, size in long_modules(MODULES)]
    assert not offenders, f"modules over {MAX_MODULE_LINES} lines:\n" + "\n".join(offenders)


def test_no_function_is_over_60_lines() -> None:
    found = dict(long_functions(MODULES))
    offenders = [f"{n}: {s} lines" for n, s in found.items() if n not in LONG_FUNCTION_ALLOWED]
    stale = [name for name in LONG_FUNCTION_ALLOWED if name not in found]
    assert all(why.strip() for why in LONG_FUNCTION_ALLOWED.values()), "say why each is allowed"
    assert not stale, f"allowed as long but no longer long (drop them): {stale}"
    assert not offenders, f"functions over {MAX_FUNCTION_LINES} lines:\n" + "\n".join(offenders)


def test_no_import_circle_between_optel_modules() -> None:
    graph = import_graph(MODULES)
    circles = [describe_circle(group, graph, MODULES) for group in import_circles(graph)]
    assert not circles, "import circles:\n" + "\n".join(circles)


# The checker itself, on synthetic packages: it must catch what it is there to catch.


def write_package(root: Path, files: dict[str, str]) -> dict[str, Path]:
    for name, text in files.items():
        path = root / "optel" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return find_modules(root)


def test_a_circle_through_a_function_level_import_is_caught(tmp_path: Path) -> None:
    modules = write_package(
        tmp_path,
        {
            "__init__.py": "",
            "a.py": "from optel import b\n",
            "sub/__init__.py": "",
            "b.py": "def later():\n    from .sub import c\n",
            "sub/c.py": "import optel.a\n",
        },
    )
    graph = import_graph(modules)
    assert import_circles(graph) == [["optel.a", "optel.b", "optel.sub.c"]]
    text = describe_circle(["optel.a", "optel.b", "optel.sub.c"], graph, modules)
    assert "optel.b -> optel.sub.c" in text and "b.py:2" in text


def test_type_checking_imports_are_no_circle_but_their_else_branch_is(tmp_path: Path) -> None:
    files = {
        "__init__.py": "",
        "a.py": "import typing\nif typing.TYPE_CHECKING:\n    from optel import b\n",
        "b.py": "from optel.a import thing\n",
    }
    assert import_circles(import_graph(write_package(tmp_path / "one", files))) == []
    files["a.py"] = (
        "TYPE_CHECKING = False\nif TYPE_CHECKING:\n    pass\nelse:\n    from . import b\n"
    )
    assert import_circles(import_graph(write_package(tmp_path / "two", files))) == [
        ["optel.a", "optel.b"]
    ]


def test_relative_imports_from_a_package_init_resolve_to_its_own_modules(tmp_path: Path) -> None:
    modules = write_package(
        tmp_path,
        {
            "__init__.py": "",
            "sub/__init__.py": "from .x import f\nfrom .. import top\n",
            "sub/x.py": "from optel.sub import g\n",
            "top.py": "",
        },
    )
    graph = import_graph(modules)
    assert graph["optel.sub"] == {"optel.sub.x": 1, "optel.top": 2}
    assert import_circles(graph) == [["optel.sub", "optel.sub.x"]]


def test_long_functions_and_methods_are_caught_by_their_qualified_name(tmp_path: Path) -> None:
    def body(lines: int, indent: str) -> str:
        return "".join(f"{indent}x{i} = {i}\n" for i in range(lines))

    text = (
        f"def over():\n{body(60, '    ')}"  # 61 lines with its def
        f"def at_the_limit():\n{body(59, '    ')}"
        f"class K:\n    async def method(self):\n{body(61, '        ')}"
    )
    modules = write_package(tmp_path, {"__init__.py": "", "m.py": text})
    assert long_functions(modules) == [("optel.m:K.method", 62), ("optel.m:over", 61)]


def test_long_modules_are_caught_with_their_size(tmp_path: Path) -> None:
    modules = write_package(
        tmp_path, {"__init__.py": "", "big.py": "x = 1\n" * 401, "ok.py": "x = 1\n" * 400}
    )
    assert long_modules(modules) == [("optel.big", 401)]
