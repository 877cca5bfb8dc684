"""Partner agreements: a neighbouring region's agents covering some of this region's
services during scheduled hours (evenings, weekends).

A partner agent is a roster agent whose ``AgentSpec.partner`` names an agreement. It is
eligible for a contact only when the agreement names the contact's service AND cover is
on at that instant. Both are expressed in skill masks, so matching costs nothing more:
when a region has agreements, every service's requirement is joined with a *gate*
(``auth:own-region`` or ``auth:partner.<name>`` for each agreement naming the service);
the region's own agents hold ``own-region``, a partner agent holds ``partner.<name>``
only while its agreement's cover is on. Cover changes are engine timers at the exact
instants the schedule (a weekly pattern with exceptions and public holidays, local time)
opens and closes, so memory mode, Redis mode and virtual time change over alike.

When cover is on is the calendar's to say (``router.calendar.cover_plan.CoverPlan``);
the engine only asks an agreement's ``cover`` whether it is on and when it next changes
(``Cover``), so the core does not import the calendar.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

# The gate authorisations a region with agreements adds to its catalogue.
OWN_REGION = "own-region"


def partner_authorisation(agreement: str) -> str:
    return f"partner.{agreement}"


def gate_authorisations(agreements: Iterable[str]) -> tuple[str, ...]:
    """The authorisations the catalogue needs for these agreements (none without any)."""
    names = tuple(agreements)
    if not names:
        return ()
    return (OWN_REGION, *(partner_authorisation(name) for name in names))


class Cover(Protocol):
    """When an agreement's cover is on, a pure function of the instant: the region file's
    kind is ``router.calendar.cover_plan.CoverPlan`` (a weekly schedule in local time).
    The engine keeps it in its policy, so it must pickle and compare by value."""

    def is_on(self, t: float) -> bool: ...

    def next_change(self, t: float) -> float | None:
        """The first instant after ``t`` at which cover turns on or off (None: never)."""
        ...


@dataclass(frozen=True, slots=True)
class Agreement:
    """A partner agreement: its ``name`` (what agents' ``partner`` names), the partner
    region's name (for people), the services its agents may receive, and when."""

    name: str
    services: frozenset[str]
    cover: Cover
    region: str = ""


def service_agreements(agreements: Mapping[str, Agreement], service: str) -> tuple[str, ...]:
    """The agreements whose agents may serve ``service``, in the given order."""
    return tuple(name for name, a in agreements.items() if service in a.services)
