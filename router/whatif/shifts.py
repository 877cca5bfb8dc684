"""Who is logged in when: a what-if's shifts, read from a CSV file (``--shifts``).

The header is ``who,start,end``; one row per shift::

    who,start,end
    vaasa-nurses,08:00,16:00
    a023,12:00,20:00
    site:narpes,08:00,16:00

``who`` is an agent id, a team id or a site id (every agent of that team or site); when a
name is both, say which with ``agent:``, ``team:`` or ``site:``. ``start`` and ``end``
are local times ``HH:MM`` on the simulated day (the day of ``--start``) or
``YYYY-MM-DDTHH:MM``; an end at or before the start is on the next day (``22:00,06:00``).
An agent's overlapping shifts are joined.

Agents not named are not logged in at all, except a partner region's agents: they stay
logged in throughout, and the engine offers them work only while their agreement's cover
is on, as in production. Named, they keep to their shifts as well.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from datetime import date
from typing import TextIO

from router.core.policy import RoutingPolicy
from router.csv_rows import data_rows
from router.whatif.demand import parse_local
from router.whatif.model import WhatIfError

Shifts = dict[str, tuple[tuple[float, float], ...]]

_KINDS = ("agent", "team", "site")


def _members(policy: RoutingPolicy, who: str, where: str) -> list[str]:
    kind, colon, name = who.partition(":")
    if not colon:
        name = who
    agents = policy.agents
    found = {
        "agent": [name] if name in agents else [],
        "team": [aid for aid, a in agents.items() if a.team == name],
        "site": [aid for aid, a in agents.items() if a.site == name],
    }
    if colon:
        if kind not in _KINDS:
            raise WhatIfError(f"{where}: expected agent:, team: or site: before ':', got {who!r}")
        if not found[kind]:
            raise WhatIfError(f"{where}: expected a {kind} of the region with agents, got {name!r}")
        return found[kind]
    kinds = [k for k in _KINDS if found[k]]
    if not kinds:
        raise WhatIfError(
            f"{where}: expected an agent, team or site of the region with agents, got {who!r}"
        )
    if len(kinds) > 1:
        raise WhatIfError(
            f"{where}: {who!r} is both a {kinds[0]} and a {kinds[1]}; expected "
            f"{kinds[0]}:{who} or {kinds[1]}:{who}"
        )
    return found[kinds[0]]


def _join(periods: list[tuple[float, float]]) -> tuple[tuple[float, float], ...]:
    out: list[tuple[float, float]] = []
    for lo, hi in sorted(periods):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return tuple(out)


def read_shifts(
    stream: TextIO, name: str, policy: RoutingPolicy, zone: str, day: date
) -> Mapping[str, tuple[tuple[float, float], ...]]:
    """Per agent its ``(login, logout)`` instants (epoch seconds), joined and in order;
    partner agents not named are logged in throughout."""
    reader = csv.reader(stream)
    header = next(reader, None)
    heads = [h.strip() for h in header or []]
    if heads != ["who", "start", "end"]:
        raise WhatIfError(f"{name}:1:1: expected the header who,start,end, got {','.join(heads)!r}")
    periods: dict[str, list[tuple[float, float]]] = {}
    for line, row in data_rows(reader, 3, name, WhatIfError):
        who = row[0].strip()
        agents = _members(policy, who, f"{name}:{line}:1 (who)")
        times = []
        for col, head in ((2, "start"), (3, "end")):
            try:
                times.append(parse_local(row[col - 1], zone, day))
            except WhatIfError as exc:
                raise WhatIfError(f"{name}:{line}:{col} ({head}): {exc}") from None
        start, end = times
        while end <= start:
            end += 86400.0
        for aid in agents:
            periods.setdefault(aid, []).append((start, end))
    if not periods:
        raise WhatIfError(f"{name}: no shifts after the header")
    shifts: Shifts = {aid: _join(p) for aid, p in periods.items()}
    for aid, spec in policy.agents.items():
        if spec.partner and aid not in shifts:
            shifts[aid] = ((-math.inf, math.inf),)
    return shifts
