"""The ecosystem's parts (issue 17.6): the Dockerfile and compose file (this machine has no
Docker, so they are read, not run), the Grafana dashboard and Prometheus rules against the
metrics a real test server exports, LICENSE, CHANGELOG and the one version number."""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import yaml
from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families

from router.app import build_app
from tests.service_support import agent_ws, bearer, make_service, next_of

ROOT = Path(__file__).resolve().parent.parent
Client = TestClient[Any, Any]
MakeClient = Callable[..., Awaitable[Client]]
METRIC = re.compile(r"\byhteys_[a-z_]+\b")
CALL = {
    "call_id": "d1",
    "caller": "+358401234567",
    "ivr": {"service": "nursing_advice", "language": "fi"},
    "site": "vaasa",
}


def _version() -> str:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    version: str = pyproject["project"]["version"]
    return version


# ------------------------------------------------------------------ Dockerfile


def _instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    found = []
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def test_the_dockerfile_installs_the_lock_with_hashes_then_the_package_alone() -> None:
    steps = _instructions()
    assert steps[0] == ("FROM", "python:3.11-slim")
    runs = [rest for word, rest in steps if word == "RUN"]
    lock = next(i for i, r in enumerate(runs) if "-r " in r)
    assert "--require-hashes" in runs[lock] and "requirements.lock" in runs[lock]
    package = next(i for i, r in enumerate(runs) if "install --no-deps --no-build-isolation" in r)
    assert lock < package
    # Every file it copies is in the repository.
    for word, rest in steps:
        if word == "COPY":
            *sources, _ = rest.split()
            for source in sources:
                assert (ROOT / source).exists(), source
    users = [rest for word, rest in steps if word == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert ("EXPOSE", "8080") in steps
    (health,) = [rest for word, rest in steps if word == "HEALTHCHECK"]
    assert "/healthz" in health
    (cmd,) = [json.loads(rest) for word, rest in steps if word == "CMD"]
    assert cmd[:4] == ["yhteys", "serve", "--host", "0.0.0.0"]
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert ".venv" in ignored and ".git" in ignored


# ------------------------------------------------------------------ compose


def test_the_compose_file_runs_two_instances_on_one_redis_7_with_appendonly() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    services = compose["services"]
    redis = services["redis"]
    assert redis["image"].startswith("redis:7")
    command = (
        redis["command"] if isinstance(redis["command"], list) else shlex.split(redis["command"])
    )
    assert command[command.index("--appendonly") + 1] == "yes"
    assert any(v.endswith(":/data") for v in redis["volumes"])
    instances = {
        name: s for name, s in services.items() if s.get("build") == "." and "profiles" not in s
    }
    assert len(instances) == 2, sorted(services)
    urls = {s["environment"]["YHTEYS_REDIS_URL"] for s in instances.values()}
    assert urls == {"redis://redis:6379/0"}
    ports = [s["ports"][0].split(":")[0] for s in instances.values()]
    assert len(set(ports)) == 2
    for service in instances.values():
        assert service["depends_on"]["redis"]["condition"] == "service_healthy"
        config = service["environment"]["YHTEYS_CONFIG"]
        mounts = [v.split(":") for v in service["volumes"]]
        assert any(target == config and (ROOT / source).is_file() for source, target, *_ in mounts)
    prometheus = services["prometheus"]
    for volume in prometheus["volumes"]:
        assert (ROOT / volume.split(":")[0]).is_file(), volume
    scrape = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text("utf-8"))
    targets = scrape["scrape_configs"][0]["static_configs"][0]["targets"]
    assert {t.split(":")[0] for t in targets} == set(instances)


# ------------------------------------------------------------------ dashboard and alerts


async def _exported(aiohttp_client: MakeClient) -> tuple[set[str], set[str]]:
    """The metric families and sample names a real test server exports after a call is
    routed and completed and another waits."""
    client = await aiohttp_client(build_app(make_service()))
    ws = await agent_ws(client, "a001")
    r = await client.post("/api/channels/phone/calls", json=CALL, headers=bearer("telephony"))
    assert (await r.json())["action"] == "connect"
    await next_of(ws, "offer")
    r = await client.post(
        "/api/channels/phone/calls/d1/answered",
        json={"agent_id": "a001"},
        headers=bearer("telephony"),
    )
    assert (await r.json())["action"] == "connected"
    second = {**CALL, "call_id": "d2"}
    r = await client.post("/api/channels/phone/calls", json=second, headers=bearer("telephony"))
    assert (await r.json())["action"] == "queue"
    await ws.send_json({"type": "complete", "contact_id": "phone-d1", "outcome": "resolved"})
    await next_of(ws, "closed")
    r = await client.get("/metrics")
    assert r.status == 200
    families: set[str] = set()
    samples: set[str] = set()
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}
    for family in text_string_to_metric_families(await r.text()):
        if family.name.endswith("_created"):
            continue  # creation times: `yhteys serve` turns them off
        families.add(family.name)
        samples.update(s.name for s in family.samples)
        # A labelled family with no child yet (e.g. nobody refused) is still exported.
        samples.update(family.name + suffix for suffix in suffixes.get(family.type, ("",)))
    await ws.close()
    return families, samples


def _dashboard_queries() -> list[str]:
    dashboard = json.loads((ROOT / "deploy/grafana/yhteys.json").read_text(encoding="utf-8"))
    return [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]


def _alert_queries() -> list[str]:
    rules = yaml.safe_load((ROOT / "deploy/prometheus/alerts.yaml").read_text(encoding="utf-8"))
    found = []
    for group in rules["groups"]:
        for rule in group["rules"]:
            assert {"alert", "expr", "labels", "annotations"} <= set(rule), rule
            found.append(rule["expr"])
    return found


async def test_every_metric_the_dashboard_and_the_alerts_query_is_exported(
    aiohttp_client: MakeClient,
) -> None:
    families, samples = await _exported(aiohttp_client)
    dashboard, alerts = _dashboard_queries(), _alert_queries()
    assert dashboard and alerts
    used = {name for expr in dashboard + alerts for name in METRIC.findall(expr)}
    assert used - samples == set(), f"queried but not exported: {sorted(used - samples)}"
    # And the dashboard shows every family the service exports.
    shown = {name for expr in dashboard for name in METRIC.findall(expr)}
    unshown = {
        f
        for f in families
        if f.startswith("yhteys_") and not any(s == f or s.startswith(f + "_") for s in shown)
    }
    assert unshown == set(), f"exported but on no panel: {sorted(unshown)}"
    documented = (ROOT / "docs/deploy.md").read_text(encoding="utf-8")
    for family in families:
        if family.startswith("yhteys_"):
            assert family in documented, family


# ------------------------------------------------------------------ license, changelog, version


def test_license_changelog_and_one_version_number() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["license"] == "MIT"
    license_text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert license_text.startswith("MIT License\n")
    assert "Copyright (c) 2026 the Yhteys authors" in license_text
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## \[([^\]]+)\]", changelog, re.MULTILINE)
    assert headings and headings[0] in ("Unreleased", _version())
    assert _version() in headings
    # The version is written in pyproject only: no module spells it out.
    literal = re.compile(rf"""["']{re.escape(_version())}["']""")
    spelled = [
        str(path.relative_to(ROOT))
        for top in ("router", "skills", "channels")
        for path in (ROOT / top).rglob("*.py")
        if literal.search(path.read_text(encoding="utf-8"))
    ]
    assert spelled == []
