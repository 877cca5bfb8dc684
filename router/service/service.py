"""The live service: the engine, its dispatch loop, and everything that listens to it."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from router.config.region import Region
from router.core.engine import Engine
from router.core.estimate import Estimate, HandleTimes
from router.core.model import Channel
from router.service.agents import AgentHub
from router.service.auth import TokenStore
from router.service.notify import NOTIFY_TOKEN, Notifier
from router.service.outbox import Outbox
from router.service.replica_state import ReplicaSettings
from router.service.replicated import ReplicatedRuntime
from router.service.runtime import Clock, MemoryRuntime, Runtime
from router.store import Store

if TYPE_CHECKING:
    from router.instance import Instance


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    demo: bool = False
    # An agent with no open websocket and no REST heartbeat for this long is set not
    # ready; each instance reports its open websockets every third of it.
    heartbeat_timeout_s: float = 30.0
    ws_ping_s: float = 10.0
    access_log: bool = False
    notify_url: str | None = None  # the notification hook (SMS gateway), see notify.py
    # Redis mode: apply the region file's differences from the stored configuration
    # (``yhteys serve --apply-region-changes``, see regionfile.py) instead of refusing.
    apply_region_changes: bool = False


class Service:
    """One instance's core: its region, settings, runtime and the components every other
    one needs (tokens, agents, handle times, notifications). Without a store it is alone
    and keeps everything in memory; with a store (Redis mode) its engine is a replica of
    the region's log. Nothing here registers with the runtime: the composition root
    (``router/instance.py``) builds the rest and wires them all in one list."""

    def __init__(
        self,
        region: Region,
        settings: Settings | None = None,
        clock: Clock = time.time,
        store: Store | None = None,
        replica: ReplicaSettings | None = None,
    ) -> None:
        self.region = region
        self.settings = settings or Settings()
        self.store = store
        engine = Engine(region.policy())
        self.runtime: Runtime = (
            MemoryRuntime(engine, clock)
            if store is None
            else ReplicatedRuntime(engine, store, clock, replica)
        )
        self.tokens = TokenStore(region.tokens)
        self.websockets: set[Outbox] = set()
        self.agents = AgentHub(self)
        self.handle_times = HandleTimes()
        self.started_at = clock()
        self.ready = False
        # Work for the service's life (name, coroutine function); the app runs each as a
        # task and cancels it at shutdown.
        self.background: list[tuple[str, Callable[[], Coroutine[Any, Any, None]]]] = []
        self.notifier = Notifier(self, self.settings.notify_url, os.environ.get(NOTIFY_TOKEN))
        # Every other component, and the wiring of them all to the runtime: set once by
        # the composition root (``router.instance.instance_of``).
        self.instance: Instance | None = None
        # (region, when, which services were open then): ``open_services``'s last answer.
        self._open: tuple[Region, float, frozenset[str]] | None = None

    def open_services(self) -> frozenset[str]:
        """The services within their phone line's opening hours now, on the region's
        clock. Asked for every wait estimate; hours change by the minute, so the answer
        is kept for a second of the region's clock."""
        now = self.runtime.clock()
        kept = self._open
        if kept is not None and kept[0] is self.region and 0.0 <= now - kept[1] < 1.0:
            return kept[2]
        region = self.region
        opened = frozenset(
            name
            for name in region.services
            if region.hours_of(name).schedule(Channel.VOICE).is_open(now)
        )
        if kept is not None and kept[2] == opened:
            # The same object while the same services are open: the engine keeps its
            # shares by this set, found by identity, not compared name by name.
            opened = kept[2]
        self._open = (region, now, opened)
        return opened

    @property
    def engine(self) -> Engine:
        # The runtime's: in Redis mode a snapshot loaded at start replaces it.
        return self.runtime.engine

    def estimate(self, contact_id: str, service: str | None = None) -> Estimate:
        """The published wait estimate (``router.core.estimate``) for a waiting contact,
        from its service's measured handle times and abandonment. A caller that already
        holds the contact's view passes its ``service``: a second view is not free."""
        engine = self.runtime.engine
        if service is None:
            service = engine.contact(contact_id).service
        times = self.handle_times
        return engine.estimate(
            contact_id, times.of(service), times.abandon_share(service), self.open_services()
        )
