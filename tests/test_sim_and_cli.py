"""The virtual-time simulator and the ``yhteys demo`` command."""

from __future__ import annotations

import random

import pytest

from router.cli import _contact_factory, main
from router.config import load_region
from router.core import decisions as d
from router.core.engine import Engine
from router.core.model import ContactSpec
from router.sim import Simulation

REGION = "config/region.yaml"


def simulate(
    seed: int, specs: dict[str, ContactSpec] | None = None
) -> list[tuple[float, d.Decision]]:
    region = load_region(REGION)
    make = _contact_factory(region)

    def recording(rnd: random.Random, n: int, t: float) -> ContactSpec:
        spec: ContactSpec = make(rnd, n, t)
        if specs is not None:
            specs[spec.id] = spec
        return spec

    sim = Simulation(Engine(region.policy()), seed=seed)
    sim.log_in_everyone()
    sim.arrivals(recording, per_hour=300, until=1800)
    return list(sim.run(until=5400))


def test_same_seed_same_day() -> None:
    assert simulate(7) == simulate(7)
    assert simulate(7) != simulate(8)


def test_simulated_half_hour_serves_everyone_eligibly() -> None:
    region = load_region(REGION)
    specs: dict[str, ContactSpec] = {}
    log = simulate(3, specs)
    assigned = {x.contact_id: x.agent_id for _, x in log if isinstance(x, d.Assigned)}
    closed = {x.contact_id for _, x in log if isinstance(x, d.Closed)}
    assert len(assigned) > 50
    assert set(assigned) <= closed
    # Every offer respected language: Swedish contacts only to Swedish speakers.
    offers = [x for _, x in log if isinstance(x, d.Offered)]
    swedish = [o for o in offers if specs[o.contact_id].language == "sv"]
    assert swedish
    for o in offers:
        language = specs[o.contact_id].language
        assert language is None or language in region.agents[o.agent_id].abilities.languages
    times = [t for t, _ in log]
    assert times == sorted(times), "decisions come in virtual-time order"
    assert region.agents  # the sample region has a roster


def test_demo_command_prints_decisions_and_a_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--config", REGION, "--minutes", "10", "--show", "5"]) == 0
    out = capsys.readouterr().out
    assert "Yhteys demo:" in out
    assert out.count("\n08:") == 5
    assert "Summary:" in out and "Offered" in out


def test_demo_reports_a_bad_config(tmp_path: object, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--config", "no/such/region.yaml"]) == 2
    assert "no/such/region.yaml: file not found" in capsys.readouterr().err
