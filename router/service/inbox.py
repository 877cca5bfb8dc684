"""One websocket's frames, handled in order while the socket keeps being read.

An action may wait seconds for the store (a Redis stall). Read inline, it would leave
the socket unread meanwhile: the client's pings go unanswered and its heartbeat drops a
healthy connection. So a frame is handled by the task that read it (at once, as part of
the step that read it: nothing overtakes it), and while the handling waits a helper
task reads on — answering pings, queueing the frames that follow (in order, up to
``MAX_WAITING``; past that the client is told "busy" per frame, not silently). Only one
task reads at a time: the helper is cancelled (while it waits for data, which loses
nothing) before the next frame is handled."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable

from aiohttp import WSMessage, WSMsgType, web

log = logging.getLogger("yhteys.ws")

# Frames read but not yet handled; past this the client is told "busy" per frame.
MAX_WAITING = 64
# How long a closed socket's last frames may take (past the store's confirm timeout).
FINISH_WAIT_S = 15.0
_CLOSING: set[asyncio.Task[None]] = set()  # clean-ups under way (a task needs a holder)
_ENDS = (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR)


class Inbox:
    def __init__(
        self,
        handle: Callable[[str], Awaitable[None]],
        refuse: Callable[[str], None],
        label: str,
        other: Callable[[WSMessage], None] | None = None,
    ) -> None:
        self._handle = handle
        self._refuse = refuse
        self._other = other
        self.label = label
        self._queue: deque[str] = deque()
        self._ended = False

    async def serve(self, ws: web.WebSocketResponse) -> None:
        """Reads ``ws`` until it closes, handling each text frame in turn."""
        while True:
            if self._queue:
                text = self._queue.popleft()
            elif self._ended:
                return
            else:
                received = await self._receive(ws)
                if received is None:
                    return
                text = received
            reader = asyncio.get_running_loop().create_task(self._read_on(ws))
            try:
                await self._handle_one(text)
            finally:
                if not reader.done():
                    reader.cancel()
                await asyncio.wait([reader])

    async def _receive(self, ws: web.WebSocketResponse) -> str | None:
        """The next text frame; None once the socket has closed."""
        while True:
            msg = await ws.receive()
            if msg.type is WSMsgType.TEXT:
                return str(msg.data)
            if msg.type in _ENDS:
                self._ended = True
                return None
            if self._other is not None:
                self._other(msg)

    async def _read_on(self, ws: web.WebSocketResponse) -> None:
        while not self._ended:
            text = await self._receive(ws)
            if text is None:
                return
            if len(self._queue) >= MAX_WAITING:
                self._refuse(text)
            else:
                self._queue.append(text)

    async def _handle_one(self, text: str) -> None:
        try:
            await self._handle(text)
        except ConnectionError as exc:  # the client went away mid-answer
            log.info("%s disconnected: %s", self.label, exc)
        except Exception:
            log.exception("%s: a frame could not be handled", self.label)

    async def close(self, then: Callable[[], Awaitable[None]]) -> None:
        """The socket closed: the frames it sent are handled, then ``then`` runs. With
        frames left, in a task of its own that goes on when the handler is cancelled
        (aiohttp cancels a websocket handler whose peer has gone): a client's
        disconnect must not skip the clean-up."""
        if not self._queue:
            await then()  # at once, as part of this step
            return
        task = asyncio.get_running_loop().create_task(self._close(then))
        _CLOSING.add(task)
        task.add_done_callback(_CLOSING.discard)
        await asyncio.shield(task)

    async def _close(self, then: Callable[[], Awaitable[None]]) -> None:
        try:
            async with asyncio.timeout(FINISH_WAIT_S):
                while self._queue:
                    await self._handle_one(self._queue.popleft())
        except TimeoutError:
            log.warning(
                "%s: %d frames unhandled %.0f s after it closed",
                self.label,
                len(self._queue),
                FINISH_WAIT_S,
            )
        finally:
            await then()
