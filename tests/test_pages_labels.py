"""Every reason and step kind the server can send the pages has a label in every
language: the lists are read from the code (the engine's enums and the literals at the
places that make reasons), not copied by hand, so a new one without a label fails here."""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from pathlib import Path

from router.core.model import StepKind
from router.service import supervisor

ROOT = Path(__file__).resolve().parent.parent
LABELS = json.loads((ROOT / "router/service/pages/labels.json").read_text(encoding="utf-8"))
CORE = sorted((ROOT / "router/core").rglob("*.py"))
# The engine's calls that give a reason (or an outcome that is one) as their third
# argument: an offer withdrawn, requeued, returned, or a contact left unanswered.
REASON_CALLS = {"OfferWithdrawn", "Requeued", "return_offer", "leave_unanswered"}


def _trees() -> Iterator[ast.AST]:
    for path in CORE:
        yield ast.parse(path.read_text(encoding="utf-8"))


def _name(func: ast.expr) -> str:
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def withdrawn_reasons() -> set[str]:
    """What ``offer_withdrawn`` says (the agent desktop labels it with ``reason.*``)."""
    found = set()
    for tree in _trees():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _name(node.func) in REASON_CALLS:
                arg = node.args[2] if len(node.args) > 2 else None
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    found.add(arg.value)
    return found


def presence_reasons() -> set[str]:
    """An agent's not-ready reasons the engine or the service sets: ``x.reason = "..."``
    or ``set_not_ready_by_engine(..., "...")``, ``f"offer_{reason}"`` for every reason an
    offer is returned with, and the
    service's ``*_REASON`` constants (a supervisor's forced not ready)."""
    returned = set()
    prefixes = set()
    found = set()
    for tree in _trees():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _name(node.func) == "return_offer":
                arg = node.args[2]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    returned.add(arg.value)
            if isinstance(node, ast.Call) and _name(node.func) == "set_not_ready_by_engine":
                value = node.args[2]  # the engine's own not ready, with its reason
            elif isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Attribute) and t.attr == "reason" for t in node.targets
            ):
                value = node.value
            else:
                continue
            if isinstance(value, ast.Constant) and isinstance(value.value, str) and value.value:
                found.add(value.value)
            elif isinstance(value, ast.JoinedStr):
                head = value.values[0]
                assert isinstance(head, ast.Constant), ast.unparse(value)
                prefixes.add(str(head.value))
    found |= {prefix + reason for prefix in prefixes for reason in returned}
    found |= {
        value
        for name, value in vars(supervisor).items()
        if name.endswith("_REASON") and isinstance(value, str)
    }
    return found


def test_the_lists_are_found_in_the_code() -> None:
    assert {"abandoned", "cancelled", "channel_switched", "agent_logged_out"} <= (
        withdrawn_reasons()
    )
    assert {"supervisor", "no_heartbeat", "offer_timeout"} <= presence_reasons()


def test_every_reason_and_step_kind_has_a_label_in_every_language() -> None:
    keys = {f"reason.{r}" for r in withdrawn_reasons() | presence_reasons()}
    keys |= {f"step.{kind.value}" for kind in StepKind}
    missing = {lang: sorted(keys - set(labels)) for lang, labels in LABELS.items()}
    assert missing == {lang: [] for lang in LABELS}
