"""``Engine.contact_glance``: the few fields of an open contact that a webhook's answer
and the audit's arrival record read, the same as its full view says, and None once the
contact is not open."""

from __future__ import annotations

from router.core.engine import Engine
from router.core.events import (
    AgentLoggedIn,
    ChannelSwitched,
    ContactAbandoned,
    ContactArrived,
    ContactCompleted,
    OfferAccepted,
)
from router.core.model import Channel, ContactSpec, ContactState
from tests.builders import Clock, agent, engine, service


def desk() -> Clock:
    return Clock(
        engine(
            [service("nurse", "nursing>=1")],
            [agent("n1", "vaasa", {"nursing": 3}, voice=1, callback=1)],
        )
    )


def glance_of_view(e: Engine, cid: str) -> tuple[object, ...]:
    view = e.contact(cid)
    return view.state, view.channel, view.service, view.arrived_at, view.due_at


def test_the_glance_says_what_the_view_says_while_a_contact_is_open() -> None:
    clock = desk()
    e = clock.engine
    clock.at(5.0, ContactArrived(ContactSpec("c0", Channel.VOICE, "nurse", urgency="P3")))
    clock.at(7.0, ContactArrived(ContactSpec("c1", Channel.VOICE, "nurse", urgency="P1")))
    clock.at(9.0, ChannelSwitched("c0", Channel.CALLBACK))
    seen = [e.contact_glance("c0"), e.contact_glance("c1")]  # waiting; a callback
    assert seen == [glance_of_view(e, "c0"), glance_of_view(e, "c1")]
    assert seen[0] is not None and seen[0][1] is Channel.CALLBACK and seen[0][3] == 5.0
    clock.at(10.0, AgentLoggedIn("n1"))  # offered c1: the earlier target (P1)
    offered = e.contact_glance("c1")
    assert offered is not None and offered[0] is ContactState.OFFERED
    assert offered == glance_of_view(e, "c1")
    clock.at(11.0, OfferAccepted("c1", "n1"))
    assigned = e.contact_glance("c1")
    assert assigned is not None and assigned[0] is ContactState.ASSIGNED
    assert assigned == glance_of_view(e, "c1")


def test_no_glance_of_a_contact_that_is_not_open() -> None:
    clock = desk()
    e = clock.engine
    assert e.contact_glance("c0") is None
    clock.at(1.0, ContactArrived(ContactSpec("c0", Channel.VOICE, "nurse", urgency="P3")))
    assert e.contact_glance("c0") is not None
    clock.at(2.0, ContactAbandoned("c0"))
    assert e.contact_glance("c0") is None


def holder_of_view(e: Engine, cid: str) -> tuple[object, ...] | None:
    view = e.contact(cid)
    if view.agent_id is None:
        return None
    agent = e.agent(view.agent_id)
    return view.state, view.channel, agent.id, agent.spec.name


def test_the_holder_glance_names_the_agent_the_views_name() -> None:
    clock = desk()
    e = clock.engine
    clock.at(5.0, ContactArrived(ContactSpec("c0", Channel.VOICE, "nurse", urgency="P3")))
    assert e.holder_glance("c0") is None and holder_of_view(e, "c0") is None  # waiting
    clock.at(10.0, AgentLoggedIn("n1"))
    offered = e.holder_glance("c0")
    assert offered is not None and offered[0] is ContactState.OFFERED and offered[2] == "n1"
    assert offered == holder_of_view(e, "c0")
    clock.at(11.0, OfferAccepted("c0", "n1"))
    assigned = e.holder_glance("c0")
    assert assigned is not None and assigned[0] is ContactState.ASSIGNED
    assert assigned == holder_of_view(e, "c0")
    clock.at(12.0, ContactCompleted("c0", "n1"))
    assert e.holder_glance("c0") is None
