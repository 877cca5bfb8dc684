"""The survey after a contact (net promoter score): a request by SMS through the
notification hook when a contact closes with an outcome its service marks as eligible,
the answer taken on an integration endpoint and linked to the contact, and the figures
(NPS and response rate) per service, team, channel, language and site.

Who is asked: a contact that an agent closed with one of the service's ``feedback.after``
outcomes (the service it closed in), in one of its ``feedback.channels``, with an E.164
phone number (the caller's, the callback number, a work item's ``phone``, a web
request's phone contact). Not asked: a number that opted out, or one asked within the
service's ``cooldown_days`` (whatever service asked it). The request goes through the
notification hook (``router/service/notify.py``) as ``{"id": "feedback-<contact>",
"type": "feedback_request", "request_id": "fb-<contact>", "contact_id", "service",
"number", "language", "text", "answer_by"}`` in the contact's recorded language (the
service's ``feedback.texts``, else a built-in text, else the region's first language).

Integration endpoints (token role ``integration`` with the ``feedback`` channel; served
by ``router.service.feedback_api``):

- ``POST /api/channels/feedback/answers {request_id, score: 0..10, text?}``: the answer,
  once; a retry of the same answer changes nothing (200), another answer to an answered
  request is 409 ``already_answered``, an answer after ``answer_window_s`` 409
  ``window_closed``, an unknown request 404. ``text`` alone equal to one of ``STOP``,
  ``LOPETA``, ``SLUTA``, ``AVSLUTA`` (any case) opts the number out instead.
- ``POST /api/channels/feedback/opt-outs {number}``: the number is never asked again.

Personal data: the phone number is kept only while the contact is open and until the
request is delivered to the hook; after that only a keyed hash of it (HMAC-SHA-256 with
``YHTEYS_FEEDBACK_KEY``, every instance of a region must use the same key) is kept, for the
per-number limit and the opt-outs. The free text is kept and logged masked (personal
identity codes and phone numbers, ``router/service/logs.py``). Answers are linked to the
contact and to the team of the agent who closed it, never to the agent: no figure or
export of this module names an agent.

State changes (requests, answers, opt-outs) come from the log: requests from the
engine's ``Closed`` decisions, answers and opt-outs as notes, so in Redis mode every
instance has them, and a snapshot part keeps them across restarts. Requests are kept as
long as the audit's records (``YHTEYS_AUDIT_RETENTION_DAYS``).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
from collections import Counter, OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from router.config.feedback import FeedbackPolicy
from router.core import decisions as d
from router.core.errors import RoutingError
from router.core.events import ChannelSwitched, ContactArrived, Event
from router.core.model import Channel, ContactSpec
from router.service.audit import Audit
from router.service.runtime import Note, handles
from router.store.codec import allow

if TYPE_CHECKING:
    from router.service.service import Service

log = logging.getLogger("yhteys.feedback")

KEY_ENV = "YHTEYS_FEEDBACK_KEY"
MAX_ANSWER_TEXT = 1000
MAX_PERIOD_DAYS = 92
STOP_WORDS = frozenset({"stop", "lopeta", "sluta", "avsluta"})
# The keywords in any case, for the OpenAPI schema (JSON Schema patterns have no flags).
STOP_PATTERN = (
    "^ *("
    + "|".join("".join(f"[{c.upper()}{c}]" for c in word) for word in sorted(STOP_WORDS))
    + ") *$"
)
DIMENSIONS = ("service", "team", "channel", "language", "site")
FORMATS = ("json", "csv")
FIGURES: tuple[str, ...] = (
    "requests",
    "answers",
    "response_pct",
    "promoters",
    "passives",
    "detractors",
    "nps",
    "opt_outs",
)
E164 = re.compile(r"\+[1-9]\d{6,14}")
_SEPARATORS = re.compile(r"[\s\-().]")
REQUEST_PREFIX = "fb-"
NOTIFICATION_PREFIX = "feedback-"

DEFAULT_TEXTS: Mapping[str, str] = {
    "fi": "Kiitos yhteydenotostasi. Kuinka todennäköisesti suosittelisit palveluamme "
    "läheisellesi? Vastaa numerolla 0-10 ja halutessasi muutamalla sanalla. "
    "Vastaa LOPETA, jos et halua näitä kyselyjä.",
    "sv": "Tack för att du kontaktade oss. Hur troligt är det att du skulle rekommendera "
    "vår tjänst till en närstående? Svara med en siffra 0-10 och gärna med några ord. "
    "Svara SLUTA om du inte vill få dessa enkäter.",
    "en": "Thank you for contacting us. How likely are you to recommend our service to "
    "someone close to you? Reply with a number 0-10 and, if you like, a few words. "
    "Reply STOP to receive no more of these surveys.",
}


def normalise(number: str) -> str | None:
    """``number`` as E.164 (``+358 40 123 4567`` -> ``+358401234567``), or None."""
    text = _SEPARATORS.sub("", number)
    if text.startswith("00"):
        text = "+" + text[2:]
    return text if E164.fullmatch(text) else None


def number_of(spec: ContactSpec) -> str | None:
    """The phone number a contact carries, if any (E.164)."""
    attrs = spec.attributes
    raw = attrs.get("number") or attrs.get("caller") or attrs.get("phone")
    if raw is None and attrs.get("contact_method") == "phone":
        raw = attrs.get("contact_value")
    return normalise(raw) if raw else None


@allow
@dataclass(frozen=True, slots=True)
class FeedbackAnswered(Note):
    """An answer to a request: the score and the free text, already masked."""

    request_id: str
    score: int
    text: str | None


@allow
@dataclass(frozen=True, slots=True)
class FeedbackOptedOut(Note):
    """A number (its keyed hash) asks never to be surveyed again; ``via`` is ``answer``
    (a keyword answer to ``request_id``) or ``api``."""

    number_hash: str
    via: str
    request_id: str | None = None


class Feedback:
    """The survey of one service (its records live as long as the audit's)."""

    def __init__(self, service: Service, audit: Audit) -> None:
        self.service = service
        self.days = audit.days
        self.retention_s = audit.settings.retention_days * 86_400.0
        key = os.environ.get(KEY_ENV)
        if not key:
            key = f"yhteys-feedback:{service.region.name}"
            if service.region.feedback:
                # The region's name is public and phone numbers are few: without a secret
                # key the kept hashes can be reversed by trying every number.
                log.warning(
                    "%s is not set: the feedback survey's number hashes use a key derived "
                    "from the region's name, which anyone can reverse; set a secret key "
                    "(the same on every instance) before real numbers arrive",
                    KEY_ENV,
                )
        self._key = key.encode()
        # Open contacts of a region with a survey: number, and what the figures group by.
        self.open: dict[str, dict[str, Any]] = {}
        # Requests by id, oldest first; each a plain dict (see ``_request``).
        self.requests: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self.by_day: dict[str, list[str]] = {}
        self.last_asked: OrderedDict[str, float] = OrderedDict()  # number hash -> time
        self.opted_out: dict[str, tuple[float, str]] = {}  # number hash -> (at, via)
        self.opt_out_days: Counter[str] = Counter()
        if self.policies and not service.settings.notify_url:
            log.warning(
                "feedback is configured for %s but there is no notification hook "
                "(--notify-url): requests are kept and retried until one is configured",
                ", ".join(self.policies),
            )

    @property
    def policies(self) -> Mapping[str, FeedbackPolicy]:
        return self.service.region.feedback

    def hash(self, number: str) -> str:
        return hmac.new(self._key, number.encode(), hashlib.sha256).hexdigest()[:32]

    # ------------------------------------------------------------ from the log

    @handles(ContactArrived, ChannelSwitched)
    def on_applied(self, event: Event, now: float) -> None:
        if not self.policies:
            return
        if isinstance(event, ContactArrived):
            spec = event.contact
            self.open[spec.id] = {
                "number": number_of(spec),
                "service": spec.service,
                "channel": spec.channel.value,
                "language": spec.language,
                "site": spec.preferred_site,
            }
        elif isinstance(event, ChannelSwitched) and event.channel is Channel.CALLBACK:
            entry = self.open.get(event.contact_id)
            number = normalise(event.attributes.get("number", ""))
            if entry is not None and number is not None:
                entry["number"] = number

    @handles(d.Closed)
    def on_decision(self, decision: d.Decision, now: float) -> None:
        if isinstance(decision, d.Closed):
            entry = self.open.pop(decision.contact_id, None)
            if entry is not None:
                self._closed(decision, entry, now)

    def _closed(self, x: d.Closed, entry: dict[str, Any], now: float) -> None:
        service_id = x.service or entry["service"]
        policy = self.policies.get(service_id)
        number = entry["number"]
        channel = x.channel or Channel(entry["channel"])
        if (
            policy is None
            or x.agent_id is None
            or x.outcome not in policy.after
            or channel not in policy.channels
            or number is None
        ):
            return
        rid = REQUEST_PREFIX + x.contact_id
        if rid in self.requests:
            return
        digest = self.hash(number)
        if digest in self.opted_out:
            log.info("no feedback request for %s: the number opted out", x.contact_id)
            return
        last = self.last_asked.get(digest)
        if last is not None and now - last < policy.cooldown_s:
            log.info(
                "no feedback request for %s: the number was asked within %d days",
                x.contact_id,
                policy.cooldown_days,
            )
            return
        language = entry["language"] or self.service.region.languages[0]
        record: dict[str, Any] = {
            "request_id": rid,
            "contact_id": x.contact_id,
            "service": service_id,
            "team": self._team_of(x.agent_id),
            "channel": entry["channel"],
            "language": language,
            "site": entry["site"],
            "day": self.days.of(now),
            "requested_at": now,
            "answer_by": now + policy.answer_window_s,
            "number_hash": digest,
            "score": None,
            "text": None,
            "answered_at": None,
            "opted_out": False,
        }
        self._prune(now)
        self.requests[rid] = record
        self.by_day.setdefault(record["day"], []).append(rid)
        self.last_asked[digest] = now
        self.last_asked.move_to_end(digest)
        self.service.notifier.enqueue(
            {
                "id": NOTIFICATION_PREFIX + x.contact_id,
                "type": "feedback_request",
                "request_id": rid,
                "contact_id": x.contact_id,
                "service": service_id,
                "number": number,
                "language": language,
                "text": self._text(policy, language),
                "answer_by": record["answer_by"],
            }
        )

    def _team_of(self, agent_id: str) -> str | None:
        try:
            return self.service.engine.agent(agent_id).team
        except RoutingError:
            spec = self.service.region.agents.get(agent_id)
            return spec.team if spec is not None else None

    def _text(self, policy: FeedbackPolicy, language: str) -> str:
        first = self.service.region.languages[0]
        return (
            policy.texts.get(language)
            or DEFAULT_TEXTS.get(language)
            or policy.texts.get(first)
            or DEFAULT_TEXTS.get(first)
            or DEFAULT_TEXTS["en"]
        )

    def _prune(self, now: float) -> None:
        while self.requests:
            rid, oldest = next(iter(self.requests.items()))
            if now - oldest["requested_at"] <= self.retention_s:
                break
            del self.requests[rid]
            ids = self.by_day.get(oldest["day"])
            if ids is not None:
                ids.remove(rid)
                if not ids:
                    del self.by_day[oldest["day"]]
        longest = max((p.cooldown_s for p in self.policies.values()), default=0.0)
        while self.last_asked:
            digest, at = next(iter(self.last_asked.items()))
            if now - at < longest:
                break
            del self.last_asked[digest]
        if self.opt_out_days:
            cutoff = self.days.of(now - self.retention_s)
            for day in [day for day in self.opt_out_days if day < cutoff]:
                del self.opt_out_days[day]

    def on_answered(self, note: FeedbackAnswered, now: float) -> None:
        record = self.requests.get(note.request_id)
        if record is None or record["answered_at"] is not None or now > record["answer_by"]:
            return  # unknown, answered already (a retry) or too late: nothing counts twice
        record["score"], record["text"], record["answered_at"] = note.score, note.text, now
        log.info(
            "feedback answer to %s: score %d, text %s",
            note.request_id,
            note.score,
            "(none)" if note.text is None else repr(note.text),
        )

    def on_opted_out(self, note: FeedbackOptedOut, now: float) -> None:
        if note.number_hash in self.opted_out:
            return
        self.opted_out[note.number_hash] = (now, note.via)
        self.opt_out_days[self.days.of(now)] += 1
        for record in self.requests.values():
            if record["number_hash"] == note.number_hash:
                if record["request_id"] == note.request_id:
                    record["opted_out"] = True
                # Not delivered yet: never sent.
                nid = NOTIFICATION_PREFIX + record["contact_id"]
                self.service.notifier.withdraw(nid)
        log.info("a number opted out of feedback requests (via %s)", note.via)

    # ------------------------------------------------------------ snapshots

    def capture(self) -> dict[str, Any]:
        return {
            "open": dict(self.open),
            "requests": [dict(r) for r in self.requests.values()],
            "last_asked": list(self.last_asked.items()),
            "opted_out": dict(self.opted_out),
            "opt_out_days": dict(self.opt_out_days),
        }

    def restore(self, data: dict[str, Any]) -> None:
        self.open = dict(data["open"])
        self.requests = OrderedDict((r["request_id"], dict(r)) for r in data["requests"])
        self.by_day = {}
        for rid, r in self.requests.items():
            self.by_day.setdefault(r["day"], []).append(rid)
        self.last_asked = OrderedDict(data["last_asked"])
        self.opted_out = dict(data["opted_out"])
        self.opt_out_days = Counter(data["opt_out_days"])

    # ------------------------------------------------------------ reading

    def audit_fields(self, contact_id: str) -> dict[str, Any]:
        """A contact's survey in its audit export (``audit.FEEDBACK_COLUMNS``)."""
        record = self.requests.get(REQUEST_PREFIX + contact_id)
        if record is None:
            return {}
        return {
            "feedback_requested_at": record["requested_at"],
            "feedback_score": record["score"],
            "feedback_answered_at": record["answered_at"],
            "feedback_text": record["text"],
        }

    def day(self, day: date) -> list[dict[str, Any]]:
        """Requests made on local ``day`` (the day the contact closed)."""
        return [self.requests[rid] for rid in self.by_day.get(day.isoformat(), ())]

    def grouped(
        self, records: list[dict[str, Any]], by: str | None, known: Iterable[str] = ()
    ) -> dict[str, Any]:
        """``{"total": figures, "rows"?: [{by: key, **figures}]}`` of ``records``."""
        body: dict[str, Any] = {}
        if by is not None:
            groups: dict[str | None, list[dict[str, Any]]] = {k: [] for k in known}
            for r in records:
                groups.setdefault(r[by], []).append(r)
            body["rows"] = [{by: k, **figures(rs)} for k, rs in groups.items()]
        body["total"] = figures(records)
        return body

    def known(self, by: str) -> tuple[str, ...]:
        region = self.service.region
        if by == "service":
            return tuple(self.policies)
        if by == "team":
            return tuple(region.teams)
        if by == "language":
            return tuple(region.languages)
        if by == "site":
            return tuple(region.sites)
        channels: set[Channel] = set()
        for policy in self.policies.values():
            channels |= policy.channels
        return tuple(c.value for c in Channel if c in channels)

    def report(self, first: date, last: date, by: str | None) -> dict[str, Any]:
        """NPS and response rate for the local days ``first`` .. ``last``: each day and
        the whole period."""
        days: list[dict[str, Any]] = []
        every: list[dict[str, Any]] = []
        opt_outs = 0
        day = first
        while day <= last:
            records = self.day(day)
            every.extend(records)
            block = {"date": day.isoformat(), **self.grouped(records, by, self.known(by or ""))}
            block["total"]["opt_outs"] = self.opt_out_days.get(day.isoformat(), 0)
            opt_outs += block["total"]["opt_outs"]
            days.append(block)
            day += timedelta(days=1)
        period = self.grouped(every, by, self.known(by or ""))
        period["total"]["opt_outs"] = opt_outs
        return {
            "from": first.isoformat(),
            "to": last.isoformat(),
            "timezone": self.days.zone.key,
            "by": by,
            "period": period,
            "days": days,
        }


def figures(records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Requests, answers, response rate and NPS (% promoters, 9-10, minus % detractors,
    0-6, of the answers) of ``records``; ``opt_outs`` counts keyword opt-outs to them."""
    requests = answers = promoters = passives = detractors = opt_outs = 0
    for r in records:
        requests += 1
        opt_outs += bool(r["opted_out"])
        score = r["score"]
        if score is None:
            continue
        answers += 1
        if score >= 9:
            promoters += 1
        elif score >= 7:
            passives += 1
        else:
            detractors += 1
    return {
        "requests": requests,
        "answers": answers,
        "response_pct": round(100.0 * answers / requests, 1) if requests else None,
        "promoters": promoters,
        "passives": passives,
        "detractors": detractors,
        "nps": round(100.0 * (promoters - detractors) / answers, 1) if answers else None,
        "opt_outs": opt_outs,
    }
