"""The supervisor console within the server's bounds: the eligible agents of a waiting
contact are named up to a few, with how many more; the waiting list shows at most what
the server lists in one page and says so; a reload that fails says so; and an older,
slower answer never overwrites a newer one."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from playwright.async_api import expect

import router.service.supervisor_contacts as contacts
from router.app import build_app
from router.instance import stats_for
from tests.pages_support import browser_context
from tests.service_support import bearer, make_service
from tests.test_pages_supervisor import post_call, sign_in

Client = TestClient[Any, Any]
MakeClient = Callable[..., Awaitable[Client]]
__all__ = ["browser_context"]


async def test_a_waiting_contact_names_its_first_eligible_agents_and_how_many_more(
    aiohttp_client: MakeClient, browser_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(contacts, "ELIGIBLE_SHOWN", 1)
    service = make_service()
    client = await aiohttp_client(build_app(service))
    for agent in ("a001", "a002"):
        r = await client.post("/api/agent/login", json={}, headers=bearer(f"agent-{agent}"))
        assert r.status == 200
        r = await client.post(
            f"/api/supervisor/agents/{agent}/presence",
            json={"presence": "not_ready", "force": True},
            headers=bearer("supervisor"),
        )
        assert r.status == 200
    await post_call(client, "n1", "nursing_advice")
    page = await browser_context.new_page()
    await sign_in(page, client, "/supervisor")
    row = page.locator('tr[data-contact="phone-n1"]')
    await expect(row).to_contain_text("and 1 more")


async def test_the_list_stops_at_the_servers_largest_page_and_says_so(
    aiohttp_client: MakeClient, browser_context: Any
) -> None:
    service = make_service()
    client = await aiohttp_client(build_app(service))
    waiting = contacts.MAX_LIMIT + 1
    for i in range(waiting):
        await post_call(client, f"m{i:04d}", "oral_health")
    page = await browser_context.new_page()
    await sign_in(page, client, "/supervisor")
    count = page.locator("#queue-count")
    await expect(count).to_have_text(f"Showing 50 of {waiting}.")
    for shown in range(100, contacts.MAX_LIMIT + 1, 50):
        await page.locator("#queue-more").click()
        await expect(page.locator("#queue tbody tr")).to_have_count(shown)
    await expect(count).to_contain_text(f"Showing 1000 of {waiting}: the most the list shows")
    await expect(page.locator("#queue-more")).to_have_count(0)


async def test_a_reload_that_fails_says_so(
    aiohttp_client: MakeClient, browser_context: Any
) -> None:
    service = make_service()
    client = await aiohttp_client(build_app(service))
    await post_call(client, "f1", "oral_health")
    page = await browser_context.new_page()
    await sign_in(page, client, "/supervisor")
    await expect(page.locator('tr[data-contact="phone-f1"]')).to_be_visible()
    refused = {"error": {"status": 400, "code": "invalid_input", "message": "limit: too many"}}
    await page.route(
        "**/api/supervisor/contacts?*",
        lambda route: route.fulfill(status=400, json=refused),
    )
    await page.locator("#queue-refresh").click()
    await expect(page.locator("#notices")).to_contain_text("limit: too many")


async def test_an_older_slower_answer_never_overwrites_a_newer_one(
    aiohttp_client: MakeClient, browser_context: Any
) -> None:
    service = make_service()
    stats_for(service).interval = 3600  # no pushes meanwhile: the reloads are the test's
    client = await aiohttp_client(build_app(service))
    await post_call(client, "o1", "oral_health")
    page = await browser_context.new_page()
    await sign_in(page, client, "/supervisor")
    await expect(page.locator('tr[data-contact="phone-o1"]')).to_be_visible()
    await page.wait_for_load_state("networkidle")

    # The next read of the list is answered as the list is now (o1 only), but slowly.
    read, release, delivered = asyncio.Event(), asyncio.Event(), asyncio.Event()
    held: list[Any] = []

    async def hold(route: Any) -> None:
        if held:
            await route.continue_()
            return
        held.append(route)
        answer = await route.fetch()
        read.set()
        await release.wait()
        await route.fulfill(response=answer)
        delivered.set()

    await page.route("**/api/supervisor/contacts?*", hold)
    await page.locator("#queue-refresh").click()
    await asyncio.wait_for(read.wait(), 60)  # a safety net, not a timed assertion
    await post_call(client, "o2", "oral_health")
    await page.locator("#queue-refresh").click()
    await expect(page.locator('tr[data-contact="phone-o2"]')).to_be_visible()

    release.set()
    await asyncio.wait_for(delivered.wait(), 60)
    # Let the page take the old answer in (a few turns of its event loop).
    for _ in range(5):
        await page.evaluate("new Promise((done) => setTimeout(done, 20))")
    await expect(page.locator("#queue-count")).to_have_text("Showing 2 of 2.")
    assert await page.locator('tr[data-contact="phone-o2"]').count() == 1
