"""The rules a service's settings follow, written once: the engine's check of a live
change and the region file's reader refuse the same settings."""

from __future__ import annotations

import dataclasses

import pytest

from router.config import load_region
from router.config.errors import Problems
from router.config.loader import read_service
from router.config.shapes import service_entry
from router.core.model import ServiceSpec, Step, StepKind, UrgencyClass
from router.core.service_rules import service_problems, urgencies_in_use_lost
from skills import Requirement

SPEC = ServiceSpec(
    name="advice",
    requirement=Requirement.anyone(),
    urgencies={
        "P0": UrgencyClass("P0", 0.0, redirect="112"),
        "P2": UrgencyClass("P2", 60.0),
        "P3": UrgencyClass("P3", 600.0),
    },
    default_urgency="P3",
)

# Each breaks one rule; both the engine and the reader must refuse it.
BROKEN = {
    "default redirects": dataclasses.replace(SPEC, default_urgency="P0"),
    "own site only": dataclasses.replace(SPEC, steps=(Step(StepKind.OWN_SITE),)),
    "step without a duration": dataclasses.replace(
        SPEC, steps=(Step(StepKind.OWN_SITE), Step(StepKind.REGION))
    ),
    "overflow to itself": dataclasses.replace(
        SPEC, steps=(Step(StepKind.OVERFLOW, overflow_to="advice"), Step(StepKind.REGION))
    ),
}


@pytest.mark.parametrize("name", list(BROKEN))
def test_the_engine_and_the_region_file_refuse_the_same_settings(name: str) -> None:
    spec = BROKEN[name]
    assert service_problems(spec, {"advice": SPEC}) != []
    region = load_region("config/region.yaml")
    problems = Problems("test")
    read_service(problems, "", {**service_entry(spec), "name": "nursing_advice"}, region)
    assert problems.items != [], name


def test_usable_settings_pass_both() -> None:
    assert service_problems(SPEC, {"advice": SPEC}) == []
    region = load_region("config/region.yaml")
    problems = Problems("test")
    read_service(problems, "", {**service_entry(SPEC), "name": "nursing_advice"}, region)
    assert problems.items == []


def test_a_change_may_not_remove_an_urgency_class_in_use() -> None:
    assert urgencies_in_use_lost(SPEC, ["P3", "P2", "P3"]) == []
    assert urgencies_in_use_lost(SPEC, ["P4", "P1", "P3"]) == ["P1", "P4"]


def test_a_change_may_not_turn_a_class_in_use_into_a_redirect() -> None:
    # P0 redirects (never queued): contacts in P3 must not find themselves in such a class.
    redirecting = dataclasses.replace(
        SPEC, urgencies={**SPEC.urgencies, "P3": UrgencyClass("P3", 0.0, redirect="112")}
    )
    assert urgencies_in_use_lost(redirecting, ["P3", "P2"]) == ["P3"]
    assert urgencies_in_use_lost(SPEC, ["P0"]) == ["P0"]
