"""Ready-made what-if comparisons on the real engine (``yhteys compare``): the same demand
and staff routed in different ways, each variant run by :func:`router.whatif.model.run`
with the same seeds, so the figures differ by the routing and not by the luck of the draw
alone.

**Pooling** (:func:`pooling_variants`): the region's own agents (partner agents left out),
and every stream of contacts given a caller's own site — a stream without one is split
over the sites in proportion to their agents able to serve it (its service's
requirement, capacity on its channel), so each site carries the same load per such
agent. Every service's widening steps are replaced by:

- ``islands``: ``own_site`` for good (each site's calls only to that site's agents);
- ``pool``: ``region`` at once (one region-wide pool);
- ``own site N s``: ``own_site`` for N seconds, then ``region``.

**Cover** (:func:`cover_variants`, :func:`cover_window`): one partner agreement's cover
period on a given day (e.g. Monday 16:00–22:00), measured from its opening to its
closing; the region's own evening staff logged in, and the partner's agents either not
logged in (``alone``) or logged in (``with cover``: the engine offers them the
agreement's services only while cover is on).

Pure: region variants are built in memory; no I/O, no clock.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from router.calendar.cover_plan import CoverPlan
from router.core.model import Step, StepKind
from router.core.partners import Agreement
from router.core.policy import RoutingPolicy
from router.whatif.model import Estimate, Scenario, Stream, WhatIfError
from router.whatif.replication import run

ISLANDS = "islands"
POOL = "pool"
ALONE = "alone"
WITH_COVER = "with cover"

Results = dict[str, dict[str, Estimate]]


def own_site_first(seconds: float) -> str:
    return f"own site {seconds:g} s"


def with_steps(policy: RoutingPolicy, steps: tuple[Step, ...]) -> RoutingPolicy:
    """The policy with every service's widening steps replaced by ``steps``."""
    services = {
        name: dataclasses.replace(spec, steps=steps) for name, spec in policy.services.items()
    }
    return dataclasses.replace(policy, services=services)


def with_agents(policy: RoutingPolicy, keep: Callable[[str], bool]) -> RoutingPolicy:
    """The policy with only the agents whose id ``keep`` accepts (others: not there)."""
    agents = {aid: spec for aid, spec in policy.agents.items() if keep(aid)}
    return dataclasses.replace(policy, agents=agents)


def own_agents(policy: RoutingPolicy) -> RoutingPolicy:
    """The region's own agents only: partner agents left out."""
    return with_agents(policy, lambda aid: not policy.agents[aid].partner)


def agents_per_site(policy: RoutingPolicy) -> Counter[str]:
    return Counter(spec.site for spec in policy.agents.values())


def split_by_site(streams: Sequence[Stream], policy: RoutingPolicy) -> tuple[Stream, ...]:
    """Every stream with a caller's site: one given stays; one without is split over the
    sites in proportion to their agents able to serve the stream's service (at its
    requirement, with capacity on its channel), so each site carries the same load per
    such agent."""
    sites = agents_per_site(policy)
    out: list[Stream] = []
    for stream in streams:
        if stream.site is not None:
            if stream.site not in sites:
                raise WhatIfError(
                    f"--rate {stream.service}@{stream.site}: expected a site with agents "
                    f"({', '.join(sorted(sites))}), got {stream.site!r}"
                )
            out.append(stream)
            continue
        if stream.service not in policy.services:
            raise WhatIfError(
                f"no service {stream.service!r} in the region; expected one of "
                f"{', '.join(sorted(policy.services))}"
            )
        able = Counter(
            spec.site
            for aid, spec in policy.agents.items()
            if spec.capacity.get(stream.channel, 0) > 0
            and _can_serve(policy, aid, frozenset({stream.service}))
        )
        total = sum(able.values())
        if not total:
            raise WhatIfError(
                f"--rate {stream.service}: expected agents who serve it by "
                f"{stream.channel.value}, found none in the region"
            )
        for site, n in sorted(able.items()):
            out.append(dataclasses.replace(stream.scaled(n / total), site=site))
    return tuple(out)


def pooling_variants(
    policy: RoutingPolicy, own_site_s: Sequence[float] = ()
) -> list[tuple[str, RoutingPolicy]]:
    """Islands, one pool, and own-site-first for each of ``own_site_s`` seconds, on the
    region's own agents."""
    own = own_agents(policy)
    variants = [
        (ISLANDS, with_steps(own, (Step(StepKind.OWN_SITE),))),
        (POOL, with_steps(own, (Step(StepKind.REGION),))),
    ]
    for seconds in own_site_s:
        if not seconds > 0 or math.isinf(seconds):
            raise WhatIfError(f"--own-site-s: expected seconds > 0, got {seconds:g}")
        steps = (Step(StepKind.OWN_SITE, seconds), Step(StepKind.REGION))
        variants.append((own_site_first(seconds), with_steps(own, steps)))
    return variants


def agreement_of(policy: RoutingPolicy, name: str | None) -> Agreement:
    """The named partner agreement, or the region's only one when no name is given."""
    names = sorted(policy.agreements)
    if name is None:
        if len(names) != 1:
            raise WhatIfError(
                "--agreement: expected the name of one of the region's partner agreements "
                f"({', '.join(names) or 'it has none'})"
            )
        name = names[0]
    if name not in policy.agreements:
        raise WhatIfError(
            f"--agreement: expected one of the region's partner agreements "
            f"({', '.join(names) or 'it has none'}), got {name!r}"
        )
    return policy.agreements[name]


def cover_window(agreement: Agreement, day: date) -> tuple[float, float]:
    """The first cover period of ``agreement`` opening on ``day`` (its local date): its
    opening and closing instants (epoch seconds)."""
    plan = agreement.cover
    if not isinstance(plan, CoverPlan):  # the core knows only when cover is on
        raise WhatIfError(f"{agreement.name}'s cover is not a weekly schedule")
    schedule = plan.schedule()
    zone = ZoneInfo(plan.zone)
    midnight = datetime(day.year, day.month, day.day, tzinfo=zone).timestamp()
    next_midnight = datetime.combine(day + timedelta(days=1), datetime.min.time(), zone)
    opening = midnight if schedule.is_open(midnight) else schedule.next_opening(midnight)
    if opening is None or opening >= next_midnight.timestamp():
        later = "never" if opening is None else _local(opening, zone)
        raise WhatIfError(
            f"--day: expected a day on which {agreement.name}'s cover opens; on {day} it does "
            f"not (next opening: {later})"
        )
    closing = schedule.next_closing(opening)
    if closing is None:
        raise WhatIfError(f"{agreement.name}'s cover never closes after {_local(opening, zone)}")
    return opening, closing


def _local(t: float, zone: ZoneInfo) -> str:
    return datetime.fromtimestamp(t, zone).strftime("%a %Y-%m-%d %H:%M")


def evening_staff(policy: RoutingPolicy, agreement: Agreement, own_staff: str | None) -> set[str]:
    """The region's own agents on duty: ``None`` all; ``N`` the first N (roster order)
    able to serve one of the agreement's services; ``ID,ID,...`` those agents."""
    own = [aid for aid, spec in policy.agents.items() if not spec.partner]
    if own_staff is None:
        return set(own)
    text = own_staff.strip()
    if text.isdigit():
        able = [aid for aid in own if _can_serve(policy, aid, agreement.services)]
        n = int(text)
        if n > len(able):
            raise WhatIfError(
                f"--own-staff: expected at most {len(able)} (the region's own agents able "
                f"to serve {', '.join(sorted(agreement.services))}), got {n}"
            )
        return set(able[:n])
    ids = [x.strip() for x in text.split(",") if x.strip()]
    unknown = [x for x in ids if x not in own]
    if not ids or unknown:
        raise WhatIfError(
            "--own-staff: expected a number or the ids of the region's own agents "
            f"(comma-separated), got {', '.join(unknown) or repr(own_staff)}"
        )
    return set(ids)


def _can_serve(policy: RoutingPolicy, agent_id: str, services: frozenset[str]) -> bool:
    catalogue = policy.catalogue
    mask = catalogue.agent_mask(policy.agents[agent_id].abilities)
    return any(
        policy.services[s].requirement.compile(catalogue).matches(mask)
        for s in services
        if s in policy.services
    )


def cover_variants(
    policy: RoutingPolicy, agreement: Agreement, staff: set[str]
) -> list[tuple[str, RoutingPolicy]]:
    """The evening staff alone, and with the agreement's partner agents logged in."""
    partners = {aid for aid, spec in policy.agents.items() if spec.partner == agreement.name}
    if not partners:
        raise WhatIfError(f"no agent of the region names the agreement {agreement.name!r}")
    return [
        (ALONE, with_agents(policy, lambda aid: aid in staff)),
        (WITH_COVER, with_agents(policy, lambda aid: aid in staff or aid in partners)),
    ]


def compare(
    variants: Sequence[tuple[str, RoutingPolicy]],
    scenario: Scenario,
    replications: int,
    seed: int = 1,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, Results]:
    """Each variant run with the same scenario and seeds: its figures per service and
    ``all``, as means with 95 % confidence intervals."""
    out: dict[str, Results] = {}
    for label, policy in variants:

        def step(done: int, total: int, label: str = label) -> None:
            if progress is not None:
                progress(label, done, total)

        out[label] = run(policy, scenario, replications, seed, step)
    return out
