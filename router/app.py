"""The aiohttp application: the routes of one instance (router/instance.py), the
dispatch loop and the agents' sightings reporter as tasks owned by the app, and a clean
shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import WSCloseCode, web

from router.instance import Instance, instance_of
from router.service.auth import TokenStore
from router.service.http import MAX_BODY_BYTES
from router.service.routes import ROUTES, UNMATCHED_PATH, Route, bind, unmatched_handler
from router.service.service import Service

log = logging.getLogger("yhteys.service")

SERVICE = web.AppKey("service", Service)
TOKENS = web.AppKey("tokens", TokenStore)


def route_table(service: Service) -> list[Route]:
    """The service's routes (router/instance.py builds its components once)."""
    return instance_of(service).routes()


def build_app(service: Service | Instance) -> web.Application:
    """The app of one instance; building it again for the same instance wires nothing
    again (the composition root did, once)."""
    instance = service if isinstance(service, Instance) else instance_of(service)
    # No middleware: each route's handler answers its own errors (``routes.bind``) and
    # the last route answers the paths and methods no route takes (``routes.unmatched_handler``),
    # both in the API's error format; a middleware cost every request two coroutines.
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app[SERVICE] = instance.service
    app[TOKENS] = instance.service.tokens
    table = instance.routes()
    app[ROUTES] = table
    for route in table:
        handler = bind(route, TOKENS)
        app.router.add_route(route.method, route.path, handler, name=None)
        if route.method == "GET":  # HEAD answers wherever GET does (aiohttp drops the body)
            app.router.add_route("HEAD", route.path, handler, name=None)
    app.router.add_route("*", UNMATCHED_PATH, unmatched_handler(), name=None)
    app.cleanup_ctx.append(_background)
    app.on_shutdown.append(_close_websockets)
    return app


async def _background(app: web.Application) -> AsyncIterator[None]:
    service = app[SERVICE]
    loop_task = asyncio.create_task(service.runtime.run(), name="dispatch-loop")
    reporter = asyncio.create_task(service.agents.report_sightings(), name="agent-sightings")
    others = [asyncio.create_task(work(), name=name) for name, work in service.background]
    if service.store is None:
        await service.runtime.started.wait()
        log.info("dispatch loop started")
    # In Redis mode the replica catches up (or waits for the store) while the server
    # already answers: /readyz says not ready until it has.
    service.ready = True
    yield
    service.ready = False
    tasks = (reporter, *others)
    for task in tasks:
        task.cancel()
    await service.runtime.stop()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    try:
        await asyncio.wait_for(loop_task, timeout=5)
    except TimeoutError:
        loop_task.cancel()
    log.info("dispatch loop stopped; %d events applied", service.runtime.applied)


async def _close_websockets(app: web.Application) -> None:
    service = app[SERVICE]
    await asyncio.gather(
        *(
            box.close(WSCloseCode.GOING_AWAY, "service shutting down")
            for box in list(service.websockets)
        ),
        return_exceptions=True,
    )
