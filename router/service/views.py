"""JSON shapes of engine views for the API and websockets."""

from __future__ import annotations

from typing import Any

from router.core.engine import AgentShown, ContactShown
from router.core.state import AgentView, ContactView

# An enum member's ``_value_`` rather than ``.value``: the same string, read as a plain
# attribute instead of through enum's descriptor (about a third of the cost), and these
# shapes are made for every offer, assignment and agent update on the websockets.


def contact_json(view: ContactView) -> dict[str, Any]:
    return shown_json(
        (
            view.id,
            view.channel,
            view.service,
            view.urgency,
            view.original_urgency,
            view.state,
            view.arrived_at,
            view.due_at,
            view.step,
            view.spec,
            view.agent_id,
            view.offer_expires_at,
        )
    )


def shown_json(shown: ContactShown) -> dict[str, Any]:
    """``contact_json`` of the contact ``Engine.contact_shown`` read: the same dict, key
    for key, without the contact's view (an offer's and an assignment's frames)."""
    cid, channel, service, urgency, original, state, arrived, due, step, spec, agent, ends = shown
    body: dict[str, Any] = {
        "id": cid,
        "channel": channel._value_,
        "service": service,
        "urgency": urgency,
        "original_urgency": original,
        "state": state._value_,
        "arrived_at": arrived,
        "due_at": due,
        "step": step._value_,
        "language": spec.language,
        "agent_id": agent,
    }
    if ends is not None:
        body["offer_expires_at"] = ends
    if spec.external_ref is not None:
        body["external_ref"] = spec.external_ref
    if spec.link is not None:
        body["link"] = spec.link
    if spec.attributes:
        body["attributes"] = dict(spec.attributes)
    return body


def agent_json(view: AgentView) -> dict[str, Any]:
    return agent_shown_json(
        (
            view.id,
            view.spec.name,
            view.status,
            view.presence,
            view.reason,
            view.site,
            view.team,
            view.load,
            view.free_channels,
            view.contacts,
            view.wrapup_until,
        )
    )


def agent_shown_json(shown: AgentShown) -> dict[str, Any]:
    """``agent_json`` of the agent ``Engine.agent_shown`` read: the same dict, key for
    key, without the agent's view (the agent frame after every offer and close)."""
    # Plain loops, not comprehensions: on Python 3.11 each comprehension is a function
    # made and called, which cost more than the one or two channels it goes over.
    aid, name, status, presence, reason, site, team, held, free_now, in_hand, wrapup = shown
    load: dict[str, int] = {}
    for ch, n in held.items():  # the view leaves the channels at 0 out
        if n:
            load[ch._value_] = n
    free: list[str] = []
    for ch in free_now:
        free.append(ch._value_)
    return {
        "id": aid,
        "name": name,
        "status": status._value_,
        "presence": presence._value_,
        "reason": reason,
        "site": site,
        "team": team,
        "load": load,
        "free_channels": free,
        "contacts": list(in_hand),
        "wrapup_until": wrapup or None,
    }
