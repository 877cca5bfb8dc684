"""The failover benchmark's settings, limits and instances: ``yhteys serve --redis``
subprocesses on one redis-server (``benchmarks.failover``)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks.load_region import LoadRegion
from benchmarks.service_load import (
    HOST,
    RedisProcess,
    ServerProcess,
    free_port,
)

TARGET_FAILOVER_S = 3.0
POLL_S = 0.02  # /readyz polling while waiting for a new leader
CLIENT_TIMEOUT_S = 2.0  # one webhook attempt
RETRY_PAUSE_S = 0.05
MAX_ATTEMPTS = 60  # per call: 60 attempts at least 50 ms apart, a few seconds at most
LEADER_TIMEOUT_S = 15.0
TIMER_TIMEOUT_S = 15.0
SETTLE_S = 10.0
LOGIN_TIMEOUT_S = 15.0
STEADY_S = 1.5  # load before each kill
QUIET_S = 1.0  # quiet rounds: nothing but timers for this long before the kill
AFTER_S = 1.0  # load after the first timer decision, before the next round


# ---------------------------------------------------------------- settings


@dataclass(frozen=True, slots=True)
class Settings:
    quick: bool = False
    rounds: int = 5  # leaders killed while calls keep coming
    quiet_rounds: int = 3  # leaders killed while nothing but timers happen
    instances: int = 2
    rate: float = 200.0
    agents: int = 20
    silent: int = 2
    held_offer_timeout_s: float = 0.5

    @classmethod
    def of(cls, quick: bool, **given: Any) -> Settings:
        base = cls(quick=True, rounds=1, quiet_rounds=1) if quick else cls()
        chosen = {k: v for k, v in given.items() if v is not None}
        return cls(**{**asdict(base), **chosen})


# ---------------------------------------------------------------- the instances


class Cluster:
    """The region's instances: ``yhteys serve --redis`` subprocesses on one redis-server."""

    def __init__(self, directory: Path, region: LoadRegion, redis_server: RedisProcess) -> None:
        self.directory = directory
        self.region = region
        self.redis = redis_server
        self.instances: list[ServerProcess] = []
        self.killed: list[ServerProcess] = []
        self.ready: list[ServerProcess] = []
        self._numbers = itertools.count(1)

    async def start(self, session: aiohttp.ClientSession) -> ServerProcess:
        n = next(self._numbers)
        server = ServerProcess(
            self.region.path,
            free_port(),
            self.directory / f"server-{n}.log",
            self.redis,
            profile="",
        )
        server.start()
        self.instances.append(server)
        await server.wait_ready(session)
        self.ready.append(server)
        return server

    def live(self) -> list[ServerProcess]:
        """Instances that are ready (the load posts to these) and not killed."""
        return [s for s in self.ready if s.alive() and s not in self.killed]

    def kill(self, server: ServerProcess) -> None:
        self.killed.append(server)
        server.kill()

    async def readyz(self, session: aiohttp.ClientSession, server: ServerProcess) -> Any:
        url = f"http://{HOST}:{server.port}/readyz"
        with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError, ValueError):
            async with session.get(url, timeout=aiohttp.ClientTimeout(total=1.0)) as r:
                return await r.json()
        return None

    async def leader(
        self, session: aiohttp.ClientSession, timeout_s: float = LEADER_TIMEOUT_S
    ) -> ServerProcess | None:
        """The live instance that says it leads, polled every ``POLL_S`` (bounded)."""
        for _ in range(int(timeout_s / POLL_S)):
            live = self.live()
            answers = await asyncio.gather(*(self.readyz(session, s) for s in live))
            for server, body in zip(live, answers, strict=True):
                if isinstance(body, dict) and body.get("leader") is True:
                    return server
            await asyncio.sleep(POLL_S)
        return None

    def stop_all(self) -> dict[int, int | None]:
        return {s.pid: s.stop() for s in self.instances if s.proc is not None}
