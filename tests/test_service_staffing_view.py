"""The supervisor's staffing view over real loopback HTTP (``router/service/staffing_view.py``):
the figures are the staffing calculator's for the numbers the view reports, a login
changes them, a what-if answers for chosen numbers, bad input is one 400 with every
problem, and only supervisors may ask."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from router.core.estimate import DEFAULT_HANDLE_S
from router.service.staffing_view import REFRESH_S
from router.staffing.erlang import Result, erlang_a_result, erlang_c_result
from router.staffing.plan import Interval, Target, agents_needed
from tests.service_support import Client, WallClock, bearer, sample_region, served_at

MakeClient = Callable[..., Awaitable[Client]]
VIEW = "/api/supervisor/staffing"
WHATIF = "/api/supervisor/staffing/whatif"
CALLS = "/api/channels/phone/calls"
ORAL_TARGET_S = 3600.0  # oral_health's default class "normal" in the sample region


async def get(client: Client, path: str, token: str = "supervisor") -> dict[str, Any]:
    r = await client.get(path, headers=bearer(token))
    assert r.status == 200, await r.text()
    body: dict[str, Any] = await r.json()
    return body


async def block(client: Client, name: str) -> dict[str, Any]:
    view = await get(client, VIEW)
    found: dict[str, Any] = next(s for s in view["services"] if s["service"] == name)
    return found


async def call(client: Client, call_id: str, service: str = "oral_health") -> None:
    body = {"call_id": call_id, "caller": "+358401234567", "ivr": {"service": service}}
    r = await client.post(CALLS, json=body, headers=bearer("telephony"))
    assert r.status == 201, await r.text()


async def login(client: Client, agent: str) -> None:
    r = await client.post("/api/agent/login", json={}, headers=bearer(f"agent-{agent}"))
    assert r.status == 200, await r.text()


def same_figures(figures: dict[str, Any], r: Result) -> None:
    assert figures["sl_all"] == pytest.approx(r.sl_all, rel=1e-12)
    assert figures["sl_answered"] == pytest.approx(r.sl_answered, rel=1e-12)
    assert figures["p_abandon"] == pytest.approx(r.p_abandon, rel=1e-12, abs=1e-15)
    assert figures["occupancy"] == pytest.approx(r.occupancy, rel=1e-12)
    assert figures["p_wait"] == pytest.approx(r.p_wait, rel=1e-12)
    assert figures["asa_s"] == pytest.approx(r.asa_s, rel=1e-12)


@pytest.fixture
async def served(aiohttp_client: MakeClient) -> tuple[Client, WallClock]:
    """The sample region (always open) on a Monday at 10:00: ten hours open so far."""
    client, _, clock = await served_at(aiohttp_client, "2026-12-07 10:00")
    return client, clock


async def test_the_view_reports_todays_numbers_and_erlang_c_figures_for_them(
    served: tuple[Client, WallClock],
) -> None:
    client, _ = served
    for i in range(20):
        await call(client, f"c{i}")
    await login(client, "a007")
    await login(client, "a008")
    oral = await block(client, "oral_health")
    assert oral["arrivals_today"] == 20 and oral["observed_s"] == 36000.0
    assert oral["arrivals_per_hour"] == 2.0  # 20 in ten hours
    assert oral["handle_time_s"] == DEFAULT_HANDLE_S and not oral["handle_time_measured"]
    assert oral["agents"] == 2  # the two dental agents logged in; nobody else can
    assert oral["patience_s"] is None and oral["model"] == "erlang_c"
    assert oral["answer_s"] == ORAL_TARGET_S and oral["urgency"] == "normal"
    same_figures(oral["figures"], erlang_c_result(2, 2.0 / 3600, DEFAULT_HANDLE_S, 3600.0))
    interval = Interval("now", 2.0, 3600.0, DEFAULT_HANDLE_S)
    assert oral["agents_needed"] == agents_needed(interval, Target(0.8, 3600.0)).agents
    assert [p["agents"] for p in oral["curve"]] == list(range(1, 6))
    for point in oral["curve"]:
        expected = erlang_c_result(point["agents"], 2.0 / 3600, DEFAULT_HANDLE_S, 3600.0)
        assert point["sl_all"] == pytest.approx(expected.sl_all, rel=1e-12)
    # A service nobody can serve now: no figures, but what it would need.
    social = await block(client, "social_services")
    assert social["agents"] == 0 and social["figures"] is None
    assert social["arrivals_per_hour"] == 0.0 and social["agents_needed"] == 1


async def test_todays_abandonments_give_a_patience_and_erlang_a_figures(
    served: tuple[Client, WallClock],
) -> None:
    client, clock = served
    for i in range(8):
        await call(client, f"w{i}")
    clock.t += 600  # ten minutes later five have hung up, three still wait
    for i in range(5):
        r = await client.post(f"{CALLS}/w{i}/abandoned", json={}, headers=bearer("telephony"))
        assert r.status == 200, await r.text()
    await login(client, "a007")
    oral = await block(client, "oral_health")
    assert oral["abandoned_today"] == 5
    # Eight callers waited 600 s each (five until they left, three until now): 4800 s
    # of waiting for five abandonments, a mean patience of 960 s.
    assert oral["patience_s"] == 960.0 and oral["model"] == "erlang_a"
    assert oral["arrivals_per_hour"] == round(8 / (36600 / 3600), 1) == 0.8
    expected = erlang_a_result(1, 0.8 / 3600, DEFAULT_HANDLE_S, ORAL_TARGET_S, 960.0)
    same_figures(oral["figures"], expected)
    interval = Interval("now", 0.8, 3600.0, DEFAULT_HANDLE_S, 960.0)
    assert oral["agents_needed"] == agents_needed(interval, Target(0.8, ORAL_TARGET_S)).agents


async def test_an_agent_logging_in_changes_the_answer(served: tuple[Client, WallClock]) -> None:
    client, _ = served
    for i in range(30):
        await call(client, f"n{i}")
    await login(client, "a007")
    before = await block(client, "oral_health")
    await login(client, "a008")
    after = await block(client, "oral_health")
    assert (before["agents"], after["agents"]) == (1, 2)
    assert after["figures"]["sl_all"] > before["figures"]["sl_all"]
    assert after["figures"]["asa_s"] < before["figures"]["asa_s"]
    assert after["figures"]["occupancy"] < before["figures"]["occupancy"]
    # The what-if's defaults are the service's numbers now, the new login included.
    whatif = await get(client, f"{WHATIF}?service=oral_health")
    assert whatif["agents"] == 2 and whatif["figures"] == after["figures"]


async def test_a_whatif_answers_for_the_chosen_numbers(served: tuple[Client, WallClock]) -> None:
    client, _ = served
    query = "service=nursing_advice&agents=12&rate=100&aht=300&patience=180"
    whatif = await get(client, f"{WHATIF}?{query}")
    assert whatif["service"] == "nursing_advice" and whatif["model"] == "erlang_a"
    chosen = (whatif["agents"], whatif["arrivals_per_hour"], whatif["handle_time_s"])
    assert chosen == (12, 100, 300)
    target_s = 7200.0  # nursing_advice's default class P4
    same_figures(whatif["figures"], erlang_a_result(12, 100 / 3600, 300.0, target_s, 180.0))
    interval = Interval("now", 100.0, 3600.0, 300.0, 180.0)
    assert whatif["agents_needed"] == agents_needed(interval, Target(0.8, target_s)).agents
    # Fewer agents for the same load: a lower service level, more abandonment.
    fewer = await get(client, f"{WHATIF}?{query.replace('agents=12', 'agents=6')}")
    assert fewer["figures"]["sl_all"] < whatif["figures"]["sl_all"]
    assert fewer["figures"]["p_abandon"] > whatif["figures"]["p_abandon"]
    assert fewer["agents_needed"] == whatif["agents_needed"]  # the load did not change
    # Without a patience and no abandonments today: Erlang C.
    patient = await get(client, f"{WHATIF}?service=nursing_advice&agents=12&rate=100&aht=300")
    assert patient["model"] == "erlang_c" and patient["patience_s"] is None
    same_figures(patient["figures"], erlang_c_result(12, 100 / 3600, 300.0, target_s))


async def test_bad_whatif_input_is_one_400_with_every_problem(
    served: tuple[Client, WallClock],
) -> None:
    client, _ = served
    query = "service=nowhere&agents=0&rate=-1&aht=abc&patience=99999&agent=3"
    r = await client.get(f"{WHATIF}?{query}", headers=bearer("supervisor"))
    assert r.status == 400
    error = (await r.json())["error"]
    assert error["code"] == "invalid_input"
    fields = {p["field"]: p["reason"] for p in error["problems"]}
    assert set(fields) == {"service", "agents", "rate", "aht", "patience", "agent"}
    assert "nursing_advice" in fields["service"]  # says what it expected
    assert "from 1 to 1000" in fields["agents"] and "from 0 to 1200" in fields["rate"]
    assert "expected a number" in fields["aht"] and "from 1 to 1800" in fields["patience"]
    assert "unknown query parameter" in fields["agent"]
    r = await client.get(f"{WHATIF}?agents=2.5&rate=nan", headers=bearer("supervisor"))
    problems = {p["field"] for p in (await r.json())["error"]["problems"]}
    assert r.status == 400 and problems == {"service", "agents", "rate"}


async def test_only_supervisors_see_the_staffing_view(served: tuple[Client, WallClock]) -> None:
    client, _ = served
    for path in (VIEW, f"{WHATIF}?service=oral_health"):
        r = await client.get(path, headers=bearer("agent-a001"))
        assert r.status == 403, path
        assert (await r.json())["error"]["code"] == "forbidden"
        assert (await client.get(path)).status == 401


async def test_arrivals_are_counted_over_the_hours_open_today(aiohttp_client: MakeClient) -> None:
    """Oral health opens 08:00-16:00 on weekdays: before 08:00 there is no rate to figure
    with; at 10:30 its calls count over 2.5 open hours, not 10.5 since midnight."""
    client, _, clock = await served_at(aiohttp_client, "2026-12-07 07:30", sample_region())
    before = await block(client, "oral_health")
    assert before["observed_s"] == 0 and before["arrivals_per_hour"] is None
    assert before["figures"] is None and before["curve"] == [] and before["agents_needed"] is None
    clock.set("2026-12-07 10:30")
    for i in range(5):
        await call(client, f"h{i}")
    await login(client, "a007")
    clock.t += REFRESH_S  # past the view's own pause between counts
    oral = await block(client, "oral_health")
    assert oral["observed_s"] == 2.5 * 3600 + REFRESH_S
    assert oral["arrivals_per_hour"] == round(5 / (oral["observed_s"] / 3600), 1) == 2.0
    same_figures(oral["figures"], erlang_c_result(1, 2.0 / 3600, DEFAULT_HANDLE_S, 3600.0))


async def test_todays_count_follows_new_arrivals_after_a_short_pause(
    served: tuple[Client, WallClock],
) -> None:
    client, clock = served
    await call(client, "p0")
    assert (await block(client, "oral_health"))["arrivals_today"] == 1
    await call(client, "p1")
    # Counted again at most every REFRESH_S seconds of the service's clock.
    assert (await block(client, "oral_health"))["arrivals_today"] == 1
    clock.t += REFRESH_S
    assert (await block(client, "oral_health"))["arrivals_today"] == 2
