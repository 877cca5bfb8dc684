"""The supervisor console's staffing view in a real browser: a supervisor signs in, sees a
service's figures as the API gives them, asks a what-if and sees the answer change; the
view is accessible and usable 375 px wide."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from playwright.async_api import expect

from tests.pages_support import assert_accessible, browser_context
from tests.service_support import bearer, served_at

Client = TestClient[Any, Any]
MakeClient = Callable[..., Awaitable[Client]]
__all__ = ["browser_context"]
WHATIF = "/api/supervisor/staffing/whatif?service=oral_health"


def pct(value: float) -> str:
    return f"{value * 100:.1f} %"


async def api(client: Client, path: str) -> dict[str, Any]:
    r = await client.get(path, headers=bearer("supervisor"))
    assert r.status == 200, await r.text()
    body: dict[str, Any] = await r.json()
    return body


async def test_a_supervisor_sees_staffing_figures_and_asks_what_if(
    aiohttp_client: MakeClient, browser_context: Any
) -> None:
    # Monday 10:00 on the service's clock: twelve calls in ten hours, one dental nurse.
    client, _, _ = await served_at(aiohttp_client, "2026-12-07 10:00")
    for i in range(12):
        call = {"call_id": f"st-{i}", "caller": "+358401234567", "ivr": {"service": "oral_health"}}
        r = await client.post("/api/channels/phone/calls", json=call, headers=bearer("telephony"))
        assert r.status == 201, await r.text()
    for agent in ("a007", "a001", "a003", "a004"):  # one dental nurse, three nurses
        r = await client.post("/api/agent/login", json={}, headers=bearer(f"agent-{agent}"))
        assert r.status == 200
    for i in range(30):
        call = {
            "call_id": f"na-{i}",
            "caller": "+358401234567",
            "ivr": {"service": "nursing_advice"},
        }
        r = await client.post("/api/channels/phone/calls", json=call, headers=bearer("telephony"))
        assert r.status == 201, await r.text()
    oral = next(
        s
        for s in (await api(client, "/api/supervisor/staffing"))["services"]
        if s["service"] == "oral_health"
    )
    assert oral["arrivals_per_hour"] == 1.2 and oral["agents"] == 1

    page = await browser_context.new_page()
    await page.goto(str(client.make_url("/supervisor")))
    await page.get_by_label("Access token").fill("demo-supervisor")
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("link", name="Staffing").click()
    row = page.locator('#staffing-table tr[data-service="oral_health"]')
    await expect(row.locator("th")).to_contain_text("Oral health")
    cells = row.locator("td")
    await expect(cells.nth(0)).to_have_text("1.2 (12)")
    await expect(cells.nth(3)).to_have_text("1")  # agents logged in
    await expect(cells.nth(4)).to_have_text(pct(oral["figures"]["sl_all"]))
    await expect(cells.nth(6)).to_have_text(pct(oral["figures"]["p_abandon"]))
    await expect(cells.nth(7)).to_have_text(pct(oral["figures"]["occupancy"]))
    await expect(cells.nth(8)).to_have_text(str(oral["agents_needed"]))
    chart = page.get_by_role("img", name="Service level by agents: Oral health")
    await expect(chart).to_be_visible()
    await expect(chart.locator("polyline")).to_have_count(1)

    # What if the calls came at 40 an hour and took ten minutes each, with 7 nurses?
    await page.get_by_role("combobox", name="Service", exact=True).select_option("oral_health")
    agents = page.get_by_role("spinbutton", name="Agents", exact=True)
    await expect(agents).to_have_value("1")  # the service's now
    await agents.fill("7")
    await page.get_by_role("spinbutton", name="Arrivals per hour", exact=True).fill("40")
    await page.get_by_role("spinbutton", name="Handle time (s)", exact=True).fill("600")
    await page.get_by_role("button", name="Calculate").click()
    seven = await api(client, f"{WHATIF}&agents=7&rate=40&aht=600")
    answer = page.locator("#whatif-answer")
    await expect(answer).to_contain_text("Oral health with 7 agents, 40 arrivals per hour")
    await expect(answer).to_contain_text(f"service level {pct(seven['figures']['sl_all'])}")
    await expect(answer).to_contain_text(f"within 1 h 0 min: {seven['agents_needed']}.")
    await expect(answer.get_by_role("img")).to_be_visible()
    await assert_accessible(page)
    folder = os.environ.get("YHTEYS_SCREENSHOTS")
    if folder:  # the staffing section alone (the console above it has its own pictures)
        section = page.locator("section", has=page.locator("#staffing-heading"))
        await section.screenshot(path=str(Path(folder) / "supervisor-staffing.png"))

    # One nurse more for the same calls: the answer changes.
    await agents.fill("8")
    await page.get_by_role("button", name="Calculate").click()
    eight = await api(client, f"{WHATIF}&agents=8&rate=40&aht=600")
    assert eight["figures"]["sl_all"] > seven["figures"]["sl_all"]
    await expect(answer).to_contain_text("Oral health with 8 agents")
    await expect(answer).to_contain_text(f"service level {pct(eight['figures']['sl_all'])}")

    # A bad what-if says what is wrong (the browser's own check bypassed).
    await page.locator("#whatif-form").evaluate("f => f.noValidate = true")
    await agents.fill("5000")
    await page.get_by_role("button", name="Calculate").click()
    await expect(page.locator("#whatif")).to_contain_text(
        "agents: expected an integer from 1 to 1000"
    )

    # 375 px wide: nothing of the staffing view sticks out sideways (its wide table
    # scrolls in its own focusable region); the rest of the console is not this test's.
    await page.set_viewport_size({"width": 375, "height": 740})
    outside = await page.evaluate(OUTSIDE_375)
    assert outside == [], outside
    region = page.get_by_role("region", name="Staffing now, 2026-12-07")
    assert await region.evaluate("e => e.scrollWidth > e.clientWidth")  # it scrolls
    await region.focus()  # and a keyboard scrolls it
    await page.keyboard.press("ArrowRight")
    await page.wait_for_function("() => document.getElementById('staffing-scroll').scrollLeft > 0")
    await expect(row).to_be_attached()
    await assert_accessible(page)

    # In Finnish: the view is redrawn in place, and a what-if answers in Finnish.
    await page.get_by_label("Language").select_option("fi")
    await expect(page.get_by_role("heading", name="Mitoitus", exact=True)).to_be_visible()
    await expect(page.get_by_role("region", name="Mitoitus nyt, 2026-12-07")).to_be_visible()
    await page.get_by_role("spinbutton", name="Agentteja", exact=True).fill("8")
    await page.get_by_role("button", name="Laske").click()
    await expect(answer).to_contain_text("Suun terveydenhuolto, 8 agenttia, 40 saapuvaa")


# The elements of the staffing section whose right edge passes a 375 px viewport, but
# for those inside the table's scrolling region.
OUTSIDE_375 = """() => {
  const section = document.getElementById("staffing-heading").closest("section");
  const scroller = document.getElementById("staffing-scroll");
  return [...section.querySelectorAll("*")]
    .filter((e) => !scroller.contains(e) || e === scroller)
    .filter((e) => e.getBoundingClientRect().right > 375.5)
    .map((e) => `${e.tagName}#${e.id}.${e.getAttribute("class")}`);
}"""
