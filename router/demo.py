"""``yhteys demo``: the engine on a region in virtual time, printing what it decided and
why, then a summary. The demo's contacts (``contact_factory``) are also the workload of
the determinism and snapshot-upgrade tests.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter
from statistics import mean

from router.config import ConfigError, load_region
from router.config.region import Region
from router.config.sample import region_file
from router.core import decisions as d
from router.core.engine import Engine
from router.core.model import Channel, ContactSpec
from router.sim import Behaviour, ContactFactory, Simulation, servable

# Which channel a demo contact of a service arrives on, and how often each is used.
_LANGUAGE_MIX = (("fi", 0.75), ("sv", 0.2), ("en", 0.05))


def _clock(t: float) -> str:
    t = int(t)
    return f"{8 + t // 3600:02d}:{t // 60 % 60:02d}:{t % 60:02d}"


def _describe(decision: d.Decision) -> str:
    match decision:
        case d.Queued(contact_id=c, service=s, step=step, due_at=due):
            return f"queued     {c:<6} {s} at step {step.value}, due {_clock(due)}"
        case d.Offered(contact_id=c, agent_id=a, channel=ch, trace=tr):
            return f"offered    {c:<6} to {a} ({ch.value}; {tr})"
        case d.Assigned(contact_id=c, agent_id=a):
            return f"assigned   {c:<6} to {a}"
        case d.Requeued(contact_id=c, agent_id=a, reason=r):
            return f"requeued   {c:<6} from {a}: {r}, keeps its place"
        case d.Widened(contact_id=c, step=step, skipped=sk):
            skipped = f" (skipped {', '.join(s.value for s in sk)})" if sk else ""
            return f"widened    {c:<6} to {step.value}{skipped}"
        case d.Overflowed(contact_id=c, from_service=f, to_service=t):
            return f"overflowed {c:<6} from {f} to {t}"
        case d.Redirected(contact_id=c, target=t, urgency=u):
            return f"redirected {c:<6} to {t} (urgency {u})"
        case d.EscalationWarning(contact_id=c, service=s, due_at=due):
            return f"WARNING    {c:<6} {s} due {_clock(due)} and still waiting"
        case d.DeadlineMissed(contact_id=c, service=s, due_at=due):
            return f"MISSED     {c:<6} {s} was due {_clock(due)}"
        case d.Closed(contact_id=c, outcome=o, agent_id=a):
            return f"closed     {c:<6} {o}" + (f" by {a}" if a else "")
        case d.CustomerGone(contact_id=c, agent_id=a):
            return f"gone       {c:<6} customer not seen" + (f" ({a} has it)" if a else "")
        case d.CustomerSeenAgain(contact_id=c, agent_id=a):
            return f"back       {c:<6} customer seen again" + (f" ({a} has it)" if a else "")
        case d.AgentPresenceSet(agent_id=a, presence=p, reason=r):
            return f"presence   {a} -> {p.value} ({r})"
        case d.WrapUpStarted(agent_id=a, until=u):
            return f"wrap-up    {a} until {_clock(u)}"
        case d.WrapUpEnded(agent_id=a):
            return f"wrap-up    {a} done"
        case d.OfferWithdrawn(contact_id=c, agent_id=a, reason=r):
            return f"withdrawn  {c:<6} from {a}: {r}"
    return repr(decision)


# Channels a demo contact arrives on, by weight (work-item services: work items only).
_CHANNEL_MIX = ((Channel.VOICE, 3.0), (Channel.CHAT, 1.0), (Channel.WEB, 1.0))
# How far ahead the demo asks the engine whether a kind of contact can ever be served.
_SERVABLE_HORIZON_S = 2 * 86400.0


def _demand_mix(
    region: Region,
) -> tuple[dict[str, list[tuple[Channel, str | None, float]]], list[str]]:
    """Per service, the (channel, language, weight) kinds of contact someone on the
    roster can serve, and a line for each kind nobody can (left out of the demo)."""
    languages: list[tuple[str | None, float]] = [
        (code, w) for code, w in _LANGUAGE_MIX if code in region.languages
    ] or [(None, 1.0)]
    policy = region.policy()
    mix: dict[str, list[tuple[Channel, str | None, float]]] = {}
    unservable = []
    for name in sorted(region.services):
        svc = region.services[name]
        workitem = "omaolo" in str(svc.requirement) or "symptom" in name
        channels = ((Channel.WORKITEM, 1.0),) if workitem else _CHANNEL_MIX
        kinds: list[tuple[Channel, str | None, float]] = []
        for channel, cw in channels:
            for language, lw in languages:
                spec = ContactSpec(
                    id="probe",
                    channel=channel,
                    service=name,
                    urgency=svc.default_urgency,
                    language=language,
                )
                if servable(lambda: Engine(policy), spec, _SERVABLE_HORIZON_S):
                    kinds.append((channel, language, cw * lw))
                else:
                    unservable.append(f"{name} by {channel.value} in {language or 'any language'}")
        if kinds:
            mix[name] = kinds
    return mix, unservable


def contact_factory(region: Region) -> ContactFactory:
    """Demo contacts of every service, channel and language someone can serve."""
    mix, _ = _demand_mix(region)
    services = sorted(mix)
    sites = sorted(region.sites)

    def make(rnd: random.Random, n: int, t: float) -> ContactSpec:
        name = rnd.choice(services)
        svc = region.services[name]
        classes = [u for u, cls in svc.urgencies.items() if cls.redirect is None]
        urgency = rnd.choice(classes)
        if rnd.random() < 0.01 and any(c.redirect for c in svc.urgencies.values()):
            urgency = next(u for u, c in svc.urgencies.items() if c.redirect)
        kinds = mix[name]
        channel, language, _ = rnd.choices(kinds, [w for _, _, w in kinds])[0]
        return ContactSpec(
            id=f"c{n}",
            channel=channel,
            service=name,
            urgency=urgency,
            language=language,
            preferred_site=rnd.choice(sites) if sites else None,
        )

    return make


def demo(args: argparse.Namespace) -> int:
    try:
        region = load_region(region_file(args.config))
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    engine = Engine(region.policy())
    patience = {ch: args.patience_s for ch in Channel} if args.patience_s else {}
    sim = Simulation(engine, seed=args.seed, behaviour=Behaviour(patience_s=patience))
    sim.log_in_everyone()
    minutes = args.minutes
    _, unservable = _demand_mix(region)
    sim.arrivals(contact_factory(region), per_hour=args.per_hour, until=minutes * 60)
    print(
        f"Yhteys demo: {region.name} — {len(region.agents)} agents, "
        f"{len(region.services)} services, {args.per_hour:g} contacts/hour for {minutes} "
        f"minutes of virtual time (seed {args.seed}).",
        flush=True,
    )
    if unservable:
        print(
            f"Not drawn, as nobody on the roster can serve them: {'; '.join(unservable)}.",
            flush=True,
        )
    counts: Counter[str] = Counter()
    shown = 0
    for t, decision in sim.run(until=minutes * 60 + 3600):
        counts[type(decision).__name__] += 1
        if shown < args.show:
            print(f"{_clock(t)}  {_describe(decision)}")
            shown += 1
    waits = list(sim.answered_wait_s.values())
    print()
    print("Summary:")
    for kind, n in sorted(counts.items()):
        print(f"  {kind:<18} {n}")
    if waits:
        waits.sort()
        p90 = waits[int(0.9 * (len(waits) - 1))]
        print(f"  answered: {len(waits)}, mean wait {mean(waits):.0f} s, 90th pct {p90:.0f} s")
    arrivals = len(sim.arrived_at)
    if arrivals:
        sl_s = args.sl_s
        within = sum(1 for w in waits if w <= sl_s)
        abandoned = len(sim.abandoned_wait_s)
        of_answered = f"{within / len(waits):.1%}" if waits else "-"
        print(
            f"  service level ({sl_s:g} s): {within / arrivals:.1%} of all {arrivals} arrivals, "
            f"{of_answered} of answered contacts"
        )
        print(f"  abandoned: {abandoned} ({abandoned / arrivals:.1%} of arrivals)")
    print(f"  still waiting: {engine.waiting_count}")
    return 0
