"""Refusals at the door, made visible: a contact that a closed service turns away (it
tells the caller when it opens, or that it has no opening hours ahead; no contact is
made) is recorded in the audit, counted in ``/metrics`` (``yhteys_refused_total``) and
shown in the daily report (``refused``), so out-of-hours demand can be seen.

The decision itself stays in ``channels.admission.admit``; this module only wraps it for
the channels. A refusal goes through the ordered log as a note (``Refusal``), so in
Redis mode every instance's audit and metrics see it. It carries what the audit keeps
of an arrival and nothing more: the caller's or callback number masked, never a message,
topic or person reference. A retried request (the same call id, work item, chat or
``Idempotency-Key``) is one refusal.

How each channel answers (docs/service.md, "Opening hours"):

- phone: ``200 {"action": "closed", "opens_at"}`` — an instruction, like every answer
  to the telephony platform (the IVR plays "we are closed; call again at ...");
- callback, web, work items: ``409`` with code ``closed`` and ``opens_at`` in the error
  body (epoch seconds; null: no opening hours ahead);
- chat: an error frame with the same code and ``opens_at``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from channels.admission import CallAgainAt, admit
from router.core.model import ContactSpec
from router.service.audit import Refusal
from router.service.audit.record import mask_number
from router.service.http import ApiError
from router.service.service import Service


def closed_error(at: float | None) -> ApiError:
    """The door's refusal (``CallAgainAt``) as the HTTP API says it."""
    if at is None:
        return ApiError(409, "closed", "the service is closed and has no opening hours ahead")
    when = datetime.fromtimestamp(at, UTC).isoformat(timespec="minutes")
    return ApiError(409, "closed", f"the service is closed; it opens at {when}")


class Refused(ApiError):
    """409 ``closed``: the service is closed after hours. Carries the contact it would
    have made, so that the refusal is recorded; the body adds ``opens_at``."""

    def __init__(self, spec: ContactSpec, opens_at: float | None) -> None:
        closed = closed_error(opens_at)
        super().__init__(closed.status, closed.code, closed.message)
        self.spec = spec
        self.opens_at = opens_at

    def body(self) -> dict[str, object]:
        body = super().body()
        error: dict[str, Any] = body["error"]  # type: ignore[assignment]
        error["opens_at"] = self.opens_at
        return body


def admitted(service: Service, spec: ContactSpec) -> ContactSpec:
    """``spec`` as the engine should get it (``channels.admission.admit``), or ``Refused``
    when the service is closed and tells the caller to come again. Wrap the call in
    ``recording`` so that the refusal is recorded."""
    result = admit(
        service.region, service.engine.service(spec.service), spec, service.runtime.clock()
    )
    if isinstance(result, CallAgainAt):
        raise Refused(spec, result.at)
    return result


def refusal(service: Service, spec: ContactSpec, opens_at: float | None) -> Refusal:
    """The note recording that ``spec`` was turned away (personal data as the audit
    keeps it: the number masked, nothing else)."""
    raw = spec.attributes.get("number") or spec.attributes.get("caller")
    urgency = spec.urgency or service.engine.service(spec.service).default_urgency
    return Refusal(
        contact_id=spec.id,
        channel=spec.channel.value,
        service=spec.service,
        urgency=urgency,
        language=spec.language,
        site=spec.preferred_site,
        number=mask_number(raw) if raw else None,
        opens_at=opens_at,
    )


async def record(service: Service, spec: ContactSpec, opens_at: float | None) -> None:
    """Records the refusal of ``spec`` through the log (every instance sees it)."""
    await service.runtime.submit(refusal(service, spec, opens_at))


@contextlib.asynccontextmanager
async def recording(service: Service) -> AsyncIterator[None]:
    """Records a ``Refused`` raised inside, then lets it answer the caller."""
    try:
        yield
    except Refused as exc:
        await record(service, exc.spec, exc.opens_at)
        raise
