"""Events: everything that changes routing state. The engine applies them in order,
each with the time it happened (``Engine.apply(now, event)``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field

from router.core.model import AgentSpec, Channel, ContactSpec, Presence, ServiceSpec
from router.core.values import value


@value
class ContactArrived:
    contact: ContactSpec


@value
class ContactCancelled:
    """The person withdrew the request (a web form, a callback no longer needed)."""

    contact_id: str
    reason: str = ""


@value
class CustomerAway:
    """The person on a contact has gone for now (a chat customer's connection closed).
    Unless they come back (``CustomerBack``) or an agent has the contact, it is abandoned
    ``grace_s`` later - counted from now, or from when it next leaves an agent's hands.
    A timer on the region's clock: the same on every instance and in virtual time."""

    contact_id: str
    grace_s: float
    # Which of the person's connections went (they count up as the person comes back):
    # a report about an older connection than one already back is stale and ignored, so
    # instances reporting out of order never abandon a person who is there.
    epoch: int = 0


@value
class CustomerBack:
    """The person on a contact is back (a chat resumed): no abandoning for being away."""

    contact_id: str
    epoch: int = 0  # the connection that came back (see ``CustomerAway.epoch``)


@value
class ContactAbandoned:
    """The caller hung up or left the chat before being answered. A contact that has
    become a callback is not closed by it: hanging up is what its caller was told to do,
    and the callback keeps its place (the caller withdraws it with ``ContactCancelled``)."""

    contact_id: str


@value
class AgentLoggedIn:
    agent_id: str
    presence: Presence = Presence.AVAILABLE


@value
class AgentLoggedOut:
    """Pending offers are withdrawn. With assigned work in hand the logout is refused
    unless ``force``, which returns that work to the queue in its original place."""

    agent_id: str
    force: bool = False


@value
class PresenceChanged:
    agent_id: str
    presence: Presence
    reason: str = ""


@value
class AgentsSeen:
    """These agents showed they are there (an open websocket on some instance, a REST
    heartbeat or action) and count as present for ``valid_s`` from now; an agent's
    latest sighting replaces its earlier ones. ``valid_s`` may be infinite: present until
    a later sighting says otherwise (a websocket held by the only instance, which reports
    a finite sighting when it closes). A logged-in, available agent not seen again by
    then is set not ready (``no_heartbeat``): no new offers go to a closed browser; work
    in hand is kept and nobody is logged out.

    The rule is a timer on the region's clock, so it is judged the same on every
    instance, in memory mode and in virtual time; an agent never reported is never
    judged (simulations, the engine's own tests)."""

    agent_ids: tuple[str, ...]
    valid_s: float


@value
class CustomersSeen:
    """The people on these contacts are there (a chat customer's websocket open on some
    instance) and count as there for ``valid_s`` from now; a contact's latest sighting
    replaces its earlier ones. A contact not seen again by then is taken as its person
    gone at that moment: exactly a ``CustomerAway`` with ``grace_s``, so it is abandoned
    ``grace_s`` later unless they come back (``CustomerBack``, or a sighting again) or an
    agent has it. This is how a customer whose socket was held by an instance that died
    is not waited for for ever: nobody is left to say ``CustomerAway``.

    As for agents (``AgentsSeen``), the rule is a timer on the region's clock, judged the
    same on every instance, in memory mode and in virtual time; a contact never reported
    is never judged (API clients, simulations)."""

    contact_ids: tuple[str, ...]
    valid_s: float
    grace_s: float


@value
class OfferAccepted:
    contact_id: str
    agent_id: str


@value
class OfferDeclined:
    contact_id: str
    agent_id: str


@value
class ContactCompleted:
    contact_id: str
    agent_id: str
    outcome: str = "resolved"


@value
class WrapUpDone:
    agent_id: str


@value
class AgentUpdated:
    """A supervisor's live change to an agent (skills, languages, authorisations,
    capacity, site or team), or a new agent added to the roster. ``expected``: the
    settings the change was made against; refused (``StaleUpdate``) when they are no
    longer the agent's, so concurrent edits never overwrite each other."""

    agent: AgentSpec
    expected: AgentSpec | None = None


@value
class ServiceUpdated:
    """A supervisor's live change to a service (targets, steps, agent choice, timeouts).
    ``expected``: the settings the change was made against; refused (``StaleUpdate``)
    when they are no longer the service's, so concurrent edits never overwrite each other."""

    service: ServiceSpec
    expected: ServiceSpec | None = None


@value
class ContactMoved:
    """A supervisor moves a waiting contact to another service. It keeps its due time
    and arrival order (its place) and starts that service's steps."""

    contact_id: str
    service: str
    by: str = ""  # who moved it (the supervisor's token name), for the audit trail


@value
class ManualOffer:
    """A supervisor offers a waiting contact to a named agent, out of order. The agent
    must still meet the contact's requirement and have capacity in its channel."""

    contact_id: str
    agent_id: str
    by: str = ""  # who offered it, for the audit trail


@value
class ChannelSwitched:
    """The contact goes on in another channel (a waiting caller asks to be called back,
    a web request becomes a callback). It keeps its place: due time and arrival order.
    ``attributes`` are added to the contact's (e.g. the number to call)."""

    contact_id: str
    channel: Channel
    attributes: Mapping[str, str] = field(default_factory=dict)


@value
class CallbackAttempted:
    """The agent who has a callback reports one attempt: ``reached`` (the call goes on),
    or ``no_answer``, ``busy``, ``invalid_number``."""

    contact_id: str
    agent_id: str
    result: str


@value
class ContactMerged:
    """A contact not yet with an agent is closed as ``merged`` into another contact of
    the same person (``into``, which may have closed already)."""

    contact_id: str
    into: str


@value
class ContactReclassified:
    """The professional handling a contact (the agent it is assigned to) changes its
    urgency class after contacting the person. The original class is kept beside the new
    one; the contact keeps its arrival time and arrival number. Its place and deadline
    follow the new class by the door's rule (``place_and_deadline`` from the clock start
    and same-day cap it arrived with); ``due_at``, when given, sets both instead."""

    contact_id: str
    agent_id: str
    urgency: str
    due_at: float | None = None


@value
class TimerDue:
    """Nothing but the passing of time: fires offer expiries, widening steps, warnings,
    deadlines, cool-downs and wrap-ups due by ``now``."""


Event = (
    ContactArrived
    | ContactCancelled
    | ContactAbandoned
    | CustomerAway
    | CustomerBack
    | AgentLoggedIn
    | AgentLoggedOut
    | PresenceChanged
    | AgentsSeen
    | CustomersSeen
    | OfferAccepted
    | OfferDeclined
    | ContactCompleted
    | WrapUpDone
    | AgentUpdated
    | ServiceUpdated
    | ContactMoved
    | ManualOffer
    | ChannelSwitched
    | CallbackAttempted
    | ContactMerged
    | ContactReclassified
    | TimerDue
)
