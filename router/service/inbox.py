"""One websocket's frames, handled in order while the socket keeps being read.

An action may wait seconds for the store (a Redis stall). Read inline, it would leave
the socket unread meanwhile: the client's pings go unanswered and its heartbeat drops a
healthy connection. So the socket has two tasks that take turns: the handler's own and
one helper, made at the first frame and kept for the socket's life. The task that reads
a frame while the other handles none handles it itself, at once (as part of the step
that read it: nothing overtakes it), and wakes the other to read on meanwhile,
answering pings and queueing the frames that follow (in order, up to ``MAX_WAITING``;
past that the client is told "busy" per frame, not silently). The handling task then
handles what was queued, in order, and waits until the reader hands it a turn again.
Only one task reads at a time.

Before, a reader task was started, cancelled and waited for around every frame: about
four steps of the loop and a task per frame, where the turns cost one wake-up."""

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
        self._handling = False  # one of the two tasks is handling frames
        self._helper: asyncio.Task[None] | None = None
        # The task that is neither reading nor handling waits on this for its turn.
        self._parked: asyncio.Future[None] | None = None

    async def serve(self, ws: web.WebSocketResponse) -> None:
        """Reads ``ws`` until it closes, handling each text frame in turn; returns once
        the frames read are handled (cancelled: at once, leaving them to ``close``)."""
        try:
            await self._turns(ws)
            if self._helper is not None:
                await self._helper  # it may be handling the last frames
        finally:
            helper = self._helper
            if helper is not None and not helper.done():
                helper.cancel()
                await asyncio.wait([helper])

    async def _turns(self, ws: web.WebSocketResponse) -> None:
        """One of the socket's two tasks: it reads until it reads a frame nobody is
        handling, handles it and what queues meanwhile (the other reads), then waits
        for the other to hand it the reading again."""
        while True:
            try:
                text = await self._receive(ws)
            except BaseException:
                # Reading failed (or this task is cancelled): the other, waiting for its
                # turn to read, would wait for ever; it ends too.
                self._ended = True
                self._unpark()
                raise
            if text is None:  # the end: the other, when waiting, ends too
                self._unpark()
                return
            if self._handling:
                if len(self._queue) >= MAX_WAITING:
                    self._refuse(text)
                else:
                    self._queue.append(text)
                continue
            self._handling = True
            if self._helper is None:
                self._helper = asyncio.get_running_loop().create_task(self._turns(ws))
            else:
                self._unpark()  # the other reads while this one handles
            # ``_handle_one`` inline: one coroutine fewer per frame, and one level fewer
            # for each of its steps (it waits for the dispatch loop) to pass through.
            handle, queue = self._handle, self._queue
            try:
                while True:
                    try:
                        await handle(text)
                    except Exception as exc:
                        self._failed(exc)
                    if not queue:
                        break
                    text = queue.popleft()
            finally:
                self._handling = False
            if self._ended:
                return
            parked = self._parked = asyncio.get_running_loop().create_future()
            await parked
            if self._ended:
                return

    def _unpark(self) -> None:
        parked = self._parked
        if parked is not None:
            self._parked = None
            if not parked.done():
                parked.set_result(None)

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

    async def _handle_one(self, text: str) -> None:
        try:
            await self._handle(text)
        except Exception as exc:
            self._failed(exc)

    def _failed(self, exc: Exception) -> None:
        """What a frame's handler raised, said in the log."""
        if isinstance(exc, ConnectionError):  # the client went away mid-answer
            log.info("%s disconnected: %s", self.label, exc)
        else:
            log.error("%s: a frame could not be handled", self.label, exc_info=exc)

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
