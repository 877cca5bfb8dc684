"""Pages in a real browser, as an outside tester found them: the supervisor console shows
the deadline alerts still standing when it opens or reconnects after they were pushed,
marks an overdue row of the waiting list in words and drops an alert whose contact is
gone; the agent page's idle Accept and Decline look idle, a live call's Complete menu
offers only a live call's outcomes, and times are written as on the status page."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.test_utils import TestClient
from playwright.async_api import expect

from router.app import build_app
from tests.pages_support import assert_accessible, browser_context
from tests.service_support import bearer, make_service
from tests.test_pages_agent import set_presence
from tests.test_pages_agent import sign_in as agent_sign_in
from tests.test_pages_supervisor import sign_in

Client = TestClient[Any, Any]
MakeClient = Callable[..., Awaitable[Client]]
__all__ = ["browser_context"]
SUP = bearer("supervisor")


async def missed_callback(client: Client) -> str:
    """An urgent social-services callback nobody can take, its deadline a second away,
    and waited for until it is missed (pushed to nobody: no console is open)."""
    r = await client.patch(
        "/api/supervisor/services/social_services",
        json={"urgencies": {"urgent": {"target_s": 1}}},
        headers=SUP,
    )
    assert r.status == 200, await r.text()
    r = await client.post(
        "/api/channels/callbacks",
        json={"number": "+358401112222", "service": "social_services", "urgency": "urgent"},
        headers=bearer("telephony"),
    )
    assert r.status == 201, await r.text()
    cid: str = (await r.json())["contact_id"]

    async def missed() -> None:
        while True:
            body = await (await client.get("/api/supervisor/alerts", headers=SUP)).json()
            if any(a["kind"] == "deadline_missed" for a in body["alerts"]):
                return
            await asyncio.sleep(0.1)

    await asyncio.wait_for(missed(), 10)
    return cid


async def test_a_console_opened_after_a_missed_deadline_shows_it_and_the_overdue_row(
    aiohttp_client: MakeClient, browser_context: Any
) -> None:
    service = make_service()
    client = await aiohttp_client(build_app(service))
    cid = await missed_callback(client)

    page = await browser_context.new_page()
    await sign_in(page, client, "/supervisor")
    alerts = page.locator("#alerts")
    await expect(alerts).to_contain_text(f"Deadline missed: {cid} (Social services)")
    await expect(alerts).to_contain_text(f"Due soon: {cid} (Social services)")
    await expect(alerts.locator("li")).to_have_count(2)  # each once, read and pushed alike
    row = page.locator(f'tr[data-contact="{cid}"]')
    await expect(row.locator("td.due")).to_contain_text("(overdue)")
    await assert_accessible(page)

    # Reloaded, the console still shows them (nothing is pushed again).
    await page.reload()
    await expect(alerts).to_contain_text(f"Deadline missed: {cid}")

    # The supervisor removes the contact: its alerts go with it.
    await page.get_by_role("button", name=f"Remove: {cid}").click()
    await page.locator("#remove-dialog textarea, #remove-dialog input").first.fill("duplicate")
    await page.locator("#remove-form button[type=submit]").click()
    await expect(alerts).to_have_text("No alerts.")
    await expect(row).to_have_count(0)


async def test_a_console_that_reconnects_reads_the_alerts_it_missed(
    aiohttp_client: MakeClient, browser_context: Any
) -> None:
    service = make_service()
    client = await aiohttp_client(build_app(service))
    page = await browser_context.new_page()
    await sign_in(page, client, "/supervisor")
    alerts = page.locator("#alerts")
    await expect(alerts).to_have_text("No alerts.")
    await expect(page.locator("body")).to_have_attribute("data-online", "yes")
    # The console is cut off (every supervisor socket closed by the server) while the
    # deadline passes; it reconnects by itself.
    await page.context.set_offline(True)
    for box in list(service.websockets):
        await box.ws.close()
    await expect(page.locator("body")).to_have_attribute("data-online", "no")
    cid = await missed_callback(client)
    # Still cut off: the alerts were pushed to nobody.
    await expect(page.locator("body")).to_have_attribute("data-online", "no")
    await page.context.set_offline(False)
    await expect(alerts).to_contain_text(f"Deadline missed: {cid} (Social services)")


# ---------------------------------------------------------------- the agent page's look


async def look(page: Any, selector: str) -> tuple[str, str]:
    """(background colour, border style) of an element as drawn."""
    found: list[str] = await page.eval_on_selector(
        selector, "e => [getComputedStyle(e).backgroundColor, getComputedStyle(e).borderTopStyle]"
    )
    return found[0], found[1]


async def offered(page: Any, client: Client) -> Any:
    """Aino signed in and available, a phone call offered to her: the Accept button."""
    await agent_sign_in(page, client, "demo-agent-a001")
    await set_presence(page, "available")
    accept = page.get_by_role("button", name="Accept")
    await expect(accept).to_be_disabled()
    call = {"call_id": "look-1", "caller": "+358401234567", "ivr": {"service": "nursing_advice"}}
    r = await client.post("/api/channels/phone/calls", json=call, headers=bearer("telephony"))
    assert r.status == 201
    await expect(accept).to_be_enabled()
    return accept


async def test_idle_accept_and_decline_buttons_do_not_look_ready(
    aiohttp_client: MakeClient, browser_context: Any
) -> None:
    client = await aiohttp_client(build_app(make_service()))
    page = await browser_context.new_page()
    await agent_sign_in(page, client, "demo-agent-a001")
    await set_presence(page, "available")
    await expect(page.get_by_role("button", name="Accept")).to_be_disabled()
    idle = await look(page, "#accept"), await look(page, "#decline")
    await assert_accessible(page)
    page = await browser_context.new_page()
    await offered(page, client)
    ready = await look(page, "#accept"), await look(page, "#decline")
    assert ready[0] == ("rgb(23, 105, 47)", "solid")  # the green Accept
    # Nothing to answer: neither button looks like the one ready to be pressed.
    assert idle[0] != ready[0] and idle[1] != ready[1]
    assert idle[0][1] == idle[1][1] == "dashed"
    await assert_accessible(page)


async def test_times_are_written_as_on_the_status_page_in_each_language(
    aiohttp_client: MakeClient, browser_context: Any
) -> None:
    client = await aiohttp_client(build_app(make_service()))
    page = await browser_context.new_page()
    await offered(page, client)
    # Swedish: the offer's time as on the Swedish status page, "kl. HH:MM".
    await page.get_by_label("Language").select_option("sv")
    await expect(page.locator("#offer-bar")).to_contain_text(re.compile(r"kl\. \d\d:\d\d"))
    status = await (await client.get("/status?lang=sv")).text()
    assert re.search(r"kl\. \d\d:\d\d", status), status
    # Finnish: "klo HH.MM" on both.
    await page.get_by_label("Språk").select_option("fi")
    await expect(page.locator("#offer-bar")).to_contain_text(re.compile(r"klo \d\d\.\d\d"))
    status = await (await client.get("/status?lang=fi")).text()
    assert re.search(r"klo \d\d\.\d\d", status), status


async def test_a_live_call_s_complete_menu_offers_only_a_live_call_s_outcomes(
    aiohttp_client: MakeClient, browser_context: Any
) -> None:
    client = await aiohttp_client(build_app(make_service()))
    page = await browser_context.new_page()
    await (await offered(page, client)).click()
    await expect(page.locator("#caller")).to_have_text("+358401234567")
    outcomes = (
        await page.get_by_label("Outcome")
        .locator("option")
        .evaluate_all("options => options.map(o => o.value)")
    )
    # Not unreachable (a callback's) nor merged (the Merge card's, naming a target).
    assert outcomes == ["resolved", "transferred", "redirected"]
