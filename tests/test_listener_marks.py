"""A listener marked ``@handles(...)`` is called with those kinds only (the dispatch loop
skips it for every other), so a kind its body acts on but its mark forgets would be
dropped without a word. This reads every marked listener's source and holds each kind
it tests for (``isinstance``, ``match``/``case``) to its mark."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted(
    p
    for folder in ("router", "channels")
    for p in (ROOT / folder).rglob("*.py")
    if "@handles(" in p.read_text(encoding="utf-8")
)


def _module_of(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def _kinds_tested(body: ast.AST) -> list[ast.expr]:
    """The class expressions a body tests its input against to act on it (a test whose
    branch only returns turns kinds away: those need no mark)."""
    turned_away = {
        id(node.test)
        for node in ast.walk(body)
        if isinstance(node, ast.If)
        and len(node.body) == 1
        and isinstance(node.body[0], ast.Return)
        and node.body[0].value is None
    }
    found: list[ast.expr] = []
    for node in ast.walk(body):
        if id(node) in turned_away:
            continue
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "isinstance"
            and len(node.args) == 2
        ):
            kinds = node.args[1]
            found.extend(kinds.elts if isinstance(kinds, ast.Tuple) else [kinds])
        elif isinstance(node, ast.MatchClass):
            found.append(node.cls)
    return found


def _marked_listeners() -> list[tuple[str, ast.FunctionDef, ast.Call]]:
    marked = []
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef):
                continue
            for deco in node.decorator_list:
                if (
                    isinstance(deco, ast.Call)
                    and isinstance(deco.func, ast.Name)
                    and deco.func.id == "handles"
                ):
                    marked.append((_module_of(path), node, deco))
    return marked


MARKED = _marked_listeners()
# Listeners that find their handler in a table by the input's type, marked with that
# table's kinds, and the test that checks the mark against the table.
BY_TABLE = {
    "router.service.audit.recorder.on_decision": "tests/test_audit_listeners.py",
}


def test_the_marked_listeners_are_found() -> None:
    # The service's decision and event listeners that say which kinds they act on.
    assert len(MARKED) >= 10, [f"{m}.{f.name}" for m, f, _ in MARKED]


@pytest.mark.parametrize(
    ("module", "func", "mark"),
    MARKED,
    ids=[f"{m}:{f.name}:{f.lineno}" for m, f, _ in MARKED],
)
def test_a_marked_listener_is_called_with_every_kind_it_acts_on(
    module: str, func: ast.FunctionDef, mark: ast.Call
) -> None:
    names = vars(importlib.import_module(module))
    declared = tuple(
        kind
        for arg in mark.args
        for kind in (
            eval(ast.unparse(arg.value), names)  # ``@handles(*TABLE)``: the table's kinds
            if isinstance(arg, ast.Starred)
            else (eval(ast.unparse(arg), names),)
        )
    )
    if f"{module}.{func.name}" in BY_TABLE:
        # Its body finds its handler in a table, by type: no kind to read here.
        pytest.skip(f"checked by {BY_TABLE[f'{module}.{func.name}']}")
    tested = _kinds_tested(func)
    assert tested, f"{func.name} tests no kind: its mark cannot be checked"
    for expr in tested:
        kind = eval(ast.unparse(expr), names)
        assert isinstance(kind, type) and issubclass(kind, declared), (
            f"{module}.{func.name} acts on {ast.unparse(expr)} but is marked "
            f"@handles({', '.join(ast.unparse(a) for a in mark.args)})"
        )
