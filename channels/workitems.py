"""Work items from external work queues (e.g. Omaolo symptom assessments)."""

from __future__ import annotations

from router.service.routes import Route
from router.service.service import Service


def routes(service: Service) -> list[Route]:
    """Routes of this module (being built)."""
    return []
