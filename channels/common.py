"""What every channel adapter shares: reading the contact fields common to all channels
(service, urgency, language, preferred site, own nurse and team) against the region,
with every problem reported at once."""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

from router.config.reader import Fields
from router.core.errors import UnknownAgent
from router.service.http import BodyProblems
from router.service.service import Service

# E.164: a plus and 7 to 15 digits.
E164 = re.compile(r"\+[1-9]\d{6,14}")
HIDDEN_NUMBERS = frozenset({"hidden", "anonymous", "unknown", "restricted"})
REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}")


def read_service(
    f: Fields, problems: BodyProblems, service: Service, key: str = "service"
) -> str | None:
    name = f.text(key)
    if name is not None and name not in service.engine.services():
        problems.add(
            f.at(key),
            f"unknown service {name!r}; expected one of: {', '.join(service.engine.services())}",
        )
        return None
    return name


def read_urgency(
    f: Fields, problems: BodyProblems, service: Service, service_name: str | None
) -> str | None:
    urgency = f.text("urgency")
    if urgency is None or service_name is None:
        return urgency
    classes = service.engine.service(service_name).urgencies
    if urgency not in classes:
        problems.add(
            f.at("urgency"),
            f"unknown urgency {urgency!r} for {service_name}; "
            f"expected one of: {', '.join(classes)}",
        )
        return None
    return urgency


def read_language(f: Fields, problems: BodyProblems, service: Service) -> str | None:
    language = f.text("language")
    if language is not None and language not in service.region.languages:
        problems.add(
            f.at("language"),
            f"unknown language {language!r}; "
            f"expected one of: {', '.join(service.region.languages)}",
        )
        return None
    return language


def read_site(f: Fields, problems: BodyProblems, service: Service, key: str = "site") -> str | None:
    site = f.text(key)
    if site is not None and site not in service.region.sites:
        problems.add(
            f.at(key), f"unknown site {site!r}; expected one of: {', '.join(service.region.sites)}"
        )
        return None
    return site


OWN_FIELDS: dict[str, dict[str, str]] = {
    "own_agent": {
        "type": "string",
        "description": "the person's own nurse (an agent id of the roster): offered "
        "first when the service's steps start with own_agent; own_team and site default "
        "to the nurse's",
    },
    "own_team": {
        "type": "string",
        "description": "the person's own team (a team id of the region): offered first "
        "when the service's steps include own_team",
    },
}


@dataclass(frozen=True, slots=True)
class Own:
    """The person's own nurse, team and health station, as far as known."""

    agent: str | None = None
    team: str | None = None
    site: str | None = None


def read_own(f: Fields, problems: BodyProblems, service: Service, site: str | None) -> Own:
    """The person's own nurse (``own_agent``) and own team (``own_team``), when the caller
    or integration knows them, checked against the roster: they feed the service's
    ``own_agent`` and ``own_team`` steps (skipped for a contact without them). Without
    ``own_team`` (or ``site``) the own nurse's team (or site) is taken, so the contact
    widens from the nurse to the nurse's team, station and the region."""
    agent = f.text("own_agent")
    team = f.text("own_team")
    if team is not None and team not in service.region.teams:
        problems.add(
            f.at("own_team"),
            f"unknown team {team!r}; expected one of: {', '.join(service.region.teams)}",
        )
        team = None
    if agent is None:
        return Own(None, team, site)
    try:
        spec = service.engine.agent(agent).spec
    except UnknownAgent:
        problems.add(f.at("own_agent"), f"unknown agent {agent!r}; expected an agent id")
        return Own(None, team, site)
    if team is None and not f.given("own_team"):
        team = spec.team or None
    if site is None and not f.given("site"):
        site = spec.site or None
    return Own(agent, team, site)


def read_ref(f: Fields, problems: BodyProblems, key: str) -> str | None:
    ref = f.text(key)
    if ref is not None and not REF.fullmatch(ref):
        problems.add(f.at(key), "expected 1-128 letters, digits, '_', '.', ':' or '-'")
        return None
    return ref


def bounded_text(f: Fields, problems: BodyProblems, key: str, max_len: int) -> str | None:
    """A non-empty string of at most ``max_len`` characters (None when absent or bad)."""
    text = f.text(key)
    if text is not None and len(text) > max_len:
        problems.add(f.at(key), f"must be at most {max_len} characters, got {len(text)}")
        return None
    return text


IDEMPOTENCY_HEADER = "Idempotency-Key"


def contact_id_for(headers: Mapping[str, str], prefix: str) -> tuple[str, bool]:
    """The new contact's id and whether the client named it: with an ``Idempotency-Key``
    header (1-128 letters, digits, '_', '.', ':', '-') the id is ``prefix + key``, so a
    retry of the same request finds the contact it made instead of making another."""
    key = headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return prefix + uuid.uuid4().hex, False
    if not REF.fullmatch(key):
        problems = BodyProblems()
        problems.add(IDEMPOTENCY_HEADER, "expected 1-128 letters, digits, '_', '.', ':' or '-'")
        problems.raise_if_any()
    return prefix + key, True


class InFlight:
    """Contacts being registered right now, so that a retried webhook arriving while the
    first is still on its way waits for it and then answers with the same contact."""

    def __init__(self) -> None:
        self._events: dict[str, asyncio.Event] = {}

    async def wait(self, contact_id: str) -> None:
        event = self._events.get(contact_id)
        if event is not None:
            await event.wait()

    @contextlib.asynccontextmanager
    async def registering(self, contact_id: str) -> AsyncIterator[None]:
        """Marks ``contact_id`` in flight; call with no ``await`` since ``wait``."""
        event = self._events[contact_id] = asyncio.Event()
        try:
            yield
        finally:
            if self._events.get(contact_id) is event:
                del self._events[contact_id]
            event.set()
