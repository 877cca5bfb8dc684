"""The supervisor's contact routes' request bodies (move, offer, remove), each written
once as a pydantic model: the handler checks a posted body with it
(``router.service.body_shapes``: every problem at once, in the readers' words) and the
OpenAPI document's request schema is written from it (the document's vocabulary makes
``service`` one of the region's services).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, ValidationInfo

from router.service.body_shapes import BodyShape, Text, refuse
from router.service.service import Service

MAX_REMOVAL_REASON = 500


def _known_service(name: str, info: ValidationInfo) -> str:
    service = info.context
    if isinstance(service, Service):
        services = service.region.services
        if name not in services:
            raise refuse(f"unknown service {name!r}; expected one of: {', '.join(services)}")
    return name


class MoveContactBody(BodyShape):
    """The service a waiting contact moves to."""

    service: Annotated[Text, AfterValidator(_known_service)]


class OfferContactBody(BodyShape):
    """The agent a waiting contact is offered to."""

    agent_id: Text


class RemoveContactBody(BodyShape):
    """Why a contact is taken out of the queue."""

    reason: Annotated[
        Text,
        Field(
            max_length=MAX_REMOVAL_REASON,
            description="why; masked like the logs (numbers, identity codes)",
        ),
    ]
