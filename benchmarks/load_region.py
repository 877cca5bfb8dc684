"""The region the service load and failover benchmarks serve: generated, with its own
secrets.

One service (``general``: any agent with the ``general`` skill, one urgency class, reach
the whole region from the start, no wrap-up, offers that wait ten minutes), one site and
team, ``agents`` agents taking one call at a time in Finnish, and bearer tokens made up
for this run (stored, as the service wants them, only as SHA-256 hashes; never the
published demo tokens).

With ``silent`` > 0 (the failover benchmark) there is a second service, ``held``, that
only ``silent`` further agents can take (skill ``held``; they lack ``general``, and the
working agents lack ``held``): its offers expire after ``held_offer_timeout_s``, with no
cool-down and without setting the agent not ready, so an agent who never answers is
offered the same call again at once and a timer is always about to fire.

The file is written with ``yaml.safe_dump`` and checked with the service's own loader
before the server is started, so a schema mistake is reported here rather than as a
server that never comes up.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from router.config import load_region
from router.config.tokens import hash_token

SERVICE = "general"
HELD_SERVICE = "held"
SITE = "bench-site"
TEAM = "bench-team"
LANGUAGE = "fi"


@dataclass(frozen=True, slots=True)
class LoadRegion:
    path: Path
    phone_token: str  # integration token for the phone channel
    agent_tokens: dict[str, str]  # agent id -> secret, in roster order
    silent_tokens: dict[str, str] = field(default_factory=dict)  # the ``held`` agents


def agent_id(n: int) -> str:
    return f"b{n:05d}"


def silent_agent_id(n: int) -> str:
    return f"s{n:05d}"


def region_document(
    agent_ids: list[str],
    phone_hash: str,
    agent_hashes: dict[str, str],
    silent_ids: tuple[str, ...] = (),
    held_offer_timeout_s: float = 0.5,
) -> dict[str, Any]:
    """The region file as a YAML-ready mapping (see ``docs/configuration.md``)."""
    tokens: list[dict[str, Any]] = [
        {
            "name": "bench-telephony",
            "role": "integration",
            "sha256": phone_hash,
            "channels": ["phone"],
        }
    ]
    tokens += [
        {"name": f"bench-agent-{aid}", "role": "agent", "sha256": agent_hashes[aid], "agent": aid}
        for aid in (*agent_ids, *silent_ids)
    ]
    services: list[dict[str, Any]] = [
        {
            "name": SERVICE,
            "requirement": "general>=1",
            "urgencies": {"normal": {"target_s": 3600}},
            "steps": [{"kind": "region"}],
            "agent_choice": "longest_idle",
            "wrapup_s": 0,
            "offer_timeout_s": 600,
            "not_ready_on_timeout": False,
        }
    ]
    if silent_ids:
        services.append(
            {
                "name": HELD_SERVICE,
                "requirement": "held>=1",
                "urgencies": {"normal": {"target_s": 3600}},
                "steps": [{"kind": "region"}],
                "agent_choice": "longest_idle",
                "wrapup_s": 0,
                "offer_timeout_s": held_offer_timeout_s,
                "decline_cooldown_s": 0,
                "not_ready_on_timeout": False,
            }
        )
    return {
        "region": {"name": "Yhteys service load benchmark", "timezone": "Europe/Helsinki"},
        "languages": [LANGUAGE],
        "skills": ["general", "held"] if silent_ids else ["general"],
        "sites": [{"id": SITE, "name": "Benchmark site"}],
        "teams": [{"id": TEAM, "site": SITE, "name": "Benchmark team"}],
        "services": services,
        "agents": [
            {
                "id": aid,
                "name": f"Agent {aid}",
                "team": TEAM,
                "skills": {"general": 3},
                "languages": [LANGUAGE],
                "capacity": {"voice": 1},
            }
            for aid in agent_ids
        ]
        + [
            {
                "id": aid,
                "name": f"Silent agent {aid}",
                "team": TEAM,
                "skills": {"held": 1},
                "languages": [LANGUAGE],
                "capacity": {"voice": 1},
            }
            for aid in silent_ids
        ],
        "tokens": tokens,
    }


def write_region(
    directory: Path, agents: int, silent: int = 0, held_offer_timeout_s: float = 0.5
) -> LoadRegion:
    """Writes ``region.yaml`` into ``directory`` and returns it with the secrets."""
    if agents < 1 or silent < 0:
        raise ValueError("the benchmark needs at least one agent")
    if held_offer_timeout_s <= 0:
        raise ValueError("the held service's offer timeout must be above 0")
    ids = [agent_id(n) for n in range(1, agents + 1)]
    quiet = tuple(silent_agent_id(n) for n in range(1, silent + 1))
    phone = "bench-phone-" + secrets.token_urlsafe(24)
    tokens = {aid: f"bench-{aid}-" + secrets.token_urlsafe(24) for aid in (*ids, *quiet)}
    document = region_document(
        ids,
        hash_token(phone),
        {aid: hash_token(t) for aid, t in tokens.items()},
        quiet,
        held_offer_timeout_s,
    )
    path = directory / "region.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    load_region(path)  # raises ConfigError listing every problem
    return LoadRegion(
        path,
        phone,
        {aid: tokens[aid] for aid in ids},
        {aid: tokens[aid] for aid in quiet},
    )
