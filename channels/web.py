"""Web: contact requests and forms from the region's website."""

from __future__ import annotations

from router.service.routes import Route
from router.service.service import Service


def routes(service: Service) -> list[Route]:
    """Routes of this module (being built)."""
    return []
