"""The region file against the region's stored configuration (Redis mode): never silent.

The rule (docs/redis.md, "The region file and the stored region"): once a region exists,
its state is the truth. The store keeps the region file as last accepted (its canonical
JSON and SHA-256, the ``config`` key). At start-up an instance compares its own file with
it; when they differ it refuses to start and names every difference, unless started with
``--apply-region-changes``: then the changes that can be made to a running region are
submitted through the log as the same events a supervisor's live edit makes
(``AgentUpdated``, ``ServiceUpdated``), checked by the same readers, logged as made by
"region file", and the file is stored as the one accepted. Changes that cannot be made to
a running region (the skill catalogue, channel blocks, services added or removed, agents
removed) are refused even then, by name.

Supervisors' live edits change the state, not the stored file: a later restart with the
same file starts without complaint and keeps them. A region that has state but no stored
file yet (started by a version before this rule) is compared with its state instead.
Memory mode keeps nothing across restarts, so there is nothing to compare.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from router.config.errors import Problems
from router.config.loader import read_agent, read_service
from router.config.region import Region
from router.config.shapes import agent_entry, service_entry
from router.core.engine import Engine
from router.core.errors import RoutingError
from router.core.events import AgentUpdated, Event, ServiceUpdated
from router.service.replicated import ReplicatedRuntime
from router.store import Store, StoredConfig, StoreUnavailable

if TYPE_CHECKING:
    from router.service.service import Service

log = logging.getLogger("yhteys.regionfile")

BY = "region file"
APPLY_FLAG = "--apply-region-changes"
# Read from the file by each instance, not kept in the region's state: a change takes
# effect on the instances started with the new file.
_FROM_FILE = ("region", "sites", "teams", "tokens")
# Fixed when the region is first started: the engine compiles them into its indexes.
_FIXED = {
    "languages": "the skill catalogue is fixed when the region is first started",
    "skills": "the skill catalogue is fixed when the region is first started",
    "authorisations": "the skill catalogue is fixed when the region is first started",
    "channel_blocks": "channel blocks are fixed when the region is first started",
    "partners": "partner agreements are fixed when the region is first started",
}
_FILE_ONLY_SERVICE_KEYS = ("hours", "after_hours", "feedback")
_SHOWN_CHARS = 60


class RegionMismatch(RuntimeError):
    """The region file differs from the region's stored configuration; the message names
    every difference and what to do."""


# --------------------------------------------------------------------- the document


def plain(value: object) -> Any:
    """A JSON value for configuration objects: dataclasses by their public fields,
    mappings with string keys, sets sorted, enums by value, times as ISO text."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: plain(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if not f.name.startswith("_")
        }
    if isinstance(value, enum.Enum):
        return plain(value.value)
    if isinstance(value, Mapping):
        return {str(plain(k)): plain(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted((plain(v) for v in value), key=repr)
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, ZoneInfo):
        return value.key
    if isinstance(value, date | datetime | time):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return f"{type(value).__name__}:{value!r}"


def region_document(region: Region, engine: Engine | None = None) -> dict[str, Any]:
    """The region's configuration in canonical form, section by section; agents and
    services in the shapes the supervisor API shows. With ``engine``: its agents and
    services as they are now (the region's state) instead of the file's."""
    languages = region.languages
    if engine is None:
        agents = list(region.agents.values())
        services = list(region.services.values())
        catalogue, blocks, agreements = region.catalogue, region.blocks, region.agreements
    else:
        # Everything the engine holds comes from the engine: what it routes by now, so a
        # section it cannot take live (the catalogue, blocks, partner agreements) shows
        # as a difference and is refused, never stored as accepted unapplied.
        agents = [view.spec for view in engine.agents()]
        services = [engine.service(name) for name in engine.services()]
        catalogue = engine.catalogue
        blocks, agreements = engine.policy.blocks, engine.policy.agreements
    return {
        "region": {"name": region.name, "timezone": region.timezone},
        "languages": list(catalogue.languages),
        "skills": list(catalogue.skills),
        "authorisations": list(catalogue.authorisations),
        "sites": {s.id: {"name": s.name} for s in region.sites.values()},
        "teams": {t.id: {"site": t.site, "name": t.name} for t in region.teams.values()},
        "channel_blocks": plain(blocks),
        "services": {
            spec.name: {
                **service_entry(spec),
                "hours": plain(region.hours.get(spec.name)),
                "after_hours": plain(region.after_hours.get(spec.name)),
                # Only when set: a region without a survey keeps its stored fingerprint.
                **(
                    {"feedback": plain(region.feedback[spec.name])}
                    if spec.name in region.feedback
                    else {}
                ),
            }
            for spec in services
        },
        "agents": {spec.id: agent_entry(spec, languages) for spec in agents},
        "tokens": {t.name: plain(t) for t in region.tokens},
        # Only when set: a region without agreements keeps its stored fingerprint.
        **({"partners": plain(agreements)} if agreements else {}),
    }


def encode_document(document: Mapping[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def fingerprint(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------- differences


@dataclass
class Differences:
    """What the file changes against the stored configuration, readable line by line."""

    lines: list[str] = field(default_factory=list)
    # Cannot be made to a running region, with the reason.
    fixed: list[str] = field(default_factory=list)
    # agent id -> changed fields (None: added); service name -> changed live fields.
    agents: dict[str, list[str] | None] = field(default_factory=dict)
    services: dict[str, list[str]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.lines)


def _shown(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= _SHOWN_CHARS else "…"


def _changed_fields(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    return sorted(k for k in {*old, *new} if old.get(k) != new.get(k))


def _field_changes(old: Mapping[str, Any], new: Mapping[str, Any], secret: bool = False) -> str:
    parts = []
    for key in _changed_fields(old, new):
        if secret or key == "sha256":
            parts.append(key)
        else:
            parts.append(f"{key} {_shown(old.get(key))} -> {_shown(new.get(key))}")
    return ", ".join(parts)


def differences(stored: Mapping[str, Any], file: Mapping[str, Any]) -> Differences:
    """Every difference between the stored document and the file's, section by section."""
    out = Differences()
    for key in ("languages", "skills", "authorisations", "channel_blocks", "partners"):
        if stored.get(key) != file.get(key):
            line = f"{key}: {_shown(stored.get(key))} -> {_shown(file.get(key))}"
            out.lines.append(line)
            out.fixed.append(f"{line} ({_FIXED[key]})")
    if stored.get("region") != file.get("region"):
        out.lines.append(f"region: changed {_field_changes(stored['region'], file['region'])}")
    for section, what in (("sites", "site"), ("teams", "team")):
        _entries(out, what, stored.get(section, {}), file.get(section, {}))
    old_services, new_services = stored.get("services", {}), file.get("services", {})
    for name in sorted({*old_services, *new_services}):
        old, new = old_services.get(name), new_services.get(name)
        if old == new:
            continue
        if old is None or new is None:
            verb = "added" if old is None else "removed"
            out.lines.append(f"service {name}: {verb}")
            out.fixed.append(f"service {name} {verb} (services are added and removed only "
                             "when the region is first started)")  # fmt: skip
            continue
        out.lines.append(f"service {name}: changed {_field_changes(old, new)}")
        live = [k for k in _changed_fields(old, new) if k not in _FILE_ONLY_SERVICE_KEYS]
        if live:
            out.services[name] = live
    old_agents, new_agents = stored.get("agents", {}), file.get("agents", {})
    for agent_id in sorted({*old_agents, *new_agents}):
        old, new = old_agents.get(agent_id), new_agents.get(agent_id)
        if old == new:
            continue
        if new is None:
            out.lines.append(f"agent {agent_id}: removed")
            out.fixed.append(
                f"agent {agent_id} removed (there is no live removal of an agent: keep the "
                "entry and remove the agent's tokens, so that nobody can log in as them)"
            )
        elif old is None:
            out.lines.append(f"agent {agent_id}: added")
            out.agents[agent_id] = None
        else:
            out.lines.append(f"agent {agent_id}: changed {_field_changes(old, new)}")
            out.agents[agent_id] = _changed_fields(old, new)
    _entries(out, "token", stored.get("tokens", {}), file.get("tokens", {}))
    return out


def _entries(out: Differences, what: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
    for key in sorted({*old, *new}):
        if old.get(key) == new.get(key):
            continue
        if key not in new:
            out.lines.append(f"{what} {key}: removed")
        elif key not in old:
            out.lines.append(f"{what} {key}: added")
        else:
            changes = _field_changes(old[key], new[key], secret=what == "token")
            out.lines.append(f"{what} {key}: changed {changes}")


def refusal(source: str, region: Region, stored: StoredConfig | None, diff: Differences) -> str:
    where = (
        f"the configuration it was last started with (stored by {stored.by})"
        if stored is not None
        else "the region's state (no region file stored yet)"
    )
    lines = [
        f"the region file {source} differs from {where} for region {region.name!r}:",
        *(f"  {line}" for line in diff.lines),
    ]
    if diff.fixed:
        lines.append("These cannot be made to a running region:")
        lines.extend(f"  {line}" for line in diff.fixed)
        lines.append(
            "Put them back in the file. (To start the region afresh with them, stop every "
            "instance and delete the region's keys: docs/redis.md.)"
        )
    else:
        lines.append(
            f"To apply them, start one instance with {APPLY_FLAG} (they are made as "
            "supervisors' live edits are, through the log); or put the file back."
        )
    return "\n".join(lines)


# --------------------------------------------------------------------- start-up


async def check_stored(service: Service, apply: bool) -> None:
    """Before the instance listens: refuses at once when the file differs from the stored
    one in a way ``apply`` does not allow. (Without a stored file there is nothing to
    compare yet; :func:`reconcile` compares with the state once it has caught up.)"""
    store = service.store
    if store is None:
        return
    stored = await store.load_config()
    if stored is None:
        return
    document = region_document(service.region)
    if fingerprint(encode_document(document)) == stored.fingerprint:
        return
    diff = differences(json.loads(stored.document), document)
    if diff and (diff.fixed or not apply):
        raise RegionMismatch(refusal(service.region.source, service.region, stored, diff))


async def reconcile(service: Service, apply: bool) -> None:
    """After catching up with the log, before ready: the rule above. Raises
    ``RegionMismatch`` to refuse."""
    runtime, store = service.runtime, service.store
    if store is None or not isinstance(runtime, ReplicatedRuntime):
        return
    document = region_document(service.region)
    instance = runtime.instance
    retry_s = runtime.settings.retry_s
    while True:
        try:
            if await _reconcile_once(service, store, apply, document, instance):
                return
        except StoreUnavailable as exc:  # not a refusal: compare once the store is back
            log.warning("region file not yet compared with the stored one: %s", exc)
            await asyncio.sleep(retry_s)
        # Else another instance stored a file meanwhile: compare with that one.


async def _reconcile_once(
    service: Service, store: Store, apply: bool, document: dict[str, Any], instance: str
) -> bool:
    region = service.region
    data = encode_document(document)
    mark = fingerprint(data)
    stored = await store.load_config()
    if stored is not None and stored.fingerprint == mark:
        return True
    if stored is not None:
        baseline = json.loads(stored.document)
    else:
        baseline = region_document(region, service.engine)
    diff = differences(baseline, document)
    if diff and (diff.fixed or not apply):
        raise RegionMismatch(refusal(region.source, region, stored, diff))
    for line in diff.lines:
        log.warning("%s: %s (applying: %s, instance %s)", BY, line, APPLY_FLAG, instance)
    await _apply(service, document, diff)
    accepted = StoredConfig(mark, data, service.runtime.clock(), instance)
    if not await store.save_config(accepted, stored.fingerprint if stored else None):
        return False
    log.info("region file %s accepted as the region's (sha256 %s)", region.source, mark)
    return True


async def _apply(service: Service, document: Mapping[str, Any], diff: Differences) -> None:
    region, engine = service.region, service.engine
    for name, keys in diff.services.items():
        current = engine.service(name)
        entry = service_entry(current)
        wanted = document["services"][name]
        entry.update({key: wanted[key] for key in keys})
        problems = Problems(region.source)
        spec = read_service(problems, f"services.{name}", entry, region, _services(engine))
        update = None if spec is None else ServiceUpdated(spec, expected=current)
        await _submit(service, problems, update)
    for agent_id, changed in diff.agents.items():
        wanted = dict(document["agents"][agent_id])
        try:
            entry = agent_entry(engine.agent(agent_id).spec, region.languages)
        except RoutingError:
            entry = wanted  # not on the roster yet
        entry.update({key: wanted.get(key) for key in changed or wanted})
        entry = {k: v for k, v in entry.items() if v is not None}
        problems = Problems(region.source)
        agent = read_agent(problems, f"agents.{agent_id}", entry, region)
        await _submit(service, problems, None if agent is None else AgentUpdated(agent))


def _services(engine: Engine) -> dict[str, Any]:
    return {name: engine.service(name) for name in engine.services()}


async def _submit(service: Service, problems: Problems, event: Event | None) -> None:
    if problems or event is None:
        raise RegionMismatch(
            "the region file's changes do not apply to the region as it is now:\n  "
            + "\n  ".join(problems.items)
        )
    try:
        await service.runtime.submit(event)
    except RoutingError as exc:
        raise RegionMismatch(f"the region file's change was refused by the region: {exc}") from None
