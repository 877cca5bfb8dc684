"""One reader per websocket: frames are handled in order by a task of their own, so the
socket keeps being read — and the client's pings answered — while an action waits for
the store (a Redis stall of seconds must not look like a dead connection)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger("yhteys.ws")

# Frames read but not yet handled; past this the client is told "busy" per frame.
MAX_WAITING = 64
# How long a closed socket's last frames may take (past the store's confirm timeout).
FINISH_WAIT_S = 15.0
_CLOSING: set[asyncio.Task[None]] = set()  # clean-ups under way (a task needs a holder)


class Inbox:
    def __init__(
        self,
        handle: Callable[[str], Awaitable[None]],
        refuse: Callable[[str], None],
        label: str,
    ) -> None:
        self._handle = handle
        self._refuse = refuse
        self.label = label
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._busy = False
        self._task = asyncio.get_running_loop().create_task(self._work())

    def put(self, text: str) -> None:
        """Queues one frame; never waits, so the reading goes on."""
        if self._queue.qsize() >= MAX_WAITING:
            self._refuse(text)
            return
        self._queue.put_nowait(text)

    async def _work(self) -> None:
        while True:
            text = await self._queue.get()
            if text is None:
                return
            self._busy = True
            try:
                await self._handle(text)
            except ConnectionError as exc:  # the client went away mid-answer
                log.info("%s disconnected: %s", self.label, exc)
            except Exception:
                log.exception("%s: a frame could not be handled", self.label)
            finally:
                self._busy = False

    async def close(self, then: Callable[[], Awaitable[None]]) -> None:
        """The socket closed: the frames it sent are handled, then ``then`` runs — in a
        task of its own, which goes on when the handler is cancelled (aiohttp cancels a
        websocket handler whose peer has gone): a client's disconnect must not skip the
        clean-up."""
        if not self._busy and self._queue.empty():
            # Nothing left to handle: clean up at once, as part of this step (a frame
            # the client sends after its close is never read).
            self._task.cancel()
            await then()
            return
        task = asyncio.get_running_loop().create_task(self._close(then))
        _CLOSING.add(task)
        task.add_done_callback(_CLOSING.discard)
        await asyncio.shield(task)

    async def _close(self, then: Callable[[], Awaitable[None]]) -> None:
        try:
            await self.finish()
        finally:
            await then()

    async def finish(self) -> None:
        """The frames read so far are handled (bounded), then the inbox ends."""
        self._queue.put_nowait(None)
        try:
            async with asyncio.timeout(FINISH_WAIT_S):
                await asyncio.shield(self._task)
        except TimeoutError:
            log.warning(
                "%s: frames still unhandled %.0f s after it closed", self.label, FINISH_WAIT_S
            )
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
