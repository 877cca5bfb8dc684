"""The supervisor console and the wallboard in a real browser: live figures, the waiting
list with its levers, an agent's skills, forced presence, the audit trail, the report."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.test_utils import TestClient
from playwright.async_api import expect

from router.core.model import ContactState
from router.service.app import build_app
from tests.pages_support import assert_accessible, browser_context, screenshot
from tests.service_support import bearer, make_service

Client = TestClient[Any, Any]
MakeClient = Callable[..., Awaitable[Client]]
__all__ = ["browser_context"]


async def sign_in(page: Any, client: Client, path: str) -> None:
    await page.goto(str(client.make_url(path)))
    await page.get_by_label("Access token").fill("demo-supervisor")
    await page.get_by_role("button", name="Sign in").click()


async def post_call(client: Client, call_id: str, service: str) -> None:
    call = {"call_id": call_id, "caller": "+358401234567", "ivr": {"service": service}}
    r = await client.post("/api/channels/phone/calls", json=call, headers=bearer("telephony"))
    assert r.status == 201, await r.text()


async def test_a_supervisor_runs_the_floor_from_the_console(
    aiohttp_client: MakeClient, browser_context: Any
) -> None:
    service = make_service()
    client = await aiohttp_client(build_app(service))
    r = await client.post("/api/agent/login", json={}, headers=bearer("agent-a001"))
    assert r.status == 200
    # Nobody logged in has dental skills or serves social services: both calls wait.
    await post_call(client, "sv-1", "oral_health")
    await post_call(client, "sv-2", "social_services")

    page = await browser_context.new_page()
    await sign_in(page, client, "/supervisor")
    services = page.locator("#services")
    await expect(services.locator('tr[data-row="oral_health"]')).to_contain_text("Oral health")
    await expect(services.locator('tr[data-row="oral_health"] td').first).to_have_text("1")
    dental = page.locator('tr[data-contact="phone-sv-1"]')
    await expect(dental).to_contain_text("Oral health")
    await assert_accessible(page)
    await screenshot(page, "supervisor")

    # Aino gets dental skills: the waiting dental call is offered to her at once.
    await page.get_by_role("button", name="Edit: Aino Nieminen").click()
    await page.get_by_label("Skills").fill("nursing=4, prescriptions=2, dental=3")
    await assert_accessible(page)
    await page.get_by_role("button", name="Save").click()
    await expect(dental).to_contain_text("Offered: a001")
    assert service.engine.contact("phone-sv-1").agent_id == "a001"
    await expect(page.locator('tr[data-agent="a001"]')).to_contain_text("dental=3")

    # Move the social-services call to child and family health; it keeps its place.
    social = page.locator('tr[data-contact="phone-sv-2"]')
    await page.get_by_label("Move to service: phone-sv-2").select_option("child_family")
    await page.get_by_role("button", name="Move: phone-sv-2").click()
    await expect(social).to_contain_text("Child and family health")
    assert service.engine.contact("phone-sv-2").service == "child_family"

    # Force Mikko (a002, offline) available.
    await page.get_by_label("New status for Mikko Heikkinen").select_option("available")
    await page.get_by_role("button", name="Force status: Mikko Heikkinen").click()
    await expect(page.locator('tr[data-agent="a002"]')).to_contain_text("Available")
    assert service.engine.agent("a002").status.value == "available"

    # The audit trail of the dental call.
    await page.get_by_role("button", name="Audit trail: phone-sv-1").click()
    dialog = page.locator("#audit-dialog")
    await expect(dialog).to_be_visible()
    await expect(dialog).to_contain_text("offered")
    await assert_accessible(page)
    await screenshot(page, "supervisor-audit")
    await page.get_by_role("button", name="Close").click()

    # Nursing advice's P4 target becomes 90 minutes.
    await page.get_by_label("Nursing advice: urgency class").select_option("P4")
    await page.get_by_label("Nursing advice: new target in minutes").fill("90")
    await page.get_by_role("button", name="Change target: Nursing advice").click()
    await expect(
        page.locator('#service-settings tr[data-service="nursing_advice"]')
    ).to_contain_text("P4 1 h 30 min")
    assert service.engine.service("nursing_advice").urgencies["P4"].target_s == 5400

    # Today's report by service.
    await page.get_by_role("button", name="Show").click()
    report = page.locator("#report")
    await expect(report).to_contain_text("Total")
    await expect(report.locator("tr", has_text="Oral health")).to_be_visible()
    await assert_accessible(page)
    assert service.engine.contact("phone-sv-2").state is ContactState.WAITING


async def test_the_wallboard_shows_big_live_numbers(
    aiohttp_client: MakeClient, browser_context: Any
) -> None:
    service = make_service()
    client = await aiohttp_client(build_app(service))
    page = await browser_context.new_page()
    await sign_in(page, client, "/wallboard")
    tile = page.locator('section[data-service="oral_health"]')
    await expect(tile.locator(".figure .value").first).to_have_text("0")
    await post_call(client, "wb-1", "oral_health")
    await expect(tile.locator(".figure .value").first).to_have_text("1")  # the next push
    await assert_accessible(page)
    await screenshot(page, "wallboard")


async def test_alerts_appear_on_the_console_as_they_happen(
    aiohttp_client: MakeClient, browser_context: Any
) -> None:
    service = make_service()
    client = await aiohttp_client(build_app(service))
    page = await browser_context.new_page()
    await sign_in(page, client, "/supervisor")
    await expect(page.locator("#alerts")).to_have_text("No alerts.")
    # A default-class nursing call now due in 0.4 s, and nobody logged in to take it.
    r = await client.patch(
        "/api/supervisor/services/nursing_advice",
        json={"urgencies": {"P4": {"target_s": 0.4}}},
        headers=bearer("supervisor"),
    )
    assert r.status == 200
    await post_call(client, "late", "nursing_advice")
    alerts = page.locator("#alerts")
    await expect(alerts).to_contain_text("Deadline missed: phone-late (Nursing advice)")
    await expect(alerts).to_contain_text("Due soon: phone-late (Nursing advice)")
    await assert_accessible(page)
