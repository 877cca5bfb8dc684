"""What every channel adapter shares: the rules for numbers and keys, the person's own
nurse, team and station, contact ids from an ``Idempotency-Key``, and the readers of a
chat frame's service, language and site against the region. (The webhooks' bodies are
models: ``channels.shapes``.)"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Mapping

from router.config.reader import Fields
from router.core.values import value
from router.service.http import BodyProblems
from router.service.service import Service

# E.164: a plus and 7 to 15 digits.
E164 = re.compile(r"\+[1-9]\d{6,14}")
HIDDEN_NUMBERS = frozenset({"hidden", "anonymous", "unknown", "restricted"})
REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}")
REF_REASON = "expected 1-128 letters, digits, '_', '.', ':' or '-'"

HIDDEN_REASON = "a hidden number cannot be called back"
# Numbers the service calls back: Finnish ones (Åland's +35818 included). A foreign
# number costs the region an international call and may not reach anyone it can help.
CALLABLE_PREFIXES = ("+358",)
FOREIGN_REASON = "only Finnish numbers (+358) are called back"
# A waiting caller who asked for a callback it cannot have keeps its call (a request made
# through the callbacks API has no call to keep: its answer says only why).
STAYS_QUEUED = "; the caller stays in the live queue"


def callback_refusal(number: str) -> str | None:
    """Why ``number`` cannot become a callback, or None when it can."""
    if number.strip().lower() in HIDDEN_NUMBERS or not number:
        return HIDDEN_REASON
    if not E164.fullmatch(number):
        return "expected an E.164 number such as +358401234567"
    if not number.startswith(CALLABLE_PREFIXES):
        return FOREIGN_REASON
    return None


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


@value
class Own:
    """The person's own nurse, team and health station, as far as known."""

    agent: str | None = None
    team: str | None = None
    site: str | None = None


def bounded_text(f: Fields, problems: BodyProblems, key: str, max_len: int) -> str | None:
    """A non-empty string of at most ``max_len`` characters (None when absent or bad)."""
    text = f.text(key)
    if text is not None and not problems.at_most(f.at(key), text, max_len):
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
        self._flights: dict[str, Registering] = {}

    def __contains__(self, contact_id: str) -> bool:
        """Whether ``contact_id`` is being registered now: a caller that asks first
        awaits ``wait`` only then (an await of a coroutine costs every webhook)."""
        return contact_id in self._flights

    async def wait(self, contact_id: str) -> None:
        flight = self._flights.get(contact_id)
        if flight is not None:
            await flight.landed().wait()

    def registering(self, contact_id: str) -> Registering:
        """Marks ``contact_id`` in flight for a ``with`` block (a plain one: entering
        and leaving never wait); enter with no ``await`` since ``wait``."""
        return Registering(self._flights, contact_id)


class Registering:
    """``InFlight.registering``: a class, not an ``asynccontextmanager``, since it is on
    every arriving webhook's path and a generator-based manager costs several times as
    much to enter and leave. The event a retry waits on is made only when one comes."""

    __slots__ = ("_event", "_flights", "_id")

    def __init__(self, flights: dict[str, Registering], contact_id: str) -> None:
        self._flights = flights
        self._id = contact_id
        self._event: asyncio.Event | None = None

    def landed(self) -> asyncio.Event:
        """Set when the registration ends (made on the first waiter's asking)."""
        if self._event is None:
            self._event = asyncio.Event()
        return self._event

    def __enter__(self) -> None:
        self._flights[self._id] = self

    def __exit__(self, *exc: object) -> None:
        if self._flights.get(self._id) is self:
            del self._flights[self._id]
        if self._event is not None:
            self._event.set()
