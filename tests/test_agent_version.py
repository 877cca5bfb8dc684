"""``Engine.agent_version`` is exact: while an agent's version stays the same, its view
(``Engine.agent``) stays equal to the one read before. The agents' hub relies on it to
keep a view without reading and comparing it again after every change elsewhere, so a
missing bump would leave an agent's desk stale: here random event sequences check it
after every event and every fired timer, for every agent, with timers fired one by one
and, as the service does, within the next event's apply; and across a snapshot. The
same runs hold ``Engine.contact_shown`` and ``Engine.agent_shown`` (the desk's frames,
read without a view) to every open contact's and agent's view."""

from __future__ import annotations

import contextlib
import json
import pickle
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from router.core.engine import Engine
from router.core.errors import RoutingError
from router.core.events import (
    AgentLoggedIn,
    CallbackAttempted,
    ChannelSwitched,
    ContactMerged,
    ContactReclassified,
    CustomerAway,
    CustomerBack,
    CustomersSeen,
    Event,
    PresenceChanged,
    TimerDue,
)
from router.core.model import CALLBACK_RESULTS, AgentStatus, Presence
from router.core.policy import RoutingPolicy
from router.core.state import AgentView
from router.service.views import agent_json, agent_shown_json, contact_json, shown_json
from tests.builders import agent, engine, service
from tests.test_engine_properties import CHANNEL_LIST, URGENCIES, Run, policies

_Seen = dict[str, tuple[int, AgentView]]


def check_versions(engine: Engine, seen: _Seen, where: str) -> None:
    """Every agent whose version is the one ``seen`` holds has the view it holds; then
    ``seen`` holds each agent's version and view now."""
    for view in engine.agents():
        version = engine.agent_version(view.id)
        kept = seen.get(view.id)
        if kept is not None and kept[0] == version:
            assert view == kept[1], (
                f"{where}: agent {view.id} kept version {version} but its view changed\n"
                f"  before: {kept[1]}\n  now:    {view}"
            )
        seen[view.id] = (version, view)


def check_shown(engine: Engine, where: str) -> None:
    """What the desk's frames show of each open contact and each agent, read off their
    records (``Engine.contact_shown``, ``Engine.agent_shown``), is their views' JSON, key
    for key and value for value."""
    for view in engine.contacts():
        shown = shown_json(engine.contact_shown(view.id))
        assert shown == contact_json(view), f"{where}: contact {view.id}"
        assert list(shown) == list(contact_json(view))  # the same order: the same bytes
    for agent_view in engine.agents():
        body = agent_shown_json(engine.agent_shown(agent_view.id))
        assert json.dumps(body) == json.dumps(agent_json(agent_view)), f"{where}: {agent_view.id}"


class VersionRun(Run):
    """``Run`` (every invariant of the property tests) with the version checked after
    each apply, and the events those tests do not make: channel switches, callback
    attempts, merges, re-classifications, customers away, back and seen."""

    def __init__(self, policy: RoutingPolicy) -> None:
        super().__init__(policy)
        self.seen: _Seen = {}
        check_versions(self.engine, self.seen, "start")
        # A copy from a snapshot, given the same events as the engine once set.
        self.twin: Engine | None = None
        self.twin_seen: _Seen = {}

    def check(self, *args: Any) -> None:
        """The engine's invariants are the property tests' (their oracle knows nothing
        of the events added here); the version is checked in ``_apply``."""

    def _apply(self, event: Event) -> None:
        super()._apply(event)
        where = f"t={self.now} {event}"
        check_versions(self.engine, self.seen, where)
        check_shown(self.engine, where)
        if self.twin is not None:
            with contextlib.suppress(RoutingError):
                self.twin.apply(self.now, event)
            check_versions(self.twin, self.twin_seen, f"twin {where}")
            for view in self.engine.agents():
                assert self.twin.agent_version(view.id) == self.engine.agent_version(view.id)
                assert self.twin.agent(view.id) == view

    def step(self, draw: Any) -> None:
        if draw(st.integers(0, 4)) != 0:
            super().step(draw)
            return
        self.now += draw(st.sampled_from([0.0, 1.0, 12.0, 70.0]))
        contacts = sorted(self.engine.contacts(), key=lambda v: v.id)
        if not contacts:
            self.apply(TimerDue())
            return
        v = draw(st.sampled_from(contacts))
        op = draw(
            st.sampled_from(["switch", "attempt", "merge", "reclassify", "away", "back", "seen"])
        )
        if op == "switch":
            self.apply(ChannelSwitched(v.id, draw(st.sampled_from(CHANNEL_LIST))))
        elif op == "attempt":
            self.apply(
                CallbackAttempted(v.id, v.agent_id or "a0", draw(st.sampled_from(CALLBACK_RESULTS)))
            )
        elif op == "merge":
            into = draw(st.sampled_from(contacts)).id
            self.apply(ContactMerged(v.id, into))
        elif op == "reclassify":
            urgency = draw(st.sampled_from(sorted(URGENCIES)))
            self.apply(ContactReclassified(v.id, v.agent_id or "a0", urgency))
        elif op == "away":
            self.apply(CustomerAway(v.id, draw(st.sampled_from([0.0, 20.0]))))
        elif op == "back":
            self.apply(CustomerBack(v.id))
        else:
            self.apply(CustomersSeen((v.id,), draw(st.sampled_from([5.0, 30.0])), 10.0))


def run_versions(data: st.DataObject, length: int) -> VersionRun:
    run = VersionRun(data.draw(policies()))
    for _ in range(length):
        run.step(data.draw)
    run.now += 2000
    run.apply(TimerDue())
    return run


def replay_coalesced(run: VersionRun) -> None:
    """The run's events again, without its ``TimerDue``s: the engine fires the timers due
    within the next event's apply, as in the service, where the time an agent's view is
    read at (the engine's clock) may have passed a wrap-up's end only in that apply."""
    engine = Engine(run.policy)
    seen: _Seen = {}
    for now, event in run.log:
        if isinstance(event, TimerDue):
            continue
        with contextlib.suppress(RoutingError):
            engine.apply(now, event)
        check_versions(engine, seen, f"coalesced t={now} {event}")


@pytest.mark.timeout(900)
@given(st.data())
@settings(max_examples=150, deadline=None)
def test_an_unchanged_version_means_an_unchanged_view(data: st.DataObject) -> None:
    run = run_versions(data, 60)
    replay_coalesced(run)


@given(st.data())
@settings(max_examples=25, deadline=None)
def test_the_version_survives_a_snapshot(data: st.DataObject) -> None:
    # Half a run, a snapshot of the engine, then both given the second half: the
    # same versions and views, and the copy's versions as exact as the original's.
    run = VersionRun(data.draw(policies()))
    for _ in range(30):
        run.step(data.draw)
    run.twin = pickle.loads(pickle.dumps(run.engine))
    for view in run.engine.agents():
        assert run.twin.agent_version(view.id) == run.engine.agent_version(view.id)
        assert run.twin.agent(view.id) == view
    check_versions(run.twin, run.twin_seen, "twin")
    for _ in range(30):
        run.step(data.draw)


def test_a_snapshot_from_before_the_version_loads() -> None:
    e = engine([service("nurse", "nursing")], [agent("a1", "A", {"nursing": 3})])
    e.apply(1.0, AgentLoggedIn("a1", Presence.AVAILABLE))
    for a in e._agents.values():
        del a.version  # pickled without it, as a record of an older version was
    copy: Engine = pickle.loads(pickle.dumps(e))
    assert copy.agent_version("a1") == 0
    assert copy.agent("a1").status is AgentStatus.AVAILABLE
    copy.apply(2.0, PresenceChanged("a1", Presence.NOT_READY, "break"))
    assert copy.agent_version("a1") > 0
