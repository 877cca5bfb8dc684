"""A morning in a small three-site region, in virtual time, asserted as a whole log.

Phone, chat, web and work-item contacts of different services, urgencies and languages
reach eligible agents in due-time order; contacts widen from their own site to the
region after the configured delay; a declined offer keeps its place; a Swedish contact
never reaches a Finnish-only agent; an Omaolo work item never reaches an agent without
that authorisation.
"""

from __future__ import annotations

from router.core.events import (
    AgentLoggedIn,
    ContactArrived,
    ContactCompleted,
    OfferAccepted,
    OfferDeclined,
    PresenceChanged,
)
from router.core.model import Channel, ContactSpec, Presence, Step, StepKind
from tests.builders import Clock, agent, engine, service

OWN_SITE_THEN_REGION = (Step(StepKind.OWN_SITE, 60), Step(StepKind.REGION))


def contact(cid: str, channel: str, svc: str, site: str, **kw: str) -> ContactArrived:
    return ContactArrived(ContactSpec(cid, Channel(channel), svc, preferred_site=site, **kw))  # type: ignore[arg-type]


def build() -> Clock:
    eng = engine(
        [
            service("nursing_advice", "nursing>=2", OWN_SITE_THEN_REGION),
            service("symptoms", "nursing>=3"),
            service("dental", "dental", OWN_SITE_THEN_REGION),
        ],
        [
            # Vaasa: a Finnish-only nurse who could take work items but has no Omaolo
            # authorisation, and a bilingual authorised nurse.
            agent("v1", "vaasa", {"nursing": 3}, "fi", voice=1, chat=2, workitem=2),
            agent("v2", "vaasa", {"nursing": 4}, "fi,sv", "omaolo", voice=1, workitem=3),
            # Jakobstad: a Swedish-speaking nurse on phone and chat.
            agent("j1", "jakobstad", {"nursing": 3}, "sv,fi", voice=1, chat=2),
            # Kokkola: a dental nurse and a nurse.
            agent("k1", "kokkola", {"dental": 3}, "fi", voice=1, web=2),
            agent("k2", "kokkola", {"nursing": 2}, "fi", voice=1),
        ],
    )
    return Clock(eng)


def test_a_morning_in_due_time_order_with_widening_decline_language_and_authorisation() -> None:
    clock = build()
    logins = [AgentLoggedIn(a, Presence.NOT_READY) for a in ("v1", "v2", "j1", "k1", "k2")]
    assert clock.at(0, *logins) == []

    # Everyone is in a meeting; contacts queue. Due = arrival + target of the class.
    assert clock.at(
        0, contact("c1", "voice", "nursing_advice", "vaasa", urgency="P3", language="fi")
    ) == [("queued", "c1", "own_site")]  # due 3600
    assert clock.at(
        10, contact("c2", "chat", "nursing_advice", "jakobstad", urgency="P1", language="sv")
    ) == [("queued", "c2", "own_site")]  # due 610
    assert clock.at(20, contact("c3", "web", "dental", "kokkola", language="fi")) == [
        ("queued", "c3", "own_site")
    ]  # due 86420
    assert clock.at(
        30, contact("c4", "workitem", "symptoms", "vaasa", urgency="P1", authorisation="omaolo")
    ) == [("queued", "c4", "region")]  # due 630; the service has one step, the region
    assert clock.at(
        40, contact("c5", "voice", "nursing_advice", "kokkola", urgency="P1", language="fi")
    ) == [("queued", "c5", "own_site")]  # due 640

    # After 60 s at their own site, each contact widens to the whole region.
    clock.advance_to(110)
    assert clock.log[-4:] == [
        (60.0, ("widened", "c1", "region")),
        (70.0, ("widened", "c2", "region")),
        (80.0, ("widened", "c3", "region")),
        (100.0, ("widened", "c5", "region")),
    ]

    # v1 (Vaasa, fi only, no Omaolo) frees up. Eligible for v1: c1 (due 3600) and c5
    # (due 640). Not c2 (Swedish) and not c4 (needs Omaolo) although both are due sooner.
    # c5 is a call, and a call blocks anything else.
    assert clock.at(120, PresenceChanged("v1", Presence.AVAILABLE)) == [("offer", "c5", "v1")]

    # v1 declines c5: it goes back with its place; v1 takes the next eligible, c1.
    assert clock.at(125, OfferDeclined("c5", "v1")) == [
        ("requeued", "c5", "v1", "declined"),
        ("offer", "c1", "v1"),
    ]

    # v2 (bilingual, Omaolo) frees up: c4 (630) first, then c5 (640) — the declined call
    # kept its place ahead of everything due later. The call then blocks more work.
    assert clock.at(130, PresenceChanged("v2", Presence.AVAILABLE)) == [
        ("offer", "c4", "v2"),
        ("offer", "c5", "v2"),
    ]

    # The Swedish chat waits for a Swedish speaker: j1 in Jakobstad.
    assert clock.at(135, PresenceChanged("j1", Presence.AVAILABLE)) == [("offer", "c2", "j1")]
    # Dental web request to the dental nurse.
    assert clock.at(140, PresenceChanged("k1", Presence.AVAILABLE)) == [("offer", "c3", "k1")]
    # k2 finds nothing it may take.
    assert clock.at(141, PresenceChanged("k2", Presence.AVAILABLE)) == []

    accepted = clock.at(
        142,
        OfferAccepted("c1", "v1"),
        OfferAccepted("c4", "v2"),
        OfferAccepted("c5", "v2"),
        OfferAccepted("c2", "j1"),
        OfferAccepted("c3", "k1"),
    )
    assert accepted == [
        ("assigned", "c1", "v1"),
        ("assigned", "c4", "v2"),
        ("assigned", "c5", "v2"),
        ("assigned", "c2", "j1"),
        ("assigned", "c3", "k1"),
    ]

    # A chat in hand does not block a call, but j1 goes on a break. A new Swedish call
    # waits at Jakobstad first (j1 is logged in and could serve it), then widens to the
    # region, and the first Swedish speaker to free up there takes it.
    assert clock.at(199, PresenceChanged("j1", Presence.NOT_READY, "break")) == []
    assert clock.at(
        200, contact("c6", "voice", "nursing_advice", "jakobstad", urgency="P1", language="sv")
    ) == [("queued", "c6", "own_site")]
    assert clock.at(230, ContactCompleted("c1", "v1")) == [("closed", "c1", "resolved")]
    clock.advance_to(260)
    assert clock.log[-1] == (260.0, ("widened", "c6", "region"))
    assert clock.at(270, ContactCompleted("c5", "v2")) == [
        ("closed", "c5", "resolved"),
        ("offer", "c6", "v2"),
    ]
    # Nobody saw an ineligible offer: every offer in the whole log, checked once more.
    offers = [(e[1], e[2]) for _, e in clock.log if e[0] == "offer"]
    assert ("c2", "v1") not in offers and ("c6", "v1") not in offers  # Swedish ↛ fi-only
    assert ("c4", "v1") not in offers  # Omaolo item ↛ unauthorised
    assert clock.engine.waiting() == []
