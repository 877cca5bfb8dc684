"""One writer per websocket: listeners queue messages without awaiting, and a task sends
them in order. A connection that falls too far behind is closed rather than let the
service's memory grow without bound."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from typing import Any

from aiohttp import WSCloseCode, web

from router.service.http import kept_encoder

log = logging.getLogger("yhteys.ws")

MAX_BACKLOG = 1000
# json.dumps(message, separators=(",", ":")), by one encoder made once (``kept_encoder``):
# every frame's text.
compact = kept_encoder(",", ":")


class Outbox:
    """A websocket's messages, queued by listeners and written in order by one task. The
    queue is a plain deque, and the writer waits on a future of its own only when it is
    empty: an ``asyncio.Queue`` cost about ten times as much per message, and an
    ``asyncio.Event`` set on every message (and cleared and waited on by the writer)
    several times what a look at ``_waiting`` costs while the writer is busy. An
    action's answer, from a task that may wait, is written by that task when nothing is
    queued (``write``)."""

    def __init__(self, ws: web.WebSocketResponse, label: str) -> None:
        self.ws = ws
        self.label = label
        self._queue: deque[str | None] = deque()  # None: close, the writer is too slow
        # The writer's wait for the next message, while the queue is empty.
        self._waiting: asyncio.Future[None] | None = None
        self._overflowed = False
        self._task = asyncio.get_running_loop().create_task(self._pump())

    def send(self, message: dict[str, Any]) -> None:
        self.send_text(compact(message))

    def send_text(self, text: str) -> None:
        """Queues a frame already encoded: ``compact`` of its message, the same text."""
        if self.ws.closed or self._overflowed:
            return
        queue = self._queue
        if len(queue) >= MAX_BACKLOG:
            # Stop queueing at once: the writer closes the socket when it gets there, and
            # a peer that reads nothing at all fails the websocket pings and is closed.
            self._overflowed = True
            log.warning("closing %s: %d messages unsent", self.label, MAX_BACKLOG)
            self._put(None)
            return
        queue.append(text)  # ``_put`` inline: this is every frame's path
        if self._waiting is not None:  # the writer waits (the first of a turn's frames)
            self._wake()

    async def write(self, text: str) -> None:
        """Sends a frame from a task that may wait (an action's answer, sent by the
        socket's own handler): written by the caller at once when nothing is queued and
        the writer waits for more (the writer is neither woken nor stepped for it: two
        steps a call's lifecycle), else queued after what is (``send_text``). Either way
        after every frame queued before it. A frame is in the transport before
        ``send_str`` may wait for it to drain, so what is queued meanwhile goes after."""
        if self._waiting is None or self._queue or self.ws.closed or self._overflowed:
            self.send_text(text)
            return
        # As the writer: a socket going away loses the frame, said by the inbox's reader.
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self.ws.send_str(text)

    def _put(self, text: str | None) -> None:
        self._queue.append(text)
        self._wake()

    def _wake(self) -> None:
        waiting = self._waiting
        if waiting is not None:
            self._waiting = None
            if not waiting.done():  # cancelled with the writer
                waiting.set_result(None)

    async def _pump(self) -> None:
        queue = self._queue
        loop = asyncio.get_running_loop()
        while True:
            if not queue:
                waiting = self._waiting = loop.create_future()
                await waiting
                continue
            text = queue.popleft()
            if text is None:
                await self.ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message=b"too slow")
                return
            try:
                await self.ws.send_str(text)
            except (ConnectionError, RuntimeError):
                return

    async def close(self, code: int = WSCloseCode.GOING_AWAY, message: str = "") -> None:
        """Sends what is queued, then closes the websocket with ``message`` as reason."""
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._drain(), timeout=2.0)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task
        if not self.ws.closed:
            await self.ws.close(code=code, message=message.encode())

    async def _drain(self) -> None:
        while self._queue and not self.ws.closed:
            await asyncio.sleep(0.005)

    async def finished(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task
