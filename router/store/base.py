"""The store contract: an append-only log with ids in order, a leader lease with a
fencing token, and the newest engine snapshot. ``tests/test_store_contract.py`` runs the
same suite against every implementation.

Log ids are Redis stream ids, ``"<ms>-<seq>"``, compared as pairs of integers.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Protocol


class StoreUnavailable(RuntimeError):
    """The store cannot be reached; nothing was (knowingly) written."""


class OutcomeUnknown(StoreUnavailable):
    """The store did not answer in time: what was sent may still have been applied."""


class Unreadable(RuntimeError):
    """Something at one of the region's keys is not what Yhteys writes there (a stray
    log entry, a snapshot or a fence counter of another program, a key of the wrong
    type); the message names the key and what was found. Nothing was written."""


class NotLeader(RuntimeError):
    """A fenced write was refused: the caller's lease has lapsed or been taken over."""


@dataclass(frozen=True, slots=True)
class LogEntry:
    id: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Snapshot:
    upto: str  # the id of the last log entry the snapshot includes
    fence: int
    at: float
    blob: bytes


@dataclass(frozen=True, slots=True)
class StoredConfig:
    """The region file as last accepted for the region (``router/service/regionfile.py``):
    every instance compares its own file with it at start-up."""

    fingerprint: str  # SHA-256 of ``document``, hex
    document: bytes  # the file's canonical JSON
    at: float
    by: str  # the instance that stored it


class Saved(Enum):
    """What became of a snapshot handed to ``Store.save_snapshot``."""

    STORED = "stored"
    CURRENT = "current"  # the stored one is at the same position: nothing to write
    BEHIND = "behind"  # the stored one is newer: nothing written


def parse_id(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def id_after(a: str, b: str) -> bool:
    """True when log id ``a`` comes after ``b``."""
    return parse_id(a) > parse_id(b)


class Store(Protocol):
    async def append(self, batches: list[bytes]) -> list[str]:
        """Appends each batch as one log entry, in order, in one round trip; their ids."""
        ...

    async def read(self, after: str, count: int, block_ms: int | None) -> list[LogEntry]:
        """Up to ``count`` entries after id ``after`` (``"0"`` for the start), waiting up
        to ``block_ms`` for the first one when there is none (``None``: do not wait)."""
        ...

    async def read_and_trim(
        self, after: str, count: int, block_ms: int | None
    ) -> tuple[list[LogEntry], str | None]:
        """``read``, and then — in the same round trip — ``trimmed_below``."""
        ...

    async def first_id(self) -> str | None:
        """The oldest entry still in the log (older ones were trimmed), or None."""
        ...

    async def trimmed_below(self) -> str | None:
        """Entries older than this id may have been trimmed (None: nothing trimmed yet).
        A reader that has not read up to it may have missed entries."""
        ...

    async def acquire(self, owner: str, ttl_ms: int) -> int | None:
        """Takes the lease if nobody holds it: the new fencing token, else None."""
        ...

    async def renew(self, owner: str, fence: int, ttl_ms: int) -> bool:
        """Extends the caller's lease; False when it is no longer the caller's."""
        ...

    async def release(self, owner: str, fence: int) -> None:
        """Gives the lease up (a clean shutdown), if it is still the caller's."""
        ...

    async def holder(self) -> str | None:
        """Who holds the lease now, ``"<owner>:<fence>"``, or None."""
        ...

    async def append_fenced(self, owner: str, fence: int, batch: bytes) -> str:
        """Appends one entry only while the caller holds the lease; else ``NotLeader``."""
        ...

    async def save_snapshot(self, owner: str, fence: int, snapshot: Snapshot) -> Saved:
        """Stores ``snapshot`` as the newest, only while the caller holds the lease, and
        trims the log below the previous snapshot (never below the newest, so a follower
        a little behind still finds what it has not read). Stores and trims nothing when
        the stored snapshot is at the same position (``Saved.CURRENT``: the same state)
        or past it (``Saved.BEHIND``: a new leader still catching up; replacing it would
        trim entries that neither snapshot holds)."""
        ...

    async def load_snapshot(self) -> Snapshot | None: ...

    async def load_config(self) -> StoredConfig | None:
        """The region file as last accepted, or None before the first was stored."""
        ...

    async def save_config(self, config: StoredConfig, expected: str | None) -> bool:
        """Stores ``config`` only while the stored fingerprint is ``expected`` (None:
        nothing stored yet), in one atomic step; False (nothing written) otherwise, so two
        instances starting at once with different files cannot both win."""
        ...

    async def ping(self) -> None:
        """Raises ``StoreUnavailable`` when the store cannot be reached."""
        ...

    async def close(self) -> None: ...
