"""Capturing a snapshot in a forked child, as Redis's own BGSAVE does.

Pickling the whole engine takes ~10 µs per waiting contact (0.2 s at 20,000 waiting,
about a second at 100,000) and, on the event loop, stops the leader for that long: no
webhook answered, no offer sent. A forked child holds a copy-on-write image of the state
at the moment of the fork, so it can pickle at leisure on the other core while the parent
goes on applying the log; the parent only reads the finished bytes from a pipe, through
the event loop.

The child touches nothing but the objects it pickles and the pipe: it closes every other
descriptor it inherited, never runs the event loop, never logs (a lock held by another
thread at the fork would never be released in the child), dies with the leader (Linux)
and leaves with ``os._exit``, so no finaliser, atexit hook or buffered stream of the
parent runs twice. Pickling touches every object's reference count, so the child ends up
copying most of the engine's pages: size the host for twice the leader's memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import os
import signal
import warnings
from collections.abc import Callable

# How long the parent waits for the child to exit once the pipe has closed.
REAP_TIMEOUT_S = 5.0
PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _find_prctl() -> Callable[..., int] | None:
    """libc's ``prctl`` (Linux), looked up here in the parent: a ``dlopen`` in the child
    could wait forever for a loader lock another thread held at the fork."""
    try:
        prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return prctl


_PRCTL = _find_prctl()


class ForkFailed(RuntimeError):
    """The child could not capture the state (no fork here, it failed or was killed);
    the caller captures on the event loop instead."""


def can_fork() -> bool:
    return hasattr(os, "fork")


async def capture_in_child(capture: Callable[[], bytes]) -> bytes:
    """``capture()`` run in a forked child, its bytes read back without blocking the loop."""
    if not can_fork():
        raise ForkFailed("this platform cannot fork")
    parent = os.getpid()
    read_fd, write_fd = os.pipe()
    try:
        with warnings.catch_warnings():
            # Python 3.12 warns about fork in a process with threads: the child here takes
            # no lock a thread could hold (no logging, no imports, no dlopen) and only
            # pickles and writes to its pipe.
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
    except OSError as exc:
        os.close(read_fd)
        os.close(write_fd)
        raise ForkFailed(f"fork failed: {exc}") from exc
    if pid == 0:  # pragma: no cover - the child's lines run in another process
        _child(capture, parent, write_fd)
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


def _child(capture: Callable[[], bytes], parent: int, write_fd: int) -> None:  # pragma: no cover
    code = 1
    try:
        _die_with(parent)
        # Only the pipe: the leader's listening socket and connections must not stay
        # open in the child (a restarted leader could not bind its port; a connection
        # the leader closes would not see its end until the child exits).
        _close_all_but(write_fd)
        # The parent's Ctrl-C or SIGTERM is for the parent; the child ends with the pipe.
        with contextlib.suppress(ValueError):  # not the main thread: keep the defaults
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
        # A collection would write to every object's header and copy the heap page by page.
        gc.disable()
        view = memoryview(capture())
        while view:
            view = view[os.write(write_fd, view) :]
        code = 0
    except BaseException:  # nothing to report to but the exit status
        pass
    finally:
        os._exit(code)


def _die_with(parent: int) -> None:  # pragma: no cover - runs in the child
    """On Linux the kernel kills the child when the leader dies (kill -9) mid-capture,
    rather than leave an orphan pickling for nobody."""
    if _PRCTL is not None:
        _PRCTL(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it died before the line above took effect
        os._exit(1)


def _close_all_but(keep: int) -> None:  # pragma: no cover - runs in the child
    try:  # the open ones only: the limit may be a billion where close_range is missing
        open_fds = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:
        os.closerange(3, keep)
        os.closerange(keep + 1, _max_fd())
        return
    for fd in open_fds:
        if fd > 2 and fd != keep:
            with contextlib.suppress(OSError):  # listdir's own, already closed
                os.close(fd)


def _max_fd() -> int:
    try:
        return int(os.sysconf("SC_OPEN_MAX"))
    except (ValueError, OSError):
        return 65536


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
