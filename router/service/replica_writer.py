"""The writer of a replica: ``submit`` puts an event in the region's log and waits until
this instance has applied it.

Whatever is submitted while one append is on its way goes in the next, one round trip for
many events. An append that fails is tried once more on a fresh connection (replicas skip
request ids they have applied, so a second landing has no effect); then every submitter
of the batch is told why. A submission not applied within ``confirm_timeout_s`` gets a
503 that says it may still be applied.
"""

from __future__ import annotations

import asyncio
import logging
import time

from router.core.decisions import Decision
from router.core.events import Event
from router.service.replica_log import Item
from router.service.replica_state import ReplicaState
from router.service.runtime import Note, Stopped
from router.store import (
    OutcomeUnknown,
    StoreUnavailable,
)
from router.store.codec import encode

log = logging.getLogger("yhteys.replica")


class LogWriter(ReplicaState):
    async def submit(self, event: Event | Note) -> list[Decision]:
        """Appends ``event`` to the log and waits until this instance has applied it;
        returns its decisions or raises the engine's ``RoutingError``. Raises
        ``StoreUnavailable`` when the store cannot take it (or did not confirm it)."""
        if self._stopping:
            raise Stopped("the service is shutting down")
        if self.stalled is not None:
            raise StoreUnavailable(f"this instance cannot apply the region's log: {self.stalled}")
        if not self.store_ok:
            if self.store_error is None and not self.started.is_set():
                raise StoreUnavailable(
                    "this instance is catching up with the region's log; try again shortly"
                )
            cause = f": {self.store_error}" if self.store_error else ""
            raise StoreUnavailable(f"the region's store cannot be reached{cause}")
        if len(self._outgoing) >= self.settings.max_pending:
            raise StoreUnavailable("too many events waiting for the store")
        rid = f"{self.instance}:{next(self._seq)}"
        future: asyncio.Future[list[Decision]] = asyncio.get_running_loop().create_future()
        self._waiting[rid] = future
        self._outgoing.append((rid, self.clock(), event))
        self._outgoing_ready.set()
        # One deadline queue swept by the consume loop, rather than a timer per event:
        # a wait_for per submission cost a third of Redis mode's overhead per contact.
        self._deadlines.append((time.monotonic() + self.settings.confirm_timeout_s, rid))
        try:
            return await future
        finally:
            self._waiting.pop(rid, None)
            # A refusal's traceback holds this frame: without the future in it, the
            # exception, its traceback and the future are not a cycle for the collector.
            del future

    def _expire_unconfirmed(self) -> None:
        """Submitters whose event was not applied within ``confirm_timeout_s`` get 503."""
        deadlines = self._deadlines
        now = time.monotonic()
        while deadlines and deadlines[0][0] <= now:
            _, rid = deadlines.popleft()
            future = self._waiting.get(rid)
            if future is not None and not future.done():
                future.set_exception(
                    StoreUnavailable(
                        "the store did not confirm the event in time; it may still be applied"
                    )
                )

    async def _append_loop(self) -> None:
        s = self.settings
        while self._looping:
            await self._outgoing_ready.wait()
            # One more pass of the event loop first: handlers whose requests arrived in
            # the same pass submit too, and share this round trip.
            await asyncio.sleep(0)
            self._outgoing_ready.clear()
            while self._outgoing and not self._halted:
                batches: list[bytes] = []
                taken: list[Item] = []
                while self._outgoing and len(batches) < 16:
                    chunk = [
                        self._outgoing.popleft()
                        for _ in range(min(s.batch_items, len(self._outgoing)))
                    ]
                    taken += chunk
                    batches.append(encode(chunk))
                unknown = False  # an attempt was sent and not answered: it may land
                try:
                    try:
                        await self.store.append(batches)
                    except StoreUnavailable as first:
                        # Once more on a fresh connection (after Redis restarted, the
                        # pooled one is dead). Safe: replicas skip request ids they have
                        # applied, so an append that did land has no second effect.
                        unknown = isinstance(first, OutcomeUnknown)
                        await asyncio.sleep(s.retry_s / 5)
                        await self.store.append(batches)
                except Exception as exc:  # unreachable, or refused: tell every submitter
                    if isinstance(exc, StoreUnavailable):
                        self._store_down(exc)
                    else:
                        log.exception("appending to the log failed")
                    if unknown or isinstance(exc, OutcomeUnknown):
                        why = f"the store did not answer in time; it may still be applied: {exc}"
                    else:
                        why = f"the event could not be stored: {exc}"
                    for rid, _, _ in taken:
                        future = self._waiting.get(rid)
                        if future is not None and not future.done():
                            future.set_exception(StoreUnavailable(why))
