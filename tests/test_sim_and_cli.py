"""The virtual-time simulator and the ``yhteys demo`` command."""

from __future__ import annotations

import random

import pytest

from router.cli import main
from router.config import load_region
from router.core import decisions as d
from router.core.engine import Engine
from router.core.events import ContactArrived
from router.core.model import Channel, ContactSpec, Presence
from router.demo import contact_factory
from router.sim import Behaviour, Simulation
from tests import builders

REGION = "config/region.yaml"


def simulate(
    seed: int, specs: dict[str, ContactSpec] | None = None
) -> list[tuple[float, d.Decision]]:
    region = load_region(REGION)
    make = contact_factory(region)

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


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--per-hour", "-10"], "argument --per-hour: expected a number above 0 to 100000"),
        (["--per-hour", "inf"], "got 'inf'"),  # never ended, growing by gigabytes
        (["--per-hour", "nan"], "got 'nan'"),  # never ended
        (["--per-hour", "0"], "got '0'"),  # a ZeroDivisionError traceback
        (["--minutes", "-5"], "argument --minutes: expected 1..10080, got '-5'"),
        (["--sl-s", "-3"], "argument --sl-s: expected a number from 0 to 86400"),
        (["--patience-s", "-1"], "argument --patience-s: expected a number from 0 to 86400"),
        (["--show", "x"], "argument --show: expected an integer, got 'x'"),
    ],
)
def test_demo_refuses_numbers_it_cannot_run_with(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["demo", "--config", REGION, *args])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_demo_reports_a_bad_config(tmp_path: object, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--config", "no/such/region.yaml"]) == 2
    assert "no/such/region.yaml: file not found" in capsys.readouterr().err


def test_demo_draws_only_servable_contacts_and_reports_service_level(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Before: web contacts for services without web capacity and English oral health
    # were drawn, and waited for ever ("still waiting: 20" after the default hour).
    assert main(["demo", "--config", REGION, "--show", "0", "--patience-s", "300"]) == 0
    out = capsys.readouterr().out
    assert "Not drawn, as nobody on the roster can serve them: " in out
    assert "oral_health by voice in en" in out and "child_family by web in fi" in out
    assert "still waiting: 0" in out
    assert "service level (20 s): " in out and "of all " in out and "of answered contacts" in out
    assert "abandoned: " in out


def test_demo_contacts_are_all_servable() -> None:
    region = load_region(REGION)
    make = contact_factory(region)
    rnd = random.Random(5)
    drawn = {
        (s.service, s.channel.value, s.language) for s in (make(rnd, n, 0) for n in range(3000))
    }
    assert ("oral_health", "voice", "en") not in drawn
    assert not any(ch == "web" and svc == "child_family" for svc, ch, _ in drawn)
    assert ("nursing_advice", "web", "sv") in drawn  # servable kinds are still drawn


def _single_skill(agents: int) -> Engine:
    return builders.engine(
        [builders.service("advice", "nursing>=1", offer_timeout_s=20.0)],
        [builders.agent(f"a{i:02d}", "vaasa", {"nursing": 1}) for i in range(agents)],
    )


def _calls(rnd: random.Random, n: int, t: float) -> ContactSpec:
    return ContactSpec(id=f"c{n}", channel=Channel.VOICE, service="advice", urgency="P5")


def test_agents_set_not_ready_come_back() -> None:
    # 14 agents at A = 10 (200 calls/h, 180 s), a quarter of the offers ring out (answer
    # after 15 s on average, the offer lapses at 20 s) and set the agent not ready. Before,
    # nobody came back: every agent ended not ready and the queue grew without bound.
    engine = _single_skill(14)
    behaviour = Behaviour(answer_delay_s=15.0, decline_share=0.0, handle_s={Channel.VOICE: 180.0})
    sim = Simulation(engine, seed=4, behaviour=behaviour)
    sim.log_in_everyone()
    sim.arrivals(_calls, per_hour=200, until=8 * 3600)
    log = list(sim.run(until=8 * 3600))
    not_ready = [x for _, x in log if isinstance(x, d.AgentPresenceSet)]
    assert len(not_ready) > 100  # far more than 14: they came back, and missed offers again
    still = [a.id for a in engine.agents() if a.presence is Presence.NOT_READY]
    assert len(still) < 7
    assert engine.waiting_count < 30


def test_zero_means_are_deterministic_zero() -> None:
    # Before: a mean of 0 raised ZeroDivisionError (expovariate(1 / 0)).
    engine = _single_skill(3)
    zero = Behaviour(answer_delay_s=0.0, decline_share=0.0, handle_s={Channel.VOICE: 0.0})
    sim = Simulation(engine, seed=2, behaviour=zero)
    sim.log_in_everyone()
    sim.arrivals(_calls, per_hour=100, until=3600)
    log = list(sim.run(until=3600))
    assigned = [x.contact_id for _, x in log if isinstance(x, d.Assigned)]
    assert len(assigned) > 50 and engine.waiting_count == 0
    assert set(sim.answered_wait_s.values()) == {0.0}  # answered at once, handled in no time
    impatient = Behaviour(answer_delay_s=5.0, patience_s={Channel.VOICE: 0.0})
    sim = Simulation(_single_skill(1), seed=2, behaviour=impatient)
    sim.log_in_everyone()
    sim.arrivals(_calls, per_hour=100, until=3600)
    list(sim.run(until=7200))
    assert sim.abandoned_wait_s and set(sim.abandoned_wait_s.values()) == {0.0}


def test_simulation_records_arrival_and_first_offer_times() -> None:
    sim = Simulation(_single_skill(2), seed=3)
    sim.log_in_everyone()
    sim.arrivals(_calls, per_hour=60, until=3600)
    list(sim.run(until=7200))
    assert len(sim.arrived_at) > 30
    assert set(sim.offered_at) <= set(sim.arrived_at)
    assert len(sim.arrived_at) - len(sim.offered_at) == sim.engine.waiting_count
    assert all(sim.offered_at[c] >= sim.arrived_at[c] for c in sim.offered_at)


def _impatient_day(measure: bool) -> tuple[Simulation, list[tuple[float, d.Decision]]]:
    # 3 agents at A = 3.3 Erlangs: a queue forms, some give up, answers take a few seconds.
    behaviour = Behaviour(
        answer_delay_s=3.0, handle_s={Channel.VOICE: 180.0}, patience_s={Channel.VOICE: 120.0}
    )
    sim = Simulation(_single_skill(3), seed=6, behaviour=behaviour, measure=measure)
    sim.log_in_everyone()
    sim.arrivals(_calls, per_hour=66, until=4 * 3600)
    return sim, list(sim.run(until=5 * 3600))


def test_a_replication_without_measuring_decides_and_counts_as_the_measured_run() -> None:
    # The what-if replications run with measure=False: the same day, without the
    # estimates and offer times that only the estimate-accuracy benchmark reads.
    measured, measured_log = _impatient_day(measure=True)
    bare, bare_log = _impatient_day(measure=False)
    assert bare_log == measured_log
    assert bare.arrived_at == measured.arrived_at
    assert bare.answered_wait_s == measured.answered_wait_s
    assert bare.abandoned_wait_s == measured.abandoned_wait_s and len(bare.abandoned_wait_s) > 5
    assert measured.estimates and measured.offered_at
    assert not bare.estimates and not bare.offered_at


def test_contacts_opened_before_the_simulation_are_served() -> None:
    # The simulator keeps its own record of each open contact; one that reached the
    # engine some other way is read from the engine once, and served like the rest.
    engine = _single_skill(1)
    for n in (1, 2):
        engine.apply(0.0, ContactArrived(_calls(random.Random(), n, 0.0)))
    behaviour = Behaviour(answer_delay_s=0.0, decline_share=0.0, handle_s={Channel.VOICE: 600.0})
    sim = Simulation(engine, seed=1, behaviour=behaviour)
    sim.log_in_everyone(at=10.0)
    closed = {x.contact_id: t for t, x in sim.run(until=3 * 3600) if isinstance(x, d.Closed)}
    assert set(closed) == {"c1", "c2"}
    assert sim.answered_wait_s == {"c1": 10.0, "c2": closed["c1"]}
