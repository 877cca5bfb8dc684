"""What the routing engine holds: its fields, and the look-ups every part of it uses.

The engine's rules live in modules of their own, each a set of functions of this state:
which step a contact is at (``step_choice``), what an agent has room for (``capacity``),
matching contacts and agents (``matching``), the events of contacts (``contact_events``,
``callbacks``, ``scheduled``), of agents (``agent_events``, ``liveness``), partner cover
(``partner_gates``, ``partner_cover``) and live changes (``live_changes``);
``router.core.engine.Engine`` applies events through them. Those modules read and
change the fields below directly; nothing outside ``router/core/`` should.

The field names are also the names a pickled engine (a Redis-mode snapshot) stores, so
they stay as they are.
"""

from __future__ import annotations

from typing import Any

from router.core import decisions as d
from router.core.errors import Conflict, UnknownAgent, UnknownContact
from router.core.model import ContactState, ServiceSpec
from router.core.partners import OWN_REGION, partner_authorisation
from router.core.policy import RoutingPolicy
from router.core.pool import AgentPool
from router.core.queue import WaitingQueue
from router.core.requirements import RequirementTable
from router.core.state import AgentRecord, ContactRecord
from router.core.timers import TimerQueue

# Enum members as globals (``router.core.model`` says why: on Python 3.11 reading one
# off its class costs ~900 instructions, a global ~10).
_ASSIGNED = ContactState.ASSIGNED
_OFFERED = ContactState.OFFERED

Decisions = list[d.Decision]
INF = float("inf")


def in_order(contacts: list[ContactRecord]) -> list[ContactRecord]:
    """Contacts moved in bulk are re-routed in the one order (earliest target first)."""
    return sorted(contacts, key=lambda c: (c.target_at, c.seq))


class EngineState:
    def __init__(self, policy: RoutingPolicy) -> None:
        self.policy = policy
        self.catalogue = policy.catalogue
        self.now = float("-inf")
        self._services: dict[str, ServiceSpec] = dict(policy.services)
        self._blocks = policy.blocks
        self._reqs = RequirementTable(policy.catalogue)
        self._pool = AgentPool(self._reqs)
        self._queue = WaitingQueue()
        self._timers = TimerQueue()
        self._contacts: dict[str, ContactRecord] = {}
        self._agents: dict[str, AgentRecord] = {}
        self._seq = 0
        self._tokens = 0
        self._agent_seq = 0
        self._share: dict[int, float] | None = None
        self._service_base: dict[tuple[str, str | None, str | None], int] = {}
        self._init_derived()
        self._init_liveness()
        self._init_customer_liveness()
        self._init_cover()

    def _init_derived(self) -> None:
        # The shares among the services open at some moment (``Engine._service_share``),
        # and a contact's base requirement id by language, then id of its requirement
        # object -> (the object, the authorisation, the id) (``partner_gates.base_rid``):
        # derived, never in a snapshot (object ids mean nothing in another process).
        self._open_shares: dict[frozenset[str], dict[int, float]] = {}
        self._base_by_identity: dict[str | None, dict[int, tuple[object, str | None, int]]] = {}

    def _init_liveness(self) -> None:
        # agent -> (seen until, how long its last sighting was valid for)
        self._seen: dict[str, tuple[float, float]] = {}
        # agent -> when its one pending LIVENESS timer fires
        self._live_timer: dict[str, float] = {}

    def _init_customer_liveness(self) -> None:
        # contact -> (seen until, how long its sighting was valid for, its away grace,
        # its ``seq`` (not a later contact of the same id), the person's epoch when the
        # sighting lapsed or -1) (``customer_liveness``)
        self._customers_seen: dict[str, tuple[float, float, float, int, int]] = {}
        # contact -> when its one pending CUSTOMER_LIVENESS timer fires
        self._customer_timer: dict[str, float] = {}

    def _init_cover(self) -> None:
        agreements = getattr(self.policy, "agreements", None) or {}
        for name in (OWN_REGION, *map(partner_authorisation, agreements)):
            if agreements and not self.catalogue.has_authorisation(name):
                raise ValueError(
                    f"the catalogue lacks the partner gate authorisation {name!r}: build it "
                    "with router.core.partners.gate_authorisations"
                )
        # agreement -> whether its cover is on; empty until the first event gives a time.
        self._cover: dict[str, bool] = {}
        self._cover_timer: dict[str, float] = {}  # agreement -> its pending change
        self._cover_pending = bool(agreements)

    def __getstate__(self) -> dict[str, Any]:
        """The fields, without caches derived from them (the shares of agents among the
        services open at some moment): a snapshot holds state, not what a query left."""
        state = self.__dict__.copy()
        state.pop("_open_shares", None)
        state.pop("_base_by_identity", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        """A snapshot written before the liveness rules (or partner cover) lacks their
        state: it starts empty."""
        self.__dict__.update(state)
        self._init_derived()
        # Each agent group's count of agents serving (the estimates' servers): a
        # snapshot written before it was kept lacks it, so it is counted again on every
        # load, from the agents it is kept for.
        self._pool.recount_ready(self._agents)
        if "_seen" not in state:
            self._init_liveness()
        if "_customers_seen" not in state:
            self._init_customer_liveness()
        if "_cover" not in state:
            self._init_cover()

    def _token(self) -> int:
        """A timer token never used before, so a timer can never match a later record
        with the same contact id, nor a later offer, step or deadline of the same one."""
        self._tokens += 1
        return self._tokens

    def _agent(self, agent_id: str) -> AgentRecord:
        a = self._agents.get(agent_id)
        if a is None:
            raise UnknownAgent(f"no agent {agent_id!r} in the roster")
        return a

    def _open_contact(self, contact_id: str) -> ContactRecord:
        c = self._contacts.get(contact_id)
        if c is None:
            raise UnknownContact(f"no open contact {contact_id!r}")
        return c

    def _offered_to(self, contact_id: str, agent_id: str) -> ContactRecord:
        try:  # a subscript, not ``get``: cheaper on a hit (every accept)
            c: ContactRecord | None = self._contacts[contact_id]
        except KeyError:
            c = None
        if (
            c is not None
            and c.state is _OFFERED
            and c.agent_id == agent_id
            and agent_id in self._agents
        ):
            return c  # every check below passes: no further calls on every accept
        self._agent(agent_id)
        c = self._open_contact(contact_id)
        if c.state is not _OFFERED or c.agent_id != agent_id:
            raise Conflict(
                f"contact {contact_id!r} has no pending offer to {agent_id!r} "
                f"(it is {c.state.value}; the offer may have expired)"
            )
        return c

    def _assigned_to(self, contact_id: str, agent_id: str, why: str = "") -> ContactRecord:
        """The open contact, which must be assigned to ``agent_id`` (else ``Conflict``)."""
        try:  # ``_open_contact``, inlined, with a subscript (every completion)
            c = self._contacts[contact_id]
        except KeyError:
            raise UnknownContact(f"no open contact {contact_id!r}") from None
        if c.state is not _ASSIGNED or c.agent_id != agent_id:
            raise Conflict(
                f"contact {c.id!r} is {c.state.value}"
                + (f" with {c.agent_id!r}" if c.agent_id else "")
                + f", not assigned to {agent_id!r}{why}"
            )
        return c
