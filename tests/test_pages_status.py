"""The public status page: server-rendered (no JavaScript, no token needed), in Finnish,
Swedish and English, usable 375 px wide, with no personal data; and the security and
cache headers every page and asset carries."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.test_utils import TestClient
from playwright.async_api import expect

from router.app import build_app
from router.service.service import Service, Settings
from tests.pages_support import assert_accessible, browser_context, screenshot
from tests.service_support import WallClock, at, bearer, make_service, sample_region

Client = TestClient[Any, Any]
MakeClient = Callable[..., Awaitable[Client]]
__all__ = ["browser_context"]

NUMBER = "+358401234567"


async def busy_region(aiohttp_client: MakeClient) -> tuple[Client, Service]:
    """Aino (a001) logged in and busy with one call, a second caller waiting."""
    service = make_service()
    client = await aiohttp_client(build_app(service))
    r = await client.post("/api/agent/login", json={}, headers=bearer("agent-a001"))
    assert r.status == 200
    for n, caller in enumerate((NUMBER, "+358409876543")):
        call = {"call_id": f"st-{n}", "caller": caller, "ivr": {"service": "nursing_advice"}}
        r = await client.post("/api/channels/phone/calls", json=call, headers=bearer("telephony"))
        assert r.status == 201
    return client, service


async def test_the_status_page_shows_open_waiting_and_estimate_without_javascript(
    aiohttp_client: MakeClient,
) -> None:
    client, _ = await busy_region(aiohttp_client)
    r = await client.get("/status", headers={"Accept-Language": "sv-FI,sv;q=0.9,en;q=0.5"})
    assert r.status == 200 and r.content_type == "text/html"
    assert r.headers["Content-Language"] == "sv"
    page = await r.text()
    assert '<html lang="sv">' in page
    row = page[page.index('data-service="nursing_advice"') :].split("</tr>")[0]
    assert "Vårdbedömning" in row and "Öppet" in row
    assert '<td class="num" data-label="I kö">1</td>' in row  # one caller waits
    assert "min" in row  # the estimate as a range of minutes
    # Oral health has no hours here (open round the clock) but nobody logged in can
    # serve it: open, and the page says nobody is on duty just now.
    oral = page[page.index('data-service="oral_health"') :].split("</tr>")[0]
    assert "Öppet" in oral and "Ingen i tjänst just nu" in oral
    for lang, word in (("fi", "Auki"), ("en", "Open")):
        r = await client.get(f"/status?lang={lang}")
        assert word in await r.text() and r.headers["Content-Language"] == lang


async def test_the_status_page_has_no_personal_data(aiohttp_client: MakeClient) -> None:
    client, service = await busy_region(aiohttp_client)
    r = await client.get("/status?lang=en")
    page = await r.text()
    agent = service.engine.agent("a001")
    personal = [NUMBER, "+358409876543", "401234567", "phone-st-", "st-0", "st-1", "a001"]
    personal += [agent.spec.name, *agent.spec.name.split()]
    assert [p for p in personal if p in page] == []


async def test_pages_and_assets_carry_their_type_cache_and_an_only_self_policy(
    aiohttp_client: MakeClient,
) -> None:
    client = await aiohttp_client(build_app(make_service()))
    expected = {
        "/agent": "text/html",
        "/supervisor": "text/html",
        "/wallboard": "text/html",
        "/status": "text/html",
        "/pages/agent.js": "text/javascript",
        "/pages/yhteys.css": "text/css",
        "/pages/labels.json": "application/json",
        "/favicon.ico": "image/svg+xml",
        "/pages/icon.svg": "image/svg+xml",
    }
    for path, content_type in expected.items():
        r = await client.get(path)
        assert r.status == 200, path
        assert r.content_type == content_type, path
        assert r.headers["Cache-Control"] == "no-cache", path
        policy = r.headers["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "script-src 'self'" in policy, path
        assert "http" not in policy, path  # no outside origin anywhere
        framing = "frame-ancestors *" if path == "/status" else "frame-ancestors 'none'"
        assert framing in policy, path
    for bad in ("/pages/../faces.py", "/pages/faces.py", "/pages/nothing.js"):
        r = await client.get(bad)
        assert r.status == 404, bad


async def test_no_page_asks_for_anything_that_is_not_there(
    aiohttp_client: MakeClient, browser_context: Any
) -> None:
    """Not even an icon: every page names one, and /favicon.ico answers for tools that
    do not read the link."""
    client = await aiohttp_client(build_app(make_service()))
    page = await browser_context.new_page()
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    for path in ("/agent", "/supervisor", "/wallboard", "/status"):
        await page.goto(str(client.make_url(path)), wait_until="networkidle")
        icon = page.locator('link[rel="icon"]')
        await expect(icon).to_have_attribute("href", "/pages/icon.svg")
    assert failed == []


async def test_the_status_page_in_a_browser_at_375_px(
    aiohttp_client: MakeClient, browser_context: Any
) -> None:
    client, _ = await busy_region(aiohttp_client)
    page = await browser_context.new_page()
    await page.set_viewport_size({"width": 375, "height": 740})
    await page.goto(str(client.make_url("/status?lang=fi")))
    row = page.locator('tr[data-service="nursing_advice"]')
    await expect(row).to_contain_text("Hoidon tarpeen arviointi")
    await expect(row).to_contain_text("Auki")
    await expect(page.locator("html")).to_have_attribute("lang", "fi")
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page is {width} px wide at a 375 px viewport"
    await assert_accessible(page)
    await screenshot(page, "status-375", full_page=True)
    await page.get_by_role("link", name="Svenska").click()
    await expect(row).to_contain_text("Vårdbedömning")
    await assert_accessible(page)
    await page.set_viewport_size({"width": 1280, "height": 800})
    await page.get_by_role("link", name="English").click()
    await expect(row).to_contain_text("Nursing advice")
    await screenshot(page, "status")


async def test_a_closed_service_says_when_it_opens_in_helsinki_time(
    aiohttp_client: MakeClient,
) -> None:
    clock = WallClock(at("2026-11-28 10:00"))  # a Saturday: oral health is closed
    service = Service(sample_region(), Settings(), clock=clock)
    client = await aiohttp_client(build_app(service))
    page = await (await client.get("/status?lang=fi")).text()
    oral = page[page.index('data-service="oral_health"') :].split("</tr>")[0]
    assert "Kiinni" in oral and "Aukeaa 30.11. 08.00" in oral
    page = await (await client.get("/status?lang=en")).text()
    oral = page[page.index('data-service="oral_health"') :].split("</tr>")[0]
    assert "Opens 30.11. 08:00" in oral
