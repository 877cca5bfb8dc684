"""The region the service load benchmark serves: generated, with its own secrets.

One service (``general``: any agent with the ``general`` skill, one urgency class, reach
the whole region from the start, no wrap-up, offers that wait ten minutes), one site and
team, ``agents`` agents taking one call at a time in Finnish, and bearer tokens made up
for this run (stored, as the service wants them, only as SHA-256 hashes; never the
published demo tokens). The file is written with ``yaml.safe_dump`` and checked with the
service's own loader before the server is started, so a schema mistake is reported here
rather than as a server that never comes up.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from router.config import load_region
from router.config.tokens import hash_token

SERVICE = "general"
SITE = "bench-site"
TEAM = "bench-team"
LANGUAGE = "fi"


@dataclass(frozen=True, slots=True)
class LoadRegion:
    path: Path
    phone_token: str  # integration token for the phone channel
    agent_tokens: dict[str, str]  # agent id -> secret, in roster order


def agent_id(n: int) -> str:
    return f"b{n:05d}"


def region_document(
    agent_ids: list[str], phone_hash: str, agent_hashes: dict[str, str]
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
        for aid in agent_ids
    ]
    return {
        "region": {"name": "Yhteys service load benchmark", "timezone": "Europe/Helsinki"},
        "languages": [LANGUAGE],
        "skills": ["general"],
        "sites": [{"id": SITE, "name": "Benchmark site"}],
        "teams": [{"id": TEAM, "site": SITE, "name": "Benchmark team"}],
        "services": [
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
        ],
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
        ],
        "tokens": tokens,
    }


def write_region(directory: Path, agents: int) -> LoadRegion:
    """Writes ``region.yaml`` into ``directory`` and returns it with the secrets."""
    if agents < 1:
        raise ValueError("the benchmark needs at least one agent")
    ids = [agent_id(n) for n in range(1, agents + 1)]
    phone = "bench-phone-" + secrets.token_urlsafe(24)
    agent_tokens = {aid: f"bench-{aid}-" + secrets.token_urlsafe(24) for aid in ids}
    document = region_document(
        ids, hash_token(phone), {aid: hash_token(t) for aid, t in agent_tokens.items()}
    )
    path = directory / "region.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    load_region(path)  # raises ConfigError listing every problem
    return LoadRegion(path, phone, agent_tokens)
