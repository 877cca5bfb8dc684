"""One shape per entry: the whole sample region reads back from the shapes' dumps, the
dumps are valid against their own models, and the models and the region file's readers
refuse the same values at every bound."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, ValidationError

from router.config import load_region, parse_region
from router.config.errors import Problems
from router.config.loader import read_agent, read_service
from router.config.shapes import (
    MAX_CAPACITY,
    AgentShape,
    CallbackShape,
    ServiceShape,
    StepShape,
    UrgencyShape,
    agent_entry,
    service_entry,
)

SAMPLE = Path("config/region.yaml")


def test_the_whole_region_reads_back_from_its_dumps() -> None:
    """Load -> dump every service and agent with the shapes -> load again: equal. The
    file-only parts of a service (hours, after hours, feedback) are never dumped, so they
    are carried over from the file as a region file would keep them."""
    region = load_region(SAMPLE)
    document = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    file_only = {
        entry["name"]: {k: entry[k] for k in ("hours", "after_hours", "feedback") if k in entry}
        for entry in document["services"]
    }
    again = copy.deepcopy(document)
    again["services"] = [
        {**service_entry(spec), **file_only[name]} for name, spec in region.services.items()
    ]
    again["agents"] = [agent_entry(agent, region.languages) for agent in region.agents.values()]
    # Through JSON, as the API sends them: no Python objects survive by accident.
    again = json.loads(json.dumps(again))
    reloaded = parse_region(again, str(SAMPLE))
    assert reloaded.services == region.services
    assert reloaded.agents == region.agents
    for f in dataclasses.fields(region):
        if f.name == "catalogue":  # compared by what it names (it has no equality)
            for names in ("skills", "languages", "authorisations"):
                assert getattr(reloaded.catalogue, names) == getattr(region.catalogue, names)
        else:
            assert getattr(reloaded, f.name) == getattr(region, f.name), f.name


def test_every_dump_is_valid_against_its_own_shape() -> None:
    region = load_region(SAMPLE)
    for spec in region.services.values():
        ServiceShape.model_validate_json(json.dumps(service_entry(spec)))
    for agent in region.agents.values():
        AgentShape.model_validate_json(json.dumps(agent_entry(agent, region.languages)))


def _service(**changes: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": "advice",
        "requirement": "nursing>=1",
        "urgencies": {"normal": {"target_s": 60}},
        "steps": [{"kind": "own_site", "duration_s": 30}, {"kind": "region"}],
        "callback": {},
    }
    entry.update(changes)
    return entry


def _agent(**changes: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": "x1",
        "name": "Aino Virtanen",
        "team": "vaasa-nurses",
        "languages": ["fi"],
        "skills": {},
        "capacity": {"voice": 1},
    }
    entry.update(changes)
    return entry


def _bounds(shape: type[BaseModel], name: str) -> dict[str, float]:
    """The numeric bounds the model puts on field ``name`` (ge, gt, le, lt)."""
    found: dict[str, float] = {}
    for meta in shape.model_fields[name].metadata:
        for key in ("ge", "gt", "le", "lt"):
            value = getattr(meta, key, None)
            if value is not None:
                found[key] = value
    return found


def _edges(bounds: dict[str, float], integer: bool) -> list[tuple[float, bool]]:
    """Values at and just past each bound, with whether the bound allows them."""
    step = 1 if integer else 0.001
    edges: list[tuple[float, bool]] = []
    if "ge" in bounds:
        edges += [(bounds["ge"], True), (bounds["ge"] - step, False)]
    if "gt" in bounds:
        edges += [(bounds["gt"] + step, True), (bounds["gt"], False)]
    if "le" in bounds:
        edges += [(bounds["le"], True), (bounds["le"] + step, False)]
    if "lt" in bounds:
        edges += [(bounds["lt"] - step, True), (bounds["lt"], False)]
    return edges


# (the shape, the field, where the field sits in a service entry)
SERVICE_NUMBERS = [
    (ServiceShape, name, (name,))
    for name in (
        "wrapup_s",
        "offer_timeout_s",
        "decline_cooldown_s",
        "timeout_cooldown_s",
        "warn_fraction",
    )
] + [
    (CallbackShape, "attempts", ("callback", "attempts")),
    (CallbackShape, "retry_s", ("callback", "retry_s")),
    (CallbackShape, "window_s", ("callback", "window_s")),
    (UrgencyShape, "target_s", ("urgencies", "normal", "target_s")),
    (UrgencyShape, "warn_before_s", ("urgencies", "normal", "warn_before_s")),
    (StepShape, "duration_s", ("steps", 0, "duration_s")),
]


def _set(entry: dict[str, Any], where: tuple[str | int, ...], value: object) -> None:
    node: Any = entry
    for part in where[:-1]:
        node = node[part]
    node[where[-1]] = value


@pytest.mark.parametrize(
    ("shape", "name", "where"),
    SERVICE_NUMBERS,
    ids=[".".join(map(str, w)) for *_, w in SERVICE_NUMBERS],
)
def test_the_shape_and_the_readers_share_each_services_bound(
    shape: type[BaseModel], name: str, where: tuple[str | int, ...]
) -> None:
    region = load_region(SAMPLE)
    integer = shape.model_fields[name].annotation in (int, "int")
    edges = _edges(_bounds(shape, name), integer)
    assert edges, f"{name} has no bound"
    for value, allowed in edges:
        entry = _service()
        _set(entry, where, value)
        problems = Problems("test")
        read_service(problems, "", entry, region)
        assert (not problems) is allowed, (name, value, problems.items)
        model_ok = True
        try:
            shape.model_validate_json(json.dumps(_part(entry, where)))
        except ValidationError:
            model_ok = False
        assert model_ok is allowed, (name, value)


def _part(entry: dict[str, Any], where: tuple[str | int, ...]) -> Any:
    """The object of the shape that holds the field at ``where``."""
    node: Any = entry
    for part in where[:-1]:
        node = node[part]
    return node


def test_the_shape_and_the_readers_share_an_agents_bounds() -> None:
    region = load_region(SAMPLE)
    cases: list[tuple[dict[str, Any], bool]] = [
        ({"skills": {"nursing": 1}}, True),
        ({"skills": {"nursing": 5}}, True),
        ({"skills": {"nursing": 0}}, False),
        ({"skills": {"nursing": 6}}, False),
        ({"capacity": {"voice": 0, "chat": 1}}, True),
        ({"capacity": {"voice": -1, "chat": 1}}, False),
        ({"capacity": {"voice": 1, "chat": MAX_CAPACITY}}, True),
        ({"capacity": {"voice": 1, "chat": MAX_CAPACITY + 1}}, False),
        ({"capacity": {"voice": 1, "chat": 99999999999999999999}}, False),
        ({"languages": []}, False),
    ]
    for changes, allowed in cases:
        problems = Problems("test")
        read_agent(problems, "", _agent(**changes), region)
        assert (not problems) is allowed, (changes, problems.items)
        model_ok = True
        try:
            AgentShape.model_validate_json(json.dumps(_agent(**changes)))
        except ValidationError:
            model_ok = False
        assert model_ok is allowed, changes
