"""The supervisor console within the server's bounds: the eligible agents of a waiting
contact are named up to a few, with how many more; the waiting list shows at most what
the server lists in one page and says so; a reload that fails says so; and an older,
slower answer never overwrites a newer one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from playwright.async_api import expect

import router.service.supervisor_contacts as contacts
from router.app import build_app
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
