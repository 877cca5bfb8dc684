"""The supervisor console and the wallboard in a real browser: live figures, the waiting
list with its levers, an agent's skills, forced presence, the audit trail, the report."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.test_utils import TestClient
from playwright.async_api import expect

from router.app import build_app
from router.core.model import Channel, ContactState
from router.instance import audit_for
from router.service.service import Service, Settings
from tests.pages_support import assert_accessible, browser_context, screenshot
from tests.service_support import WallClock, at, bearer, make_service, sample_region

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
    await page.get_by_role("button", name="Move: phone-sv-2", exact=True).click()
    await expect(social).to_contain_text("Child and family health")
    assert service.engine.contact("phone-sv-2").service == "child_family"

    # Force Mikko (a002, offline) available.
    await page.get_by_label("New status for Mikko Heikkinen").select_option("available")
    await page.get_by_role("button", name="Force status: Mikko Heikkinen").click()
    # The status cell: the row's presence menu names "Available" whatever the status.
    await expect(page.locator('tr[data-agent="a002"] td').first).to_have_text("Available")
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


async def test_the_daily_report_draws_its_charts_with_the_figures_as_a_table(
    aiohttp_client: MakeClient, browser_context: Any
) -> None:
    service = make_service()
    client = await aiohttp_client(build_app(service))
    r = await client.post("/api/agent/login", json={}, headers=bearer("agent-a001"))
    assert r.status == 200
    await post_call(client, "ch-1", "nursing_advice")  # offered to Aino at once
    r = await client.post("/api/agent/offers/phone-ch-1/accept", headers=bearer("agent-a001"))
    assert r.status == 200, await r.text()

    page = await browser_context.new_page()
    await sign_in(page, client, "/supervisor")
    await page.get_by_label("Charts for").select_option("nursing_advice")
    await page.get_by_role("button", name="Show").click()
    # Each chart is an image named by its title and described in words.
    wait = page.get_by_role("img", name="Waiting-time distribution: Nursing advice")
    await expect(wait).to_be_visible()
    await expect(page.locator("#chart-wait-desc")).to_have_text(
        "1 answered contacts by waiting time; the most in 0 s–1 min (1)."
    )
    await expect(page.locator("#chart-wait rect.bar")).to_have_count(10)
    level = page.get_by_role("img", name="Service level by hour: Nursing advice")
    await expect(level).to_be_visible()
    await expect(page.locator("#chart-sl-desc")).to_contain_text(
        "1 hours with answered contacts; the lowest 100 % at"
    )
    await expect(page.locator("#chart-sl rect.bar")).to_have_count(1)  # one hour answered
    await page.locator("#charts").scroll_into_view_if_needed()
    await screenshot(page, "supervisor-charts")
    # The figures behind them, as tables, for whoever cannot see the bars.
    for summary in await page.get_by_text("The figures as a table").all():
        await summary.click()
    tables = page.locator("#charts table")
    await expect(tables.nth(0).locator("tr", has_text="0 s–1 min")).to_contain_text("1")
    await expect(tables.nth(1).locator("tbody tr")).to_have_count(1)
    await expect(tables.nth(1).locator("tbody tr")).to_contain_text("100 %")
    await assert_accessible(page)

    # Another service, nothing answered: the charts say so in words.
    await page.get_by_label("Charts for").select_option("oral_health")
    await page.get_by_role("button", name="Show").click()
    await expect(page.locator("#chart-wait-desc")).to_have_text("No answered contacts on this day.")
    await expect(page.locator("#chart-sl rect.bar")).to_have_count(0)


async def test_a_supervisor_edits_a_service_from_the_console_and_sees_its_hours(
    aiohttp_client: MakeClient, browser_context: Any
) -> None:
    # Thursday 26 November 2026, 10:00 in Helsinki, with the sample region's hours.
    service = Service(sample_region(), Settings(), clock=WallClock(at("2026-11-26 10:00")))
    client = await aiohttp_client(build_app(service))
    page = await browser_context.new_page()
    await sign_in(page, client, "/supervisor")
    family = page.locator('#service-settings tr[data-service="child_family"]')
    await expect(family).to_contain_text("08:00–16:00 (weekly hours); open now")
    await expect(family).to_contain_text("Chat: 09:00–15:00 (weekly hours)")
    mental = page.locator('#service-settings tr[data-service="mental_health"]')
    await expect(mental).to_contain_text("Highest proficiency")

    edit = page.get_by_role("button", name="Edit settings: Mental health and substance use")
    await edit.click()
    await expect(page.get_by_label("Agent choice", exact=True)).to_be_focused()
    await page.get_by_label("Agent choice", exact=True).select_option("longest_idle")
    await page.get_by_label("Step 2, Whole region: minutes").fill("30")
    await page.get_by_label("Callback attempts").fill("5")
    await assert_accessible(page)
    await screenshot(page, "supervisor-service-edit")
    await page.get_by_role("button", name="Save settings").click()
    saved = "Saved: Mental health and substance use."
    await expect(page.locator("#notices")).to_contain_text(saved)
    await expect(mental).to_contain_text("Longest idle")
    await expect(mental).to_contain_text("Whole region 30 min")
    await expect(mental).to_contain_text("5 attempts")
    await expect(edit).to_be_focused()  # back where the supervisor was
    spec = service.engine.service("mental_health")
    assert spec.agent_choice.value == "longest_idle"
    assert [step.duration_s for step in spec.steps] == [120, 1800, None]
    assert spec.callback_attempts == 5


async def test_every_agent_change_shows_its_effect_on_the_next_decision(
    aiohttp_client: MakeClient, browser_context: Any
) -> None:
    service = make_service()
    client = await aiohttp_client(build_app(service))
    r = await client.post("/api/agent/login", json={}, headers=bearer("agent-a001"))
    assert r.status == 200
    await post_call(client, "ef-1", "oral_health")  # nobody with dental skills: it waits

    page = await browser_context.new_page()
    await sign_in(page, client, "/supervisor")
    aino = page.locator('tr[data-agent="a001"]')
    await expect(aino).to_contain_text("Chat 3")
    effect = page.locator("#agent-effect")

    # Capacity: two chats at a time. Aino still cannot take the dental call.
    await page.get_by_role("button", name="Edit: Aino Nieminen").click()
    await page.get_by_label("Capacity: Chat").fill("2")
    await page.get_by_role("button", name="Save").click()
    await expect(effect).to_contain_text("Effect on the next decision: Aino Nieminen")
    await expect(effect).to_contain_text("Not eligible for any waiting contact.")
    await expect(aino).to_contain_text("Chat 2")
    assert service.engine.agent("a001").spec.capacity[Channel.CHAT] == 2

    # Team and site: to Jakobstad's nurses, on the team's site.
    await page.get_by_role("button", name="Edit: Aino Nieminen").click()
    await page.get_by_label("Team", exact=True).select_option("jakobstad-nurses")
    await assert_accessible(page)
    await page.get_by_role("button", name="Move agent").click()
    await expect(aino).to_contain_text("jakobstad-nurses")
    await expect(effect).to_contain_text("Not eligible for any waiting contact.")
    assert (service.engine.agent("a001").team, service.engine.agent("a001").site) == (
        "jakobstad-nurses",
        "jakobstad",
    )

    # Not ready, then dental skills: eligible for the waiting call, not offered it yet.
    await page.get_by_label("New status for Aino Nieminen").select_option("not_ready")
    await page.get_by_role("button", name="Force status: Aino Nieminen").click()
    await expect(aino.locator("td").first).to_have_text("Not ready")
    await page.get_by_role("button", name="Edit: Aino Nieminen").click()
    await page.get_by_label("Skills").fill("nursing=4, prescriptions=2, dental=3")
    await page.get_by_role("button", name="Save").click()
    await expect(effect).to_contain_text(
        "Eligible now for 1 waiting: phone-ef-1 (Oral health, #1)."
    )
    await expect(page.get_by_role("button", name="Edit: Aino Nieminen")).to_be_focused()
    await assert_accessible(page)
    await screenshot(page, "supervisor-agent-effect")

    # Available: the next decision offers her the call, and the page says so.
    await page.get_by_label("New status for Aino Nieminen").select_option("available")
    await page.get_by_role("button", name="Force status: Aino Nieminen").click()
    await expect(effect).to_contain_text(
        "Offered or in hand now: phone-ef-1 (Oral health, Offered)."
    )
    assert service.engine.contact("phone-ef-1").agent_id == "a001"


async def test_a_supervisor_removes_a_waiting_contact_with_a_reason_after_confirming(
    aiohttp_client: MakeClient, browser_context: Any
) -> None:
    service = make_service()
    client = await aiohttp_client(build_app(service))
    await post_call(client, "rm-1", "social_services")
    await post_call(client, "rm-2", "social_services")
    page = await browser_context.new_page()
    await sign_in(page, client, "/supervisor")
    first = page.locator('tr[data-contact="phone-rm-1"]')
    await expect(first).to_be_visible()

    # Cancel changes nothing.
    await page.get_by_role("button", name="Remove: phone-rm-1").click()
    dialog = page.get_by_role("dialog", name="Remove phone-rm-1 from the queue?")
    await expect(dialog).to_be_visible()
    await expect(page.get_by_label("Reason (required)")).to_be_focused()
    await assert_accessible(page)
    await screenshot(page, "supervisor-remove")
    await page.get_by_role("button", name="Cancel").click()
    await expect(dialog).to_be_hidden()
    assert service.engine.contact("phone-rm-1").state is ContactState.WAITING

    # Without a reason the dialog stays; with one the contact goes, audited.
    await page.get_by_role("button", name="Remove: phone-rm-1").click()
    await page.get_by_role("button", name="Remove the contact").click()
    await expect(dialog).to_be_visible()
    await page.get_by_label("Reason (required)").fill("test call")
    await page.get_by_role("button", name="Remove the contact").click()
    await expect(dialog).to_be_hidden()
    await expect(page.locator("#notices")).to_contain_text("phone-rm-1 removed: test call")
    await expect(first).to_have_count(0)
    await expect(page.locator('tr[data-contact="phone-rm-2"] td').first).to_have_text("1")
    record = audit_for(service).get("phone-rm-1")
    assert record is not None
    assert (record.outcome, record.removal_reason) == ("cancelled", "test call")
