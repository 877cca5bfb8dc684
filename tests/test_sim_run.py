"""How the simulator runs: the collector's setting for a run (restored after it, whatever
happens), the order of the events it plans before a run and schedules during one, and
patience that runs out while an offer rings."""

from __future__ import annotations

import gc
import random
from collections.abc import Iterator

import pytest

from router.core import decisions as d
from router.core.engine import Engine
from router.core.events import AgentLoggedOut, ContactArrived
from router.core.model import Channel, ContactSpec
from router.sim import BATCH_THRESHOLDS, Behaviour, Simulation
from tests import builders

# Not CPython's default, so that restoring the default by mistake shows.
CALLER = (1234, 7, 9)


@pytest.fixture(autouse=True)
def caller_thresholds() -> Iterator[None]:
    before = gc.get_threshold()
    gc.set_threshold(*CALLER)
    yield
    gc.set_threshold(*before)


def _call(n: int) -> ContactSpec:
    return ContactSpec(id=f"c{n}", channel=Channel.VOICE, service="advice", urgency="P5")


def _engine() -> Engine:
    return builders.engine(
        [builders.service("advice", "nursing>=1", offer_timeout_s=20.0)],
        [builders.agent(f"a{i:02d}", "vaasa", {"nursing": 1}) for i in range(2)],
    )


def _sim(behaviour: Behaviour | None = None) -> Simulation:
    sim = Simulation(_engine(), seed=3, behaviour=behaviour)
    sim.log_in_everyone()
    sim.arrivals(lambda _rnd, n, _t: _call(n), per_hour=120, until=3600)
    return sim


def test_a_run_has_the_batch_setting_and_gives_the_callers_back() -> None:
    during = {gc.get_threshold() for _ in _sim().run(until=7200)}
    assert during == {BATCH_THRESHOLDS}
    assert gc.get_threshold() == CALLER


def test_the_callers_setting_is_restored_when_a_run_fails() -> None:
    def broken(_rnd: random.Random, _spec: ContactSpec) -> float:
        raise ValueError("no handle time")

    run = _sim(Behaviour(handle=broken)).run(until=7200)
    with pytest.raises(ValueError, match="no handle time"):
        for _ in run:
            assert gc.get_threshold() == BATCH_THRESHOLDS
    assert gc.get_threshold() == CALLER


def test_the_callers_setting_is_restored_when_a_run_is_left_half_way() -> None:
    run = _sim().run(until=7200)
    next(run)
    assert gc.get_threshold() == BATCH_THRESHOLDS
    run.close()
    assert gc.get_threshold() == CALLER


def test_interleaved_runs_restore_the_callers_setting_once_both_end() -> None:
    first, second = _sim().run(until=7200), _sim().run(until=7200)
    next(first)
    next(second)
    first.close()  # the first to end: the other still runs with the batch setting
    assert gc.get_threshold() == BATCH_THRESHOLDS
    assert sum(1 for _ in second) > 100
    assert gc.get_threshold() == CALLER


def test_a_setting_the_caller_makes_during_a_run_is_kept_after_it() -> None:
    run = _sim().run(until=7200)
    next(run)
    gc.set_threshold(5000, 20, 20)  # e.g. a service settling its collector meanwhile
    assert sum(1 for _ in run) > 100
    assert gc.get_threshold() == (5000, 20, 20)


def test_events_come_in_time_order_ties_in_the_order_they_were_scheduled() -> None:
    # Nobody logged in: each arrival is queued at once, so the queued decisions show the
    # order the events were applied in.
    sim = Simulation(_engine(), seed=1)
    for t, n in ((5.0, 3), (5.0, 1), (1.0, 2)):  # planned before the run
        sim.schedule(t, ContactArrived(_call(n)))
    order = []
    for t, x in sim.run(until=10.0):
        if isinstance(x, d.Queued):
            order.append((t, x.contact_id))
            if x.contact_id == "c2":  # scheduled while the run goes
                sim.schedule(5.0, ContactArrived(_call(4)))
                sim.schedule(2.0, ContactArrived(_call(5)))
    sim.schedule(20.0, ContactArrived(_call(6)))  # between runs
    sim.schedule(15.0, ContactArrived(_call(7)))
    order += [(t, x.contact_id) for t, x in sim.run(until=30.0) if isinstance(x, d.Queued)]
    assert order == [
        (1.0, "c2"),
        (2.0, "c5"),
        (5.0, "c3"),
        (5.0, "c1"),
        (5.0, "c4"),
        (15.0, "c7"),
        (20.0, "c6"),
    ]


def test_callers_whose_accepted_offer_came_too_late_still_give_up() -> None:
    # The offer rings out after 1 s, the agent answers after 20 s on average: the
    # acceptance comes too late and the call goes back to the queue, where the caller
    # hangs up when the patience (50 s) runs out. The simulator holds an abandonment back
    # while an accepted offer rings; it must let it go when the contact is back in the queue.
    engine = builders.engine(
        [builders.service("advice", "nursing>=1", offer_timeout_s=1.0)],
        [builders.agent("a00", "vaasa", {"nursing": 1})],
    )
    behaviour = Behaviour(answer_delay_s=20.0, decline_share=0.0, patience=lambda _rnd, _spec: 50.0)
    sim = Simulation(engine, seed=2, behaviour=behaviour)
    sim.log_in_everyone()
    sim.arrivals(lambda _rnd, n, _t: _call(n), per_hour=30, until=3600)
    list(sim.run(until=3 * 3600))
    gave_up = set(sim.abandoned_wait_s)
    assert len(gave_up) > 10
    assert set(sim.abandoned_wait_s.values()) == {50.0}
    # Everyone else was answered, within the 50 s; nobody still waits.
    assert gave_up | set(sim.answered_wait_s) == set(sim.arrived_at)
    assert all(wait < 50.0 for wait in sim.answered_wait_s.values())
    assert engine.waiting_count == 0


def test_a_caller_back_in_the_queue_after_the_agent_left_still_gives_up() -> None:
    # Answered at once (so the abandonment is held back), then the agent logs out in the
    # middle of the call (forced): the caller is back in the queue with nobody to answer, and hangs
    # up when the patience (100 s from arrival) runs out.
    behaviour = Behaviour(
        answer_delay_s=0.0,
        decline_share=0.0,
        handle=lambda _rnd, _spec: 1.0e6,
        patience=lambda _rnd, _spec: 100.0,
    )
    sim = Simulation(_engine(), seed=1, behaviour=behaviour)
    sim.log_in_everyone()
    sim.schedule(0.0, ContactArrived(_call(1)))
    for agent in ("a01", "a00"):  # the one without the call first: no new offer
        sim.schedule(10.0, AgentLoggedOut(agent, force=True))
    log = list(sim.run(until=3600.0))
    assert [(t, x.reason) for t, x in log if isinstance(x, d.Requeued)] == [
        (10.0, "agent_logged_out")
    ]
    assert sim.answered_wait_s == {"c1": 0.0}
    assert sim.abandoned_wait_s == {"c1": 100.0}
