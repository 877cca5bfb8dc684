"""``yhteys serve``: load the region, refuse unsafe settings, run the app on uvloop.

Everything that can refuse (the region file, published demo tokens off loopback) is
checked before any global state changes — logging, the event loop — and before binding;
in Redis mode the region file is also compared with the one the region was last started
with before binding, and again once caught up (``regionfile.py``; a refusal then stops
the service, exit code 2).
SIGTERM and SIGINT shut down gracefully: stop accepting, close every websocket with 1001
"service shutting down", let the dispatch loop apply what is queued, exit 0.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import signal

import prometheus_client
from aiohttp import web

from router.app import build_app
from router.config import load_region
from router.config.advice import region_warnings
from router.config.tokens import Role, TokenSpec
from router.service.collector import settle_collector
from router.service.logs import configure_logging
from router.service.regionfile import RegionMismatch, check_stored
from router.service.service import Service, Settings
from router.store import StoreUnavailable

log = logging.getLogger("yhteys.serve")

SHUTDOWN_TIMEOUT_S = 10.0
_NAMES_SHOWN = 5


class ServeError(RuntimeError):
    """The service refuses to start; the message says why and what to do."""


def is_loopback(host: str) -> bool:
    host = host.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if host.lower() in {"localhost", "localhost."}:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name that may resolve to anything, or every address ("")


def check_safe(service: Service) -> None:
    """Refuses published demo tokens on anything but loopback, unless told it is a demo."""
    demo = [t for t in service.region.tokens if t.demo]
    if not demo or is_loopback(service.settings.host) or service.settings.demo:
        return
    raise ServeError(
        f"refusing to listen on {service.settings.host}: the region configures "
        f"{len(demo)} published demo token(s) ({describe_tokens(demo)}), whose secrets "
        "anyone can read. Replace them in the region file's 'tokens:' with your own (store "
        "only the SHA-256 hash: printf %s TOKEN | sha256sum) and drop 'demo: true', or "
        "listen on 127.0.0.1, or pass --demo if this really is a demo."
    )


def describe_tokens(tokens: list[TokenSpec]) -> str:
    """Names the tokens, agent tokens as a range when there are many."""
    names = [t.name for t in tokens if t.role is not Role.AGENT]
    agents = [t.name for t in tokens if t.role is Role.AGENT]
    if len(agents) > _NAMES_SHOWN:
        names.append(f"{len(agents)} agent tokens {agents[0]} … {agents[-1]}")
    else:
        names.extend(agents)
    return ", ".join(names)


def new_event_loop() -> tuple[asyncio.AbstractEventLoop, bool]:
    """A uvloop loop when uvloop is installed (not set as the global policy)."""
    try:
        import uvloop  # noqa: PLC0415 - optional speed-up, absent on some platforms
    except ImportError:
        return asyncio.new_event_loop(), False
    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    return loop, True


def run(
    config: str,
    host: str,
    port: int,
    demo: bool = False,
    log_format: str = "json",
    access_log: bool = False,
    redis_url: str | None = None,
    notify_url: str | None = None,
    apply_region_changes: bool = False,
) -> None:
    region = load_region(config)
    store = None
    if redis_url:
        from router.store.keys import region_key  # noqa: PLC0415 - redis only in Redis mode
        from router.store.redis import RedisStore  # noqa: PLC0415
        from router.store.redis_connection import BadRedisUrl  # noqa: PLC0415

        try:
            store = RedisStore(redis_url, region_key(region.name))
        except BadRedisUrl as exc:
            raise ServeError(f"--redis: {exc}") from None
    if notify_url and not notify_url.startswith(("http://", "https://")):
        raise ServeError(f"--notify-url {notify_url!r}: expected an http:// or https:// URL")
    if apply_region_changes and store is None:
        raise ServeError(
            "--apply-region-changes: only in Redis mode (--redis); in memory mode the region "
            "is the file each time it starts"
        )
    settings = Settings(
        host=host,
        port=port,
        demo=demo,
        access_log=access_log,
        notify_url=notify_url or None,
        apply_region_changes=apply_region_changes,
    )
    service = Service(region, settings, store=store)
    check_safe(service)
    configure_logging(log_format)
    for warning in region_warnings(region):  # legal, but worth a second look
        log.warning("region: %s", warning)
    if store is not None:
        log.info(
            "Redis mode: %s, keys %s*, instance %s",
            store.url,
            store.keys.prefix,
            service.runtime.instance,
        )
    else:
        log.warning(
            "memory mode: waiting contacts, callback requests, agents' state, live edits "
            "and the audit are kept in this process only and are lost when it stops or "
            "restarts; use --redis URL (or YHTEYS_REDIS_URL) to keep them"
        )
    # Counters' ``_created`` series double what is scraped and nothing here reads them.
    prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]
    app = build_app(service)
    if service.tokens.demo_tokens():
        log.warning(
            "published demo tokens are configured (%d); fine on loopback or for a demo only",
            len(service.tokens.demo_tokens()),
        )
    loop, fast = new_event_loop()
    if store is not None:
        _check_region_file(service, loop, apply_region_changes)
        service.background.append(("region-check", lambda: _stop_when_refused(service)))
    settle_collector()

    def serving(banner: str) -> None:
        # aiohttp calls this once its sites listen (said before, it was said also when the
        # port was taken and nothing listened), naming where they listen: the real port,
        # also for --port 0.
        where = banner.partition("Running on ")[2].partition(" ====")[0] or f"{host}:{port}"
        log.info(
            "serving %s from %s on %s (%d agents, %d services, uvloop %s)",
            region.name,
            config,
            where,
            len(region.agents),
            len(region.services),
            "on" if fast else "off",
        )

    try:
        web.run_app(
            app,
            host=host,
            port=port,
            access_log=logging.getLogger("aiohttp.access") if access_log else None,
            print=serving,
            shutdown_timeout=SHUTDOWN_TIMEOUT_S,
            loop=loop,
        )
    except OSError as exc:  # the address is taken or not ours
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    refusal = service.runtime.refusal
    if refusal:
        raise ServeError(refusal)
    log.info("stopped")


def _check_region_file(service: Service, loop: asyncio.AbstractEventLoop, apply: bool) -> None:
    """Redis mode, before listening: the region file against the stored one (the same
    loop then serves, so the store's connections stay usable). A store that cannot be
    reached now is no refusal: the instance waits for it, and checks again once caught up."""
    try:
        loop.run_until_complete(check_stored(service, apply))
    except RegionMismatch as exc:
        raise ServeError(str(exc)) from None
    except StoreUnavailable as exc:
        log.warning("region file not yet compared with the stored one: %s", exc)


async def _stop_when_refused(service: Service) -> None:
    """A start-up check refused once caught up (regionfile.py): stop, as SIGTERM would."""
    await service.runtime.refused.wait()
    signal.raise_signal(signal.SIGTERM)
