"""The ``tokens`` section: bearer tokens per role, stored only as SHA-256 hashes.

tokens:
  - name: telephony                 # shown in logs instead of the secret
    role: integration               # agent | supervisor | integration | public
    sha256: 64 hex digits           # sha256 of the token, e.g. `printf %s TOKEN | sha256sum`
    channels: [phone, callback]     # integration only: phone, chat, web, workitems, callback,
                                    # feedback (the SMS gateway's answers and opt-outs)
    sources: [omaolo]               # integration with workitems: allowed source systems
    agent: a001                     # agent only: whose token it is
    demo: true                      # a published demo token (refused off loopback)
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from enum import StrEnum

from router.config.errors import Problems
from router.config.reader import Fields, as_enum


class Role(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    INTEGRATION = "integration"
    PUBLIC = "public"


class ApiChannel(StrEnum):
    """Channels as integrations know them (``phone`` is the engine's voice channel)."""

    PHONE = "phone"
    CHAT = "chat"
    WEB = "web"
    WORKITEMS = "workitems"
    CALLBACK = "callback"
    FEEDBACK = "feedback"  # the SMS gateway relaying survey answers and opt-outs


@dataclass(frozen=True, slots=True)
class TokenSpec:
    name: str
    role: Role
    sha256: str
    agent: str | None = None
    channels: frozenset[ApiChannel] = frozenset()
    sources: frozenset[str] = frozenset()
    demo: bool = False


_HEX64 = re.compile(r"[0-9a-f]{64}")
_REQUIRED = ("name", "role", "sha256")
_OPTIONAL = ("agent", "channels", "sources", "demo")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def read_tokens(
    problems: Problems, top: Fields, agents: set[str] | None, sources: set[str] | None
) -> tuple[TokenSpec, ...]:
    """Reads the optional ``tokens`` list; ``agents``/``sources`` (None when those sections
    are broken) are the ids tokens may refer to."""
    tokens: list[TokenSpec] = []
    seen_names: dict[str, str] = {}
    seen_hashes: dict[str, str] = {}
    for path, value in top.items("tokens"):
        entry = Fields(problems, path, value, _REQUIRED, _OPTIONAL)
        if not entry.valid:
            continue
        name = entry.ident("name")
        role = as_enum(problems, entry.at("role"), entry.raw("role"), Role, "role")
        digest = entry.text("sha256")
        if digest is not None and not _HEX64.fullmatch(digest):
            problems.add(entry.at("sha256"), "must be 64 lowercase hex digits (a SHA-256 hash)")
            digest = None
        agent = entry.ident("agent")
        channels = frozenset(
            c
            for p, v in entry.items("channels")
            if (c := as_enum(problems, p, v, ApiChannel, "channel")) is not None
        )
        source_names = frozenset(
            s for p, v in entry.items("sources") if (s := _source(problems, p, v, sources))
        )
        demo = entry.flag("demo", False)
        if role is Role.AGENT:
            if not entry.given("agent"):
                problems.add(entry.at("agent"), "an agent token must name its agent")
            elif agent is not None and agents is not None and agent not in agents:
                problems.add(entry.at("agent"), f"unknown agent {agent!r}")
        elif entry.given("agent"):
            problems.add(entry.at("agent"), f"only agent tokens name an agent, not {role} tokens")
        if role is Role.INTEGRATION and not channels:
            problems.add(entry.at("channels"), "an integration token must list its channels")
        if role is not Role.INTEGRATION and (entry.given("channels") or entry.given("sources")):
            problems.add(entry.path, "only integration tokens have channels and sources")
        if name is not None:
            if name in seen_names:
                problems.add(
                    entry.at("name"), f"duplicate token name {name!r} (first at {seen_names[name]})"
                )
            seen_names.setdefault(name, entry.at("name"))
        if digest is not None:
            if digest in seen_hashes:
                problems.add(
                    entry.at("sha256"), f"the same token is also used at {seen_hashes[digest]}"
                )
            seen_hashes.setdefault(digest, entry.at("sha256"))
        if name is None or role is None or digest is None:
            continue
        tokens.append(TokenSpec(name, role, digest, agent, channels, source_names, demo))
    return tuple(tokens)


def _source(problems: Problems, path: str, value: object, sources: set[str] | None) -> str | None:
    if not isinstance(value, str) or not value:
        problems.add(path, "expected a source system name")
        return None
    if sources is not None and value not in sources:
        problems.add(path, f"unknown source {value!r}; sources are the region's authorisations")
        return None
    return value
