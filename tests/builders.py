"""Small hand-built regions for engine tests (the YAML sample is tested separately)."""

from __future__ import annotations

from collections.abc import Iterable

from router.core import decisions as d
from router.core.engine import Engine
from router.core.events import Event, TimerDue
from router.core.model import AgentSpec, Channel, ServiceSpec, Step, StepKind, UrgencyClass
from router.core.policy import RoutingPolicy
from skills import AgentAbilities, SkillCatalogue, parse_requirement

CATALOGUE = SkillCatalogue(["nursing", "dental", "social"], ["fi", "sv", "en"], ["omaolo"])

P_CLASSES = {
    "P0": UrgencyClass("P0", 0, redirect="112"),
    "P1": UrgencyClass("P1", 600),
    "P3": UrgencyClass("P3", 3600),
    "P5": UrgencyClass("P5", 86400),
}


def service(
    name: str,
    requirement: str,
    steps: Iterable[Step] = (Step(StepKind.REGION),),
    **settings: object,
) -> ServiceSpec:
    base: dict[str, object] = {
        "name": name,
        "requirement": parse_requirement(requirement, CATALOGUE),
        "urgencies": P_CLASSES,
        "default_urgency": "P5",
        "steps": tuple(steps),
        "offer_timeout_s": 20.0,
        "decline_cooldown_s": 120.0,
        "timeout_cooldown_s": 0.0,  # as in the region file
    }
    base.update(settings)
    return ServiceSpec(**base)  # type: ignore[arg-type]


def agent(
    agent_id: str,
    site: str,
    skills: dict[str, int],
    languages: str = "fi",
    auth: str = "",
    team: str | None = None,
    **capacity: int,
) -> AgentSpec:
    return AgentSpec(
        id=agent_id,
        name=agent_id.upper(),
        site=site,
        team=team or f"{site}-team",
        abilities=AgentAbilities(
            skills,
            frozenset(languages.split(",")),
            frozenset(auth.split(",")) if auth else frozenset(),
        ),
        capacity={Channel(ch): n for ch, n in (capacity or {"voice": 1}).items()},
    )


def engine(services: Iterable[ServiceSpec], agents: Iterable[AgentSpec]) -> Engine:
    return Engine(
        RoutingPolicy(CATALOGUE, {s.name: s for s in services}, {a.id: a for a in agents})
    )


def brief(dec: d.Decision) -> tuple[object, ...]:
    """A decision as a short tuple, so tests can assert whole logs."""
    if isinstance(dec, d.Offered):
        return ("offer", dec.contact_id, dec.agent_id)
    if isinstance(dec, d.Queued):
        return ("queued", dec.contact_id, dec.step.value)
    if isinstance(dec, d.Assigned):
        return ("assigned", dec.contact_id, dec.agent_id)
    if isinstance(dec, d.Requeued):
        return ("requeued", dec.contact_id, dec.agent_id, dec.reason)
    if isinstance(dec, d.Widened):
        return ("widened", dec.contact_id, dec.step.value)
    if isinstance(dec, d.Closed):
        return ("closed", dec.contact_id, dec.outcome)
    if isinstance(dec, d.CustomerGone):
        return ("gone", dec.contact_id, dec.agent_id)
    if isinstance(dec, d.CustomerSeenAgain):
        return ("seen_again", dec.contact_id, dec.agent_id)
    if isinstance(dec, d.Redirected):
        return ("redirected", dec.contact_id, dec.target)
    if isinstance(dec, d.Moved):
        return ("moved", dec.contact_id, dec.to_service)
    if isinstance(dec, d.Overflowed):
        return ("overflowed", dec.contact_id, dec.to_service)
    if isinstance(dec, d.EscalationWarning):
        return ("warning", dec.contact_id)
    if isinstance(dec, d.DeadlineMissed):
        return ("missed", dec.contact_id)
    if isinstance(dec, d.AgentPresenceSet):
        return ("presence", dec.agent_id, dec.presence.value, dec.reason)
    if isinstance(dec, d.WrapUpStarted):
        return ("wrapup", dec.agent_id, dec.until)
    if isinstance(dec, d.WrapUpEnded):
        return ("wrapup_end", dec.agent_id)
    if isinstance(dec, d.OfferWithdrawn):
        return ("withdrawn", dec.contact_id, dec.agent_id, dec.reason)
    if isinstance(dec, d.Switched):
        return ("switched", dec.contact_id, dec.new.value)
    if isinstance(dec, d.Scheduled):
        return ("scheduled", dec.contact_id, dec.until)
    if isinstance(dec, d.CallbackAttempt):
        return ("attempt", dec.contact_id, dec.attempt, dec.result, dec.retry_at)
    if isinstance(dec, d.CoverChanged):
        return ("cover", dec.agreement, dec.on)
    if isinstance(dec, d.Reclassified):
        return ("reclassified", dec.contact_id, dec.old, dec.new, dec.due_at)
    raise AssertionError(dec)


class Clock:
    """Drives an engine in virtual time, firing timers at their own instants (like
    trio's MockClock), and records every decision with the time it was made."""

    def __init__(self, eng: Engine) -> None:
        self.engine = eng
        self.now = 0.0
        self.log: list[tuple[float, tuple[object, ...]]] = []

    def advance_to(self, t: float) -> None:
        while (due := self.engine.next_timer_at()) is not None and due <= t:
            self.now = max(self.now, due)
            self._record(self.engine.apply(self.now, TimerDue()))
        self.now = max(self.now, t)

    def at(self, t: float, *events: Event) -> list[tuple[object, ...]]:
        self.advance_to(t)
        out: list[tuple[object, ...]] = []
        for ev in events:
            decisions = self.engine.apply(self.now, ev)
            self._record(decisions)
            out.extend(brief(x) for x in decisions)
        return out

    def _record(self, decisions: list[d.Decision]) -> None:
        self.log.extend((self.now, brief(x)) for x in decisions)
