"""``yhteys serve``: load the region, refuse unsafe settings, run the app on uvloop."""

from __future__ import annotations

import asyncio
import ipaddress
import logging

from aiohttp import web

from router.config import load_region
from router.service.app import build_app
from router.service.logs import configure_logging
from router.service.service import Service, Settings

log = logging.getLogger("yhteys.serve")


class ServeError(RuntimeError):
    """The service refuses to start; the message says why and what to do."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_safe(service: Service) -> None:
    demo = service.tokens.demo_tokens()
    if demo and not is_loopback(service.settings.host) and not service.settings.demo:
        raise ServeError(
            f"refusing to listen on {service.settings.host} with {len(demo)} published demo "
            "token(s) configured (e.g. "
            f"{demo[0]!r}); replace them with your own hashed tokens, bind to 127.0.0.1, or "
            "pass --demo if this really is a demo"
        )


def use_uvloop() -> bool:
    try:
        import uvloop  # noqa: PLC0415 - optional speed-up, absent on some platforms
    except ImportError:
        return False
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return True


def run(config: str, host: str, port: int, demo: bool = False, log_format: str = "json") -> None:
    configure_logging(log_format)
    region = load_region(config)
    service = Service(region, Settings(host=host, port=port, demo=demo))
    check_safe(service)
    fast = use_uvloop()
    log.info(
        "serving %s on http://%s:%d (%d agents, %d services, uvloop %s)",
        region.name,
        host,
        port,
        len(region.agents),
        len(region.services),
        "on" if fast else "off",
    )
    web.run_app(
        build_app(service),
        host=host,
        port=port,
        access_log=None,
        print=None,
        shutdown_timeout=10.0,
    )
