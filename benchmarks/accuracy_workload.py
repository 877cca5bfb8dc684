"""The simulated day of ``benchmarks.estimate_accuracy``: arrivals from 08:00 to 16:00 on
a curve with a morning peak (``day_profile``), in a mix of services, channels, sites and
languages (``contact_factory``), with the patience of callers and chat customers."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from router.config.region import Region
from router.core.engine import Engine
from router.core.model import Channel, ContactSpec

HOUR = 3600.0
OPENS_AT_H = 8  # virtual time 0 is 08:00

# Share of contacts per service, and the channels each arrives on.
SERVICE_MIX: dict[str, float] = {
    "nursing_advice": 0.38,
    "symptom_assessment": 0.12,
    "oral_health": 0.09,
    "child_family": 0.09,
    "mental_health": 0.08,
    "social_services": 0.06,
    "prescriptions": 0.09,
    "appointments": 0.09,
}
CHANNEL_MIX: dict[str, tuple[tuple[Channel, float], ...]] = {
    "nursing_advice": ((Channel.VOICE, 0.8), (Channel.CHAT, 0.2)),
    "symptom_assessment": ((Channel.WORKITEM, 1.0),),
    "mental_health": ((Channel.VOICE, 0.8), (Channel.CHAT, 0.2)),
    "appointments": ((Channel.VOICE, 0.8), (Channel.CHAT, 0.2)),
}
# The caller's own health station (by population), and how many there speak Swedish.
SITE_MIX: dict[str, float] = {
    "vaasa": 0.42,
    "korsholm": 0.13,
    "laihia": 0.06,
    "jakobstad": 0.20,
    "narpes": 0.10,
    "kristinestad": 0.09,
}
SWEDISH_SHARE: dict[str, float] = {
    "vaasa": 0.25,
    "korsholm": 0.6,
    "laihia": 0.02,
    "jakobstad": 0.55,
    "narpes": 0.9,
    "kristinestad": 0.55,
}
ENGLISH_SHARE = 0.02
DEFAULT_URGENCY_SHARE = 0.8  # the rest draw uniformly among the non-redirected classes

# Arrivals relative to the peak, by hour since opening (linear in between): the morning
# rush when the lines open, a lunch dip, a quieter afternoon.
DAY_CURVE: tuple[tuple[float, float], ...] = (
    (0.0, 0.85),
    (0.5, 1.0),
    (1.5, 0.8),
    (3.0, 0.6),
    (4.0, 0.45),
    (5.0, 0.55),
    (6.5, 0.45),
    (8.0, 0.35),
)


@dataclass(frozen=True, slots=True)
class Workload:
    config: str = "config/region.yaml"
    seed: int = 1
    hours: float = 8.0  # arrivals from 08:00 for this long
    drain_hours: float = 4.0  # agents stay on until the queue has emptied
    peak_per_hour: float = 800.0
    patience_voice_s: float | None = 300.0
    patience_chat_s: float | None = 600.0

    def describe(self, region: Region) -> str:
        patience = ", ".join(
            f"{ch} mean {p:.0f} s"
            for ch, p in (("voice", self.patience_voice_s), ("chat", self.patience_chat_s))
            if p is not None
        )
        mix = ", ".join(f"{s} {w:.0%}" for s, w in SERVICE_MIX.items())
        curve = ", ".join(f"{OPENS_AT_H + h:g}h {f:.0%}" for h, f in DAY_CURVE)
        return (
            f"`{self.config}` ({len(region.agents)} agents, all logged in all day); "
            f"arrivals {_clock(0)}-{_clock(self.hours * HOUR)}, Poisson with a peak of "
            f"{self.peak_per_hour:g}/h following the day curve ({curve}; linear in "
            f"between); services {mix}; nursing advice, mental health and appointments "
            "20% chat, symptom assessments as work items, the rest by phone; own station "
            "by population, Swedish by station (25% Vaasa to 90% Närpes), 2% English; "
            f"{DEFAULT_URGENCY_SHARE:.0%} the service's default urgency. Agents answer "
            "offers after 4 s on average and decline 5%; handle times exponential "
            "(voice 240 s, chat 420 s, work items 360 s), then the service's wrap-up. "
            f"Patience exponential ({patience or 'none'}); work items never give up. "
            f"Run until the queue is empty or {self.drain_hours:g} h after the last "
            f"arrival; seed {self.seed}."
        )


def _clock(t: float) -> str:
    t = int(t)
    return f"{OPENS_AT_H + t // 3600:02d}:{t // 60 % 60:02d}"


def day_profile(curve: Sequence[tuple[float, float]] = DAY_CURVE) -> Callable[[float], float]:
    """The share of the peak rate at virtual time ``t`` (piecewise linear in hours)."""

    def at(t: float) -> float:
        h = t / HOUR
        if h <= curve[0][0]:
            return curve[0][1]
        for (h0, f0), (h1, f1) in itertools.pairwise(curve):
            if h <= h1:
                return f0 + (f1 - f0) * (h - h0) / (h1 - h0)
        return curve[-1][1]

    return at


def _servable(region: Region) -> Callable[[str, Channel, str], bool]:
    """Whether some agent meets the service's requirement, speaks the language and takes
    the channel (so a generated contact can be answered at all)."""
    engine = Engine(region.policy())
    cat = engine.catalogue
    masks = {a.id: cat.agent_mask(a.spec.abilities) for a in engine.agents()}
    compiled = {s: engine.service(s).requirement.compile(cat) for s in engine.services()}
    known: dict[tuple[str, Channel, str], bool] = {}

    def servable(service: str, channel: Channel, language: str) -> bool:
        key = (service, channel, language)
        if key not in known:
            known[key] = any(
                compiled[service].matches(masks[a.id])
                and language in a.spec.abilities.languages
                and a.spec.capacity.get(channel, 0) > 0
                for a in engine.agents()
            )
        return known[key]

    return servable


def contact_factory(region: Region) -> Callable[[random.Random, int, float], ContactSpec]:
    services = [s for s in SERVICE_MIX if s in region.services]
    service_w = [SERVICE_MIX[s] for s in services]
    sites = [s for s in SITE_MIX if s in region.sites]
    site_w = [SITE_MIX[s] for s in sites]
    servable = _servable(region)

    def make(rnd: random.Random, n: int, t: float) -> ContactSpec:
        name = rnd.choices(services, service_w)[0]
        svc = region.services[name]
        mix = CHANNEL_MIX.get(name, ((Channel.VOICE, 1.0),))
        channel = rnd.choices([c for c, _ in mix], [w for _, w in mix])[0]
        site = rnd.choices(sites, site_w)[0]
        u = rnd.random()
        language = (
            "en"
            if u < ENGLISH_SHARE
            else "sv"
            if u < ENGLISH_SHARE + SWEDISH_SHARE.get(site, 0.0) * (1 - ENGLISH_SHARE)
            else "fi"
        )
        if not servable(name, channel, language):
            language = "fi"  # nobody could answer in that language: the caller uses Finnish
        if not servable(name, channel, language):
            channel = Channel.VOICE
        classes = [u for u, cls in svc.urgencies.items() if cls.redirect is None]
        urgency = (
            svc.default_urgency
            if rnd.random() < DEFAULT_URGENCY_SHARE and svc.default_urgency in classes
            else rnd.choice(classes)
        )
        return ContactSpec(
            id=f"c{n}",
            channel=channel,
            service=name,
            urgency=urgency,
            language=language,
            preferred_site=site,
        )

    return make
