"""The class a contact takes in a service without its own (router/core/urgency_map.py)."""

from __future__ import annotations

import pytest

from router.core.model import ServiceSpec, UrgencyClass
from router.core.urgency_map import class_after_move
from tests.service_support import region


def service(name: str) -> ServiceSpec:
    return region().services[name]


@pytest.mark.parametrize(
    ("source", "urgency", "target", "expected"),
    [
        # same name kept, whatever its target there
        ("oral_health", "urgent", "mental_health", "urgent"),
        # mental health 'urgent' 1800 s -> P2 1800 s (the longest not longer)
        ("mental_health", "urgent", "nursing_advice", "P2"),
        # 'normal' 14400 s -> P5 14400 s, not the default P4
        ("mental_health", "normal", "nursing_advice", "P5"),
        # nursing advice P4 7200 s -> oral health 'normal' 3600 s (more urgent, never less)
        ("nursing_advice", "P4", "oral_health", "normal"),
        # P1 600 s is shorter than any of oral health's: its most urgent, 'urgent' 900 s
        ("nursing_advice", "P1", "oral_health", "urgent"),
        # P8 a week -> 'normal', the least urgent there
        ("nursing_advice", "P8", "oral_health", "normal"),
    ],
)
def test_a_moved_contact_is_never_made_less_urgent(
    source: str, urgency: str, target: str, expected: str
) -> None:
    assert class_after_move(service(source), urgency, service(target)) == expected


def test_a_redirecting_class_is_never_chosen() -> None:
    # mental health 'acute' (0 s) redirects to 112: a P1 (600 s) there must not take it
    mental = service("mental_health")
    assert mental.urgencies["acute"].redirect == "112"
    assert class_after_move(service("nursing_advice"), "P1", mental) == "urgent"
    # a target with only a redirecting class left takes its default
    only_redirect = ServiceSpec(
        name="x",
        requirement=mental.requirement,
        urgencies={"acute": UrgencyClass("acute", 0.0, redirect="112")},
        default_urgency="acute",
        steps=mental.steps,
    )
    assert class_after_move(mental, "normal", only_redirect) == "acute"


def test_a_class_of_the_same_name_that_redirects_there_is_not_kept() -> None:
    # Nursing advice's P0 (112) moved into a copy of it whose P3 redirects: a waiting P3
    # must not keep that name (it would wait in a class that is never queued).
    advice = service("nursing_advice")
    redirecting = ServiceSpec(
        name="y",
        requirement=advice.requirement,
        urgencies={**advice.urgencies, "P3": UrgencyClass("P3", 0.0, redirect="116117")},
        default_urgency="P4",
        steps=advice.steps,
    )
    moved = class_after_move(advice, "P3", redirecting)
    assert moved != "P3" and redirecting.urgencies[moved].redirect is None
    assert redirecting.urgencies[moved].target_s <= advice.urgencies["P3"].target_s
