"""A real ``redis-server`` for tests: started on a free loopback port, one per test
session, emptied between tests. ``REDIS_URL`` points store tests at a server of your own
instead (keys are then kept apart per test). Without ``redis-server`` the Redis tests
skip, unless ``YHTEYS_REQUIRE_REDIS=1`` (``.ci/run`` sets it), which makes them fail."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RedisServer:
    """One ``redis-server`` process of the tests' own; it can be stopped and started
    again on the same port (its data is kept in memory only while it runs)."""

    port: int
    dir: str
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--dir", self.dir,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as c:
                    c.sendall(b"PING\r\n")
                    if c.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None

    def flush(self) -> None:
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as c:
            c.sendall(b"FLUSHALL\r\n")
            c.recv(16)


def require_redis_server() -> None:
    if shutil.which("redis-server") is None:
        if os.environ.get("YHTEYS_REQUIRE_REDIS") == "1":
            pytest.fail("redis-server is not installed and YHTEYS_REQUIRE_REDIS=1")
        pytest.skip("redis-server is not installed")


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    require_redis_server()
    with tempfile.TemporaryDirectory() as tmp:
        server = RedisServer(free_port(), tmp)
        server.start()
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> Iterator[str]:
    """A Redis for one test; ``REDIS_URL`` when set, else the tests' own (emptied)."""
    url = os.environ.get("REDIS_URL")
    if url:
        yield url
        return
    if redis_server.proc is None:
        redis_server.start()  # a test stopped it
    redis_server.flush()
    yield redis_server.url


def unique_region() -> str:
    return "test-" + uuid.uuid4().hex[:12]
