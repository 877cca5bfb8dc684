"""The structure rules of docs/architecture.md, checked on the source: no import cycle
between the project's modules or between its layers, no module over ~500 lines without
a stated reason, and a pure core that imports no I/O, clock or framework module.

The imports are read with ``ast`` (nothing is imported), so a rule broken in a module no
test happens to load still fails here. Imports under ``if TYPE_CHECKING:`` are left out:
they never run.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("router", "skills", "channels")
SIZED = ("router", "skills", "channels", "benchmarks")
PURE = ("router/core", "router/calendar", "skills")
LAYERS = (
    "router.core",
    "router.calendar",
    "skills",
    "router.config",
    "router.service",
    "channels",
)
MAX_LINES = 500

# What the pure core may not import: I/O, the clock, frameworks and the service layers.
IMPURE_MODULES = frozenset(
    {
        "asyncio",
        "aiohttp",
        "redis",
        "hiredis",
        "uvloop",
        "prometheus_client",
        "yaml",
        "time",
        "socket",
        "select",
        "selectors",
        "signal",
        "os",
        "io",
        "pathlib",
        "shutil",
        "tempfile",
        "subprocess",
        "threading",
        "multiprocessing",
        "logging",
        "http",
        "urllib",
        "router.service",
        "router.store",
        "router.config",
        "channels",
    }
)
# Calls that read the wall clock, whatever module they come from.
CLOCK_READS = frozenset({"now", "utcnow", "today", "monotonic", "perf_counter", "time_ns"})


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_files(roots: Iterable[str]) -> Iterator[Path]:
    for root in roots:
        yield from sorted((ROOT / root).rglob("*.py"))


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _run_time_nodes(node: ast.AST) -> Iterator[ast.AST]:
    """Every node of ``node`` except the bodies of ``if TYPE_CHECKING:`` blocks."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child):
            for other in child.orelse:
                yield other
                yield from _run_time_nodes(other)
            continue
        yield child
        yield from _run_time_nodes(child)


def imported_names(path: Path, name: str | None = None) -> set[str]:
    """The dotted names ``path`` imports at run time (``from a.b import c`` gives both
    ``a.b`` and ``a.b.c``: the caller keeps whichever is a module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    name = module_name(path) if name is None else name
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: set[str] = set()
    for node in _run_time_nodes(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                prefix = package[: len(package) - (node.level - 1)]
                base = ".".join([*prefix, base] if base else prefix)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def project_graph() -> dict[str, set[str]]:
    files = {module_name(path): path for path in source_files(PACKAGES)}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        graph[name] = {dep for dep in imported_names(path) if dep in files and dep != name}
    return graph


def cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph.get(nxt, ())))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component: list[str] = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def layer_of(module: str) -> str | None:
    for layer in LAYERS:
        if module == layer or module.startswith(layer + "."):
            return layer
    return None


def test_the_cycle_finder_sees_a_cycle_and_only_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_type_checking_imports_are_left_out(tmp_path: Path) -> None:
    # The reader must see a run-time import and skip one that only the type checker runs.
    source = (
        "from typing import TYPE_CHECKING\n"
        "import router.core.model\n"
        "if TYPE_CHECKING:\n"
        "    from router.service.service import Service\n"
        "def f() -> None:\n"
        "    from channels import chat\n"
    )
    path = tmp_path / "probe.py"
    path.write_text(source, encoding="utf-8")
    names = imported_names(path, "router.probe")
    assert "router.core.model" in names
    assert "channels.chat" in names
    assert "router.service.service" not in names


def test_no_import_cycle_between_modules() -> None:
    assert cycles(project_graph()) == []


def test_no_import_cycle_between_layers() -> None:
    layered: dict[str, set[str]] = {layer: set() for layer in LAYERS}
    for module, deps in project_graph().items():
        source = layer_of(module)
        if source is None:
            continue
        for dep in deps:
            target = layer_of(dep)
            if target is not None and target != source:
                layered[source].add(target)
    assert cycles(layered) == []


def _stated_size_reason(path: Path) -> bool:
    docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    return any(line.strip().startswith("Size:") for line in docstring.splitlines())


def test_long_modules_state_why_in_their_header() -> None:
    unexplained = []
    for path in source_files(SIZED):
        relative = path.relative_to(ROOT).as_posix()
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES and not _stated_size_reason(path):
            unexplained.append(f"{relative} ({lines} lines)")
    assert unexplained == [], "over 500 lines without a 'Size:' line in the docstring"


def _impurities(path: Path, module: str | None = None) -> list[str]:
    found = []
    for name in sorted(imported_names(path, module)):
        if any(name == bad or name.startswith(bad + ".") for bad in IMPURE_MODULES):
            found.append(f"imports {name}")
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in _run_time_nodes(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in CLOCK_READS
        ):
            found.append(f"line {node.lineno} reads the clock ({node.func.attr})")
    return found


def test_the_impurity_check_sees_a_clock_and_a_socket(tmp_path: Path) -> None:
    path = tmp_path / "probe.py"
    path.write_text(
        "import socket\nfrom datetime import datetime\nT = datetime.now()\n", encoding="utf-8"
    )
    found = _impurities(path, "skills.probe")
    assert found == ["imports socket", "line 3 reads the clock (now)"]


def test_the_pure_core_imports_no_io_clock_or_framework() -> None:
    impure = {
        path.relative_to(ROOT).as_posix(): problems
        for path in source_files(PURE)
        if (problems := _impurities(path))
    }
    assert impure == {}


def test_the_door_rule_knows_no_http() -> None:
    # ``admit`` decides; the channels translate its refusal (``CallAgainAt``) into their
    # own answer, so the rule runs the same in simulations and in every channel.
    rule = ROOT / "channels" / "admission.py"
    http = sorted(
        name
        for name in imported_names(rule)
        if name.split(".")[0] == "aiohttp" or name.startswith("router.service")
    )
    assert http == []
