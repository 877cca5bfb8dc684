"""The agent desktop in a real browser: sign in, go available, take a phone call, a chat,
a callback and a work item from offer to wrap-up, with a reload in the middle."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.test_utils import TestClient
from playwright.async_api import expect

from router.app import build_app
from tests.pages_support import assert_accessible, browser_context, screenshot
from tests.service_support import bearer, customer, make_service

Client = TestClient[Any, Any]
MakeClient = Callable[..., Awaitable[Client]]
__all__ = ["browser_context"]


async def sign_in(page: Any, client: Client, token: str) -> None:
    await page.goto(str(client.make_url("/agent")))
    await page.get_by_label("Access token").fill(token)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#who")).to_contain_text("Aino Nieminen")


async def set_presence(page: Any, presence: str) -> None:
    await page.get_by_label("My status").select_option(presence)
    await page.get_by_role("button", name="Change status").click()


async def test_an_agent_works_a_call_a_chat_a_callback_and_a_work_item(
    aiohttp_client: MakeClient, browser_context: Any
) -> None:
    service = make_service()
    client = await aiohttp_client(build_app(service))
    page = await browser_context.new_page()
    await sign_in(page, client, "demo-agent-a001")
    await expect(page.locator("#who")).to_contain_text("Offline")
    await assert_accessible(page)
    await set_presence(page, "available")
    await expect(page.locator("#who")).to_contain_text("Available")

    # 1. A phone call: offered, accepted, completed; wrap-up shows and ends with Done.
    await page.get_by_label("My status").focus()  # the offer must not take the focus
    call = {"call_id": "pg-1", "caller": "+358401234567", "ivr": {"service": "nursing_advice"}}
    r = await client.post("/api/channels/phone/calls", json=call, headers=bearer("telephony"))
    assert r.status == 201
    bar = page.locator("#offer-bar")
    await expect(bar).to_contain_text("Call")
    await expect(page.get_by_label("My status")).to_be_focused()
    await expect(bar).to_contain_text("Nursing advice")
    await expect(page).to_have_title(re.compile(r"^\(1\) New offer"))
    await expect(page.locator("#announce")).to_contain_text("New offer: Call, Nursing advice")
    await screenshot(page, "agent-offer")
    await assert_accessible(page)
    await page.get_by_role("button", name="Accept").click()
    await expect(page.locator("#caller")).to_have_text("+358401234567")
    await expect(page.get_by_role("button", name="Accept")).to_be_disabled()
    # A reload in the middle: the call is still in hand.
    await page.reload()
    await expect(page.locator("#caller")).to_have_text("+358401234567")
    await screenshot(page, "agent-call")
    await page.get_by_label("Outcome").select_option("resolved")
    await page.get_by_role("button", name="Complete").click()
    await expect(page.locator("#notices")).to_contain_text("The contact closed: Resolved")
    await expect(page.locator("#wrapup")).to_be_visible()
    await expect(page.locator("#wrapup-left")).to_contain_text("s left")
    await screenshot(page, "agent-wrapup")
    await page.get_by_role("button", name="Done").click()
    await expect(page.locator("#wrapup")).to_be_hidden()
    await expect(page.locator("#who")).to_contain_text("Available")

    # 2. A chat: the customer's messages arrive over the customer websocket.
    chat = await customer(client)
    await chat.send({"type": "start", "service": "nursing_advice", "language": "fi"})
    session = await chat.next("session")
    chat_id = session["contact_id"]
    await expect(bar).to_contain_text("Chat")
    await expect(page.locator("#work")).to_contain_text(chat_id)
    await page.get_by_role("button", name="Accept").click()
    await chat.next("joined")
    await chat.send({"type": "message", "text": "Lapsella on kuumetta"})
    await expect(page.locator("#transcript")).to_contain_text("Lapsella on kuumetta")
    # A message arriving while the agent types neither wipes the draft nor moves focus.
    box = page.get_by_label("Message to the customer")
    await box.fill("Kuinka")
    await chat.send({"type": "message", "text": "Ja yskää"})
    await expect(page.locator("#transcript")).to_contain_text("Ja yskää")
    await expect(box).to_have_value("Kuinka")
    await expect(box).to_be_focused()
    await box.fill("Kuinka korkea?")
    await page.get_by_role("button", name="Send").click()
    reply = await chat.next("message")
    assert reply["text"] == "Kuinka korkea?"
    await page.reload()  # the transcript comes back from the server
    await expect(page.locator("#transcript")).to_contain_text("Lapsella on kuumetta")
    await expect(page.locator("#transcript")).to_contain_text("Kuinka korkea?")
    await screenshot(page, "agent-chat")
    await assert_accessible(page)
    # The customer goes: said with the chat, kept over a reload, gone when they are back.
    gone = page.locator("#chat-gone")
    await expect(gone).to_be_hidden()
    await chat.close()
    await expect(gone).to_have_text("The customer left the chat.")
    await expect(page.locator("#notices")).to_contain_text("The customer left the chat.")
    await page.reload()
    await expect(page.locator("#transcript")).to_contain_text("Kuinka korkea?")
    await expect(gone).to_have_text("The customer left the chat.")
    chat = await customer(
        client, f"&session={session['session_id']}&resume={session['resume_token']}"
    )
    await chat.next("resumed")
    await expect(page.locator("#notices")).to_contain_text("The customer is back.")
    await expect(gone).to_be_hidden()
    # Gone again, then back while the desk's connection is down: the "back" is lost with
    # it, and the desk's resync on reconnecting clears the mark.
    await chat.close()
    await expect(gone).to_have_text("The customer left the chat.")
    await page.context.set_offline(True)
    for box in list(service.websockets):  # the desk's socket: the customer's is closed
        await box.close(1001, "test: network drop")
    await expect(page.locator("#offline")).to_be_visible()
    chat = await customer(
        client, f"&session={session['session_id']}&resume={session['resume_token']}"
    )
    await chat.next("resumed")
    await page.context.set_offline(False)
    await expect(page.locator("#offline")).to_be_hidden()
    await expect(gone).to_be_hidden()
    await page.get_by_role("button", name="Complete").click()
    assert (await chat.next("closed"))["outcome"] == "resolved"
    await page.get_by_role("button", name="Done").click()
    await expect(page.locator("#wrapup")).to_be_hidden()

    # 3. A callback: the number, an attempt that reaches the person, then complete.
    r = await client.post(
        "/api/channels/callbacks",
        json={"number": "+358401112222", "service": "nursing_advice", "language": "fi"},
        headers=bearer("telephony"),
    )
    cb_id = (await r.json())["contact_id"]
    await expect(bar).to_contain_text("Callback")
    await page.get_by_role("button", name="Accept").click()
    await expect(page.locator("#callback-number")).to_have_text("+358401112222")
    await page.get_by_role("button", name="Reached").click()
    await expect(page.locator("#notices")).to_contain_text("Attempt recorded: Reached")
    await expect(page.locator("#attempts")).to_contain_text("Reached")
    await screenshot(page, "agent-callback")
    await page.get_by_role("button", name="Complete").click()
    await expect(page.locator("#notices")).to_contain_text("The contact closed")
    await page.get_by_role("button", name="Done").click()
    r = await client.get(f"/api/channels/callbacks/{cb_id}", headers=bearer("telephony"))
    status = await r.json()
    assert status["outcome"] == "resolved" and status["attempts"][0]["result"] == "reached"

    # 4. A work item with its link back to the source.
    item = {
        "source": "omaolo",
        "item_id": "PG-7",
        "service": "symptom_assessment",
        "topic": "kuume",
        "urgency": "P3",
        "link": "https://omaolo.example/items/PG-7",
        "language": "fi",
    }
    r = await client.post("/api/channels/workitems", json=item, headers=bearer("omaolo"))
    assert r.status == 201
    await expect(bar).to_contain_text("Work item")
    await expect(bar).to_contain_text("kuume")
    await page.get_by_role("button", name="Accept").click()
    await expect(page.get_by_role("link", name=item["link"]).first).to_be_visible()
    await page.get_by_role("button", name="Complete").click()
    await expect(page.locator("#notices")).to_contain_text("The contact closed")
    await expect(page.locator("#work-empty")).to_be_visible()


async def test_the_desktop_says_when_it_is_offline_and_resumes_with_the_pending_offer(
    aiohttp_client: MakeClient, browser_context: Any
) -> None:
    service = make_service()
    client = await aiohttp_client(build_app(service))
    page = await browser_context.new_page()
    await sign_in(page, client, "demo-agent-a001")
    await set_presence(page, "available")
    await expect(page.locator("#who")).to_contain_text("Available")

    # The network drops: the server's end of the socket closes and no reconnect gets through.
    await browser_context.set_offline(True)
    for box in list(service.websockets):
        await box.close(1001, "test: network drop")
    banner = page.locator("#offline")
    await expect(banner).to_be_visible()
    await expect(banner).to_contain_text("No connection to the server")
    await set_presence(page, "not_ready")  # refused clearly, not queued
    await expect(page.locator("#notices")).to_contain_text("Offline: the action was not taken.")
    await screenshot(page, "agent-offline")
    await assert_accessible(page)
    assert service.engine.agent("a001").presence.value == "available"

    # Meanwhile a call is offered to her; when the network is back the offer is there.
    call = {"call_id": "off-1", "caller": "+358401234567", "ivr": {"service": "nursing_advice"}}
    r = await client.post("/api/channels/phone/calls", json=call, headers=bearer("telephony"))
    assert (await r.json())["agent_id"] == "a001"
    await browser_context.set_offline(False)
    await expect(banner).to_be_hidden()
    await expect(page.locator("#offer-bar")).to_contain_text("Call")
    await page.get_by_role("button", name="Accept").focus()  # by keyboard this time
    await page.keyboard.press("Enter")
    await expect(page.locator("#caller")).to_have_text("+358401234567")
    # The focus goes on to the call in hand (its first control), not to the page's body.
    await expect(page.get_by_label("Outcome")).to_be_focused()


async def test_the_desktop_speaks_finnish_and_swedish(
    aiohttp_client: MakeClient, browser_context: Any
) -> None:
    client = await aiohttp_client(build_app(make_service()))
    page = await browser_context.new_page()
    await page.goto(str(client.make_url("/agent")))
    await page.get_by_label("Language").select_option("fi")
    await expect(page.locator("html")).to_have_attribute("lang", "fi")
    await expect(page.get_by_role("button", name="Kirjaudu", exact=True)).to_be_visible()
    await page.reload()  # the choice is kept
    await page.get_by_label("Kieli").select_option("sv")
    await expect(page.get_by_role("button", name="Logga in", exact=True)).to_be_visible()
    await page.get_by_label("Nyckel (token)").fill("demo-agent-a001")
    await page.get_by_role("button", name="Logga in", exact=True).click()
    await expect(page.locator("#who")).to_contain_text("Frånvarande")
    await expect(page.locator("#offer-text")).to_have_text("Inga nya erbjudanden.")
    await assert_accessible(page)


async def test_the_agent_is_shown_the_persons_other_open_contacts_and_merges_one(
    aiohttp_client: MakeClient, browser_context: Any
) -> None:
    service = make_service()
    client = await aiohttp_client(build_app(service))
    # The person asked for a dental callback (nobody logged in can serve it: it waits)...
    r = await client.post(
        "/api/channels/callbacks",
        json={"number": "+358401234567", "service": "oral_health", "language": "fi"},
        headers=bearer("telephony"),
    )
    assert r.status == 201, await r.text()
    waiting = (await r.json())["contact_id"]
    page = await browser_context.new_page()
    await sign_in(page, client, "demo-agent-a001")
    await set_presence(page, "available")
    await expect(page.locator("#who")).to_contain_text("Available")
    # ... and now calls nursing advice from the same number.
    call = {"call_id": "ln-1", "caller": "+358401234567", "ivr": {"service": "nursing_advice"}}
    r = await client.post("/api/channels/phone/calls", json=call, headers=bearer("telephony"))
    assert r.status == 201
    await page.get_by_role("button", name="Accept").click()
    linked = page.locator("#linked")
    await expect(linked).to_contain_text("The same person as phone-ln-1")
    await expect(linked).to_contain_text(waiting)
    await assert_accessible(page)
    await page.get_by_role("button", name=f"Merge: {waiting}").click()
    await expect(page.locator("#notices")).to_contain_text(
        f"{waiting} closed as merged into phone-ln-1."
    )
    await expect(linked).to_be_hidden()
    await expect(page.get_by_role("heading", name="My work")).to_be_focused()
    assert all(c.id != waiting for c in service.engine.contacts())
