"""Load -> dump -> load: the supervisor's view of a service or an agent is the region
file's shape and reads back to the same thing, so a live edit (which merges into that
view and reads it back) can never reset a field it did not touch."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Awaitable, Callable
from typing import Any

import jsonschema_rs
import pytest
from aiohttp import web

from router.app import build_app
from router.config import load_region
from router.config.errors import Problems
from router.config.loader import read_agent, read_service
from router.config.region import Region
from router.config.shapes import agent_entry, service_entry
from router.core.model import ServiceSpec
from tests.service_support import REGION_FILE, Client, bearer, make_service

MakeClient = Callable[[web.Application], Awaitable[Client]]
SUPERVISOR = bearer("supervisor")


def _reload_service(region: Region, entry: object) -> ServiceSpec | None:
    problems = Problems("dump")
    spec = read_service(problems, "", entry, region)
    assert not problems.items, problems.items
    return spec


def test_every_service_and_agent_reads_back_from_its_dump() -> None:
    region = load_region(REGION_FILE)
    for name, spec in region.services.items():
        assert _reload_service(region, service_entry(spec)) == spec, name
    for agent_id, agent in region.agents.items():
        problems = Problems("dump")
        again = read_agent(problems, "", agent_entry(agent, region.languages), region)
        assert not problems.items, problems.items
        assert again == agent, agent_id


def _other(value: object) -> object:
    """A different valid value of a scalar setting (None: leave the field alone)."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, enum.Enum):
        members = list(type(value))
        return members[(members.index(value) + 1) % len(members)]
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value * 0.5 + 0.05  # stays below 1 for fractions, above 0 for durations
    return None


def test_no_service_setting_is_lost_by_the_dump() -> None:
    """Every scalar field of ServiceSpec - including ones added later - is changed away
    from what the file says and must survive dump and reload."""
    region = load_region(REGION_FILE)
    spec = region.services["nursing_advice"]
    changed: dict[str, Any] = {}
    for f in dataclasses.fields(ServiceSpec):
        other = _other(getattr(spec, f.name))
        if other is not None:
            changed[f.name] = other
    assert {"callback_attempts", "callback_retry_s", "callback_window_s"} <= set(changed)
    edited = dataclasses.replace(spec, **changed)
    assert _reload_service(region, service_entry(edited)) == edited


async def test_the_apis_dump_of_every_service_reads_back_to_the_region(
    aiohttp_client: MakeClient,
) -> None:
    service = make_service()
    client = await aiohttp_client(build_app(service))
    r = await client.get("/api/supervisor/services", headers=SUPERVISOR)
    assert r.status == 200
    dumped = (await r.json())["services"]
    assert [entry["name"] for entry in dumped] == list(service.region.services)
    for entry in dumped:
        assert _reload_service(service.region, entry) == service.region.services[entry["name"]]


async def _window_lengths(client: Client, name: str) -> set[float]:
    r = await client.get(
        f"/api/channels/callbacks/windows?service={name}", headers=bearer("telephony")
    )
    assert r.status == 200, await r.text()
    windows = (await r.json())["windows"]
    return {w["end"] - w["start"] for w in windows[:-1]}


@pytest.mark.parametrize("field", ["wrapup_s", "offer_timeout_s", "warn_fraction"])
async def test_patching_one_field_of_a_service_keeps_every_other(
    aiohttp_client: MakeClient, field: str
) -> None:
    client = await aiohttp_client(build_app(make_service()))
    url = "/api/supervisor/services/nursing_advice"
    callback = {"attempts": 5, "retry_s": 600, "window_s": 1800}
    r = await client.patch(url, json={"callback": callback}, headers=SUPERVISOR)
    assert r.status == 200, await r.text()
    assert await _window_lengths(client, "nursing_advice") == {1800}
    before = await (await client.get(url, headers=SUPERVISOR)).json()

    r = await client.patch(url, json={field: 0.1}, headers=SUPERVISOR)
    assert r.status == 200, await r.text()
    after = await (await client.get(url, headers=SUPERVISOR)).json()
    assert after[field] == 0.1
    assert {k: v for k, v in after.items() if k != field} == {
        k: v for k, v in before.items() if k != field
    }
    assert after["callback"] == {"attempts": 5, "retry_s": 600, "window_s": 1800}
    # ...and the service behaves so: callers are still offered half-hour windows.
    assert await _window_lengths(client, "nursing_advice") == {1800}


async def test_the_supervisors_answers_match_their_documented_schemas(
    aiohttp_client: MakeClient,
) -> None:
    """The OpenAPI document describes the service and agent answers (from the shapes),
    and the live answers are valid against those descriptions."""
    client = await aiohttp_client(build_app(make_service()))
    doc = await (await client.get("/openapi.json")).json()
    answers = {
        ("/api/supervisor/services", "get"): "/api/supervisor/services",
        ("/api/supervisor/services/{name}", "get"): "/api/supervisor/services/nursing_advice",
        ("/api/supervisor/agents", "get"): "/api/supervisor/agents",
        ("/api/supervisor/agents/{agent_id}", "get"): "/api/supervisor/agents/a001",
    }
    for (path, method), url in answers.items():
        ok = doc["paths"][path][method]["responses"]["200"]
        schema = ok["content"]["application/json"]["schema"]
        assert schema.get("additionalProperties") is False or "required" in schema, path
        body = await (await client.get(url, headers=SUPERVISOR)).json()
        errors = [str(e) for e in jsonschema_rs.validator_for(schema).iter_errors(body)]
        assert errors == [], (path, errors)
    for path, method in (
        ("/api/supervisor/services/{name}", "patch"),
        ("/api/supervisor/agents/{agent_id}", "put"),
        ("/api/supervisor/agents/{agent_id}/move", "post"),
        ("/api/supervisor/agents/{agent_id}/presence", "post"),
    ):
        assert (
            "schema"
            in doc["paths"][path][method]["responses"]["200"]["content"]["application/json"]
        ), (path, method)
    # A dump with a setting the shape does not know is not valid: the schemas are closed.
    service = await (await client.get(answers[next(iter(answers))], headers=SUPERVISOR)).json()
    schema = doc["paths"]["/api/supervisor/services"]["get"]["responses"]["200"]["content"][
        "application/json"
    ]["schema"]
    service["services"][0]["wrapup"] = 30
    assert not jsonschema_rs.validator_for(schema).is_valid(service)
