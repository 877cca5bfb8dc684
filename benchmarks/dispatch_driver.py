"""The dispatch benchmark's driver: it feeds a matcher the events a contact centre
would (arrivals, offers accepted, contacts completed), times each ``apply`` and keeps
the floor's state (who holds what, the virtual clock) the way the agents see it.

Virtual time moves ``DT`` seconds per event. The engine and the naive matcher are
driven alike (``Matcher``); the floor has its twin (``benchmarks.floor.FloorDriver``).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from benchmarks.workload import ContactStream
from router.core import decisions as d
from router.core.events import (
    AgentLoggedIn,
    ContactArrived,
    ContactCompleted,
    Event,
    OfferAccepted,
)
from router.core.model import ContactSpec

DT = 0.001
COMPLETE, ACCEPT, ARRIVE = 0, 1, 2
KINDS = ("complete", "accept", "arrive")


class Matcher(Protocol):
    """What the driver needs: the engine and the naive matcher both have it."""

    def apply(self, now: float, event: Event) -> list[d.Decision]: ...

    @property
    def waiting_count(self) -> int: ...


@dataclass(slots=True)
class Floor:
    """The driver's view of the floor: who holds what, and the clock."""

    held: list[tuple[str, str]] = field(default_factory=list)  # (agent, contact) assigned
    load: dict[str, int] = field(default_factory=dict)
    since: dict[str, float] = field(default_factory=dict)
    now: float = 0.0
    arrivals: int = 0

    def copy(self) -> Floor:
        return Floor(list(self.held), dict(self.load), dict(self.since), self.now, self.arrivals)


@dataclass(slots=True)
class Recorder:
    """Latencies (ns) per event kind, decisions and offers made while recording."""

    lat: tuple[list[int], list[int], list[int]] = field(default_factory=lambda: ([], [], []))
    decisions: int = 0
    total_ns: int = 0
    # (events, decisions, ns) at the end of each round of the measured phase
    rounds: list[tuple[int, int, int]] = field(default_factory=list)
    # The offers made, as (contact, agent) id pairs, kept as two lists of strings: a
    # tuple per offer would be a young object the collector traverses in the engine's
    # rounds (the floor's rounds run with it off), charging the driver's bookkeeping,
    # of both sides, to the engine.
    offer_contacts: list[str] = field(default_factory=list)
    offer_agents: list[str] = field(default_factory=list)
    heads: list[int] = field(default_factory=list)
    gc_pauses: list[tuple[int, int]] = field(default_factory=list)  # (generation, ns)
    preempted: int = 0  # involuntary context switches while measuring

    @property
    def events(self) -> int:
        return sum(len(x) for x in self.lat)

    @property
    def offers(self) -> list[tuple[str, str]]:
        return list(zip(self.offer_contacts, self.offer_agents, strict=True))

    def offered(self, contact_id: str, agent_id: str) -> None:
        self.offer_contacts.append(contact_id)
        self.offer_agents.append(agent_id)


class Driver:
    """Feeds events to a matcher the way a contact centre would, and keeps ``Floor``."""

    def __init__(
        self,
        matcher: Matcher,
        floor: Floor,
        stream: ContactStream,
        pick: random.Random,
        caps: dict[str, int],
    ) -> None:
        self.m = matcher
        self.floor = floor
        self.stream = stream
        self.pick = pick
        self.caps = caps
        self.rec: Recorder | None = None
        self._pending: list[d.Offered] = []

    def feed(self, event: Event, kind: int) -> list[d.Decision]:
        floor = self.floor
        floor.now += DT
        now = floor.now
        apply = self.m.apply
        t0 = time.perf_counter_ns()
        out = apply(now, event)
        t1 = time.perf_counter_ns()
        rec = self.rec
        if rec is not None:
            rec.lat[kind].append(t1 - t0)
            rec.decisions += len(out)
            rec.total_ns += t1 - t0
        for dec in out:
            if type(dec) is d.Offered:
                self._pending.append(dec)
                floor.load[dec.agent_id] += 1
                floor.since[dec.agent_id] = now
                if rec is not None:
                    rec.offered(dec.contact_id, dec.agent_id)
                    if kind == COMPLETE:
                        rec.heads.append(dec.trace.candidates)
            elif type(dec) is d.Closed and dec.agent_id is not None:
                floor.load[dec.agent_id] -= 1
                floor.since[dec.agent_id] = now
        return out

    def accept_pending(self) -> None:
        while self._pending:
            offer = self._pending.pop(0)
            self.feed(OfferAccepted(offer.contact_id, offer.agent_id), ACCEPT)
            self.floor.held.append((offer.agent_id, offer.contact_id))

    def arrive(self, spec: ContactSpec) -> None:
        self.floor.arrivals += 1
        self.feed(ContactArrived(spec), ARRIVE)
        self.accept_pending()

    def log_in(self, agent_id: str) -> None:
        self.floor.load[agent_id] = 0
        self.floor.since[agent_id] = self.floor.now + DT
        self.feed(AgentLoggedIn(agent_id), ARRIVE)
        self.accept_pending()

    def complete_one(self) -> None:
        held = self.floor.held
        i = self.pick.randrange(len(held))
        agent_id, contact_id = held[i]
        held[i] = held[-1]
        held.pop()
        self.feed(ContactCompleted(contact_id, agent_id), COMPLETE)
        self.accept_pending()

    def complete_each(self, waiting: int) -> None:
        """Completes every contact held now once, in order, keeping ``waiting`` waiting."""
        held = list(self.floor.held)
        self.floor.held.clear()
        for agent_id, contact_id in held:
            self.feed(ContactCompleted(contact_id, agent_id), COMPLETE)
            self.accept_pending()
            self.top_up(waiting)

    def idle(self) -> int:
        """Agents with nothing in hand."""
        return sum(1 for n in self.floor.load.values() if n == 0)

    def top_up(self, waiting: int, progress: Callable[[int], None] | None = None) -> None:
        m = self.m
        stream = self.stream
        n = 0
        while m.waiting_count < waiting:
            self.arrive(stream.random())
            n += 1
            if progress is not None and n % 20_000 == 0:
                progress(m.waiting_count)

    def has_free(self, agent_id: str) -> bool:
        return self.floor.load[agent_id] < self.caps[agent_id]
