"""The API contract, checked from outside: schemathesis over ``/openapi.json`` for every
role against a real loopback server, and the contract's promises one by one (depth and
size limits, 405 with Allow, HEAD, 426 on websockets, declared parameters and answers,
``problems[]`` on every error)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import schemathesis
from aiohttp import WSMsgType, web
from schemathesis.engine import events, from_schema

from router.service.app import build_app
from router.service.http import MAX_JSON_DEPTH
from tests.service_support import Client, bearer, login, make_service

DEEP = "[" * 1000 + "]" * 1000  # 2 KB of nesting: the parser's recursion limit, not ours

# One token per role (and integration channel), so every operation is tried by a caller
# it lets in as well as by callers it turns away.
ROLES = ("supervisor", "agent-a001", "telephony", "website", "omaolo", "public")

# Failures a check reports where the check measures something other than the contract;
# each with the evidence. Nothing else is ignored.
NOT_MEASURABLE: dict[tuple[str, str], str] = {
    # schemathesis sends plain HTTP and cannot upgrade to a websocket, so a schema-valid
    # GET of a websocket is always answered 426 (documented in the entry, with the
    # Upgrade header); test_websocket_over_plain_get_is_426 checks that answer.
    ("GET /api/agent/ws", "positive_data_acceptance"): "websocket",
    ("GET /api/supervisor/ws", "positive_data_acceptance"): "websocket",
    ("GET /api/channels/chat/ws", "positive_data_acceptance"): "websocket",
    # A merge patch is valid against the service it merges into: a step without a
    # duration only last, default_urgency among the (patched) urgencies, overflow
    # without loops. JSON Schema cannot say that; the 400 lists each problem.
    ("PATCH /api/supervisor/services/{name}", "positive_data_acceptance"): "cross-field",
    # to >= from, at most 31 days, rows only with format=csv: rules across parameters.
    ("GET /api/supervisor/audit/export", "positive_data_acceptance"): "cross-parameter",
    # window_start must be the start of a window offered now (GET .../windows): state.
    ("POST /api/channels/callbacks", "positive_data_acceptance"): "offered windows",
}


@contextmanager
def serving(**settings: Any) -> Iterator[str]:
    """A real server on a loopback port, run by its own event loop in a thread (the
    schemathesis engine makes blocking requests); yields its base URL."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    box: dict[str, Any] = {}

    async def start() -> None:
        runner = web.AppRunner(build_app(make_service(**settings)))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        box["runner"] = runner
        box["port"] = runner.addresses[0][1]

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        started.set()
        loop.run_forever()
        loop.run_until_complete(box["runner"].cleanup())
        loop.close()

    thread = threading.Thread(target=run, name="contract-server", daemon=True)
    thread.start()
    if not started.wait(30):
        raise RuntimeError("the test server did not start in 30 s")
    try:
        yield f"http://127.0.0.1:{box['port']}"
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)


def contract_failures(base: str, token: str, max_examples: int) -> list[str]:
    """Every check failure of a schemathesis run (examples, coverage and fuzzing phases,
    every check) as the caller ``token``, but for NOT_MEASURABLE."""
    config = schemathesis.Config.from_dict(
        {
            "headers": {"Authorization": f"Bearer demo-{token}"},
            "generation": {"max-examples": max_examples, "database": "none"},
            "phases": {"stateful": {"enabled": False}},
            "checks": {"enabled": True},
        }
    )
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json", config=config)
    found: list[str] = []
    for event in from_schema(schema).execute():
        if isinstance(event, events.FatalError | events.NonFatalError):
            found.append(f"{token}: error {event}")
        if not isinstance(event, events.ScenarioFinished):
            continue
        recorder = event.recorder
        for case_id, checks in recorder.checks.items():
            for check in checks:
                info = check.failure_info
                if info is None or (recorder.label, check.name) in NOT_MEASURABLE:
                    continue
                seen = recorder.interactions.get(case_id)
                answer = seen.response.content[:300] if seen and seen.response else b""
                found.append(
                    f"{token}: {recorder.label} {check.name}: {info.failure.title}\n"
                    f"  {info.code_sample}\n  -> {answer!r}"
                )
    return sorted(set(found))


@pytest.mark.parametrize("token", ROLES)
def test_schemathesis_finds_nothing_for_any_role(token: str) -> None:
    """`--checks all` over every operation, a few examples each (bounded for the suite)."""
    with serving() as base:
        failures = contract_failures(base, token, max_examples=3)
    assert failures == [], "\n".join(failures)


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("token", ROLES)
def test_schemathesis_finds_nothing_for_any_role_thoroughly(token: str) -> None:
    with serving() as base:
        failures = contract_failures(base, token, max_examples=60)
    assert failures == [], "\n".join(failures)
