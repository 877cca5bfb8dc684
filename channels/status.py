"""What a channel remembers about its contacts: the status of open ones from the engine,
and the outcome of recently closed ones, so integrations can ask after a contact closed."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from router.core import decisions as d
from router.core.errors import Conflict, UnknownContact
from router.core.events import ContactCancelled
from router.core.model import ContactState
from router.service.http import ApiError
from router.service.service import Service

REMEMBER_FINISHED = 10_000


def wait_json(service: Service, contact_id: str) -> tuple[int | None, dict[str, float] | None]:
    """(position, estimated_wait) for a waiting contact, as the API shows them."""
    estimate = service.estimate(contact_id)
    wait = (
        {"min_s": estimate.low_s, "max_s": estimate.high_s}
        if estimate.low_s is not None and estimate.high_s is not None
        else None
    )
    return estimate.position, wait


class StatusBook:
    """The status of one channel's contacts (by id prefix): open ones from the engine,
    closed ones from a bounded memory of their outcomes (the newest ``remember``)."""

    def __init__(self, service: Service, prefix: str, remember: int = REMEMBER_FINISHED) -> None:
        self.service = service
        self.prefix = prefix
        self.remember = remember
        self.finished: OrderedDict[str, dict[str, Any]] = OrderedDict()
        # Fields a channel adds to an open contact's status (kept when it closes).
        self.labels: dict[str, dict[str, Any]] = {}
        service.runtime.listeners.append(self.on_decision)

    def label(self, contact_id: str, fields: dict[str, Any]) -> None:
        """Adds ``fields`` to the contact's status (set before it is submitted)."""
        self.labels[contact_id] = fields

    def unlabel(self, contact_id: str) -> None:
        self.labels.pop(contact_id, None)

    def on_decision(self, decision: d.Decision, now: float) -> None:
        if isinstance(decision, d.Redirected) and decision.contact_id.startswith(self.prefix):
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
        try:
            self.service.engine.contact(contact_id)
        except UnknownContact:
            return False
        return True

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
            position, wait = wait_json(self.service, contact_id)
        return {
            "contact_id": contact_id,
            **self.labels.get(contact_id, {}),
            "state": view.state.value,
            "position": position,
            "estimated_wait": wait,
        }

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
