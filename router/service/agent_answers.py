"""What the agent's REST API, the chat's agent routes and the public status answer, each
answer's shape written once as a pydantic model.

The OpenAPI document's response schemas come from these models (``answer_schema``); the
handlers still build their answers as plain dicts (``router.service.views`` for an agent
and a contact), and ``tests/test_agent_answers.py`` holds the real answers to the
documented schemas. A contact's optional keys (``offer_expires_at``, ``external_ref``,
``link``, ``attributes``) are left out rather than null, which the schema allows.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, RootModel

from router.core.model import AgentStatus, Channel, ContactState, Presence, StepKind
from router.service.body_shapes import Answer, Wait, answer_schema


class Agent(Answer):
    """An agent's state (``views.agent_json``)."""

    id: str
    name: str
    status: AgentStatus
    presence: Presence
    reason: str = Field(description="why not ready ('' otherwise)")
    site: str
    team: str
    load: dict[Channel, int] = Field(description="contacts in hand per channel")
    free_channels: list[Channel]
    contacts: list[str]
    wrapup_until: float | None = Field(description="region clock, s; null: not in wrap-up")


class Contact(Answer):
    """A contact as an agent sees it (``views.contact_json``)."""

    id: str
    channel: Channel
    service: str
    urgency: str
    original_urgency: str = Field(description="its class on arrival (differs once re-classified)")
    state: ContactState
    arrived_at: float
    due_at: float
    step: StepKind
    language: str | None
    agent_id: str | None
    offer_expires_at: float | None = Field(None, description="only while offered")
    external_ref: str | None = None
    link: str | None = None
    attributes: dict[str, str] | None = None


class AgentAnswer(Answer):
    """An agent action's answer: the agent's state after it."""

    agent: Agent


class Reclassified(Answer):
    """A re-classification's answer: the agent and the contact with both classes."""

    agent: Agent
    contact: Contact


class Seen(Answer):
    """A heartbeat's answer: nothing to say."""


class AgentState(Answer):
    """The agent's state and the contacts in hand (the websocket's first message)."""

    type: Literal["state"]
    agent: Agent
    contacts: list[Contact]


class Linked(Answer):
    """The same person's other open contacts."""

    contact_id: str
    open: list[Contact]


class CallbackAttempt(Answer):
    """One attempt to call a callback back, from the contact's audit trail."""

    at: float = Field(description="region clock, epoch s")
    attempt: int = Field(description="1 for the first attempt")
    result: str
    retry_at: float | None = Field(description="the next try; null: none")


class Attempts(Answer):
    """A callback's attempts so far, oldest first."""

    contact_id: str
    attempts: list[CallbackAttempt]


class ChatMessage(Answer):
    """One message of a chat's transcript (region clock, epoch seconds)."""

    who: Literal["customer", "agent"] = Field(alias="from")
    text: str
    at: float


class Transcript(Answer):
    contact_id: str
    messages: list[ChatMessage]


class Posted(Answer):
    """The agent's message as kept in the transcript."""

    contact_id: str
    message: ChatMessage


class ServiceStatus(Answer):
    """A service's public status (``router.service.public``): no personal data."""

    service: str
    open: bool = Field(description="within opening hours")
    in_hours: bool = Field(description="the same as open")
    staffed: bool = Field(description="someone logged in can answer")
    availability: Literal["answering", "open_unstaffed", "closed"]
    waiting: int
    estimated_wait: Wait | None = Field(description="null: nobody could serve a contact now")
    opens_at: float | None = Field(
        None, description="epoch s, only while closed; null: no opening ahead"
    )


class ServiceStatuses(RootModel[list[ServiceStatus]]):
    """Every service's public status."""


AGENT = answer_schema(AgentAnswer)
RECLASSIFIED = answer_schema(Reclassified)
SEEN = answer_schema(Seen)
AGENT_STATE = answer_schema(AgentState)
LINKED = answer_schema(Linked)
ATTEMPTS = answer_schema(Attempts)
TRANSCRIPT = answer_schema(Transcript)
POSTED = answer_schema(Posted)
SERVICE_STATUS = answer_schema(ServiceStatus)
SERVICE_STATUSES = answer_schema(ServiceStatuses)
