"""The shapes of a service entry and an agent entry, each written once.

One pydantic model per shape says its keys (in the order the problems list them), which
are required, their types, bounds, defaults and meaning. From it come:

- the keys the region file's readers accept (``router.config.service_entries`` and
  ``agent_entries`` read with :func:`required_keys` / :func:`optional_keys`);
- the dumps: a service or agent as the supervisor API shows it, and as a live edit merges
  into and reads back (:func:`service_entry`, :func:`agent_entry`), so a field is never
  dropped by one of four hand-written copies (a PATCH once reset a service's callback
  settings that way);
- the OpenAPI schemas of the supervisor's request and response bodies
  (:func:`json_schema`).

The readers (``router.config.reader``) still do the checking: they say each problem in
the file's words (``proficiency must be 1..5, got 7``), against the catalogue and the
other sections, every problem at once. ``tests/test_shapes.py`` holds the models and the
readers to the same bounds; the defaults are the core model's, so the file, the API and
the engine never disagree.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from router.config.reader import MAX_SECONDS
from router.core.model import (
    AgentChoice,
    AgentSpec,
    Channel,
    ServiceSpec,
    Step,
    StepKind,
    UrgencyClass,
)
from skills import MAX_LEVEL, MIN_LEVEL, Requirement

# Defaults come from the core model, so the file and the engine never disagree.
_SERVICE = ServiceSpec(name="", requirement=Requirement.anyone(), urgencies={}, default_urgency="")
_AGENT = AgentSpec(id="", name="", site="", team="")
# Not the model's None (an old snapshot's "as a decline"): a timed-out offer does not
# cool down unless the file says so (docs/configuration.md says why).
TIMEOUT_COOLDOWN_S = 0.0
MAX_RELAX = MAX_LEVEL - MIN_LEVEL
MAX_CALLBACK_ATTEMPTS = 20
MAX_CAPACITY = 1_000  # contacts of one channel an agent holds at once


class _Shape(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class UrgencyShape(_Shape):
    """One urgency class of a service: its target answer time, or a redirect."""

    target_s: float = Field(ge=0, le=MAX_SECONDS, description="target answer time, seconds")
    redirect: str | None = Field(
        None, description="never queue: tell the caller to go there instead (e.g. 112)"
    )
    warn_before_s: float | None = Field(
        None,
        ge=0,
        le=MAX_SECONDS,
        description="warn this long before the deadline (default: warn_fraction)",
    )


class StepShape(_Shape):
    """One ring of the widening reach."""

    kind: StepKind
    duration_s: float | None = Field(
        None,
        ge=0,
        le=MAX_SECONDS,
        description="required on every step but the last and overflow steps",
    )
    relax_levels: int | None = Field(
        None, ge=1, le=MAX_RELAX, description="relaxed steps only: skill levels lowered"
    )
    overflow_to: str | None = Field(default=None, description="overflow steps only: the service")


class CallbackShape(_Shape):
    """How callbacks of the service are tried."""

    attempts: int = Field(_SERVICE.callback_attempts, ge=1, le=MAX_CALLBACK_ATTEMPTS)
    retry_s: float = Field(_SERVICE.callback_retry_s, gt=0, le=MAX_SECONDS)
    window_s: float = Field(
        _SERVICE.callback_window_s,
        gt=0,
        le=MAX_SECONDS,
        description="length of the windows a caller picks",
    )


class ServiceShape(_Shape):
    """One entry of the region file's ``services:`` list."""

    name: str
    requirement: str = Field(description="skills expression, e.g. nursing>=2")
    urgencies: dict[str, UrgencyShape] = Field(min_length=1)
    default_urgency: str | None = Field(
        None, description="optional when there is only one urgency class"
    )
    steps: list[StepShape] | None = Field(default=None, min_length=1, description="default: region")
    agent_choice: AgentChoice = _SERVICE.agent_choice
    wrapup_s: float = Field(_SERVICE.wrapup_s, ge=0, le=MAX_SECONDS)
    offer_timeout_s: float = Field(_SERVICE.offer_timeout_s, gt=0, le=MAX_SECONDS)
    decline_cooldown_s: float = Field(_SERVICE.decline_cooldown_s, ge=0, le=MAX_SECONDS)
    timeout_cooldown_s: float = Field(TIMEOUT_COOLDOWN_S, ge=0, le=MAX_SECONDS)
    not_ready_on_decline: bool = _SERVICE.not_ready_on_decline
    not_ready_on_timeout: bool = _SERVICE.not_ready_on_timeout
    warn_fraction: float = Field(_SERVICE.warn_fraction, ge=0, lt=1)
    callback: CallbackShape | None = None
    # Read from the region file only (router.config.hours_reader, feedback); not dumped.
    hours: dict[str, Any] | None = Field(default=None, description="region file only")
    after_hours: dict[str, Any] | None = Field(default=None, description="region file only")
    feedback: dict[str, Any] | None = Field(default=None, description="region file only")


# The keys of a service entry that only the region file sets (a live edit refuses them).
FILE_ONLY_SERVICE_KEYS = ("hours", "after_hours", "feedback")


class AgentShape(_Shape):
    """One entry of the region file's ``agents:`` list."""

    id: str
    name: str
    team: str
    languages: list[str] = Field(min_length=1, json_schema_extra={"uniqueItems": True})
    site: str | None = Field(default=None, description="default: the team's site")
    skills: dict[str, Annotated[int, Field(ge=MIN_LEVEL, le=MAX_LEVEL)]] = Field(
        default_factory=dict, description=f"skill to proficiency {MIN_LEVEL}..{MAX_LEVEL}"
    )
    authorisations: list[str] = Field(default_factory=list, json_schema_extra={"uniqueItems": True})
    capacity: dict[Channel, Annotated[int, Field(ge=0, le=MAX_CAPACITY)]] = Field(
        default_factory=lambda: dict(_AGENT.capacity),
        description="channel to contacts at once; at least one above 0",
        # At least one channel above 0: not every value 0 (nor none at all).
        json_schema_extra={"not": {"additionalProperties": {"const": 0}}},
    )
    display_name: str | None = Field(
        None, description="what chat customers are told (default: the first name)"
    )
    partner: str | None = Field(
        default=None, description="a partner region's agent, under that agreement"
    )


def required_keys(shape: type[BaseModel]) -> tuple[str, ...]:
    return tuple(name for name, f in shape.model_fields.items() if f.is_required())


def optional_keys(shape: type[BaseModel]) -> tuple[str, ...]:
    return tuple(name for name, f in shape.model_fields.items() if not f.is_required())


# --------------------------------------------------------------------- dumps


def _urgency(urgency: UrgencyClass) -> UrgencyShape:
    return UrgencyShape(
        target_s=urgency.target_s, redirect=urgency.redirect, warn_before_s=urgency.warn_before_s
    )


def _step(step: Step) -> StepShape:
    return StepShape(
        kind=step.kind,
        duration_s=step.duration_s,
        relax_levels=step.relax_levels if step.kind is StepKind.RELAXED else None,
        overflow_to=step.overflow_to,
    )


def service_shape(spec: ServiceSpec) -> ServiceShape:
    """A service as an entry of the ``services:`` list: every setting of the spec."""
    return ServiceShape(
        name=spec.name,
        requirement=str(spec.requirement),
        urgencies={name: _urgency(u) for name, u in spec.urgencies.items()},
        default_urgency=spec.default_urgency,
        steps=[_step(step) for step in spec.steps],
        agent_choice=spec.agent_choice,
        wrapup_s=spec.wrapup_s,
        offer_timeout_s=spec.offer_timeout_s,
        decline_cooldown_s=spec.decline_cooldown_s,
        timeout_cooldown_s=(
            spec.decline_cooldown_s if spec.timeout_cooldown_s is None else spec.timeout_cooldown_s
        ),
        not_ready_on_decline=spec.not_ready_on_decline,
        not_ready_on_timeout=spec.not_ready_on_timeout,
        warn_fraction=spec.warn_fraction,
        callback=CallbackShape(
            attempts=spec.callback_attempts,
            retry_s=spec.callback_retry_s,
            window_s=spec.callback_window_s,
        ),
    )


def service_entry(spec: ServiceSpec) -> dict[str, Any]:
    """A service in the shape of an entry of the region file's ``services:`` list, as
    JSON: every field of ``ServiceSpec`` (a PATCH merges into this and reads it back, so a
    field left out here would silently return to its default)."""
    return service_shape(spec).model_dump(mode="json", exclude_none=True)


def agent_shape(spec: AgentSpec, languages: tuple[str, ...]) -> AgentShape:
    """An agent as an entry of the ``agents:`` list (languages in the catalogue's order,
    then any others sorted)."""
    abilities = spec.abilities
    return AgentShape(
        id=spec.id,
        name=spec.name,
        team=spec.team,
        languages=[code for code in languages if code in abilities.languages]
        + sorted(set(abilities.languages) - set(languages)),
        site=spec.site,
        skills=dict(abilities.skills),
        authorisations=sorted(abilities.authorisations),
        capacity=dict(spec.capacity),
        display_name=spec.display_name or None,
        partner=spec.partner or None,
    )


def agent_entry(spec: AgentSpec, languages: tuple[str, ...]) -> dict[str, Any]:
    """An agent in the shape of an entry of the region file's ``agents:`` list, as JSON."""
    return agent_shape(spec, languages).model_dump(mode="json", exclude_none=True)


# --------------------------------------------------------------------- JSON Schema


def json_schema(
    shape: type[BaseModel], mode: Literal["validation", "serialization"] = "validation"
) -> dict[str, Any]:
    """The shape as a self-contained JSON Schema (nested shapes inlined, no ``$defs``,
    no pydantic titles), for the OpenAPI document."""
    schema = shape.model_json_schema(mode=mode)
    defs = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, list):
            return [inline(item) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str):
            return inline(defs[ref.rsplit("/", 1)[-1]])
        branches = node.get("anyOf")
        if node.get("default", ...) is None and isinstance(branches, list):
            # An optional key: absent is its null (dumps leave it out; a body's reader
            # takes null as absent, which the OpenAPI document adds back).
            kept = [b for b in branches if b != {"type": "null"}]
            if len(kept) == 1:
                rest = {k: v for k, v in node.items() if k not in ("anyOf", "default")}
                return inline({**kept[0], **rest})
        return {k: inline(v) for k, v in node.items() if k != "title"}

    result: dict[str, Any] = inline(schema)
    return result
