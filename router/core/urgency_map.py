"""Which urgency class a contact takes when it moves to a service without its own.

A supervisor's move or an ``overflow`` step may take a contact to a service whose
classes differ (``normal`` from mental health into nursing advice's P0-P8). The contact
keeps its due time - its place in the one order - whatever happens here; the class
decides its escalation warning from then on and what reports show as its final class.

The rule, so a move never makes a contact less urgent:
- a class of the same name is kept, unless it redirects there;
- otherwise the target's class with the longest target that is not longer than the
  contact's own class's target (the least urgent class at least as urgent);
- otherwise (its own target is shorter than all of them) the target's most urgent class.
Redirecting classes (P0 -> 112) are never chosen: a queued contact is not redirected by
a move.

The class it arrived in stays on the record (``original_urgency``), through any number
of moves and overflows: views show it as the class "as it arrived", as the audit does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from router.core.model import ServiceSpec

if TYPE_CHECKING:
    from router.core.state import ContactRecord


def class_after_move(source: ServiceSpec, urgency: str, target: ServiceSpec) -> str:
    """The class ``urgency`` (of ``source``) becomes in ``target``."""
    same = target.urgencies.get(urgency)
    if same is not None and same.redirect is None:
        return urgency
    own = source.urgencies.get(urgency)
    queued = [u for u in target.urgencies.values() if u.redirect is None]
    if own is None or not queued:
        return target.default_urgency
    as_urgent = [u for u in queued if u.target_s <= own.target_s]
    if as_urgent:
        return max(as_urgent, key=lambda u: u.target_s).name
    return min(queued, key=lambda u: u.target_s).name


def move_class(c: ContactRecord, target: ServiceSpec) -> str | None:
    """Gives ``c`` (still of its old service) its class in ``target``; answers the new
    class, or None when it keeps its own. The class it arrived in is kept first, the
    first time its class changes (a re-classification keeps it the same way)."""
    urgency = class_after_move(c.service, c.urgency, target)
    if urgency == c.urgency:
        return None
    if c.original_urgency is None:
        c.original_urgency = c.urgency
    c.urgency = urgency
    return urgency
