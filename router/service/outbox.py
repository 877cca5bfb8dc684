"""One writer per websocket: listeners queue messages without awaiting, and a task sends
them in order. A connection that falls too far behind is closed rather than let the
service's memory grow without bound."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import struct
from typing import Any

from aiohttp import WSCloseCode, web

log = logging.getLogger("yhteys.ws")

# A frame's header by its payload's length (RFC 6455 5.2): FIN + text opcode, no mask.
_LEN1 = struct.Struct("!BB").pack
_LEN2 = struct.Struct("!BBH").pack
_LEN3 = struct.Struct("!BBQ").pack

MAX_BACKLOG = 1000
# json.dumps(message, separators=(",", ":")), without a new encoder made for every message
# (dumps makes one whenever an option differs from its defaults).
_compact = json.JSONEncoder(separators=(",", ":")).encode
BATCH_MAX = 64  # frames written at once (each one a frame of its own on the wire)


def write_frames(ws: web.WebSocketResponse, texts: list[str]) -> bool:
    """Writes ``texts`` as text frames, one each, with one write to the socket; False
    (nothing written) when the connection compresses its frames (its writer's compressor
    holds state from frame to frame, so each goes through ``send_str``).

    Each write to the transport is a system call and a TCP segment: an agent gets
    several frames per call, most of them in the same turn of the loop, and the calls'
    lifecycle costs the service less when they share one. The frames are RFC 6455's
    unmasked server frames, as aiohttp's writer makes them."""
    writer = getattr(ws, "_writer", None)
    if writer is None or writer.compress or ws.closed:
        return False
    transport = writer.transport
    if transport.is_closing():
        raise ConnectionResetError("Cannot write to closing transport")
    parts: list[bytes] = []
    for text in texts:
        payload = text.encode("utf-8")
        n = len(payload)
        if n < 126:
            parts.append(_LEN1(0x81, n))
        elif n < 65536:
            parts.append(_LEN2(0x81, 126, n))
        else:
            parts.append(_LEN3(0x81, 127, n))
        parts.append(payload)
    transport.write(b"".join(parts))
    return True


async def drained(ws: web.WebSocketResponse) -> None:
    """Waits while the peer reads too slowly for the socket's buffer (after a write that
    went around ``send_str``, whose own flow control this is)."""
    writer = getattr(ws, "_writer", None)
    if writer is not None and writer.protocol.writing_paused:
        await writer.protocol._drain_helper()


class Outbox:
    def __init__(self, ws: web.WebSocketResponse, label: str) -> None:
        self.ws = ws
        self.label = label
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._overflowed = False
        self._task = asyncio.get_running_loop().create_task(self._pump())

    def send(self, message: dict[str, Any]) -> None:
        if self.ws.closed or self._overflowed:
            return
        if self._queue.qsize() >= MAX_BACKLOG:
            # Stop queueing at once: the writer closes the socket when it gets there, and
            # a peer that reads nothing at all fails the websocket pings and is closed.
            self._overflowed = True
            log.warning("closing %s: %d messages unsent", self.label, MAX_BACKLOG)
            self._queue.put_nowait(None)
            return
        self._queue.put_nowait(_compact(message))

    async def _pump(self) -> None:
        queue = self._queue
        while True:
            text = await queue.get()
            if text is None:
                await self.ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message=b"too slow")
                return
            if queue.empty():
                # Messages queued by the same decisions (an offer and the agent's state), or
                # by the handler the same decisions woke (the action's ack), are about to
                # follow: one turn of the loop lets them join this write.
                await asyncio.sleep(0)
            texts = [text]
            while not queue.empty() and len(texts) < BATCH_MAX:
                more = queue.get_nowait()
                if more is None:
                    queue.put_nowait(None)  # send these first, then close
                    break
                texts.append(more)
            try:
                if len(texts) == 1 or not write_frames(self.ws, texts):
                    for one in texts:
                        await self.ws.send_str(one)
                else:
                    await drained(self.ws)
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
        while not self._queue.empty() and not self.ws.closed:
            await asyncio.sleep(0.005)

    async def finished(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task
