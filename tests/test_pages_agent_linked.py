"""The agent desktop's linked contacts stay true: a linked contact that closes elsewhere
leaves the list (the server tells the list again), and a Merge refused because it closed
meanwhile reads the list again instead of leaving a dead button."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from playwright.async_api import expect

from router.app import build_app
from router.service.linked import LinkedContacts
from tests.pages_support import browser_context
from tests.service_support import bearer, make_service
from tests.test_pages_agent import set_presence, sign_in

Client = TestClient[Any, Any]
MakeClient = Callable[..., Awaitable[Client]]
__all__ = ["browser_context"]
NUMBER = "+358401234567"


async def shown_linked(client: Client, page: Any) -> tuple[str, Any]:
    """A waiting dental callback and the same person's call, accepted: the callback is
    shown as linked with a Merge."""
    r = await client.post(
        "/api/channels/callbacks",
        json={"number": NUMBER, "service": "oral_health", "language": "fi"},
        headers=bearer("telephony"),
    )
    assert r.status == 201, await r.text()
    waiting: str = (await r.json())["contact_id"]
    await sign_in(page, client, "demo-agent-a001")
    await set_presence(page, "available")
    await expect(page.locator("#who")).to_contain_text("Available")
    call = {"call_id": "pl-1", "caller": NUMBER, "ivr": {"service": "nursing_advice"}}
    r = await client.post("/api/channels/phone/calls", json=call, headers=bearer("telephony"))
    assert r.status == 201
    await page.get_by_role("button", name="Accept").click()
    linked = page.locator("#linked")
    await expect(linked).to_contain_text(waiting)
    return waiting, linked


async def remove(client: Client, contact_id: str) -> None:
    r = await client.post(
        f"/api/supervisor/contacts/{contact_id}/remove",
        json={"reason": "called twice"},
        headers=bearer("supervisor"),
    )
    assert r.status == 200, await r.text()


async def test_a_linked_contact_closed_elsewhere_leaves_the_list(
    aiohttp_client: MakeClient, browser_context: Any
) -> None:
    client = await aiohttp_client(build_app(make_service()))
    page = await browser_context.new_page()
    waiting, linked = await shown_linked(client, page)
    await remove(client, waiting)
    await expect(linked).to_be_hidden()


async def test_a_merge_refused_because_the_contact_closed_reads_the_list_again(
    aiohttp_client: MakeClient, browser_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The push that would take it off is lost (say the agent's socket was elsewhere).
    monkeypatch.setattr(LinkedContacts, "_retell", lambda self, closed: None)
    client = await aiohttp_client(build_app(make_service()))
    page = await browser_context.new_page()
    waiting, linked = await shown_linked(client, page)
    await remove(client, waiting)
    await expect(linked).to_contain_text(waiting)  # still shown: nobody said otherwise
    await page.get_by_role("button", name=f"Merge: {waiting}").click()
    await expect(page.locator("#notices")).to_contain_text(waiting)  # the refusal, shown
    await expect(linked).to_be_hidden()
    await expect(page.get_by_role("heading", name="My work")).to_be_focused()
