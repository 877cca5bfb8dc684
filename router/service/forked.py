"""Capturing a snapshot in a forked child, as Redis's own BGSAVE does.

Pickling the whole engine takes ~10 µs per waiting contact (0.2 s at 20,000 waiting,
about a second at 100,000) and, on the event loop, stops the leader for that long: no
webhook answered, no offer sent. A forked child holds a copy-on-write image of the state
at the moment of the fork, so it can pickle at leisure on the other core while the parent
goes on applying the log; the parent only reads the finished bytes from a pipe, through
the event loop.

The child touches nothing but the objects it pickles and the pipe: it never runs the event
loop, never logs (a lock held by another thread at the fork would never be released in the
child) and leaves with ``os._exit``, so no finaliser, atexit hook or buffered stream of the
parent runs twice.
"""

from __future__ import annotations

import asyncio
import gc
import os
import signal
from collections.abc import Callable

# How long the parent waits for the child to exit once the pipe has closed.
REAP_TIMEOUT_S = 5.0


class ForkFailed(RuntimeError):
    """The child could not capture the state (no fork here, it failed or was killed);
    the caller captures on the event loop instead."""


def can_fork() -> bool:
    return hasattr(os, "fork")


async def capture_in_child(capture: Callable[[], bytes]) -> bytes:
    """``capture()`` run in a forked child, its bytes read back without blocking the loop."""
    if not can_fork():
        raise ForkFailed("this platform cannot fork")
    read_fd, write_fd = os.pipe()
    try:
        pid = os.fork()
    except OSError as exc:
        os.close(read_fd)
        os.close(write_fd)
        raise ForkFailed(f"fork failed: {exc}") from exc
    if pid == 0:  # pragma: no cover - the child's lines run in another process
        _child(capture, read_fd, write_fd)
    os.close(write_fd)
    try:
        blob = await _read_to_end(read_fd)
        status = await _reap(pid)
    except BaseException:  # cancelled (the service stops): no child left behind
        _kill(pid)
        raise
    if status != 0:
        raise ForkFailed(f"the snapshot child exited with status {status}")
    if not blob:
        raise ForkFailed("the snapshot child wrote nothing")
    return blob


def _child(capture: Callable[[], bytes], read_fd: int, write_fd: int) -> None:  # pragma: no cover
    code = 1
    try:
        os.close(read_fd)
        # The parent's Ctrl-C or SIGTERM is for the parent; the child ends with the pipe.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        # A collection would touch every object and copy the whole heap page by page.
        gc.disable()
        view = memoryview(capture())
        while view:
            view = view[os.write(write_fd, view) :]
        code = 0
    except BaseException:  # nothing to report to but the exit status
        pass
    finally:
        os._exit(code)


async def _read_to_end(fd: int) -> bytes:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(loop=loop)
    protocol = asyncio.StreamReaderProtocol(reader, loop=loop)
    pipe = os.fdopen(fd, "rb", buffering=0)
    transport, _ = await loop.connect_read_pipe(lambda: protocol, pipe)
    try:
        return await reader.read()
    finally:
        transport.close()


async def _reap(pid: int) -> int:
    """The child's exit status, once it has exited (polled: no child watcher needed)."""
    deadline = asyncio.get_running_loop().time() + REAP_TIMEOUT_S
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if asyncio.get_running_loop().time() >= deadline:
            _kill(pid)
            return -1
        await asyncio.sleep(0.005)


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass
