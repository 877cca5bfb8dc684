"""The live service: the engine, its dispatch loop, and everything that listens to it."""

from __future__ import annotations

import time
from dataclasses import dataclass

from router.config.region import Region
from router.core.engine import Engine
from router.core.estimate import Estimate, HandleTimes
from router.service.agents import AgentHub
from router.service.auth import TokenStore
from router.service.outbox import Outbox
from router.service.routes import Route
from router.service.runtime import Clock, Runtime


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    demo: bool = False
    heartbeat_timeout_s: float = 30.0
    heartbeat_sweep_s: float = 5.0
    ws_ping_s: float = 10.0
    access_log: bool = False


class Service:
    def __init__(
        self, region: Region, settings: Settings | None = None, clock: Clock = time.time
    ) -> None:
        self.region = region
        self.settings = settings or Settings()
        self.engine = Engine(region.policy())
        self.runtime = Runtime(self.engine, clock)
        self.tokens = TokenStore(region.tokens)
        self.websockets: set[Outbox] = set()
        self.agents = AgentHub(self)
        self.handle_times = HandleTimes()
        self.runtime.listeners.append(self.handle_times.observe)
        self.runtime.listeners.append(self.agents.on_decision)
        self.started_at = clock()
        self.ready = False
        self.routes: list[Route] | None = None

    def estimate(self, contact_id: str) -> Estimate:
        view = self.engine.contact(contact_id)
        return self.engine.estimate(contact_id, self.handle_times.of(view.service))
