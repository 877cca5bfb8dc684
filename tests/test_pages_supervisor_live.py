"""The supervisor console stays live without flooding the server: a table is reloaded
only when something in it changed (the statistics push carries the tables' versions),
the eligible agents come with the waiting list in one request, an agent's presence
changed elsewhere appears in the agents table, the list says how many it shows of how
many, and the wide tables scroll in their own regions at 1280 px."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.test_utils import TestClient
from playwright.async_api import expect

from router.app import build_app
from router.instance import stats_for
from tests.pages_support import assert_accessible, browser_context
from tests.service_support import bearer, make_service
from tests.test_pages_supervisor import post_call, sign_in

Client = TestClient[Any, Any]
MakeClient = Callable[..., Awaitable[Client]]
__all__ = ["browser_context"]

WAITING = 55  # more than the list's first page (50)


class Pushes:
    """Counts the statistics pushes the page receives; ``wait(n)`` returns after n more."""

    def __init__(self) -> None:
        self.count = 0
        self._waiters: list[tuple[int, asyncio.Event]] = []

    def frame(self, payload: str | bytes) -> None:
        if '"type": "stats"' in str(payload) or '"type":"stats"' in str(payload):
            self.count += 1
            for target, event in self._waiters:
                if self.count >= target:
                    event.set()

    async def wait(self, n: int) -> None:
        event = asyncio.Event()
        self._waiters.append((self.count + n, event))
        await asyncio.wait_for(event.wait(), 120)  # a safety net, not a timed assertion


async def test_the_console_asks_nothing_while_nothing_changes_and_shows_changes_live(
    aiohttp_client: MakeClient, browser_context: Any
) -> None:
    service = make_service()
    client = await aiohttp_client(build_app(service))
    stats_for(service).interval = 0.2
    for i in range(WAITING):
        await post_call(client, f"w{i:02d}", "oral_health")
    page = await browser_context.new_page()
    asked: list[str] = []
    # The staffing view refreshes on its own 15 s clock (docs/pages.md), not with a push.
    page.on(
        "request",
        lambda r: asked.append(r.url) if "/api/" in r.url and "/staffing" not in r.url else None,
    )
    pushes = Pushes()
    page.on("websocket", lambda ws: ws.on("framereceived", pushes.frame))
    await sign_in(page, client, "/supervisor")

    # The list says how much of it is shown, and shows the rest on request.
    await expect(page.locator("#queue-count")).to_have_text(f"Showing 50 of {WAITING}.")
    await expect(page.locator('tr[data-contact="phone-w54"]')).to_have_count(0)
    await page.get_by_role("button", name="Show 5 more").click()
    await expect(page.locator('tr[data-contact="phone-w54"]')).to_be_visible()
    await expect(page.locator("#queue-count")).to_have_text(f"Showing {WAITING} of {WAITING}.")
    mikko = page.locator('tr[data-agent="a002"] td').first  # the status cell
    await expect(mikko).to_have_text("Offline")

    # The wide tables scroll in their own regions: the page itself does not, at 1280 px
    # nor on a narrower screen.
    for width in (1280, 1024):
        await page.set_viewport_size({"width": width, "height": 800})
        widths = await page.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        wide = await page.evaluate(
            "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right"
            " > document.documentElement.clientWidth + 1).slice(0, 8).map(e => e.tagName + '#'"
            " + e.id + '.' + e.className + ':' + Math.round(e.getBoundingClientRect().right))"
        )
        assert widths[0] <= widths[1], (width, widths, wide)
    await page.set_viewport_size({"width": 1280, "height": 800})
    await assert_accessible(page)

    # Nothing changes: over ten pushes the console asks the server nothing.
    await page.locator("#lang").focus()  # out of the tables
    await pushes.wait(2)
    asked.clear()
    await pushes.wait(10)
    assert asked == []

    # Mikko is made available elsewhere (through the API): the agents table shows it
    # without a reload, and the waiting list is read again in one request.
    r = await client.post(
        "/api/supervisor/agents/a002/presence",
        json={"presence": "available"},
        headers=bearer("supervisor"),
    )
    assert r.status == 200
    await expect(mikko).to_have_text("Available")
    await pushes.wait(3)
    lists = [url for url in asked if "/api/supervisor/contacts" in url]
    assert all("/eligible" not in url for url in asked), asked
    assert 1 <= len(lists) <= 3, asked  # once per change, whatever the number waiting
