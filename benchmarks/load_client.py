"""A lean HTTP/1.1 keep-alive load client on asyncio streams.

The aiohttp client spends about as much CPU per request as the aiohttp server does, so on
a small machine running both, a benchmark driven by it measures the client. This one keeps
``K`` connections open, and on each writes one prepared request and reads the status line,
the headers and a ``Content-Length`` body — nothing else (no chunked bodies, no redirects,
no cookies): just enough for a JSON API on loopback that answers with a length.

Bounded: every run has a deadline, after which the workers are cancelled; a connection
that breaks stops its worker and is counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

_HEADER_END = b"\r\n\r\n"
_LENGTH = b"\r\ncontent-length:"


class ProtocolError(RuntimeError):
    """The server answered with something this client does not read."""


def request_bytes(
    method: str, path: str, host: str, headers: dict[str, str], body: bytes = b""
) -> bytes:
    """One HTTP/1.1 request with ``Content-Length``, ready to write."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class Connection:
    """One keep-alive connection: one request in flight at a time."""

    __slots__ = ("reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, host: str, port: int, timeout_s: float = 5.0) -> Connection:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout_s)
        return cls(reader, writer)

    async def request(self, payload: bytes) -> tuple[int, bytes]:
        """Writes ``payload`` (a whole request) and returns (status, body)."""
        self.writer.write(payload)
        head = await self.reader.readuntil(_HEADER_END)
        if not head.startswith(b"HTTP/1.1 "):
            raise ProtocolError(f"not an HTTP/1.1 status line: {head[:40]!r}")
        status = int(head[9:12])
        at = head.lower().find(_LENGTH)
        if at < 0:
            raise ProtocolError("the answer has no Content-Length")
        start = at + len(_LENGTH)
        length = int(head[start : head.index(b"\r\n", start)])
        body = await self.reader.readexactly(length) if length else b""
        return status, body

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.writer.wait_closed(), 1.0)


async def open_pool(host: str, port: int, size: int, timeout_s: float = 5.0) -> list[Connection]:
    return list(
        await asyncio.gather(*(Connection.open(host, port, timeout_s) for _ in range(size)))
    )


@dataclass(slots=True)
class RunResult:
    sent: int = 0
    answered: int = 0
    broken: int = 0  # connections that failed mid-run (their worker stopped)
    timed_out: bool = False
    elapsed_s: float = 0.0
    latencies_s: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


async def run_closed_loop(
    pool: list[Connection],
    total: int,
    make: Callable[[int], bytes],
    on_answer: Callable[[int, int, bytes], None],
    deadline_s: float,
) -> RunResult:
    """Sends requests ``make(0) .. make(total - 1)`` over ``pool``, each connection sending
    its next as soon as the previous is answered (so ``len(pool)`` are in flight), and
    calls ``on_answer(i, status, body)``. Stops after ``deadline_s`` whatever is left."""
    result = RunResult()
    latencies = result.latencies_s
    next_index = 0
    perf = time.perf_counter

    async def worker(conn: Connection) -> None:
        nonlocal next_index
        while next_index < total:
            i = next_index
            next_index += 1
            payload = make(i)
            result.sent += 1
            t0 = perf()
            try:
                status, body = await conn.request(payload)
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
                result.broken += 1
                result.errors.append(f"{type(exc).__name__}: {exc}")
                return
            latencies.append(perf() - t0)
            result.answered += 1
            on_answer(i, status, body)

    started = perf()
    try:
        await asyncio.wait_for(asyncio.gather(*(worker(c) for c in pool)), deadline_s)
    except TimeoutError:
        result.timed_out = True
    result.elapsed_s = perf() - started
    return result
