"""Two supervisors at once in a real browser: an edit made on a stale copy of an agent or
a service is refused (the page sends the ETag it read as If-Match), the supervisor is
told, sees the values now in force, and saves again without undoing the other change."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.test_utils import TestClient
from playwright.async_api import expect

from router.app import build_app
from router.config.shapes import service_entry
from router.core.model import AgentChoice
from tests.pages_support import assert_accessible, browser_context
from tests.service_support import bearer, make_service
from tests.test_pages_supervisor import post_call, sign_in

Client = TestClient[Any, Any]
MakeClient = Callable[..., Awaitable[Client]]
__all__ = ["browser_context"]

SUP = bearer("supervisor")


async def test_a_service_edit_on_a_stale_copy_does_not_undo_another_supervisors_change(
    aiohttp_client: MakeClient, browser_context: Any
) -> None:
    service = make_service()
    client = await aiohttp_client(build_app(service))
    page = await browser_context.new_page()
    await sign_in(page, client, "/supervisor")
    await page.get_by_role("button", name="Edit settings: Nursing advice").click()
    await expect(page.locator("#svc-choice")).to_be_focused()
    attempts = service_entry(service.engine.service("nursing_advice"))["callback"]["attempts"]
    # Another supervisor changes the callback attempts while this form is open.
    r = await client.patch(
        "/api/supervisor/services/nursing_advice",
        json={"callback": {"attempts": attempts + 2}},
        headers=SUP,
    )
    assert r.status == 200
    await page.locator("#svc-choice").select_option("least_occupied")
    await page.get_by_role("button", name="Save settings").click()
    await expect(page.locator("#notices")).to_contain_text("someone else changed")
    await expect(page.locator("#svc-now")).to_contain_text(f"{attempts + 2} attempts")
    now = service.engine.service("nursing_advice")
    assert service_entry(now)["callback"]["attempts"] == attempts + 2  # kept
    assert now.agent_choice is not AgentChoice.LEAST_OCCUPIED  # nothing saved
    # The form shows the fresh attempts and keeps this supervisor's choice.
    await expect(page.locator("#svc-attempts")).to_have_value(str(attempts + 2))
    await expect(page.locator("#svc-choice")).to_have_value("least_occupied")
    await assert_accessible(page)
    await page.get_by_role("button", name="Save settings").click()
    await expect(page.locator("#notices")).to_contain_text("Saved: Nursing advice")
    now = service.engine.service("nursing_advice")
    assert now.agent_choice is AgentChoice.LEAST_OCCUPIED
    assert service_entry(now)["callback"]["attempts"] == attempts + 2


async def test_an_agent_edit_on_a_stale_copy_does_not_undo_a_move_made_elsewhere(
    aiohttp_client: MakeClient, browser_context: Any
) -> None:
    service = make_service()
    client = await aiohttp_client(build_app(service))
    page = await browser_context.new_page()
    await sign_in(page, client, "/supervisor")
    await page.get_by_role("button", name="Edit: Aino Nieminen").click()
    await expect(page.get_by_label("Skills")).to_be_focused()
    await expect(page.get_by_label("Authorisations")).to_be_visible()  # not "auth"
    # Another supervisor moves Aino to Jakobstad while this form is open.
    r = await client.post(
        "/api/supervisor/agents/a001/move", json={"team": "jakobstad-nurses"}, headers=SUP
    )
    assert r.status == 200
    await page.get_by_label("Skills").fill("nursing=4, prescriptions=2, dental=3")
    await page.get_by_role("button", name="Save", exact=True).click()
    await expect(page.locator("#notices")).to_contain_text("someone else changed")
    await expect(page.locator("#edit-now")).to_contain_text("jakobstad-nurses")
    spec = service.engine.agent("a001").spec
    assert spec.team == "jakobstad-nurses"
    assert "dental" not in dict(spec.abilities.skills)  # nothing saved
    await expect(page.get_by_label("Skills")).to_have_value("nursing=4, prescriptions=2, dental=3")
    await page.get_by_role("button", name="Save", exact=True).click()
    await expect(page.locator('tr[data-agent="a001"]')).to_contain_text("dental=3")
    spec = service.engine.agent("a001").spec
    assert spec.team == "jakobstad-nurses"  # the move stands
    assert dict(spec.abilities.skills)["dental"] == 3


async def test_a_move_that_overflows_at_once_says_where_the_contact_ended_up(
    aiohttp_client: MakeClient, browser_context: Any
) -> None:
    service = make_service()
    client = await aiohttp_client(build_app(service))
    # Nobody can serve mental health, and its steps overflow to nursing advice at once.
    r = await client.patch(
        "/api/supervisor/services/mental_health",
        json={
            "steps": [
                {"kind": "own_site", "duration_s": 0},
                {"kind": "overflow", "overflow_to": "nursing_advice"},
            ]
        },
        headers=SUP,
    )
    assert r.status == 200
    await post_call(client, "mv-1", "nursing_advice")
    page = await browser_context.new_page()
    await sign_in(page, client, "/supervisor")
    await page.get_by_label("Move to service: phone-mv-1").select_option("mental_health")
    await page.get_by_role("button", name="Move: phone-mv-1", exact=True).click()
    await expect(page.locator("#notices")).to_have_text(
        "Moved phone-mv-1 to Mental health and substance use, but nobody there can serve "
        "it now: it overflowed to Nursing advice."
    )
    assert service.engine.contact("phone-mv-1").service == "nursing_advice"


async def test_the_settings_form_sends_only_what_the_supervisor_changed(
    aiohttp_client: MakeClient, browser_context: Any
) -> None:
    service = make_service()
    client = await aiohttp_client(build_app(service))
    steps = service_entry(service.engine.service("nursing_advice"))["steps"]
    steps[0]["duration_s"] = 125  # 2.0833… minutes in the form: 125.00000000000001 back
    r = await client.patch(
        "/api/supervisor/services/nursing_advice", json={"steps": steps}, headers=SUP
    )
    assert r.status == 200
    page = await browser_context.new_page()
    sent: list[Any] = []
    page.on(
        "request",
        lambda q: sent.append(q.post_data_json) if q.method == "PATCH" else None,
    )
    await sign_in(page, client, "/supervisor")
    await page.get_by_role("button", name="Edit settings: Nursing advice").click()
    await page.locator("#svc-choice").select_option("least_occupied")
    await page.get_by_role("button", name="Save settings").click()
    await expect(page.locator("#notices")).to_contain_text("Saved: Nursing advice")
    assert sent == [{"agent_choice": "least_occupied"}]
