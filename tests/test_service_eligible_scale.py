"""At the size the supervisor's page must handle (20,000 logged-in agents, a page of 100
waiting contacts with 50 or 100 distinct requirements), the eligible agents are the
straightforward way's (``benchmarks.eligible_naive``), with every agent busy and with
agents free in some channels. Correctness only: the time per request is measured by
``benchmarks/eligible_scale.py``."""

from __future__ import annotations

import pytest

from benchmarks import eligible_naive
from benchmarks.eligible_region import build
from router.service.desk import eligible_agents
from router.service.supervisor_contacts import ELIGIBLE_SHOWN

AGENTS = 20_000


def test_every_agent_busy_none_is_free_and_each_row_names_the_first_ones() -> None:
    service, waiting = build(AGENTS, 100, 50, "busy")
    found = eligible_agents(service, waiting, ELIGIBLE_SHOWN)
    assert found == eligible_naive.eligible_agents(service, waiting, ELIGIBLE_SHOWN)
    assert len({view.requirement for view in waiting}) == 50
    totals = [found[view.id][1] for view in waiting]
    assert max(totals) > 1_000  # many agents meet a requirement, none has room
    for view in waiting:
        named, total = found[view.id]
        assert len(named) == min(total, ELIGIBLE_SHOWN)
        assert not any(agent["free"] for agent in named)
        assert all(agent["status"] == "busy" for agent in named)


@pytest.mark.parametrize("distinct", [50, 100])
def test_some_agents_free_they_come_first_as_the_straightforward_way_says(
    distinct: int,
) -> None:
    service, waiting = build(AGENTS, 100, distinct, "mixed")
    found = eligible_agents(service, waiting, ELIGIBLE_SHOWN)
    assert found == eligible_naive.eligible_agents(service, waiting, ELIGIBLE_SHOWN)
    channels = {view.channel for view in waiting}
    assert len(channels) == 2
    for view in waiting:
        named, total = found[view.id]
        flags = [agent["free"] for agent in named]
        assert flags == sorted(flags, reverse=True)
        assert len(named) == min(total, ELIGIBLE_SHOWN)
    assert any(agent["free"] for named, _ in found.values() for agent in named)
    # One contact's answer names all of them (thousands), in the engine's order.
    some = waiting[:3]
    whole = eligible_agents(service, some)
    assert whole == eligible_naive.eligible_agents(service, some)
    assert all(len(whole[view.id][0]) == found[view.id][1] for view in some)
