"""Every supervisor route that takes a local day refuses one at the calendar's ends with
a 400 naming the parameter (the day's hours for 9999-12-31 were a 500: the plan reads
the next day, past the last date there is)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from router.app import build_app
from tests.service_support import bearer, make_service

Client = TestClient[Any, Any]
MakeClient = Callable[..., Awaitable[Client]]

ROUTES = [
    ("/api/supervisor/services/oral_health/hours", "date"),
    ("/api/supervisor/reports/daily", "date"),
    ("/api/supervisor/reports/daily/charts", "date"),
    ("/api/supervisor/audit/export", "from"),
]


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
async def test_a_day_at_the_calendars_ends_is_refused(aiohttp_client: MakeClient, day: str) -> None:
    client = await aiohttp_client(build_app(make_service()))
    for path, key in ROUTES:
        r = await client.get(f"{path}?{key}={day}", headers=bearer("supervisor"))
        assert r.status == 400, (path, r.status, await r.text())
        (problem,) = (await r.json())["error"]["problems"]
        assert problem["field"] == key
        assert problem["reason"] == f"expected a date from 1970-01-01 to 9998-12-31, got {day!r}"
    # The last day there is an answer for is answered.
    r = await client.get(f"{ROUTES[0][0]}?date=9998-12-31", headers=bearer("supervisor"))
    assert r.status == 200, await r.text()
