"""The supervisor's eligible agents from the index (``router.service.eligible_index``)
are exactly what the straightforward way gives (``benchmarks.eligible_naive``: every
logged-in agent matched and its room checked, per requirement, in the engine's order):
the same agents in the same order, the same ``free`` flags, the same counts, for a page
(at most ``shown`` per contact, free ones first) and for one contact (all of them), over
random regions: rosters of few skill profiles and mixed capacities, agents logged in or
out, available, not ready, busy or wrapping up, contacts in hand of channels that block
others (random channel blocks), and waiting contacts of many requirements and channels."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks import eligible_naive
from router.core.errors import Conflict, RoutingError
from router.core.events import (
    AgentLoggedIn,
    ContactArrived,
    ContactCompleted,
    Event,
    ManualOffer,
    OfferAccepted,
    PresenceChanged,
)
from router.core.model import (
    AgentSpec,
    Channel,
    ContactSpec,
    ContactState,
    Presence,
    ServiceSpec,
    UrgencyClass,
)
from router.service.desk import eligible_agents
from router.service.service import Service
from skills import AgentAbilities, parse_requirement
from tests.service_support import region

SKILLS = ("nursing", "dental", "social_work")
CHANNELS = (Channel.VOICE, Channel.CHAT, Channel.CALLBACK)
CAPACITIES = (
    {Channel.VOICE: 1},
    {Channel.CHAT: 3},
    {Channel.VOICE: 1, Channel.CHAT: 2},
    {Channel.CALLBACK: 1, Channel.VOICE: 1},
)
TEXTS = (
    "*",
    "nursing",
    "nursing>=2",
    "nursing>=3 & lang:sv",
    "dental | social_work>=2",
    "dental & nursing",
    "social_work>=4 | auth:omaolo",
    "lang:en",
    "(nursing>=2 | dental>=2) & lang:fi",
)

abilities = st.builds(
    AgentAbilities,
    st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 5), max_size=3),
    st.sets(st.sampled_from(("fi", "sv", "en")), min_size=1).map(frozenset),
    st.sets(st.just("omaolo")).map(frozenset),
)


@st.composite
def regions(draw: st.DrawFn) -> Service:
    """A service over a random roster and channel blocks, its engine brought to a random
    moment by random events."""
    profiles = draw(st.lists(abilities, min_size=1, max_size=4))
    n = draw(st.integers(1, 12))
    roster = {
        f"a{i:02d}": AgentSpec(
            id=f"a{i:02d}",
            name=f"Agent {i}",
            site=draw(st.sampled_from(("vaasa", "korsholm"))),
            team=draw(st.sampled_from(("t1", "t2"))),
            abilities=draw(st.sampled_from(profiles)),
            capacity=draw(st.sampled_from(CAPACITIES)),
        )
        for i in range(n)
    }
    blocks = draw(
        st.dictionaries(
            st.sampled_from(CHANNELS), st.sets(st.sampled_from(CHANNELS)).map(frozenset)
        )
    )
    catalogue = region().catalogue
    anyone = ServiceSpec(
        name="s",
        requirement=parse_requirement("*", catalogue),
        urgencies={"normal": UrgencyClass("normal", 3600.0)},
        default_urgency="normal",
        offer_timeout_s=600.0,
        wrapup_s=draw(st.sampled_from((0.0, 1000.0))),
    )
    the_region = replace(
        region(),
        agents=roster,
        services={"s": anyone},
        blocks=blocks,
        tokens=(),
        agreements={},
        feedback={},
    )
    service = Service(the_region)
    engine = service.engine
    ids = list(roster)
    contacts = 0
    for step in range(draw(st.integers(0, 40))):
        kind = draw(st.sampled_from(("login", "presence", "arrive", "accept", "complete")))
        event: Event | None = None
        if kind in ("login", "presence"):
            agent = draw(st.sampled_from(ids))
            presence = draw(st.sampled_from((Presence.AVAILABLE, Presence.NOT_READY)))
            if kind == "login":
                event = AgentLoggedIn(agent, presence)
            else:
                event = PresenceChanged(agent, presence)
        elif kind == "arrive":
            contacts += 1
            spec = ContactSpec(
                id=f"c{contacts}",
                channel=draw(st.sampled_from(CHANNELS)),
                service="s",
                requirement=parse_requirement(draw(st.sampled_from(TEXTS)), catalogue),
            )
            event = ContactArrived(spec)
        else:
            # An offer taken, or a contact in hand completed (the agent then wraps up).
            state = ContactState.OFFERED if kind == "accept" else ContactState.ASSIGNED
            held = sorted(v.id for v in engine.contacts() if v.state is state)
            if held:
                view = engine.contact(draw(st.sampled_from(held)))
                assert view.agent_id is not None
                if kind == "accept":
                    event = OfferAccepted(view.id, view.agent_id)
                else:
                    event = ContactCompleted(view.id, view.agent_id)
        if event is not None:
            # Some are refused (a login twice, a presence while logged out): as it was.
            with suppress(RoutingError):
                engine.apply(float(step), event)
    return service


@given(regions(), st.integers(1, 4))
def test_a_page_names_the_same_agents_as_the_straightforward_way(
    service: Service, shown: int
) -> None:
    waiting = service.engine.waiting()
    found = eligible_agents(service, waiting, shown)
    assert found == eligible_naive.eligible_agents(service, waiting, shown)
    for view in waiting:
        named, total = found[view.id]
        assert len(named) == min(total, shown)
        flags = [agent["free"] for agent in named]
        assert flags == sorted(flags, reverse=True)  # the free ones first


@given(regions())
def test_one_contact_names_every_eligible_agent_as_the_straightforward_way(
    service: Service,
) -> None:
    views = list(service.engine.contacts())  # any open contact, not only waiting ones
    found = eligible_agents(service, views)
    assert found == eligible_naive.eligible_agents(service, views)
    for view in views:
        named, total = found[view.id]
        assert len(named) == total


def test_the_cases_reach_busy_and_free_agents_alike() -> None:
    """The random regions above do reach what the comparison is about: agents named
    with room and without, in several channels (checked on a fixed draw)."""
    seen: set[tuple[Channel, bool]] = set()
    states: set[ContactState] = set()

    # A fixed draw (derandomized), large enough to reach them all: a random one of the
    # default profile's 60 examples missed one now and then.
    @settings(derandomize=True, max_examples=200, database=None)
    @given(regions())
    def look(service: Service) -> None:
        views = list(service.engine.contacts())
        states.update(view.state for view in views)
        found: dict[str, tuple[list[dict[str, Any]], int]] = eligible_agents(service, views)
        for view in views:
            seen.update((view.channel, agent["free"]) for agent in found[view.id][0])

    look()
    assert {(Channel.VOICE, True), (Channel.VOICE, False), (Channel.CHAT, True)} <= seen
    assert {ContactState.WAITING, ContactState.ASSIGNED} <= states


@given(regions(), st.data())
def test_free_means_a_supervisors_offer_to_that_agent_is_taken(
    service: Service, data: st.DataObject
) -> None:
    """``free`` is the engine's own judgement of a supervisor's offer: offering the
    contact to an agent named free succeeds, to one named without room is refused for
    capacity, whatever the agent's presence or wrap-up."""
    engine = service.engine
    waiting = engine.waiting()
    named = [
        (view.id, agent)
        for view in waiting
        for agent in eligible_agents(service, [view])[view.id][0]
    ]
    if not named:
        return
    contact_id, agent = data.draw(st.sampled_from(named))
    offer = ManualOffer(contact_id, agent["id"], by="sup")
    if agent["free"]:
        engine.apply(engine.now, offer)
        assert engine.contact(contact_id).agent_id == agent["id"]
    else:
        with pytest.raises(Conflict, match="capacity"):
            engine.apply(engine.now, offer)
