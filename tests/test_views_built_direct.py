"""The engine's views are built field by field (``router.core.state``: ``object.__new__``
and one store a field) and ``agent_json`` by plain loops, for speed (#15 part 2). Here
they must equal, field for field and byte for byte in JSON, what the keyword-built
dataclasses and the comprehensions gave, for agents and contacts in every state the
scenario reaches; and a view stays a read-only snapshot."""

from __future__ import annotations

import dataclasses
import json
import pickle
from types import MappingProxyType
from typing import Any

import pytest

from router.core.engine import Engine
from router.core.errors import UnknownAgent
from router.core.events import (
    AgentLoggedIn,
    CallbackAttempted,
    ContactArrived,
    ContactCompleted,
    ContactReclassified,
    CustomerAway,
    OfferAccepted,
    PresenceChanged,
)
from router.core.model import Channel, ContactSpec, ContactState, Presence
from router.core.state import (
    AgentRecord,
    AgentView,
    ContactRecord,
    ContactView,
    agent_view,
    contact_view,
)
from router.service.views import agent_json, contact_json
from tests.builders import Clock, agent, engine, service


# The construction before the change, kept here as the reference.
def keyword_contact_view(c: ContactRecord, requirement: str) -> ContactView:
    return ContactView(
        id=c.id,
        channel=c.channel,
        service=c.service.name,
        urgency=c.urgency,
        state=c.state,
        arrived_at=c.arrived_at,
        due_at=c.due_at,
        seq=c.seq,
        step=c.step_kind,
        scope=c.scope,
        requirement=requirement,
        agent_id=c.agent_id,
        offer_expires_at=c.offer_expires_at if c.state is ContactState.OFFERED else None,
        spec=c.spec,
        hold_until=c.hold_until,
        attempts=c.attempts,
        original_urgency=c.original_urgency or c.urgency,
        customer_away=c.away_grace is not None,
        target_at=c.target_at,
    )


def keyword_agent_view(a: AgentRecord, now: float) -> AgentView:
    return AgentView(
        id=a.id,
        status=a.status(now),
        presence=a.presence,
        reason=a.reason,
        site=a.spec.site,
        team=a.spec.team,
        load=MappingProxyType({ch: n for ch, n in a.load.items() if n}),
        contacts=tuple(a.in_hand),
        free_channels=a.avail_channels,
        wrapup_until=a.wrapup_until,
        spec=a.spec,
    )


def comprehension_agent_json(view: AgentView) -> dict[str, Any]:
    return {
        "id": view.id,
        "name": view.spec.name,
        "status": view.status._value_,
        "presence": view.presence._value_,
        "reason": view.reason,
        "site": view.site,
        "team": view.team,
        "load": {ch._value_: n for ch, n in view.load.items()},
        "free_channels": [ch._value_ for ch in view.free_channels],
        "contacts": list(view.contacts),
        "wrapup_until": view.wrapup_until or None,
    }


def field_values(view: object) -> list[tuple[str, object, type]]:
    return [
        (f.name, getattr(view, f.name), type(getattr(view, f.name)))
        for f in dataclasses.fields(view)  # type: ignore[arg-type]
    ]


def hash_or_error(view: object) -> object:
    try:
        return hash(view)
    except TypeError as e:  # a spec with attributes holds a dict
        return str(e)


def check_every_view(eng: Engine) -> int:
    """Every agent's and open contact's view against the reference; the count checked."""
    checked = 0
    for a in eng._agents.values():
        for view in (eng.agent(a.id), agent_view(a, eng.now)):
            old = keyword_agent_view(a, eng.now)
            assert view == old
            assert field_values(view) == field_values(old)
            assert isinstance(view.load, MappingProxyType)
            body = agent_json(view)
            assert body == comprehension_agent_json(old)
            assert json.dumps(body) == json.dumps(comprehension_agent_json(old))
        checked += 1
    for c in eng._contacts.values():
        requirement = eng._reqs.text(c.rid)
        for cview in (eng.contact(c.id), contact_view(c, requirement)):
            cold = keyword_contact_view(c, requirement)
            assert cview == cold
            assert field_values(cview) == field_values(cold)
            assert hash_or_error(cview) == hash_or_error(cold)
            assert json.dumps(contact_json(cview)) == json.dumps(contact_json(cold))
            assert pickle.loads(pickle.dumps(cview)) == cold
        checked += 1
    assert [v.id for v in eng.waiting()] == [v.id for v in eng.waiting()]
    return checked


def scenario() -> Clock:
    services = [
        service("nurse", "nursing", wrapup_s=30.0),
        service("chat", "nursing"),
        service("dental", "dental"),
    ]
    agents = [
        agent("off", "x", {"nursing": 1}),
        agent("idle", "x", {"nursing": 1}, team="t1", voice=1, callback=1),
        agent("voice", "y", {"nursing": 2}),
        agent("multi", "y", {"nursing": 1}, voice=1, chat=3),
        agent("lunch", "z", {"dental": 1}),
    ]
    return Clock(engine(services, agents))


def test_views_equal_the_keyword_built_ones_in_every_state() -> None:
    clock = scenario()
    eng = clock.engine
    assert check_every_view(eng) == 5  # all offline, no contacts
    clock.at(1, AgentLoggedIn("voice"), AgentLoggedIn("multi"))
    clock.at(2, AgentLoggedIn("lunch"), PresenceChanged("lunch", Presence.NOT_READY, "lunch"))
    arrivals = [
        ContactSpec("v1", Channel.VOICE, "nurse", external_ref="ext-1"),
        ContactSpec("h1", Channel.CHAT, "chat", attributes={"topic": "rash"}, link="p1"),
        ContactSpec("h2", Channel.CHAT, "chat", language="fi"),
        ContactSpec("v2", Channel.VOICE, "nurse", urgency="P3"),
        ContactSpec("d1", Channel.VOICE, "dental"),  # waits: its only agent is not ready
        # Its deadline capped by the same-day rule: earlier than its place in the order.
        ContactSpec("d2", Channel.VOICE, "dental", same_day_by=1000.0),
        ContactSpec("s1", Channel.CALLBACK, "nurse", not_before=500.0),  # scheduled
    ]
    for t, spec in enumerate(arrivals, start=3):
        clock.at(t, ContactArrived(spec))
    assert eng.contact("d2").due_at < eng.contact("d2").target_at
    check_every_view(eng)  # offered to agents, two waiting, one scheduled
    for cid, aid in (("v1", "voice"), ("h1", "multi"), ("h2", "multi")):
        if eng.contact(cid).state is ContactState.OFFERED and eng.contact(cid).agent_id == aid:
            clock.at(clock.now + 1, OfferAccepted(cid, aid))
    clock.at(clock.now + 1, CustomerAway("h2", 60.0))
    clock.at(clock.now + 1, ContactReclassified("v1", "voice", "P1"))
    assert eng.agent("multi").load  # chats in hand
    assert check_every_view(eng) >= 10  # assigned, away, re-classified
    clock.at(clock.now + 1, ContactCompleted("v1", "voice"))  # into wrap-up
    clock.at(clock.now + 1, ContactCompleted("h1", "multi"))
    assert eng.agent("voice").status.value == "wrap_up"
    check_every_view(eng)
    clock.at(clock.now + 40, AgentLoggedIn("idle"))  # wrap-up over; more offered
    check_every_view(eng)
    for cid in [c.id for c in eng.contacts()]:
        view = eng.contact(cid)
        if view.agent_id is not None and view.state is ContactState.OFFERED:
            clock.at(clock.now + 1, OfferAccepted(cid, view.agent_id))
    check_every_view(eng)
    for cid in [c.id for c in eng.contacts()]:
        view = eng.contact(cid)
        if view.agent_id is not None and view.state.value == "assigned":
            clock.at(clock.now + 1, ContactCompleted(cid, view.agent_id))
    # Channels back at 0 in the records: the views leave them out, as before.
    assert any(0 in a.load.values() for a in eng._agents.values())
    check_every_view(eng)
    clock.advance_to(505)  # the scheduled callback enters and is offered
    assert {c.id for c in eng.contacts()} >= {"d1", "d2", "s1"}
    check_every_view(eng)
    callback = eng.contact("s1")
    assert callback.state is ContactState.OFFERED and callback.agent_id is not None
    clock.at(506, OfferAccepted("s1", callback.agent_id))
    clock.at(507, CallbackAttempted("s1", callback.agent_id, "no_answer"))  # held to retry
    assert eng.contact("s1").attempts == 1 and eng.contact("s1").hold_until is not None
    check_every_view(eng)


def test_a_view_is_a_read_only_snapshot() -> None:
    clock = scenario()
    eng = clock.engine
    clock.at(1, AgentLoggedIn("multi"))
    clock.at(2, ContactArrived(ContactSpec("h1", Channel.CHAT, "chat")))
    clock.at(3, OfferAccepted("h1", "multi"))
    busy = eng.agent("multi")
    idle = eng.agent("idle")
    assert dict(busy.load) == {Channel.CHAT: 1}
    with pytest.raises(TypeError):
        busy.load[Channel.CHAT] = 2  # type: ignore[index]
    with pytest.raises(TypeError):
        idle.load[Channel.VOICE] = 1  # type: ignore[index]
    with pytest.raises(AttributeError):  # slotted: no attribute beyond the fields
        busy.extra = 1  # type: ignore[attr-defined]
    clock.at(4, ContactCompleted("h1", "multi"))
    # The earlier view is unchanged by what happened since; the new one differs.
    assert dict(busy.load) == {Channel.CHAT: 1} and busy.contacts == ("h1",)
    after = eng.agent("multi")
    assert dict(after.load) == {} and after.contacts == () and after != busy
    # Views of idle agents share one empty load; none of them can fill it.
    assert dict(idle.load) == {} and after.load == idle.load
    with pytest.raises(UnknownAgent):
        eng.agent("nobody")
