"""The house rules of ``forloeb/``, checked on its source with ``ast``.

``docs/architecture.md`` says dependencies point down only. These tests hold
the code to that, so that a newcomer (or a refactor) cannot quietly bend it:

* no import cycle between modules of ``forloeb``, counting imports under
  ``if TYPE_CHECKING:`` and imports inside functions (a cycle hidden from the
  interpreter is still a cycle in the design);
* no import of another module's private name (``from ._engine import _check_text``);
* a private module ``P._m`` is imported only from inside package ``P`` (its
  ``__init__``, its modules and its subpackages): that is how a package is built,
  and reaching into another package's ``_m`` is not;
* ``forloeb.persistence`` imports neither ``forloeb.engine`` nor the CLI; the
  engine imports neither the CLI, a server, nor ``forloeb.workflows``;
* only ``forloeb/engine/__init__.py`` imports the facade ``forloeb.engine._engine``;
* no module is over ``MAX_LINES`` lines, except the few on ``LONG_MODULES``.

How an import becomes an edge: relative imports are resolved against the
importing module's package; ``import a.b.c`` is an edge to the module ``a.b.c``
(or the nearest package above it that exists); ``from a.b import c`` is an edge
to the module ``a.b.c`` if there is one, otherwise to ``a.b`` (a package's edge
goes to its ``__init__``). Parent packages that Python initialises on the way
are not counted: every module would otherwise sit in a cycle with its package's
``__init__``. Imports of other distributions are ignored, and so are imports by
name at run time (``importlib``), which ``ast`` cannot see.

The checker is itself tested on small packages written to ``tmp_path``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "forloeb"

MAX_LINES = 600
# Modules allowed over MAX_LINES: data or generated code only, each with the
# reason. Keep it empty or tiny; a long module of logic is to be split.
LONG_MODULES: Mapping[str, str] = {}

# (importer, imported): no module in or under the first imports one in or under the second.
FORBIDDEN: tuple[tuple[str, str, str], ...] = (
    ("forloeb.persistence", "forloeb.engine", "persistence sits below the engine"),
    ("forloeb.persistence", "forloeb.cli", "persistence sits below the CLI"),
    ("forloeb.persistence", "forloeb.server", "persistence sits below the server"),
    ("forloeb.engine", "forloeb.cli", "the engine sits below the CLI"),
    ("forloeb.engine", "forloeb.server", "the engine sits below the server"),
    ("forloeb.engine", "forloeb.workflows", "Engine.open loads the built-in workflows by name"),
)
FACADE = "forloeb.engine._engine"
FACADE_IMPORTERS = frozenset({"forloeb.engine"})  # forloeb/engine/__init__.py


# -- the checker -------------------------------------------------------------------


@dataclass(frozen=True)
class Module:
    name: str  # dotted: "forloeb.engine._engine"; a package's name is its __init__'s
    path: Path
    is_package: bool

    @property
    def package(self) -> str:
        """The package relative imports start from."""
        return self.name if self.is_package else self.name.rpartition(".")[0]


@dataclass(frozen=True)
class Edge:
    source: str  # importing module
    target: str  # imported module (a module of the scanned package)
    path: Path  # the importing file
    line: int
    written: str | None  # `from <written> import …` as written; None for `import <names>`
    names: tuple[str, ...]  # what the statement names: modules, or names defined in target
    where: str  # "module", "TYPE_CHECKING" or "function"
    takes_names: bool = False  # names are defined in target (not submodules of it)

    @property
    def private_names(self) -> tuple[str, ...]:
        return tuple(n for n in self.names if _is_private(n)) if self.takes_names else ()

    def describe(self, root: Path, names: Sequence[str] | None = None) -> str:
        shown = ", ".join(names if names is not None else self.names)
        statement = f"import {shown}" if self.written is None else f"from {self.written} import {shown}"
        context = "" if self.where == "module" else f"  [{self.where}]"
        return f"{_rel(self.path, root)}:{self.line}: {statement}{context}"


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def discover(root: Path, package: str) -> dict[str, Module]:
    """Every ``.py`` file under ``root/package``, by dotted module name."""
    modules: dict[str, Module] = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        name = ".".join(parts)
        # A package and a module of the same name (mid-move): Python imports the package.
        if name in modules and modules[name].is_package:
            continue
        modules[name] = Module(name, path, is_package)
    return modules


class _ImportVisitor(ast.NodeVisitor):
    """Collects imports with where they stand: module level, TYPE_CHECKING, function."""

    def __init__(self) -> None:
        self.found: list[tuple[ast.Import | ast.ImportFrom, str]] = []
        self._functions = 0
        self._type_checking = 0

    def visit_Import(self, node: ast.Import) -> None:
        self.found.append((node, self._where()))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        self.found.append((node, self._where()))

    def _where(self) -> str:
        if self._functions:
            return "function"
        return "TYPE_CHECKING" if self._type_checking else "module"

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._function(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._function(node)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._function(node)

    def _function(self, node: ast.AST) -> None:
        self._functions += 1
        self.generic_visit(node)
        self._functions -= 1

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        guarded = (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
            isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
        )
        self.visit(node.test)
        if guarded:
            self._type_checking += 1
        for child in node.body:
            self.visit(child)
        if guarded:
            self._type_checking -= 1
        for child in node.orelse:  # the else of `if TYPE_CHECKING` runs
            self.visit(child)


def _resolve_from(module: Module, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.package.split(".")
    if node.level > 1:
        base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _nearest(name: str, modules: Mapping[str, Module]) -> str | None:
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def imports(modules: Mapping[str, Module]) -> list[Edge]:
    """Every import edge between the modules given, in file and line order."""
    edges: list[Edge] = []
    for module in modules.values():
        visitor = _ImportVisitor()
        visitor.visit(ast.parse(module.path.read_text(encoding="utf-8"), str(module.path)))
        for node, where in visitor.found:
            here = (module.name, module.path, node.lineno)
            if isinstance(node, ast.Import):
                for alias in node.names:
                    target = _nearest(alias.name, modules)
                    if target is not None:
                        edges.append(Edge(here[0], target, here[1], here[2], None, (alias.name,), where))
                continue
            source = _resolve_from(module, node)
            written = "." * node.level + (node.module or "")
            attributes: list[str] = []
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                if submodule in modules:
                    edges.append(Edge(here[0], submodule, here[1], here[2], written, (alias.name,), where))
                else:
                    attributes.append(alias.name)
            target = _nearest(source, modules)
            if attributes and target is not None:
                edges.append(Edge(here[0], target, here[1], here[2], written, tuple(attributes), where, True))
    return edges


def cycles(edges: Iterable[Edge]) -> list[list[str]]:
    """The strongly connected components with a cycle in them, each sorted, largest first."""
    graph: dict[str, set[str]] = {}
    for e in edges:
        graph.setdefault(e.source, set()).add(e.target)
        graph.setdefault(e.target, set())
    # Tarjan's algorithm, iterative: a deep package must not hit the recursion limit.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph[node]:
                    found.append(sorted(component))
    return sorted(found, key=lambda c: (-len(c), c))


def _inside(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def cycle_report(edges: Sequence[Edge], modules: Mapping[str, Module], root: Path) -> list[str]:
    lines: list[str] = []
    for component in cycles(edges):
        members = set(component)
        files = ", ".join(_rel(modules[m].path, root) for m in component)
        lines.append(f"cycle among {len(component)} modules: {files}")
        lines.extend(
            f"    {e.describe(root)}  -> {_rel(modules[e.target].path, root)}"
            for e in edges
            if e.source in members and e.target in members
        )
    return lines


def private_reach_through(edges: Iterable[Edge], root: Path) -> list[str]:
    """Imports of another module's `_name`, and of a private module from outside its package."""
    lines: list[str] = []
    for e in edges:
        if e.private_names and e.source != e.target:
            lines.append(f"{e.describe(root, e.private_names)}  (private names of {e.target})")
        parts = e.target.split(".")
        for i, part in enumerate(parts):
            owner = ".".join(parts[:i])
            if i and _is_private(part) and not _inside(e.source, owner):
                lines.append(f"{e.describe(root)}  (private module of package {owner})")
                break
    return lines


def forbidden_imports(edges: Iterable[Edge], rules: Iterable[tuple[str, str, str]], root: Path) -> list[str]:
    lines: list[str] = []
    rules = tuple(rules)
    for e in edges:
        for importer, imported, why in rules:
            if _inside(e.source, importer) and _inside(e.target, imported):
                lines.append(f"{e.describe(root)}  ({importer} must not import {imported}: {why})")
    return lines


def facade_importers(edges: Iterable[Edge], facade: str, allowed: frozenset[str], root: Path) -> list[str]:
    return [
        f"{e.describe(root)}  (only {', '.join(sorted(allowed))} may import {facade})"
        for e in edges
        if e.target == facade and e.source not in allowed
    ]


def long_modules(
    modules: Mapping[str, Module], limit: int, allowed: Mapping[str, str], root: Path
) -> list[str]:
    lines: list[str] = []
    for module in modules.values():
        count = len(module.path.read_text(encoding="utf-8").splitlines())
        if count > limit and _rel(module.path, root) not in allowed:
            lines.append(f"{_rel(module.path, root)}: {count} lines (limit {limit})")
    return lines


def _expect_none(what: str, found: Sequence[str], count: int | None = None) -> None:
    if found:
        total = len(found) if count is None else count
        pytest.fail(f"{what} ({total}):\n" + "\n".join(found), pytrace=False)


# -- forloeb -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def forloeb_modules() -> dict[str, Module]:
    return discover(ROOT, PACKAGE)


@pytest.fixture(scope="module")
def forloeb_imports(forloeb_modules: dict[str, Module]) -> list[Edge]:
    return imports(forloeb_modules)


def test_the_checker_sees_the_whole_package(
    forloeb_modules: dict[str, Module], forloeb_imports: list[Edge]
) -> None:
    # A checker that found nothing to check would pass every rule.
    for name in ("forloeb", "forloeb.engine", "forloeb.engine._engine", "forloeb.persistence.base"):
        assert name in forloeb_modules, name
    assert any(e.source == "forloeb.engine" and e.target == FACADE for e in forloeb_imports)


def test_modules_of_forloeb_import_each_other_without_cycles(
    forloeb_modules: dict[str, Module], forloeb_imports: list[Edge]
) -> None:
    report = cycle_report(forloeb_imports, forloeb_modules, ROOT)
    _expect_none("import cycles", report, sum(line.startswith("cycle") for line in report))


def test_no_module_imports_another_modules_private_names(forloeb_imports: list[Edge]) -> None:
    _expect_none("private names imported from elsewhere", private_reach_through(forloeb_imports, ROOT))


def test_dependencies_point_down_only(forloeb_imports: list[Edge]) -> None:
    _expect_none("imports against the layering", forbidden_imports(forloeb_imports, FORBIDDEN, ROOT))


def test_only_the_engine_package_imports_the_facade(forloeb_imports: list[Edge]) -> None:
    _expect_none("imports of the facade", facade_importers(forloeb_imports, FACADE, FACADE_IMPORTERS, ROOT))


def test_no_module_is_too_long_to_find_ones_way_in(forloeb_modules: dict[str, Module]) -> None:
    _expect_none("long modules", long_modules(forloeb_modules, MAX_LINES, LONG_MODULES, ROOT))


def test_the_allow_list_of_long_modules_names_existing_files() -> None:
    assert all((ROOT / path).is_file() for path in LONG_MODULES), LONG_MODULES


# -- the checker, on packages made for the purpose ---------------------------------


def _package(root: Path, files: Mapping[str, str]) -> dict[str, Module]:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return discover(root, "pkg")


CLEAN = {
    "pkg/__init__.py": "from ._core import Thing\nfrom .sub import helper\n__all__ = ['Thing', 'helper']\n",
    "pkg/_core.py": "import json\n\nclass Thing:\n    pass\n",
    "pkg/_util.py": "from ._core import Thing\n__version__ = '1'\n",
    "pkg/sub/__init__.py": "from ._impl import helper\n",
    "pkg/sub/_impl.py": (
        "from typing import TYPE_CHECKING\n"
        "from .._core import Thing\n"  # a subpackage may use its parent's private module
        "from .._util import __version__\n"  # dunders are not private
        "if TYPE_CHECKING:\n    from pkg._util import Thing as T\n"
        "def helper() -> None:\n    import pkg._core\n"
    ),
}


def test_the_checker_passes_a_clean_package(tmp_path: Path) -> None:
    modules = _package(tmp_path, CLEAN)
    edges = imports(modules)
    assert {(e.source, e.target) for e in edges} == {
        ("pkg", "pkg._core"),
        ("pkg", "pkg.sub"),
        ("pkg._util", "pkg._core"),
        ("pkg.sub", "pkg.sub._impl"),
        ("pkg.sub._impl", "pkg._core"),
        ("pkg.sub._impl", "pkg._util"),
    }
    assert cycles(edges) == []
    assert private_reach_through(edges, tmp_path) == []
    assert forbidden_imports(edges, [("pkg.sub", "pkg.other", "down only")], tmp_path) == []
    assert long_modules(modules, 10, {}, tmp_path) == []


def test_the_checker_finds_a_cycle_through_a_type_checking_import(tmp_path: Path) -> None:
    modules = _package(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "from .b import B\nclass A: pass\n",
            "pkg/b.py": (
                "from __future__ import annotations\nfrom typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n    from pkg.a import A\nclass B: pass\n"
            ),
            "pkg/c.py": "def f() -> None:\n    from . import d\n",
            "pkg/d.py": "import pkg.c\n",
        },
    )
    edges = imports(modules)
    assert cycles(edges) == [["pkg.a", "pkg.b"], ["pkg.c", "pkg.d"]]
    report = cycle_report(edges, modules, tmp_path)
    assert report[0] == "cycle among 2 modules: pkg/a.py, pkg/b.py"
    assert "    pkg/b.py:4: from pkg.a import A  [TYPE_CHECKING]  -> pkg/a.py" in report
    assert "    pkg/c.py:2: from . import d  [function]  -> pkg/d.py" in report


def test_the_checker_finds_a_module_importing_itself(tmp_path: Path) -> None:
    modules = _package(tmp_path, {"pkg/__init__.py": "from pkg import x\nx = 1\n"})
    assert cycles(imports(modules)) == [["pkg"]]


def test_the_checker_finds_private_names_and_other_packages_private_modules(tmp_path: Path) -> None:
    modules = _package(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/engine/__init__.py": "",
            "pkg/engine/_core.py": "def _check() -> None: ...\n",
            "pkg/engine/_feature.py": "from ._core import _check\n",
            "pkg/cli.py": "def main() -> None:\n    from pkg.engine._core import helper\n",
            "pkg/tool.py": "from .engine import _core\n",
        },
    )
    assert private_reach_through(imports(modules), tmp_path) == [
        "pkg/cli.py:2: from pkg.engine._core import helper  [function]"
        "  (private module of package pkg.engine)",
        "pkg/engine/_feature.py:1: from ._core import _check  (private names of pkg.engine._core)",
        "pkg/tool.py:1: from .engine import _core  (private module of package pkg.engine)",
    ]


def test_the_checker_finds_layering_and_facade_breaches(tmp_path: Path) -> None:
    modules = _package(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/store/__init__.py": "from pkg.engine import api\n",
            "pkg/engine/__init__.py": "from . import _engine\n",
            "pkg/engine/_engine.py": "",
            "pkg/engine/api.py": "import pkg.engine._engine\n",
        },
    )
    edges = imports(modules)
    assert forbidden_imports(edges, [("pkg.store", "pkg.engine", "down only")], tmp_path) == [
        "pkg/store/__init__.py:1: from pkg.engine import api"
        "  (pkg.store must not import pkg.engine: down only)"
    ]
    assert facade_importers(edges, "pkg.engine._engine", frozenset({"pkg.engine"}), tmp_path) == [
        "pkg/engine/api.py:1: import pkg.engine._engine  (only pkg.engine may import pkg.engine._engine)"
    ]


def test_the_checker_finds_long_modules(tmp_path: Path) -> None:
    modules = _package(tmp_path, {"pkg/__init__.py": "x = 1\n" * 11, "pkg/data.py": "y = 1\n" * 11})
    assert long_modules(modules, 10, {"pkg/data.py": "generated"}, tmp_path) == [
        "pkg/__init__.py: 11 lines (limit 10)"
    ]
