"""Work items: items from external work queues (e.g. Omaolo symptom assessments) routed
to agents allowed to open them, in the same priority order as every other contact.

Protocol (integration token with the ``workitems`` channel; ``source`` must be one of
the token's sources, else 403):

- ``POST /api/channels/workitems`` ``{source, item_id, service, topic, urgency, link,
  person_ref?, language?, site?, own_agent?, own_team?}`` → ``201 {contact_id, source,
  item_id, urgency, state, position, estimated_wait}``. The contact is
  ``wi-<source>-<item_id>`` in the ``workitem`` channel; ``source`` is its authorisation,
  so only agents holding ``auth:<source>`` are offered it (the engine enforces this); the
  agent opens ``link``.
  Posting the same ``(source, item_id)`` again answers ``200`` with the same contact, also
  after it closed (``state: "closed"`` and its ``outcome``). While the item is open, a
  re-post with another service, topic, link, person, phone, language, site or own nurse
  or team is not a retry but another item under a used id: 409 ``item_id_reused``, the
  fields that differ in ``problems``, nothing changed (a closed item keeps only its
  outcome, so it is answered with that). Re-posting never changes the
  item's class: when the posted ``urgency`` differs from the item's, the answer says so in
  ``urgency_unchanged {posted, kept, reason}`` (only the professional handling an item
  may re-classify it: ``POST /api/agent/contacts/{contact_id}/urgency``). The status
  shows ``urgency`` (and ``original_urgency`` once re-classified). An urgency class with a
  redirect (P0) is never queued: ``{"action": "redirect", "target": "112", ...}``.
- ``GET /api/channels/workitems/{source}/{item_id}`` → the same status.
- ``DELETE /api/channels/workitems/{source}/{item_id}`` → the source withdrew the item
  (outcome ``cancelled``); ``409`` once an agent has it.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from channels.answers import WORK_ITEM_STATUS
from channels.common import REF, InFlight, Own
from channels.refusals import admitted, recording
from channels.shapes import WorkItemBody, own_of
from channels.status import StatusBook
from router.config.tokens import ApiChannel, Role
from router.core.errors import UnknownContact
from router.core.events import ContactArrived
from router.core.model import Channel, ContactSpec
from router.service.auth import Principal
from router.service.body_shapes import check_body, request_schema
from router.service.http import ApiError, read_json
from router.service.routes import Route
from router.service.service import Service

PREFIX = "wi-"


def contact_id(source: str, item_id: str) -> str:
    return f"{PREFIX}{source}-{item_id}"


def _labels(spec: ContactSpec) -> dict[str, Any]:
    """What an item's status shows besides its state: where it came from."""
    return {"source": spec.authorisation, "item_id": spec.external_ref, "urgency": spec.urgency}


REPOST_REASON = (
    "re-posting does not change an item's urgency class; only the professional handling "
    "it may re-classify it, after contacting the person"
)


def _sources(principal: Principal | None) -> frozenset[str]:
    return principal.sources if principal is not None else frozenset()


class WorkItemChannel:
    def __init__(self, service: Service) -> None:
        self.service = service
        self.book = StatusBook(service, PREFIX, labeller=_labels)
        # Items being registered right now: a retried post waits for the first one.
        self._arriving = InFlight()

    def _allowed(self, principal: Principal | None, source: str) -> None:
        if source not in _sources(principal):
            name = principal.name if principal is not None else "anonymous"
            raise ApiError(
                403, "forbidden", f"token {name!r} may not submit items of source {source!r}"
            )

    def status(self, source: str, item_id: str) -> dict[str, Any] | None:
        """The item's status; None when unknown. An id that another (source, item)
        pair happens to map to is a conflict, never somebody else's status."""
        status = self.book.status(contact_id(source, item_id))
        if status is None:
            return None
        if (status.get("source"), status.get("item_id")) != (source, item_id):
            raise ApiError(
                409,
                "conflict",
                f"item {item_id!r} of {source!r} collides with another source's item id",
            )
        return status

    def _require(self, source: str, item_id: str) -> dict[str, Any]:
        status = self.status(source, item_id)
        if status is None:
            raise ApiError(404, "not_found", f"no work item {item_id!r} from {source!r}")
        return status

    async def create(self, request: web.Request, principal: Principal | None) -> web.StreamResponse:
        raw = await read_json(request)
        named = raw.get("source") if isinstance(raw, dict) else None
        if isinstance(named, str) and REF.fullmatch(named):
            # A source the token may not submit is refused whatever else is wrong.
            self._allowed(principal, named)
        body = check_body(raw, WorkItemBody, self.service)
        source, item_id, service_name, urgency = (
            body.source,
            body.item_id,
            body.service,
            body.urgency,
        )
        topic, link, person_ref, phone = body.topic, body.link, body.person_ref, body.phone
        language = body.language
        own = own_of(self.service, body.own_agent, body.own_team, body.site)
        cid = contact_id(source, item_id)
        await self._arriving.wait(cid)
        existing = self.status(source, item_id)
        if existing is not None:
            self._same_item(cid, body, own)
            kept = existing.get("urgency")
            if kept is not None and kept != urgency:
                existing["urgency_unchanged"] = {
                    "posted": urgency,
                    "kept": kept,
                    "reason": REPOST_REASON,
                }
            return web.json_response(existing)
        attributes = {"topic": topic, "source": source}
        if person_ref is not None:
            attributes["person_ref"] = person_ref
        if phone is not None:
            attributes["phone"] = phone  # links it with the person's calls
        spec = ContactSpec(
            id=cid,
            channel=Channel.WORKITEM,
            service=service_name,
            urgency=urgency,
            language=language,
            authorisation=source,
            preferred_agent=own.agent,
            preferred_team=own.team,
            preferred_site=own.site,
            external_ref=item_id,
            link=link,
            attributes=attributes,
        )
        async with recording(self.service):  # closed: 409 closed, recorded
            spec = admitted(self.service, spec)
        with self._arriving.registering(cid):
            await self.service.runtime.submit(ContactArrived(spec))
        return web.json_response(self._require(source, item_id), status=201)

    def _same_item(self, cid: str, body: WorkItemBody, own: Own) -> None:
        """409 ``item_id_reused`` when an item posted again under a known id differs from
        the one it names in anything but its urgency (which has its own answer,
        ``urgency_unchanged``): a retry has no second effect, and a changed item must not
        be silently answered with the old one's status. Checked while the item is open,
        against the contact as it arrived; a closed one keeps only its outcome."""
        try:
            first = self.service.engine.contact(cid).spec
        except UnknownContact:
            return
        said = first.attributes
        differs = [
            (name, f"posted {now!r}, the item has {was!r}")
            for name, was, now in (
                ("service", first.service, body.service),
                ("topic", said.get("topic"), body.topic),
                ("link", first.link, body.link),
                ("person_ref", said.get("person_ref"), body.person_ref),
                ("phone", said.get("phone"), body.phone),
                ("language", first.language, body.language),
                ("site", first.preferred_site, own.site),
                ("own_agent", first.preferred_agent, own.agent),
                ("own_team", first.preferred_team, own.team),
            )
            if was != now
        ]
        if differs:
            item = cid.removeprefix(PREFIX)
            raise ApiError(
                409,
                "item_id_reused",
                f"work item {item!r} is already known with another "
                f"{', '.join(name for name, _ in differs)}; nothing was changed. A retry must "
                "repeat the same item; a changed item needs a new item_id",
                differs,
            )

    def _path(self, request: web.Request, principal: Principal | None) -> tuple[str, str]:
        source, item_id = request.match_info["source"], request.match_info["item_id"]
        self._allowed(principal, source)
        return source, item_id

    async def current(
        self, request: web.Request, principal: Principal | None
    ) -> web.StreamResponse:
        return web.json_response(self._require(*self._path(request, principal)))

    async def withdraw(
        self, request: web.Request, principal: Principal | None
    ) -> web.StreamResponse:
        source, item_id = self._path(request, principal)
        self._require(source, item_id)
        await self.book.cancel(contact_id(source, item_id), f"withdrawn by {source}", "work item")
        return web.json_response(self._require(source, item_id))

    def routes(self) -> list[Route]:
        integ = (Role.INTEGRATION,)
        ch = ApiChannel.WORKITEMS
        return [
            Route(
                "POST",
                "/api/channels/workitems",
                self.create,
                "An item from an external work queue; idempotent per (source, item_id)",
                integ,
                ch,
                request_schema(WorkItemBody),
                {
                    200: "the item was already known: its status",
                    201: "status of the new item (or a redirect for the most urgent class)",
                    400: "invalid input",
                    403: "the token may not submit this source",
                    409: "item_id_reused: the open item was posted again with another "
                    "service, topic, link, person_ref, phone, language, site, own_agent or "
                    "own_team (problems name them), nothing changed; the item id collides "
                    "with another source's; or closed: the service "
                    "is closed after hours, the error carries opens_at (epoch s, null: no "
                    "opening hours ahead), recorded as a refusal",
                    413: "body too large",
                },
                tag="workitems",
                schemas={200: WORK_ITEM_STATUS, 201: WORK_ITEM_STATUS},
            ),
            Route(
                "GET",
                "/api/channels/workitems/{source}/{item_id}",
                self.current,
                "Status of a work item: position and estimated wait, or its outcome",
                integ,
                ch,
                responses={200: "status", 403: "not the token's source", 404: "unknown"},
                tag="workitems",
                schemas={200: WORK_ITEM_STATUS},
            ),
            Route(
                "DELETE",
                "/api/channels/workitems/{source}/{item_id}",
                self.withdraw,
                "The source withdrew the item (outcome cancelled)",
                integ,
                ch,
                responses={
                    200: "status",
                    403: "not the token's source",
                    404: "unknown",
                    409: "an agent has it",
                },
                tag="workitems",
                schemas={200: WORK_ITEM_STATUS},
            ),
        ]


def routes(channel: WorkItemChannel) -> list[Route]:
    return channel.routes()
