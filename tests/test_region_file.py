"""The region file against the region's stored configuration in Redis mode (issue 13.3,
13.4): an instance whose file differs from the one the region was last started with
refuses to start and names every difference, or applies them as live edits when told
to; a second instance with another file never joins a running region. Real
``redis-server``, real HTTP and websockets; the CLI path in a real process."""

from __future__ import annotations

import asyncio
import copy
import hashlib
import logging
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestClient

from router.app import build_app
from router.config import parse_region
from router.config.region import Region
from router.core.engine import Engine
from router.core.errors import InvalidEvent
from router.core.events import AgentUpdated
from router.service.regionfile import (
    differences,
    encode_document,
    fingerprint,
    region_document,
)
from router.service.replica_state import ReplicaSettings
from router.service.replicated import ReplicatedRuntime
from router.service.service import Service, Settings
from router.store import StoredConfig
from router.store.codec import encode
from router.store.keys import region_key
from router.store.redis import RedisStore
from tests.redis_support import free_port, unique_region
from tests.service_support import REGION_FILE, bearer, login, until

Client = TestClient[Any, Any]
MakeClient = Callable[..., Awaitable[Client]]
ROOT = Path(__file__).resolve().parent.parent
FAST = ReplicaSettings(
    lease_ttl_s=0.6, renew_every_s=0.1, acquire_every_s=0.05, read_block_ms=100, retry_s=0.05
)
START_TIMEOUT_S = 10.0
NEW_AGENT = {
    "id": "a900",
    "name": "Uusi Hoitaja",
    "team": "vaasa-nurses",
    "skills": {"nursing": 3},
    "languages": ["fi", "sv"],
    "capacity": {"voice": 1},
}


def sample_data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(Path(ROOT / REGION_FILE).read_text(encoding="utf-8"))
    return data


def edited(
    *, cooldown_s: int | None = None, add: bool = False, remove: str = "", drop_token: str = ""
) -> dict[str, Any]:
    """The sample file with edits: nursing advice's decline cool-down, agent a900 (and
    its token) added, an agent removed (with its token), an agent's token removed only,
    and agent a001 Finnish-only."""
    data = copy.deepcopy(sample_data())
    if cooldown_s is not None:
        (advice,) = [s for s in data["services"] if s["name"] == "nursing_advice"]
        advice["decline_cooldown_s"] = cooldown_s
    if add:
        data["agents"].append(dict(NEW_AGENT))
        secret = hashlib.sha256(b"demo-agent-a900").hexdigest()
        data["tokens"].append(
            {"name": "agent-a900", "role": "agent", "sha256": secret, "agent": "a900"}
        )
        (a001,) = [a for a in data["agents"] if a["id"] == "a001"]
        a001["languages"] = ["fi"]
    if remove:
        data["agents"] = [a for a in data["agents"] if a["id"] != remove]
    for agent in (remove, drop_token):
        if agent:
            data["tokens"] = [t for t in data["tokens"] if t.get("agent") != agent]
    return data


def as_region(data: dict[str, Any], source: str = "edited.yaml") -> Region:
    # Without opening hours, as the other service tests: nothing here depends on the time.
    return replace(parse_region(data, source), hours={}, after_hours={})


class Instances:
    """In-process instances of one region on the test's Redis."""

    def __init__(self, url: str, make_client: MakeClient) -> None:
        self.url = url
        self.key = unique_region()
        self.make_client = make_client
        self.stores: list[RedisStore] = []

    async def start(self, region: Region, apply: bool = False) -> tuple[Client, Service]:
        store = RedisStore(self.url, self.key)
        self.stores.append(store)
        service = Service(region, Settings(apply_region_changes=apply), store=store, replica=FAST)
        client = await self.make_client(build_app(service))
        runtime = service.runtime
        assert isinstance(runtime, ReplicatedRuntime)
        await until(lambda: runtime.healthy or runtime.refused.is_set(), START_TIMEOUT_S)
        return client, service

    async def close(self) -> None:
        for store in self.stores:
            await store.close()


@pytest.fixture
async def instances(redis_url: str, aiohttp_client: MakeClient) -> AsyncIterator[Instances]:
    group = Instances(redis_url, aiohttp_client)
    try:
        yield group
    finally:
        await group.close()


def refusal(service: Service) -> str:
    runtime = service.runtime
    assert isinstance(runtime, ReplicatedRuntime)
    assert runtime.refusal is not None, "the instance started"
    return runtime.refusal


async def first_run(instances: Instances) -> None:
    """The region started with the sample file, a snapshot taken, stopped cleanly."""
    client, service = await instances.start(as_region(sample_data()))
    runtime = service.runtime
    assert isinstance(runtime, ReplicatedRuntime)
    assert runtime.refusal is None
    await login(client, "a001")
    await until(lambda: runtime.is_leader, START_TIMEOUT_S)
    await runtime.snapshot()
    await client.close()


async def test_a_changed_region_file_is_refused_naming_each_difference(
    instances: Instances,
) -> None:
    await first_run(instances)
    changed = as_region(edited(cooldown_s=60, add=True, remove="a042"))
    client, service = await instances.start(changed)
    text = refusal(service)
    assert "differs from the configuration it was last started with" in text
    assert "service nursing_advice: changed decline_cooldown_s 120 -> 60" in text
    assert "agent a900: added" in text
    assert 'agent a001: changed languages ["fi", "sv"] -> ["fi"]' in text
    assert "agent a042: removed" in text
    assert "token agent-a900: added" in text and "token agent-a042: removed" in text
    async with client.get("/readyz") as r:
        assert r.status == 503
    await client.close()

    # Told to apply: a removal cannot be made to a running region, and says so.
    client, service = await instances.start(changed, apply=True)
    text = refusal(service)
    assert "These cannot be made to a running region:" in text
    assert "agent a042 removed (there is no live removal of an agent" in text
    await client.close()


async def test_with_the_flag_the_changes_are_applied_as_live_edits_and_kept(
    instances: Instances, caplog: pytest.LogCaptureFixture
) -> None:
    await first_run(instances)
    changed = as_region(edited(cooldown_s=60, add=True, drop_token="a042"))
    caplog.set_level(logging.INFO, "yhteys.regionfile")
    client, service = await instances.start(changed, apply=True)
    runtime = service.runtime
    assert isinstance(runtime, ReplicatedRuntime)
    assert runtime.refusal is None and runtime.healthy
    supervisor = bearer("supervisor")
    async with client.get("/api/supervisor/services/nursing_advice", headers=supervisor) as r:
        assert (await r.json())["decline_cooldown_s"] == 60
    async with client.get("/api/supervisor/agents/a001", headers=supervisor) as r:
        assert (await r.json())["languages"] == ["fi"]
    async with client.get("/api/supervisor/agents/a900", headers=supervisor) as r:
        assert r.status == 200, await r.text()
    ws = await login(client, "a900")  # its token works and it is on the roster
    await ws.close()
    async with client.get("/api/agent/state", headers=bearer("agent-a042")) as r:
        assert r.status == 401  # its token is gone; it stays on the roster
    assert "region file: agent a900: added" in caplog.text
    assert "region file: service nursing_advice: changed decline_cooldown_s" in caplog.text
    await client.close()

    # The file is now the region's: the same file starts without the flag.
    client, service = await instances.start(changed)
    assert refusal_of(service) is None
    async with client.get("/api/supervisor/agents/a900", headers=supervisor) as r:
        assert r.status == 200
    await client.close()


async def test_a_supervisors_live_edit_does_not_make_a_restart_refuse(
    instances: Instances,
) -> None:
    await first_run(instances)
    client, service = await instances.start(as_region(sample_data()))
    async with client.patch(
        "/api/supervisor/services/nursing_advice",
        json={"decline_cooldown_s": 45},
        headers=bearer("supervisor"),
    ) as r:
        assert r.status == 200, await r.text()
    await client.close()
    client, service = await instances.start(as_region(sample_data()))
    assert refusal_of(service) is None
    async with client.get(
        "/api/supervisor/services/nursing_advice", headers=bearer("supervisor")
    ) as r:
        assert (await r.json())["decline_cooldown_s"] == 45  # the state is the truth
    await client.close()


async def test_a_second_instance_with_another_file_is_refused_while_the_first_runs(
    instances: Instances,
) -> None:
    first, service = await instances.start(as_region(sample_data()))
    assert refusal_of(service) is None
    second, other = await instances.start(as_region(edited(cooldown_s=60, add=True)))
    text = refusal(other)
    assert "service nursing_advice: changed decline_cooldown_s 120 -> 60" in text
    assert "agent a900: added" in text
    async with first.get("/readyz") as r:
        assert r.status == 200  # the first carries on
    await second.close()
    await first.close()


def refusal_of(service: Service) -> str | None:
    runtime = service.runtime
    assert isinstance(runtime, ReplicatedRuntime)
    return runtime.refusal


async def serve(*args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "router.cli", "serve", "--log-format", "text", *args,
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        _, err = await asyncio.wait_for(proc.communicate(), START_TIMEOUT_S * 2)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    return proc.returncode, err.decode()


async def test_yhteys_serve_refuses_a_changed_file_before_listening(
    redis_url: str, tmp_path: Path
) -> None:
    data = sample_data()
    # The region as it was last started (what `yhteys serve` stores once caught up).
    document = region_document(parse_region(data, "config/region.yaml"))
    stored = StoredConfig(
        fingerprint(encode_document(document)), encode_document(document), 0.0, "i1"
    )
    store = RedisStore(redis_url, region_key(data["region"]["name"]))
    try:
        assert await store.save_config(stored, None)
    finally:
        await store.close()
    path = tmp_path / "region.yaml"
    path.write_text(yaml.safe_dump(edited(cooldown_s=60, add=True)), encoding="utf-8")
    code, err = await serve("--config", str(path), "--redis", redis_url, "--port", "1")
    assert code == 2, err
    assert f"yhteys serve: the region file {path} differs" in err
    assert "service nursing_advice: changed decline_cooldown_s 120 -> 60" in err
    assert "agent a900: added" in err
    assert "--apply-region-changes" in err
    assert "cannot listen" not in err  # refused before binding (port 1 would fail)


async def test_a_region_without_a_stored_file_is_compared_with_its_state(
    redis_url: str,
) -> None:
    """A region started before the rule: its state (here a supervisor's edit in the log,
    no stored file) disagrees with the file; `yhteys serve` catches up, then stops with
    exit code 2 naming the difference rather than serve a region it disagrees with."""
    data = sample_data()
    spec = parse_region(data, REGION_FILE).agents["a001"]
    finnish_only = replace(spec, abilities=replace(spec.abilities, languages=frozenset({"fi"})))
    store = RedisStore(redis_url, region_key(data["region"]["name"]))
    try:
        await store.append([encode([("old-1:1", 1.0, AgentUpdated(finnish_only))])])
    finally:
        await store.close()
    code, err = await serve("--redis", redis_url, "--port", str(free_port()))
    assert code == 2, err
    assert "differs from the region's state (no region file stored yet)" in err
    assert 'agent a001: changed languages ["fi"] -> ["fi", "sv"]' in err


async def test_apply_region_changes_is_refused_in_memory_mode() -> None:
    code, err = await serve("--apply-region-changes", "--port", "1")
    assert code == 2
    assert "--apply-region-changes: only in Redis mode" in err


def test_partner_agreements_added_to_a_region_started_without_them_are_refused() -> None:
    """A region whose state predates partner agreements (an older version's snapshot
    has none): a file that adds them differs in sections the engine cannot take live, so
    the check refuses it even with --apply-region-changes, rather than store it as
    accepted while the engine would treat the partner agents as ungated agents."""
    before = copy.deepcopy(sample_data())
    before.pop("partners", None)
    before["agents"] = [a for a in before["agents"] if not a.get("partner")]
    before["tokens"] = [t for t in before["tokens"] if t.get("agent") not in {"kp01", "kp02"}]
    old_region, new_region = as_region(before), as_region(sample_data())
    engine = Engine(old_region.policy())
    diff = differences(region_document(new_region, engine), region_document(new_region))
    assert any(line.startswith("partners:") for line in diff.fixed), diff.fixed
    # And the engine never takes a partner agent it has no agreement for.
    with pytest.raises(InvalidEvent, match="no partner agreements"):
        engine.apply(1.0, AgentUpdated(new_region.agents["kp01"]))
