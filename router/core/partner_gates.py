"""What a contact is matched by and what an agent is matched with, partner gates
included (``router.core.partners``): a region with agreements joins every service's
requirement with its gate, and gives its own agents ``own-region`` and a partner agent
its agreement's authorisation only while cover is on."""

from __future__ import annotations

from router.core.engine_state import EngineState
from router.core.errors import InvalidEvent
from router.core.model import AgentSpec, ContactSpec, ServiceSpec
from router.core.partners import OWN_REGION, partner_authorisation, service_agreements
from skills import Requirement, Term

_KEPT_BY_IDENTITY = 4096


def base_rid(engine: EngineState, spec: ContactSpec, service: ServiceSpec) -> int:
    """The id of the requirement a contact of ``service`` is matched by before any step
    relaxes it: its own or its service's, with its language and authorisation."""
    requirement = spec.requirement
    if requirement is not None:
        if not engine.policy.agreements:
            # No gate to join: ``contact_base``'s answer, looked up by the requirement
            # object's identity (every arrival that names its own requirement takes this
            # path, and channels reuse their objects). Hashing a ``Requirement`` runs its
            # dataclass ``__hash__``, a Python frame called from C (~1,000 instructions);
            # the entry holds the object, so its id is not reused while it is there. By
            # language, then the object's id, its authorisation compared: two look-ups
            # by keys held, where an ``(id, language, authorisation)`` key was a tuple
            # built, hashed and compared item by item on every such arrival.
            seen = engine._base_by_identity
            language = spec.language
            authorisation = spec.authorisation
            try:
                held, held_auth, rid = seen[language][id(requirement)]
            except KeyError:
                pass
            else:
                if held is requirement and held_auth == authorisation:
                    return rid
            rid = engine._reqs.contact_base(requirement, language, authorisation)
            if sum(map(len, seen.values())) >= _KEPT_BY_IDENTITY:
                seen.clear()  # requirement objects parsed per request: kept bounded
            by_object = seen.get(language)
            if by_object is None:
                by_object = seen[language] = {}
            by_object[id(requirement)] = (requirement, authorisation, rid)
            return rid
        return engine._reqs.contact_base(
            gated(engine, requirement, service.name), spec.language, spec.authorisation
        )
    # Most contacts take their service's requirement.
    return service_rid(engine, service, spec.language, spec.authorisation)


def service_rid(
    engine: EngineState, service: ServiceSpec, language: str | None, authorisation: str | None
) -> int:
    """The id of ``service``'s own requirement, gated, with a contact's language and
    authorisation (None: no such condition): what a contact of the service without a
    requirement of its own is matched by, and whom the service's wait counts. A cheap
    key, no building or hashing of the requirement on every arrival or estimate."""
    key = (service.name, language, authorisation)
    try:  # a subscript, not ``get``: cheaper on the hit (nearly every arrival)
        return engine._service_base[key]
    except KeyError:
        rid = engine._reqs.contact_base(
            gated(engine, service.requirement, service.name), language, authorisation
        )
        engine._service_base[key] = rid
        return rid


def gated(engine: EngineState, requirement: Requirement, service: str) -> Requirement:
    """With partner agreements, ``requirement`` joined with its service's gate: the
    region's own agents, or the agents of an agreement naming the service."""
    agreements = engine.policy.agreements
    if not agreements:
        return requirement
    gate = Requirement.term(Term("auth", OWN_REGION))
    for name in service_agreements(agreements, service):
        gate = gate.any_of(Requirement.term(Term("auth", partner_authorisation(name))))
    return requirement.all_of(gate)


def mask_of(engine: EngineState, spec: AgentSpec) -> int:
    """The agent's skill mask with its partner gate: ``own-region`` for the region's
    own agents, ``partner.<name>`` for a partner agent while its cover is on."""
    catalogue = engine.catalogue
    mask = catalogue.agent_mask(spec.abilities)  # raises on unknown names
    agreements = engine.policy.agreements
    if not agreements:
        if spec.partner:  # never an ungated partner: it would serve every service
            raise InvalidEvent(
                f"agent {spec.id!r}: partner agreement {spec.partner!r}, but the "
                "region's engine has no partner agreements"
            )
        return mask
    if not spec.partner:
        return mask | catalogue.authorisation_bit(OWN_REGION)
    if spec.partner not in agreements:
        raise InvalidEvent(
            f"agent {spec.id!r}: unknown partner agreement {spec.partner!r}; "
            f"known: {', '.join(agreements)}"
        )
    if engine._cover.get(spec.partner, False):
        return mask | catalogue.authorisation_bit(partner_authorisation(spec.partner))
    return mask
