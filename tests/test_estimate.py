"""The published wait estimate: the formula, the measurements fed into it (handle times,
abandonment), where the service uses it, and the accuracy harness in virtual time."""

from __future__ import annotations

import math
import pickle
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmarks import accuracy_docs
from benchmarks.accuracy_measure import PER_CONTACT, VARIANTS, run
from benchmarks.accuracy_workload import Workload, contact_factory, day_profile
from benchmarks.estimate_accuracy import markdown, more_seeds, workload_of
from router.config import load_region
from router.core import decisions as d
from router.core.engine import Engine
from router.core.estimate import (
    ABANDON_WEIGHT,
    DEFAULT_HANDLE_S,
    EWMA_WEIGHT,
    HandleTimes,
    wait_range,
)
from router.core.events import (
    AgentLoggedIn,
    AgentLoggedOut,
    ContactArrived,
    ContactCompleted,
    OfferAccepted,
    PresenceChanged,
)
from router.core.model import AgentStatus, Channel, ContactSpec, Presence, Step, StepKind
from router.service.public import service_status
from router.service.service import Service
from router.sim import Behaviour, Simulation
from tests.builders import Clock, agent, engine, service

REGION = "config/region.yaml"
ROOT = Path(__file__).resolve().parent.parent

# ------------------------------------------------------------------------- formula


def test_the_formula_in_numbers() -> None:
    # 3 in line, 2 servers, 240 s each: 3 × 240 / 2 = 360 s, told as 4-8 minutes.
    e = wait_range(3, 2.0, 240.0)
    assert e.expected_s == 360.0
    assert (e.low_s, e.high_s) == (240.0, 480.0)
    # Half of those ahead give up: 1 + 2 × 0.5 = 2 in line, 2 × 240 / 2 = 240 s.
    assert wait_range(3, 2.0, 240.0, abandon_share=0.5).expected_s == 240.0


def test_abandonment_lowers_the_estimate_of_a_contact_with_others_ahead() -> None:
    without = wait_range(8, 2.0, 300.0)
    with_ = wait_range(8, 2.0, 300.0, abandon_share=0.3)
    assert with_.expected_s is not None and without.expected_s is not None
    assert with_.expected_s < without.expected_s
    assert with_.high_s is not None and without.high_s is not None
    assert with_.high_s < without.high_s
    assert with_.abandon_share == 0.3
    # Everyone ahead leaves: only the contact's own turn remains.
    assert wait_range(8, 2.0, 300.0, abandon_share=1.0).expected_s == 150.0


def test_the_first_in_line_counts_whole_whatever_the_abandonment() -> None:
    assert wait_range(1, 2.0, 300.0, 0.9).expected_s == wait_range(1, 2.0, 300.0).expected_s


def test_a_share_outside_zero_to_one_is_clamped() -> None:
    assert wait_range(5, 1.0, 60.0, -0.5) == wait_range(5, 1.0, 60.0, 0.0)
    assert wait_range(5, 1.0, 60.0, 1.7) == wait_range(5, 1.0, 60.0, 1.0)


@pytest.mark.parametrize("servers", [0.0, -1.0])
def test_nobody_to_serve_means_unknown_not_a_number(servers: float) -> None:
    e = wait_range(4, servers, 300.0, 0.2)
    assert not e.known
    assert (e.low_s, e.high_s, e.mid_s, e.expected_s) == (None, None, None, None)


def test_agents_free_now_take_the_first_in_line_at_once() -> None:
    # Nobody waiting and an agent free: the newcomer is answered now, not in 5 minutes.
    now = wait_range(1, 0.25, 300.0, free=1)
    assert (now.expected_s, now.low_s, now.high_s) == (0.0, 0.0, 60.0)
    assert wait_range(3, 1.0, 300.0, free=3).expected_s == 0.0
    # Behind a 90 s own-site step the free agent may be out of reach until it ends.
    behind = wait_range(1, 1.0, 300.0, free=1, reach_s=90.0)
    assert (behind.low_s, behind.high_s) == (0.0, 120.0)
    # Two free agents, fifth in line: waits as the third would with nobody free.
    fifth, third = wait_range(5, 1.0, 300.0, free=2), wait_range(3, 1.0, 300.0)
    assert (fifth.expected_s, fifth.low_s, fifth.high_s) == (third.expected_s, 660.0, 1140.0)
    assert third.expected_s == 900.0 and fifth.position == 5


def test_shared_agents_count_as_a_fraction() -> None:
    # One agent shared by three services is a third of a server: three times the wait.
    whole, third = wait_range(1, 1.0, 300.0), wait_range(1, 1 / 3, 300.0)
    assert third.expected_s == pytest.approx(3 * (whole.expected_s or 0))


@given(
    position=st.integers(1, 500),
    servers=st.floats(0.05, 200.0),
    handle_s=st.floats(0.0, 3600.0),
    share=st.floats(0.0, 1.0),
)
def test_ranges_are_whole_minutes_around_the_estimate(
    position: int, servers: float, handle_s: float, share: float
) -> None:
    e = wait_range(position, servers, handle_s, share)
    assert e.low_s is not None and e.high_s is not None and e.expected_s is not None
    assert e.low_s % 60 == 0 and e.high_s % 60 == 0
    assert 0 <= e.low_s <= e.expected_s * 0.75 + 1e-6
    assert e.high_s >= max(e.expected_s * 1.25 - 1e-6, 60)
    assert e.low_s < e.high_s


@given(
    position=st.integers(1, 200),
    servers=st.floats(0.1, 50.0),
    handle_s=st.floats(1.0, 3600.0),
    low=st.floats(0.0, 1.0),
    high=st.floats(0.0, 1.0),
)
def test_more_abandonment_never_lengthens_the_estimate(
    position: int, servers: float, handle_s: float, low: float, high: float
) -> None:
    low, high = sorted((low, high))
    a = wait_range(position, servers, handle_s, high)
    b = wait_range(position, servers, handle_s, low)
    assert a.expected_s is not None and b.expected_s is not None
    assert a.expected_s <= b.expected_s + 1e-9


# -------------------------------------------------------------------- measurements


def assigned(cid: str, service: str = "nurse") -> d.Assigned:
    return d.Assigned(cid, "a1", service, None, 0.0, 0.0)


def test_handle_times_move_as_contacts_complete() -> None:
    times = HandleTimes()
    assert times.of("nurse") == DEFAULT_HANDLE_S
    times.observe(assigned("c1"), 0.0)
    times.observe(d.Closed("c1", "resolved", "a1", "nurse"), 100.0)
    # The first measurement moves the default a step, as any later one moves the mean.
    first = DEFAULT_HANDLE_S + EWMA_WEIGHT * (100.0 - DEFAULT_HANDLE_S)
    assert times.of("nurse") == pytest.approx(first)
    times.observe(assigned("c2"), 200.0)
    times.observe(d.Closed("c2", "resolved", "a1", "nurse"), 400.0)
    assert times.of("nurse") == pytest.approx(first + EWMA_WEIGHT * (200.0 - first))
    assert times.of("dentist") == DEFAULT_HANDLE_S  # per service


def test_one_misdial_first_thing_does_not_make_every_wait_a_minute() -> None:
    """An outside tester's find: a call completed a second after it was taken, the
    first of the day, turned the service's handle time from 300 s to 1 s, and every
    estimate into "0–1 min" for the next ten or so contacts."""
    times = HandleTimes()
    times.observe(assigned("c1"), 0.0)
    times.observe(d.Closed("c1", "resolved", "a1", "nurse"), 1.0)
    assert times.of("nurse") > 0.75 * DEFAULT_HANDLE_S
    estimate = wait_range(3, 1.0, times.of("nurse"))
    assert estimate.low_s is not None and estimate.low_s >= 300.0


def test_abandonment_share_moves_with_each_outcome() -> None:
    times = HandleTimes()
    assert times.abandon_share("nurse") == 0.0  # 0 until measured
    times.observe(d.Closed("c1", "abandoned", None, "nurse"), 10.0)
    assert times.abandon_share("nurse") == pytest.approx(ABANDON_WEIGHT)
    times.observe(d.Closed("c2", "abandoned", None, "nurse"), 20.0)
    second = ABANDON_WEIGHT + ABANDON_WEIGHT * (1 - ABANDON_WEIGHT)
    assert times.abandon_share("nurse") == pytest.approx(second)
    times.observe(assigned("c3"), 30.0)  # answered
    assert times.abandon_share("nurse") == pytest.approx(second * (1 - ABANDON_WEIGHT))
    # Many answered in a row bring it back towards 0; many leaving, towards 1.
    for n in range(200):
        times.observe(assigned(f"x{n}"), 40.0)
    assert times.abandon_share("nurse") < 0.001
    for n in range(200):
        times.observe(d.Closed(f"y{n}", "abandoned", None, "nurse"), 50.0)
    assert times.abandon_share("nurse") > 0.999
    assert times.abandon_share("dentist") == 0.0


def test_only_callers_who_give_up_count_as_abandoned() -> None:
    times = HandleTimes()
    for n, outcome in enumerate(("cancelled", "redirected", "unreachable", "merged")):
        times.observe(d.Closed(f"c{n}", outcome, None, "nurse"), 1.0)
    assert times.abandon_share("nurse") == 0.0
    # Completing an answered contact is not a second "answered" outcome.
    times.observe(assigned("c9"), 1.0)
    share = times.abandon_share("nurse")
    times.observe(d.Closed("c9", "resolved", "a1", "nurse"), 2.0)
    assert times.abandon_share("nurse") == share


def test_capture_and_restore_keep_both_measurements() -> None:
    times = HandleTimes()
    times.observe(assigned("c1"), 0.0)
    times.observe(d.Closed("c1", "resolved", "a1", "nurse"), 120.0)
    times.observe(d.Closed("c2", "abandoned", None, "nurse"), 130.0)
    times.observe(assigned("c3"), 140.0)  # still in hand at the snapshot
    copy = HandleTimes()
    copy.restore(times.capture())
    assert copy.mean_s == times.mean_s and copy.abandon == times.abandon
    copy.observe(d.Closed("c3", "resolved", "a1", "nurse"), 200.0)
    kept = times.of("nurse")
    assert copy.of("nurse") == pytest.approx(kept + EWMA_WEIGHT * (60.0 - kept))


def test_a_snapshot_from_before_abandonment_still_loads() -> None:
    times = HandleTimes()
    times.restore(({"nurse": 200.0}, {"c1": ("nurse", 5.0)}))
    assert times.of("nurse") == 200.0 and times.abandon_share("nurse") == 0.0


# ------------------------------------------------------------------- where it is used


def test_the_engine_estimate_takes_the_abandonment_share() -> None:
    clock = Clock(engine([service("nurse", "nursing")], [agent("a1", "s1", {"nursing": 1})]))
    # a1 busy with c0: serving, so one server, and the rest wait.
    clock.at(0, AgentLoggedIn("a1"))
    clock.at(0, ContactArrived(ContactSpec("c0", Channel.VOICE, "nurse")))
    clock.at(0, OfferAccepted("c0", "a1"))
    for n in range(1, 6):
        clock.at(n, ContactArrived(ContactSpec(f"c{n}", Channel.VOICE, "nurse")))
    plain = clock.engine.estimate("c5", 300.0)
    fewer = clock.engine.estimate("c5", 300.0, abandon_share=0.5)
    assert (plain.position, plain.servers) == (5, 1.0)
    assert plain.expected_s == 5 * 300.0 and fewer.expected_s == 3 * 300.0
    public = clock.engine.service_estimate("nurse", 300.0, abandon_share=0.5)
    assert public.position == 6 and public.expected_s == (1 + 5 * 0.5) * 300.0


def test_a_new_contact_with_an_agent_free_is_told_it_waits_for_nobody() -> None:
    clock = Clock(
        engine(
            [service("nurse", "nursing"), service("dental", "dental")],
            [agent("a1", "s1", {"nursing": 1}), agent("a2", "s1", {"nursing": 1, "dental": 1})],
        )
    )
    clock.at(0, AgentLoggedIn("a1"))
    free = clock.engine.service_estimate("nurse", 300.0)
    assert (free.position, free.expected_s, free.low_s, free.high_s) == (1, 0.0, 0.0, 60.0)
    # a1 and a2 busy: one waiting, the newcomer second in line. a2 can serve dental
    # too: half a server for nurse, a whole one while dental is closed.
    clock.at(1, ContactArrived(ContactSpec("c1", Channel.VOICE, "nurse")))
    clock.at(2, AgentLoggedIn("a2"))
    clock.at(3, ContactArrived(ContactSpec("c2", Channel.VOICE, "nurse")))
    clock.at(4, ContactArrived(ContactSpec("c3", Channel.VOICE, "nurse")))
    both_open = clock.engine.service_estimate("nurse", 300.0)
    assert (both_open.position, both_open.servers) == (2, 1.5)
    nurse_only = clock.engine.service_estimate("nurse", 300.0, open_services=frozenset({"nurse"}))
    assert nurse_only.servers == 2.0
    assert nurse_only.expected_s == 2 * 300.0 / 2.0
    # What a waiting contact is told shares agents alike.
    told = clock.engine.estimate("c3", 300.0, open_services=frozenset({"nurse"}))
    assert (told.servers, clock.engine.estimate("c3", 300.0).servers) == (2.0, 1.5)


def test_a_service_that_never_reaches_the_region_counts_nobody_free() -> None:
    overflowing = service(
        "nurse",
        "nursing",
        (Step(StepKind.OWN_SITE, 60.0), Step(StepKind.OVERFLOW, overflow_to="other")),
    )
    clock = Clock(
        engine([overflowing, service("other", "nursing")], [agent("a1", "s1", {"nursing": 1})])
    )
    clock.at(0, AgentLoggedIn("a1"))
    public = clock.engine.service_estimate("nurse", 300.0)
    assert public.free == 0 and public.expected_s == 300.0 / 0.5
    region_wide = clock.engine.service_estimate("other", 300.0)
    assert region_wide.free == 1 and region_wide.high_s == 60.0


def test_agents_not_ready_are_no_servers_and_busy_or_wrapping_up_ones_are() -> None:
    """An outside tester's find: with half the staff on a break the published wait was
    half what it should be. An agent not ready (a break, a meeting, or set so by the
    engine) finishes nobody's contact; one busy or in wrap-up is serving."""
    nurses = [agent(f"a{n}", "s1", {"nursing": 1}) for n in range(1, 5)]
    clock = Clock(engine([service("nurse", "nursing", wrapup_s=60.0)], nurses))
    e = clock.engine
    for n in range(1, 5):
        clock.at(0, AgentLoggedIn(f"a{n}", Presence.NOT_READY))
    for n in range(1, 4):
        clock.at(1, ContactArrived(ContactSpec(f"c{n}", Channel.VOICE, "nurse")))
    # Everyone not ready: nobody serving, so no number ("unknown") rather than a short
    # wait; public status still knows someone who can answer is logged in.
    told = e.estimate("c3", 300.0)
    public = e.service_estimate("nurse", 300.0)
    assert (told.servers, told.known, public.servers, public.known) == (0.0, False, 0.0, False)
    assert public.staff == 4.0
    # a1 back and given c1: one server, whatever the other three's presence.
    clock.at(2, PresenceChanged("a1", Presence.AVAILABLE))
    clock.at(3, OfferAccepted("c1", "a1"))
    one = e.estimate("c3", 300.0)
    assert (one.servers, one.position, one.expected_s) == (1.0, 2, 2 * 300.0)
    assert e.service_estimate("nurse", 300.0).servers == 1.0
    # In wrap-up a1 still counts; logging the not-ready three out changes nothing.
    clock.at(10, ContactCompleted("c1", "a1"))
    assert e.agent("a1").status is AgentStatus.WRAP_UP
    assert e.estimate("c3", 300.0) == one
    for n in (2, 3, 4):
        clock.at(11, AgentLoggedOut(f"a{n}"))
    assert e.estimate("c3", 300.0) == one
    assert e.service_estimate("nurse", 300.0).staff == 1.0


def test_the_service_passes_its_measured_abandonment() -> None:
    region = load_region(REGION)
    svc = Service(region)
    eng = svc.engine
    # a005 (nursing 2, Finnish only, one call at a time) busy with c0: the rest wait.
    eng.apply(0.0, AgentLoggedIn("a005"))
    for n in range(4):
        spec = ContactSpec(f"c{n}", Channel.VOICE, "nursing_advice", language="fi")
        eng.apply(float(n), ContactArrived(spec))
    svc.handle_times.restore(({"nursing_advice": 240.0}, {}, {"nursing_advice": 0.5}))
    told = svc.estimate("c3")
    assert told == eng.estimate("c3", 240.0, 0.5)
    assert told.abandon_share == 0.5 and told.position == 3
    status = service_status(svc, "nursing_advice")
    public = eng.service_estimate("nursing_advice", 240.0, 0.5)
    assert status["estimated_wait"] == {"min_s": public.low_s, "max_s": public.high_s}
    assert status["waiting"] == 3 and status["open"] is True


# ---------------------------------------------------------------- simulation, accuracy


def _sim(behaviour: Behaviour | None, seed: int = 5) -> Simulation:
    region = load_region(REGION)
    sim = Simulation(Engine(region.policy()), seed=seed, behaviour=behaviour)
    sim.log_in_everyone()
    sim.arrivals(contact_factory(region), 900.0, until=1800.0, profile=day_profile())
    return sim


def test_simulated_callers_give_up_only_when_given_patience() -> None:
    patient = _sim(None)
    log_patient = list(patient.run(until=3 * 3600))
    assert not patient.abandoned_wait_s
    assert not any(isinstance(x, d.Closed) and x.outcome == "abandoned" for _, x in log_patient)

    impatient = _sim(Behaviour(patience_s={Channel.VOICE: 60.0, Channel.CHAT: 120.0}))
    log = list(impatient.run(until=3 * 3600))
    gave_up = {x.contact_id for _, x in log if isinstance(x, d.Closed) and x.outcome == "abandoned"}
    assert gave_up and gave_up == set(impatient.abandoned_wait_s)
    assert not gave_up & set(impatient.answered_wait_s), "nobody answered gives up later"
    # The measured share follows, and the estimates recorded on queueing carry it.
    assert max(impatient.handle_times.abandon.values()) > 0
    assert any(e.abandon_share > 0 for e in impatient.estimates.values())
    assert all(e.abandon_share == 0 for e in patient.estimates.values())


def test_patience_has_its_own_random_stream() -> None:
    # Patience so long that nobody gives up: drawing it changes no other draw, so the
    # day is decided exactly as with patient callers.
    patient = list(_sim(None).run(until=3 * 3600))
    endless = list(_sim(Behaviour(patience_s={Channel.VOICE: 1e9})).run(until=3 * 3600))
    assert endless == patient


def test_the_simulator_records_the_estimate_each_queued_contact_was_told() -> None:
    sim = _sim(None)
    queued = [x.contact_id for _, x in sim.run(until=3 * 3600) if isinstance(x, d.Queued)]
    assert queued and set(queued) == set(sim.estimates)
    assert all(e.known for e in sim.estimates.values())
    assert set(queued) <= set(sim.answered_wait_s)  # everyone patient is answered


def test_the_accuracy_harness_gives_finite_figures_on_a_short_period() -> None:
    result = run(Workload(hours=0.5, drain_hours=1.0, peak_per_hour=900.0, seed=2))
    g = result.overall
    assert g.arrived > 200 and g.queued > 20 and g.answered > 10
    assert g.answered + g.abandoned <= g.queued <= g.arrived
    for variant in VARIANTS:
        f = g.figures[variant]
        assert f.n > 0
        assert math.isfinite(f.mae_s) and f.mae_s >= 0
        assert math.isfinite(f.bias_s)
        assert 0 <= f.inside_share <= 1
    assert sum(s.queued for s in result.by_service.values()) == g.queued
    text = markdown(result, ["--hours", "0.5"])
    assert text.startswith("## Wait-estimate accuracy")
    assert "| per contact |" in text and "| naive baseline |" in text
    assert "nan" not in text


# ------------------------------------------------------ the figures in the docs


def test_the_accuracy_figures_in_the_docs_were_written_by_the_benchmark() -> None:
    """docs/waiting-times.md quotes the run, not a copy: the block is there, unedited since
    ``--write-docs`` wrote it, and says optimistic or pessimistic as its biases do."""
    doc = (ROOT / accuracy_docs.DOCS).read_text(encoding="utf-8")
    assert accuracy_docs.check(doc) == []


def test_the_accuracy_figures_in_the_docs_are_what_the_benchmark_gives_today() -> None:
    """Re-runs the command the block names (virtual time, deterministic, a few seconds):
    a change to the engine or the estimate that moves the figures fails here until
    ``python -m benchmarks.estimate_accuracy --write-docs`` is run again."""
    doc = (ROOT / accuracy_docs.DOCS).read_text(encoding="utf-8")
    command = accuracy_docs.command_of(doc)
    assert command is not None
    workload, _ = workload_of(command.split()[3:])
    results = [run(workload), *more_seeds(workload)]
    assert accuracy_docs.current(doc) == accuracy_docs.block(results, command), (
        f"the figures in {accuracy_docs.DOCS} are stale: run `{command}`"
    )


def test_the_docs_check_catches_hand_edits_wrong_verdicts_and_stray_verdicts() -> None:
    doc = (ROOT / accuracy_docs.DOCS).read_text(encoding="utf-8")
    result = run(Workload(hours=0.5, drain_hours=1.0, peak_per_hour=900.0, seed=2))
    fresh = accuracy_docs.replace(doc, accuracy_docs.block([result, result]))
    assert accuracy_docs.check(fresh) == []
    text = accuracy_docs.body([result])
    bias = result.overall.figures[PER_CONTACT].bias_s
    said = accuracy_docs.verdict(bias)
    assert said == ("optimistic" if bias < 0 else "pessimistic")
    assert f"The per-contact estimate is **{said}**" in text

    # A number changed by hand.
    row = next(line for line in text.splitlines() if line.startswith("| per contact ("))
    edited = fresh.replace(row, row.replace("|", "| 1", 1), 1)
    assert any("edited by hand" in p for p in accuracy_docs.check(edited))
    # A verdict that contradicts the bias, even with a matching hash.
    other = "pessimistic" if said == "optimistic" else "optimistic"
    wrong = text.replace(
        f"per-contact estimate is **{said}**", f"per-contact estimate is **{other}**"
    )
    problems = accuracy_docs.check(accuracy_docs.replace(doc, accuracy_docs.wrap(wrong)))
    assert problems == [
        f"The per-contact estimate has bias {float(round(bias)):+g} s, so it is {said}, not {other}"
    ]
    # A verdict in the hand-written prose, and no block at all.
    stray = fresh.replace("## How accurate it is", "## How accurate it is\n\nIt is pessimistic.")
    assert any("'pessimistic' outside" in p for p in accuracy_docs.check(stray))
    assert accuracy_docs.check("# nothing generated\n")[0].startswith("no generated block")


def test_the_shares_among_open_services_are_not_kept_in_snapshots() -> None:
    clock = Clock(
        engine(
            [service("nurse", "nursing"), service("dental", "dental")],
            [agent("a1", "s1", {"nursing": 1, "dental": 1})],
        )
    )
    clock.at(0, AgentLoggedIn("a1", Presence.NOT_READY))
    open_nurse = frozenset({"nurse"})
    before = clock.engine.service_estimate("nurse", 300.0, open_services=open_nurse)
    assert clock.engine._open_shares  # a cache of what was asked
    assert "_open_shares" not in clock.engine.__getstate__()  # what a snapshot pickles
    restored = pickle.loads(pickle.dumps(clock.engine))
    assert restored._open_shares == {}
    assert restored.service_estimate("nurse", 300.0, open_services=open_nurse) == before
