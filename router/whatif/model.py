"""What a what-if is made of and what it measures: the demand (``Stream``: Poisson at a
constant rate or one rate per interval; ``Arrival``: one replayed contact), the
distributions of handle times and patience, the ``Scenario``, one replication's counts
for a group of contacts (``Tally``) and the statistics over replications. Pure: no I/O,
no clock, no engine (``router.whatif.replication`` runs it).

Per group of contacts (a service, a caller's site, a language) and replication:

- ``sl_all``: answered within ``sl_s`` / all arrivals (abandoned and never answered count
  as missed); ``sl_answered``: answered within ``sl_s`` / answered;
- ``asa_s`` and ``p90_wait_s``: mean and 90th percentile of the waits of answered
  contacts (arrival to assignment: queueing plus the agent's answer delay; a callback
  is answered when an attempt reaches the person);
- ``abandoned``: abandoned / all arrivals;
- ``occupancy``: time agents held the group's contacts / the agents' logged-in time in
  the measured window: the group's share of the staffed time, so groups add up;
- ``callbacks`` and ``callback_attempts``: contacts that were callbacks, and the attempts
  reported for them.

Across replications each figure is given as a mean with a 95 % confidence interval
(Student t over the replications' values). ``Detail`` sums, over the replications, per
hour of the measured window the arrivals, the answered and the answered within ``sl_s``,
and the answered contacts by wait in the daily report's bands (``WAIT_BANDS_S``, as
``router/service/charts.py``): what the HTML report draws.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field

from router.core.model import Channel

ALL = "all"
# Waiting-time bands' lower bounds in seconds, the supervisor console's (0, 1, 2, 5, 10,
# 20, 30, 60, 120 and 240+ minutes); the last band is open-ended.
WAIT_BANDS_S: tuple[int, ...] = (0, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400)
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228)


class WhatIfError(ValueError):
    """A what-if that cannot be run: the message says what was expected."""


@dataclass(frozen=True, slots=True)
class Distribution:
    """A duration's distribution: ``exp`` (exponential), ``det`` (always the mean) or
    ``lognormal`` with coefficient of variation ``cv``. A mean of 0 is always 0."""

    kind: str
    mean_s: float
    cv: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in {"exp", "det", "lognormal"}:
            raise WhatIfError(f"expected exp, det or lognormal, got {self.kind!r}")
        if not self.mean_s >= 0 or math.isinf(self.mean_s):
            raise WhatIfError(f"expected a mean >= 0 seconds, got {self.mean_s}")
        if self.kind == "lognormal" and not self.cv > 0:
            raise WhatIfError(f"expected a lognormal cv > 0, got {self.cv}")

    @classmethod
    def parse(cls, text: str) -> Distribution:
        """``300`` or ``exp:300``, ``det:300``, ``lognormal:300:0.8``."""
        parts = text.split(":")
        numbers: list[float] = []
        with contextlib.suppress(ValueError):
            numbers = [float(x) for x in parts[1:]] if len(parts) > 1 else [float(parts[0])]
        if len(parts) == 1 and numbers:
            return cls("exp", numbers[0])
        if len(parts) == 2 and parts[0] in {"exp", "det"} and numbers:
            return cls(parts[0], numbers[0])
        if len(parts) == 3 and parts[0] == "lognormal" and numbers:
            return cls("lognormal", numbers[0], numbers[1])
        raise WhatIfError(
            f"expected a distribution such as 300, exp:300, det:300 or lognormal:300:0.8, "
            f"got {text!r}"
        )

    def draw(self, rnd: random.Random) -> float:
        if self.mean_s == 0 or self.kind == "det":
            return self.mean_s
        if self.kind == "exp":
            return rnd.expovariate(1.0 / self.mean_s)
        sigma2 = math.log1p(self.cv * self.cv)
        return rnd.lognormvariate(math.log(self.mean_s) - sigma2 / 2, math.sqrt(sigma2))


@dataclass(frozen=True, slots=True)
class Stream:
    """Poisson arrivals of one kind of contact: ``per_hour`` at a constant rate, or with
    ``rates`` one rate per hour for each interval of the scenario's curve (a
    non-homogeneous Poisson stream, constant within an interval)."""

    service: str
    per_hour: float
    channel: Channel = Channel.VOICE
    language: str | None = None
    site: str | None = None  # the caller's own site (``preferred_site``); None: none
    rates: tuple[float, ...] = ()

    @property
    def key(self) -> str:
        """As ``--rate`` and a curve file's heading write it."""
        text = self.service
        if self.channel is not Channel.VOICE or self.language:
            text += f"/{self.channel.value}"
        if self.language:
            text += f"/{self.language}"
        return text + (f"@{self.site}" if self.site else "")

    def scaled(self, factor: float) -> Stream:
        return dataclasses.replace(
            self, per_hour=self.per_hour * factor, rates=tuple(r * factor for r in self.rates)
        )

    def pieces(
        self, origin: float, end: float, curve_at: float, interval_s: float
    ) -> list[tuple[float, float, float]]:
        """``(from, to, per_hour)`` over ``[origin, end)``: a constant stream in one
        piece; a curve's intervals from ``curve_at`` on, at its first rate before it
        begins (the warm-up) and at none after its last."""
        if not self.rates:
            return [(origin, end, self.per_hour)]
        out = [(origin, min(curve_at, end), self.rates[0])] if origin < curve_at else []
        for k, rate in enumerate(self.rates):
            lo = max(origin, curve_at + k * interval_s)
            hi = min(end, curve_at + (k + 1) * interval_s)
            if lo < hi:
                out.append((lo, hi, rate))
        return out


@dataclass(frozen=True, slots=True)
class Arrival:
    """One contact replayed from an audit export, at its recorded time."""

    at: float
    service: str
    channel: Channel
    urgency: str | None
    language: str | None
    site: str | None


@dataclass(frozen=True, slots=True)
class Scenario:
    streams: tuple[Stream, ...]
    # Handle times per ``service/channel``, per ``service``, and ``*`` for the rest.
    handle: Mapping[str, Distribution]
    patience: Distribution | None = None  # None: nobody abandons
    measure_s: float = 8 * 3600.0
    warmup_s: float = 3600.0
    drain_s: float = 4 * 3600.0
    sl_s: float = 20.0
    answer_delay_s: float = 0.0
    not_ready_s: float | None = 60.0
    # Virtual time (epoch seconds) the replication starts at: everything above counts
    # from here. 0 unless the time of day matters (partner cover by schedule).
    start_at: float = 0.0
    # Where the streams' ``rates`` begin (None: at the measured window's start), and the
    # length of one of their intervals.
    curve_at: float | None = None
    interval_s: float = 3600.0
    # Who is logged in when: per agent, its ``(login, logout)`` instants in order. None:
    # every agent logged in from the start. Agents not named are never logged in.
    shifts: Mapping[str, tuple[tuple[float, float], ...]] | None = None
    # Contacts replayed at their recorded instants, besides the streams.
    replay: tuple[Arrival, ...] = ()
    # Each callback attempt's chance of reaching the person (the rest: no answer, tried
    # again as the service says).
    callback_reach: float = 1.0
    # A caller on the phone still waiting after this long asks for a callback with the
    # chance ``callback_share`` (keeping its place); None: nobody does.
    callback_after_s: float | None = None
    callback_share: float = 1.0

    def handle_of(self, service: str, channel: Channel | None = None) -> Distribution:
        found = (
            (self.handle.get(f"{service}/{channel.value}") if channel is not None else None)
            or self.handle.get(service)
            or self.handle.get("*")
        )
        if found is None:
            raise WhatIfError(f"no handle-time distribution for service {service!r}")
        return found


@dataclass(slots=True)
class Tally:
    """One replication's counts for one service."""

    arrivals: int = 0
    answered: int = 0
    within: int = 0
    abandoned: int = 0
    waits: list[float] = field(default_factory=list)
    busy_s: float = 0.0
    callbacks: int = 0  # arrivals that were callbacks (requested, or a caller who became one)
    attempts: int = 0  # callback attempts reported for them
    # Per hour of the measured window: arrivals, answered, answered within sl_s.
    hours: list[list[int]] = field(default_factory=list)

    def count_hour(self, hour: int, answered: bool, within: bool) -> None:
        while len(self.hours) <= hour:
            self.hours.append([0, 0, 0])
        row = self.hours[hour]
        row[0] += 1
        row[1] += answered
        row[2] += within

    def bands(self) -> list[int]:
        """The answered contacts by wait, in ``WAIT_BANDS_S``."""
        counts = [0] * len(WAIT_BANDS_S)
        for w in self.waits:
            counts[_band(w)] += 1
        return counts

    def count(
        self, hour: int, wait: float | None, sl_s: float, abandoned: bool, attempts: int | None
    ) -> None:
        """One contact that arrived in ``hour`` of the measured window: answered after
        ``wait`` (None: not answered), abandoned or not, a callback with ``attempts``
        (None: not a callback)."""
        self.arrivals += 1
        within = False
        if wait is not None:
            self.answered += 1
            self.waits.append(wait)
            within = wait <= sl_s
            self.within += within
        elif abandoned:
            self.abandoned += 1
        if attempts is not None:
            self.callbacks += 1
            self.attempts += attempts
        self.count_hour(hour, wait is not None, within)

    def figures(self, staffed_s: float) -> dict[str, float]:
        """``staffed_s``: the agents' logged-in time in the measured window."""
        waits = sorted(self.waits)
        n = self.arrivals
        return {
            "arrivals": float(n),
            "sl_all": self.within / n if n else math.nan,
            "sl_answered": self.within / self.answered if self.answered else math.nan,
            "asa_s": sum(waits) / len(waits) if waits else math.nan,
            "p90_wait_s": _quantile(waits, 0.9),
            "abandoned": self.abandoned / n if n else math.nan,
            "occupancy": self.busy_s / staffed_s if staffed_s > 0 else math.nan,
            "callbacks": float(self.callbacks),
            "callback_attempts": float(self.attempts),
        }


def _band(wait_s: float) -> int:
    index = 0
    for k, bound in enumerate(WAIT_BANDS_S):
        if wait_s >= bound:
            index = k
    return index


def _quantile(xs: list[float], q: float) -> float:
    if not xs:
        return math.nan
    pos = q * (len(xs) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


@dataclass(frozen=True, slots=True)
class Estimate:
    mean: float
    half_width: float  # of the 95 % confidence interval; nan with one replication


def confidence(values: list[float]) -> Estimate:
    xs = [x for x in values if not math.isnan(x)]
    if not xs:
        return Estimate(math.nan, math.nan)
    m = sum(xs) / len(xs)
    if len(xs) < 2:
        return Estimate(m, math.nan)
    var = sum((x - m) ** 2 for x in xs) / (len(xs) - 1)
    t = _T975[len(xs) - 2] if len(xs) - 2 < len(_T975) else 1.96 + 2.5 / len(xs)
    return Estimate(m, t * math.sqrt(var / len(xs)))


FIGURES = (
    "arrivals",
    "sl_all",
    "sl_answered",
    "asa_s",
    "p90_wait_s",
    "abandoned",
    "occupancy",
    "callbacks",
    "callback_attempts",
)


@dataclass(slots=True)
class Detail:
    """Counts summed over the replications for one service (or ``all``): per hour of the
    measured window ``[arrivals, answered, answered within sl_s]``, and the answered
    contacts by wait in ``WAIT_BANDS_S``."""

    hours: list[list[int]] = field(default_factory=list)
    bands: list[int] = field(default_factory=lambda: [0] * len(WAIT_BANDS_S))

    def add(self, tally: Tally, hours: int) -> None:
        while len(self.hours) < hours:
            self.hours.append([0, 0, 0])
        for hour, row in enumerate(tally.hours[:hours]):
            for k in range(3):
                self.hours[hour][k] += row[k]
        for k, n in enumerate(tally.bands()):
            self.bands[k] += n
