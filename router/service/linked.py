"""Linked contacts: one person's open contacts across channels.

Contacts are linked when they come from the same caller number (a call, a callback, a
web request asking to be phoned, a work item with the person's ``phone``) or carry the
same person reference (a work item's ``person_ref``). Nothing is blocked by a link: a
person may have open contacts with different services at once. When an agent is given
a contact, and again when it completes it, the agent's websocket gets
``linked {contact_id, open: [contact, ...]}`` with the person's other open contacts;
``GET /api/agent/contacts/{id}/linked`` answers the same. When a contact told as linked
closes (elsewhere, or merged), the agent is told the list again as it is now, an empty
``open`` when none is left. The agent may close any of
them as ``merged`` into the one it handled (``merge`` action), or keep them.

The index is derived from the log (accepted arrivals and closings), so every instance
has the same one; it travels in snapshots as a ``Part``.
"""

from __future__ import annotations

import heapq
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from aiohttp import web

from router.config.tokens import Role
from router.core import decisions as d
from router.core.errors import UnknownContact
from router.core.events import ChannelSwitched, ContactArrived, Event
from router.core.model import ContactSpec
from router.service.agent_answers import LINKED
from router.service.auth import Principal
from router.service.http import ApiError
from router.service.routes import Route
from router.service.runtime import handles
from router.service.views import contact_json

if TYPE_CHECKING:
    from router.service.service import Service

# How many handled contacts are remembered per agent for merging, and closed contacts'
# person keys (a merge may come right after the agent completed its contact).
REMEMBER_HANDLED = 50
REMEMBER_CLOSED = 10_000
# At most this many linked contacts are shown; a number or reference with more open
# contacts than SHARED is not one person (a switchboard, a spoofed number): not linked.
MAX_LINKED = 20
SHARED = 50
_HIDDEN = {"hidden", "anonymous", "unknown", "restricted", ""}


def person_keys(spec: ContactSpec) -> tuple[str, ...]:
    """Who the contact is from, as far as the channels tell: numbers and references."""
    a = spec.attributes
    number = a.get("number") or a.get("caller") or a.get("phone")
    if number is None and a.get("contact_method") == "phone":
        number = a.get("contact_value")
    # A number in international form (``+``, most calls') is no hidden-caller word: no
    # stripping and lowering to find that out on every arrival.
    tel = (
        "tel:" + number
        if number is not None and (number[:1] == "+" or number.strip().lower() not in _HIDDEN)
        else None
    )
    ref = a.get("person_ref")
    if ref:
        return ("ref:" + ref,) if tel is None else ("ref:" + ref, tel)
    return () if tel is None else (tel,)


class LinkedContacts:
    def __init__(self, service: Service) -> None:
        self.service = service
        self.open: dict[str, set[str]] = {}  # person key -> open contact ids
        self.key_of: dict[str, tuple[str, ...]] = {}  # open contact id -> its person keys
        # Recently closed contact id -> its keys (a merge may follow a completion).
        self.closed: OrderedDict[str, tuple[str, ...]] = OrderedDict()
        self.handled: dict[str, OrderedDict[str, None]] = {}  # agent -> contacts it had
        # A linked contact told to an agent here -> (agent, the contact it was linked to):
        # when it closes elsewhere, the agent is told the list as it is now (empty too),
        # so no Merge stays on a contact that is gone. Per instance: only sessions here.
        self.shown: dict[str, set[tuple[str, str]]] = {}

    # ------------------------------------------------------------ the index

    @handles(ContactArrived, ChannelSwitched)
    def on_applied(self, event: Event, now: float) -> None:
        if isinstance(event, ContactArrived):
            keys = person_keys(event.contact)
            if keys:
                self._add(event.contact.id, keys)
        elif isinstance(event, ChannelSwitched):
            number = event.attributes.get("number")
            if number and number.strip().lower() not in _HIDDEN:
                self._add(event.contact_id, ("tel:" + number,))

    def _add(self, contact_id: str, keys: tuple[str, ...]) -> None:
        known = self.key_of.get(contact_id)
        if known:  # a contact's keys once, in the order they came
            keys = tuple(dict.fromkeys((*known, *keys)))
        self.key_of[contact_id] = keys
        index = self.open
        for key in keys:
            ids = index.get(key)  # no empty set made for ``setdefault`` each time
            if ids is None:
                index[key] = {contact_id}
            else:
                ids.add(contact_id)

    @handles(d.Assigned, d.Closed)
    def on_decision(self, decision: d.Decision, now: float) -> None:
        if isinstance(decision, d.Assigned):
            self._remember(decision.agent_id, decision.contact_id)
            self._tell(decision.agent_id, decision.contact_id)
        elif isinstance(decision, d.Closed):
            keys = self.key_of.pop(decision.contact_id, None)
            if keys is None:
                return
            for key in keys:
                ids = self.open.get(key)
                if ids is not None:
                    ids.discard(decision.contact_id)
                    if not ids:
                        del self.open[key]
            self.closed[decision.contact_id] = keys
            while len(self.closed) > REMEMBER_CLOSED:
                self.closed.popitem(last=False)
            # Only to an agent who had it in hand: one it was only offered to (a hang-up,
            # a removal while the phone rang) may merge nothing into it.
            agent_id = decision.agent_id
            if decision.in_hand and agent_id is not None and decision.outcome != "merged":
                self._tell(agent_id, decision.contact_id)
            self._retell(decision.contact_id)

    def _remember(self, agent_id: str, contact_id: str) -> None:
        handled = self.handled.get(agent_id)  # no empty OrderedDict made for ``setdefault``
        if handled is None:
            handled = self.handled[agent_id] = OrderedDict()
        handled[contact_id] = None
        while len(handled) > REMEMBER_HANDLED:
            handled.popitem(last=False)

    def keys_of(self, contact_id: str) -> tuple[str, ...]:
        return self.key_of.get(contact_id) or self.closed.get(contact_id) or ()

    def linked(self, contact_id: str) -> list[dict[str, Any]]:
        """The person's other open contacts, as contact JSON."""
        others: set[str] = set()
        for key in self.keys_of(contact_id):
            ids = self.open.get(key)
            if ids is not None and len(ids) <= SHARED:
                others |= ids
        others.discard(contact_id)
        if not others:  # most people have one contact open: nothing to sort or look up
            return []
        out = []
        for other in heapq.nsmallest(MAX_LINKED, others):
            try:
                out.append(contact_json(self.service.engine.contact(other)))
            except UnknownContact:
                continue
        return out

    def _tell(self, agent_id: str, contact_id: str) -> None:
        hub = self.service.agents
        if agent_id not in hub.sessions:
            return
        others = self.linked(contact_id)
        if others:
            hub.push(agent_id, {"type": "linked", "contact_id": contact_id, "open": others})
            for other in others:
                self.shown.setdefault(other["id"], set()).add((agent_id, contact_id))

    def _retell(self, closed: str) -> None:
        """A contact some agents were shown as linked has closed: each is told its list
        as it is now, an empty one when nothing besides its own is left open."""
        if closed not in self.shown:  # told to nobody as linked (most contacts)
            return
        hub = self.service.agents
        for agent_id, into in sorted(self.shown.pop(closed)):
            if agent_id in hub.sessions:
                hub.push(
                    agent_id, {"type": "linked", "contact_id": into, "open": self.linked(into)}
                )

    # ------------------------------------------------------------ merging

    def check_merge(self, agent_id: str, contact_id: str, into: str) -> None:
        """An agent may merge a contact only into one it handled, of the same person."""
        if into not in self.handled.get(agent_id, {}):
            raise ApiError(409, "conflict", f"{into!r} is not a contact you handled")
        common = set(self.keys_of(into)) & set(self.key_of.get(contact_id, ()))
        if not any(len(self.open.get(k, ())) <= SHARED for k in common):
            raise ApiError(
                409, "conflict", f"{contact_id!r} is not an open contact linked to {into!r}"
            )

    # ------------------------------------------------------------ snapshots

    def capture(self) -> dict[str, Any]:
        return {
            "key_of": dict(self.key_of),
            "closed": list(self.closed.items()),
            "handled": {a: list(h) for a, h in self.handled.items()},
        }

    def restore(self, data: dict[str, Any]) -> None:
        self.key_of = dict(data["key_of"])
        self.open = {}
        for cid, keys in self.key_of.items():
            for key in keys:
                self.open.setdefault(key, set()).add(cid)
        self.closed = OrderedDict(data["closed"])
        self.handled = {a: OrderedDict.fromkeys(h) for a, h in data["handled"].items()}
        # Whom this instance told of what: contacts that closed while it was behind never
        # close here, so what it remembers of them would stay for ever.
        self.shown = {}


def routes(linked: LinkedContacts) -> list[Route]:

    async def get_linked(request: web.Request, principal: Principal | None) -> web.StreamResponse:
        cid = request.match_info["contact_id"]
        agent_id = principal.agent if principal is not None else None
        if agent_id is None or cid not in linked.handled.get(agent_id, {}):
            raise ApiError(404, "not_found", f"no contact {cid!r} of yours")
        return web.json_response({"contact_id": cid, "open": linked.linked(cid)})

    return [
        Route(
            "GET",
            "/api/agent/contacts/{contact_id}/linked",
            get_linked,
            "The same person's other open contacts (to merge or keep)",
            (Role.AGENT,),
            tag="agent",
            responses={200: "linked open contacts", 404: "not a contact you handled"},
            schemas={200: LINKED},
        )
    ]
