"""The snapshot child (router/service/forked.py): it holds nothing of the leader's but its
pipe, dies with the leader, and its bytes come back whole."""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from router.service.forked import capture_in_child

linux = pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs Linux /proc")


async def test_a_large_capture_comes_back_whole() -> None:
    blob = os.urandom(3_000_000)  # many pipe buffers' worth
    assert await capture_in_child(lambda: blob) == blob


@linux
async def test_the_child_holds_no_descriptor_but_its_pipe(tmp_path: Path) -> None:
    with (tmp_path / "held-open").open("w"):  # a descriptor of the leader's
        fds = pickle.loads(
            await capture_in_child(
                lambda: pickle.dumps(sorted(map(int, os.listdir("/proc/self/fd"))))
            )
        )
    # stdin, stdout, stderr, the pipe, and the directory listdir had open.
    assert fds[:3] == [0, 1, 2]
    assert len(fds) == 5


@linux
def test_the_child_dies_with_the_leader(tmp_path: Path) -> None:
    pid_file = tmp_path / "child"
    leader = textwrap.dedent(
        f"""
        import asyncio, os, time
        from pathlib import Path
        from router.service.forked import capture_in_child

        def slow() -> bytes:
            Path({str(pid_file)!r}).write_text(str(os.getpid()))
            time.sleep(60)
            return b"never"

        asyncio.run(capture_in_child(slow))
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", leader], cwd=Path(__file__).parent.parent)
    try:
        deadline = time.monotonic() + 20
        while not (pid_file.exists() and pid_file.read_text()):
            assert time.monotonic() < deadline, "the child never started"
            time.sleep(0.02)
        child = int(pid_file.read_text())
        proc.send_signal(signal.SIGKILL)  # the leader dies mid-capture
        proc.wait(10)
        deadline = time.monotonic() + 5
        while _alive(child):
            assert time.monotonic() < deadline, "the child outlived the leader"
            time.sleep(0.02)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie, reparented to init and not yet reaped, is dead)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"
