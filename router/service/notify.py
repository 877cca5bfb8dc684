"""The outbound notification hook: when a callback closes ``unreachable`` after its last
failed attempt, the person is told (an SMS through the region's gateway) — never
silently dropped.

``yhteys serve --notify-url URL`` (or ``YHTEYS_NOTIFY_URL``; ``YHTEYS_NOTIFY_TOKEN`` is
sent as a bearer token) receives ``POST`` JSON::

    {"id": "...", "type": "callback_unreachable", "contact_id", "service", "number",
     "language", "attempts": [{"at", "agent_id", "result"}, ...], "closed_at"}

or, for the survey after a contact (``router/service/feedback.py``)::

    {"id": "...", "type": "feedback_request", "request_id", "contact_id", "service",
     "number", "language", "text", "answer_by"}

A 2xx answer delivers it; anything else (or no answer in 10 s) is retried with back-off
(1 s, 2 s, 4 s ... at most 5 min apart) until it is delivered. ``id`` is stable across
retries, so the gateway can drop duplicates. Pending notifications are derived from the
log and kept in snapshots, and only the instance that keeps time sends them, so a
restart or a failover neither loses nor doubles one (a retry after a lost answer may
repeat it: hence ``id``). Without a URL the notification is logged as an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp

from router.core import decisions as d
from router.core.events import ChannelSwitched, ContactArrived, Event
from router.core.model import Channel
from router.service.runtime import Note, Stopped, handles
from router.store import StoreUnavailable
from router.store.codec import allow

if TYPE_CHECKING:
    from router.service.service import Service

log = logging.getLogger("yhteys.notify")

NOTIFY_TOKEN = "YHTEYS_NOTIFY_TOKEN"
MAX_PENDING = 10_000
MAX_BACKOFF_S = 300.0
TIMEOUT_S = 10.0


@allow
@dataclass(frozen=True, slots=True)
class NotificationSent(Note):
    id: str


class Notifier:
    def __init__(self, service: Service, url: str | None, token: str | None = None) -> None:
        self.service = service
        self.url = url
        self.token = token
        self.pending: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self.callbacks: dict[str, dict[str, Any]] = {}  # open callbacks: number, attempts
        self.delivered = 0
        self._wake = asyncio.Event()

    # ------------------------------------------------------------ from the log

    @handles(ContactArrived, ChannelSwitched)
    def on_applied(self, event: Event, now: float) -> None:
        if isinstance(event, ContactArrived) and event.contact.channel is Channel.CALLBACK:
            spec = event.contact
            self.callbacks[spec.id] = {
                "number": spec.attributes.get("number"),
                "language": spec.language,
                "attempts": [],
            }
        elif isinstance(event, ChannelSwitched) and event.channel is Channel.CALLBACK:
            view = self.service.engine.contact(event.contact_id)
            self.callbacks.setdefault(
                event.contact_id,
                {
                    "number": event.attributes.get("number"),
                    "language": view.spec.language,
                    "attempts": [],
                },
            )

    @handles(d.CallbackAttempt, d.Closed)
    def on_decision(self, decision: d.Decision, now: float) -> None:
        if isinstance(decision, d.CallbackAttempt):
            record = self.callbacks.get(decision.contact_id)
            if record is not None:
                record["attempts"].append(
                    {"at": now, "agent_id": decision.agent_id, "result": decision.result}
                )
        elif isinstance(decision, d.Closed):
            record = self.callbacks.pop(decision.contact_id, None)
            if record is None or decision.outcome != "unreachable":
                return
            nid = f"unreachable-{decision.contact_id}"
            self.enqueue(
                {
                    "id": nid,
                    "type": "callback_unreachable",
                    "contact_id": decision.contact_id,
                    "service": decision.service,
                    "closed_at": now,
                    **record,
                }
            )

    def enqueue(self, body: dict[str, Any]) -> None:
        """Queues ``body`` (with a stable ``id`` and a ``contact_id``) for the hook. Only
        from a listener or a note handler: every instance queues it from the same log,
        so the pending set is the same everywhere (the feedback survey uses it too)."""
        self.pending[body["id"]] = body
        while len(self.pending) > MAX_PENDING:
            dropped, _ = self.pending.popitem(last=False)
            log.error("notification %s dropped: over %d pending", dropped, MAX_PENDING)
        self._wake.set()

    def withdraw(self, nid: str) -> bool:
        """Drops a pending notification not yet delivered (same rule as ``enqueue``)."""
        return self.pending.pop(nid, None) is not None

    def on_sent(self, note: NotificationSent, now: float) -> None:
        if self.pending.pop(note.id, None) is not None:
            self.delivered += 1

    def attempts_of(self, contact_id: str) -> list[dict[str, Any]]:
        record = self.callbacks.get(contact_id)
        return list(record["attempts"]) if record is not None else []

    # ------------------------------------------------------------ delivery

    async def run(self) -> None:
        """Sends what is pending while this instance keeps time; for the service's life."""
        backoff: dict[str, tuple[float, float]] = {}  # id -> (next try, delay)
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_S)) as session:
            while True:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(1.0):
                        await self._wake.wait()
                self._wake.clear()
                if not self.pending or not self.service.runtime.is_leader:
                    continue
                loop_now = asyncio.get_running_loop().time()
                for nid, body in list(self.pending.items()):
                    at, delay = backoff.get(nid, (0.0, 0.5))
                    if at > loop_now:
                        continue
                    if await self._send(session, body):
                        backoff.pop(nid, None)
                        with contextlib.suppress(Stopped, StoreUnavailable):
                            await self.service.runtime.submit(NotificationSent(nid))
                    else:
                        delay = min(delay * 2, MAX_BACKOFF_S)
                        backoff[nid] = (loop_now + delay, delay)
                        log.warning("notification %s not delivered; retrying in %.0f s", nid, delay)
                for nid in set(backoff) - set(self.pending):
                    del backoff[nid]

    async def _send(self, session: aiohttp.ClientSession, body: dict[str, Any]) -> bool:
        if not self.url:
            log.error(
                "no notification hook configured (--notify-url): %s for %s not sent",
                body["type"],
                body["contact_id"],
            )
            return False
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            async with session.post(self.url, json=body, headers=headers) as r:
                return 200 <= r.status < 300
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("notification hook %s: %s", self.url, exc)
            return False

    # ------------------------------------------------------------ snapshots

    def capture(self) -> dict[str, Any]:
        return {"pending": list(self.pending.items()), "callbacks": dict(self.callbacks)}

    def restore(self, data: dict[str, Any]) -> None:
        self.pending = OrderedDict(data["pending"])
        self.callbacks = dict(data["callbacks"])
        self._wake.set()
