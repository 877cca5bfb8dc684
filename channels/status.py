"""What a channel remembers about its contacts: the status of open ones from the engine,
and the outcome of recently closed ones, so integrations can ask after a contact closed."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web

from channels.common import InFlight, contact_id_for
from router.core import decisions as d
from router.core.errors import Conflict, InvalidEvent, UnknownContact
from router.core.events import ContactArrived, ContactCancelled, Event
from router.core.model import ContactSpec, ContactState
from router.service.http import ApiError
from router.service.runtime import handles
from router.service.service import Service

REMEMBER_FINISHED = 10_000


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
        self.arriving = InFlight()

    @handles(ContactArrived)
    def on_applied(self, event: Event, now: float) -> None:
        if (
            self.labeller is not None
            and isinstance(event, ContactArrived)
            and event.contact.id.startswith(self.prefix)
        ):
            self.labels[event.contact.id] = self.labeller(event.contact)

    def capture(self) -> tuple[list[tuple[str, dict[str, Any]]], dict[str, dict[str, Any]]]:
        return list(self.finished.items()), dict(self.labels)

    def restore(
        self, data: tuple[list[tuple[str, dict[str, Any]]], dict[str, dict[str, Any]]]
    ) -> None:
        self.finished = OrderedDict(data[0])
        self.labels = dict(data[1])

    @handles(d.CallbackAttempt, d.Reclassified, d.Redirected, d.Closed)
    def on_decision(self, decision: d.Decision, now: float) -> None:
        if isinstance(decision, d.CallbackAttempt) and decision.contact_id.startswith(self.prefix):
            # Each attempt stays in the status, also after the contact closed.
            label = self.labels.setdefault(decision.contact_id, {})
            label.setdefault("attempts", []).append(
                {"at": now, "agent_id": decision.agent_id, "result": decision.result}
            )
        elif isinstance(decision, d.Reclassified) and decision.contact_id in self.labels:
            # A channel that labels its contacts with their class shows the new one.
            label = self.labels[decision.contact_id]
            if "urgency" in label:
                label["urgency"] = decision.new
                label["original_urgency"] = decision.original
        elif isinstance(decision, d.Redirected) and decision.contact_id.startswith(self.prefix):
            self._finish(
                decision.contact_id,
                {
                    "outcome": "redirected",
                    "action": "redirect",
                    "target": decision.target,
                    "urgency": decision.urgency,
                },
            )
        elif (
            isinstance(decision, d.Closed)
            and decision.contact_id.startswith(self.prefix)
            and decision.contact_id not in self.finished
        ):
            self._finish(decision.contact_id, {"outcome": decision.outcome})

    def _finish(self, contact_id: str, record: dict[str, Any]) -> None:
        self.finished[contact_id] = {**self.labels.pop(contact_id, {}), **record}
        while len(self.finished) > self.remember:
            self.finished.popitem(last=False)

    def is_open(self, contact_id: str) -> bool:
        return self.service.engine.contact_glance(contact_id) is not None

    def known(self, contact_id: str) -> bool:
        return contact_id in self.finished or self.is_open(contact_id)

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

    async def create(
        self,
        headers: Mapping[str, str],
        build: Callable[[str], ContactSpec],
        what: str,
    ) -> web.Response:
        """Opens the contact ``build`` makes for its id, answering 201 with its status —
        or 200 with the contact a retry of the same request made (the client named the
        contact with an ``Idempotency-Key``), also when the first one is still on its
        way or went in through another instance."""
        cid, named = contact_id_for(headers, self.prefix)
        if cid in self.arriving:
            await self.arriving.wait(cid)
        if named and self.known(cid):
            return web.json_response(self.require(cid, what))
        spec = build(cid)
        try:
            with self.arriving.registering(cid):
                await self.service.runtime.submit(ContactArrived(spec))
        except InvalidEvent:
            if named and self.known(cid):
                return web.json_response(self.require(cid, what))
            raise
        return web.json_response(self.require(cid, what), status=201)

    def require(self, contact_id: str, what: str) -> dict[str, Any]:
        status = self.status(contact_id)
        if status is None:
            raise ApiError(404, "not_found", f"no {what} {contact_id!r}")
        return status

    async def cancel(self, contact_id: str, reason: str, what: str) -> dict[str, Any]:
        """Withdraws a contact no agent has yet (outcome ``cancelled``); a closed one is
        answered with its outcome, unchanged."""
        self.require(contact_id, what)
        if contact_id not in self.finished:
            try:
                await self.service.runtime.submit(ContactCancelled(contact_id, reason))
            except Conflict as exc:
                raise ApiError(409, "conflict", f"an agent has it: {exc}") from None
            except UnknownContact:  # closed meanwhile: answer with its outcome
                pass
        return self.require(contact_id, what)
