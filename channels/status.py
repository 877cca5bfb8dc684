"""What a channel remembers about its contacts: the status of open ones from the engine,
and the outcome of recently closed ones, so integrations can ask after a contact closed."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from aiohttp import web

from channels.common import InFlight, contact_id_for
from router.core import decisions as d
from router.core.errors import Conflict, InvalidEvent, UnknownContact
from router.core.events import ContactArrived, ContactCancelled, Event
from router.core.model import ContactSpec, ContactState
from router.service.auth import Principal
from router.service.http import ApiError
from router.service.runtime import handles
from router.service.service import Service

REMEMBER_FINISHED = 10_000
# The attribute naming the integration (its token's name) that registered a contact:
# in the contact as the engine accepts it, so every instance knows whose it is.
VIA = "via"
# The fields of a request that make it the same request (a retry), by the spec they give.
_ASKED = (
    "channel",
    "service",
    "urgency",
    "language",
    "preferred_agent",
    "preferred_team",
    "preferred_site",
    "due_at",
)


def name_of(principal: Principal | None) -> str | None:
    """The integration's name (its token's), None without one."""
    return principal.name if principal is not None else None


def with_via(attributes: Mapping[str, str], principal: Principal | None) -> dict[str, str]:
    """A contact's ``attributes`` with the integration that registers it (``VIA``)."""
    if principal is None:
        return dict(attributes)
    return {**attributes, VIA: principal.name}


def asked(spec: ContactSpec) -> dict[str, Any]:
    """What a request asked for, as the contact it made says it: the request's own
    fields, none of those the door adds (opening hours, the same-day clock), so a retry's
    ``asked`` equals the first one's. JSON values: it goes into snapshots."""
    fields: dict[str, Any] = {name: getattr(spec, name) for name in _ASKED}
    fields["channel"] = spec.channel.value
    fields["attributes"] = dict(spec.attributes)
    return fields


def key_reused(contact_id: str, prefix: str, other_integration: bool) -> ApiError:
    """409 ``idempotency_key_reused``: the key named a contact another request made."""
    key = contact_id.removeprefix(prefix)
    whose = "another integration" if other_integration else "a different request"
    return ApiError(
        409,
        "idempotency_key_reused",
        f"the Idempotency-Key {key!r} was already used by {whose}; nothing was changed. "
        "A retry must repeat the same request; a new request needs a new key",
    )


def wait_json(
    service: Service, contact_id: str, service_name: str | None = None
) -> tuple[int | None, dict[str, float] | None]:
    """(position, estimated_wait) for a waiting contact, as the API shows them.

    ``position`` is 1 + the contacts ahead of it in its own bucket of the one order: the
    same channel, current reach (own agent, team, site or region) and requirement
    (skills, language, authorisation) - not every contact waiting for the service.
    ``service_name``: the contact's service, when the caller holds its view already."""
    estimate = service.estimate(contact_id, service_name)
    wait = (
        {"min_s": estimate.low_s, "max_s": estimate.high_s}
        if estimate.low_s is not None and estimate.high_s is not None
        else None
    )
    return estimate.position, wait


class StatusBook:
    """The status of one channel's contacts (by id prefix): open ones from the engine,
    closed ones from a bounded memory of their outcomes (the newest ``remember``)."""

    def __init__(
        self,
        service: Service,
        prefix: str,
        remember: int = REMEMBER_FINISHED,
        labeller: Callable[[ContactSpec], dict[str, Any]] | None = None,
    ) -> None:
        self.service = service
        self.prefix = prefix
        self.remember = remember
        self.finished: OrderedDict[str, dict[str, Any]] = OrderedDict()
        # Fields a channel adds to an open contact's status (kept when it closes), taken
        # from the contact as the engine accepts it: so every replica has them too.
        self.labels: dict[str, dict[str, Any]] = {}
        self.labeller = labeller
        # What each contact's request asked for (``asked``), open and remembered closed
        # ones, taken from the contact as the engine accepts it: an ``Idempotency-Key``
        # retry is compared with it, and its ``via`` says whose the contact is.
        self.requests: dict[str, dict[str, Any]] = {}
        self.arriving = InFlight()

    @handles(ContactArrived)
    def on_applied(self, event: Event, now: float) -> None:
        if isinstance(event, ContactArrived) and event.contact.id.startswith(self.prefix):
            spec = event.contact
            if self.labeller is not None:
                self.labels[spec.id] = self.labeller(spec)
            if VIA in spec.attributes:
                self.requests[spec.id] = asked(spec)

    def capture(
        self,
    ) -> tuple[
        list[tuple[str, dict[str, Any]]], dict[str, dict[str, Any]], dict[str, dict[str, Any]]
    ]:
        return list(self.finished.items()), dict(self.labels), dict(self.requests)

    def restore(self, data: tuple[Any, ...]) -> None:
        """``capture``'s data; a snapshot of an earlier version has no requests."""
        self.finished = OrderedDict(data[0])
        self.labels = dict(data[1])
        self.requests = dict(data[2]) if len(data) > 2 else {}

    def on_own(self, decision: d.Decision, now: float) -> None:
        """A decision on one of this book's contacts (its id has the book's prefix): the
        service's books share one decision listener, ``decisions``, which picks the book."""
        match decision:
            case d.Closed(contact_id=cid, outcome=outcome):
                if cid not in self.finished:
                    self._finish(cid, {"outcome": outcome})
            case d.CallbackAttempt(contact_id=cid, agent_id=aid, result=result):
                # Each attempt stays in the status, also after the contact closed.
                self.labels.setdefault(cid, {}).setdefault("attempts", []).append(
                    {"at": now, "agent_id": aid, "result": result}
                )
            case d.Reclassified(contact_id=cid, new=new, original=original):
                # A channel that labels its contacts with their class shows the new one.
                labelled = self.labels.get(cid)
                if labelled is not None and "urgency" in labelled:
                    labelled["urgency"] = new
                    labelled["original_urgency"] = original
            case d.Redirected(contact_id=cid, target=target, urgency=urgency):
                self._finish(
                    cid,
                    {
                        "outcome": "redirected",
                        "action": "redirect",
                        "target": target,
                        "urgency": urgency,
                    },
                )
            case _:
                pass

    def _finish(self, contact_id: str, record: dict[str, Any]) -> None:
        self.finished[contact_id] = {**self.labels.pop(contact_id, {}), **record}
        while len(self.finished) > self.remember:
            forgotten, _ = self.finished.popitem(last=False)
            self.requests.pop(forgotten, None)

    def is_open(self, contact_id: str) -> bool:
        return self.service.engine.contact_glance(contact_id) is not None

    def known(self, contact_id: str) -> bool:
        # ``is_open``, inline: asked on every arriving webhook.
        return (
            contact_id in self.finished
            or self.service.runtime.engine.contact_glance(contact_id) is not None
        )

    def status(self, contact_id: str) -> dict[str, Any] | None:
        """The contact's status, or None when it is neither open nor remembered."""
        if not contact_id.startswith(self.prefix):
            return None
        done = self.finished.get(contact_id)
        if done is not None:
            return {
                "contact_id": contact_id,
                "state": ContactState.CLOSED.value,
                "position": None,
                "estimated_wait": None,
                **done,
            }
        try:
            view = self.service.engine.contact(contact_id)
        except UnknownContact:
            return None
        position: int | None = None
        wait: dict[str, float] | None = None
        if view.state is ContactState.WAITING:
            position, wait = wait_json(self.service, contact_id, view.service)
        status = {
            "contact_id": contact_id,
            **self.labels.get(contact_id, {}),
            "state": view.state.value,
            "position": position,
            "estimated_wait": wait,
        }
        if view.state is ContactState.SCHEDULED:
            status["scheduled_until"] = view.hold_until
        return status

    def owner(self, contact_id: str) -> str | None:
        """The integration that registered the contact, None when not recorded (made
        before integrations were recorded, or by another channel)."""
        request = self.requests.get(contact_id)
        if request is None:
            return None
        via: str | None = request["attributes"].get(VIA)
        return via

    async def create(
        self,
        headers: Mapping[str, str],
        request: ContactSpec,
        admit: Callable[[ContactSpec], ContactSpec],
        what: str,
    ) -> web.Response:
        """Opens the contact ``admit`` makes of ``request`` (built for a placeholder
        id, ``via`` the integration), answering 201 with its status — or 200 with the
        contact a retry of the same request made (the client named the contact with an
        ``Idempotency-Key``), also when the first one is still on its way or went in
        through another instance. A key that named a contact of another integration or
        of a different request is refused (409 ``idempotency_key_reused``)."""
        cid, named = contact_id_for(headers, self.prefix)
        spec = replace(request, id=cid)
        if cid in self.arriving:
            await self.arriving.wait(cid)
        if named and self.known(cid):
            return self._again(spec, what)
        admitted = admit(spec)
        try:
            with self.arriving.registering(cid):
                await self.service.runtime.submit(ContactArrived(admitted))
        except InvalidEvent:
            if named and self.known(cid):
                return self._again(spec, what)
            raise
        return web.json_response(self.require(cid, what), status=201)

    def _again(self, spec: ContactSpec, what: str) -> web.Response:
        """The answer to a request whose key named a known contact: its status when the
        request is the one that made it (a contact made before requests were recorded
        is taken as one), else 409."""
        first = self.requests.get(spec.id)
        if first is not None and first != asked(spec):
            mine = spec.attributes.get(VIA)
            raise key_reused(spec.id, self.prefix, first["attributes"].get(VIA) != mine)
        return web.json_response(self.require(spec.id, what))

    def require(self, contact_id: str, what: str, who: str | None = None) -> dict[str, Any]:
        """The contact's status, or 404 when unknown — also when it is another
        integration's than ``who`` (given): nobody learns of another's contacts."""
        status = self.status(contact_id)
        owner = self.owner(contact_id)
        if status is None or (who is not None and owner is not None and owner != who):
            raise ApiError(404, "not_found", f"no {what} {contact_id!r}")
        return status

    async def cancel(
        self, contact_id: str, reason: str, what: str, who: str | None = None
    ) -> dict[str, Any]:
        """Withdraws a contact no agent has yet (outcome ``cancelled``); a closed one is
        answered with its outcome, unchanged. 404 for another integration's than ``who``."""
        self.require(contact_id, what, who)
        if contact_id not in self.finished:
            try:
                await self.service.runtime.submit(ContactCancelled(contact_id, reason))
            except Conflict as exc:
                raise ApiError(409, "conflict", f"an agent has it: {exc}") from None
            except UnknownContact:  # closed meanwhile: answer with its outcome
                pass
        return self.require(contact_id, what, who)


def arrivals(*books: StatusBook) -> Callable[[Event, float], None]:
    """One applied listener for the ``books`` (their ``on_applied``), picked by the
    contact id's prefix: every listener in the runtime's list costs each applied event
    something (a phone call's arrival too), so the books share one place in it."""
    by_prefix = {book.prefix: book for book in books}
    assert all(p.endswith("-") and p.count("-") == 1 for p in by_prefix), by_prefix

    prefixes = tuple(by_prefix)

    @handles(ContactArrived)
    def on_applied(event: Event, now: float) -> None:
        # Most arrivals are phone calls: one check of the id sends them on their way.
        if isinstance(event, ContactArrived) and event.contact.id.startswith(prefixes):
            cid = event.contact.id
            by_prefix[cid[: cid.find("-") + 1]].on_applied(event, now)

    return on_applied


def decisions(*books: StatusBook) -> Callable[[d.Decision, float], None]:
    """One decision listener for the ``books``, passing each decision on to the one book
    whose prefix the contact id has (``StatusBook.on_own``): one entry in the runtime's
    list and one look at the id, where a listener per book cost each close four calls
    and a chain of type tests in each."""
    by_prefix = {book.prefix: book for book in books}
    assert all(p.endswith("-") and p.count("-") == 1 for p in by_prefix), by_prefix

    @handles(d.Closed, d.CallbackAttempt, d.Reclassified, d.Redirected)
    def on_decision(decision: d.Decision, now: float) -> None:
        match decision:
            case (
                d.Closed(contact_id=cid)
                | d.CallbackAttempt(contact_id=cid)
                | d.Reclassified(contact_id=cid)
                | d.Redirected(contact_id=cid)
            ):
                book = by_prefix.get(cid[: cid.find("-") + 1])
                if book is not None:
                    book.on_own(decision, now)
            case _:
                pass

    return on_decision
