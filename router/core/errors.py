"""Errors the engine raises for events it cannot apply. The engine checks before it
changes anything, so a refused event leaves the state as it was."""

from __future__ import annotations


class RoutingError(Exception):
    """An event could not be applied; nothing was changed."""


class UnknownContact(RoutingError, KeyError):
    """No open contact has this id (it may have closed already)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown contact"


class UnknownAgent(RoutingError, KeyError):
    """No agent in the roster has this id."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown agent"


class InvalidEvent(RoutingError, ValueError):
    """The event names something that does not exist or breaks a rule (unknown service,
    urgency class or language, duplicate contact id)."""


class Conflict(RoutingError):
    """The event does not fit the current state (accepting an offer that expired,
    completing a contact that is not assigned, logging out with work in hand)."""


class StaleUpdate(Conflict):
    """A change was made against settings that have changed since (another instance's
    supervisor got there first): read them again and redo it."""
