"""The whole Redis key schema of Yhteys, in one place.

Every key of a region starts ``yhteys:v<SCHEMA_VERSION>:{<region>}:``. The braces are a
Redis Cluster hash tag: all of a region's keys hash to one slot, so the Lua scripts that
touch several of them (fenced snapshot + trim) stay atomic on a cluster too, and several
regions spread over the cluster's shards. A change to what the keys hold that an older
instance could not read bumps ``SCHEMA_VERSION``; the two versions then never share keys.

=====================  ======  ==========================================================
key                    type    holds
=====================  ======  ==========================================================
``...:log``            stream  every state-changing input, in order: one entry per batch
                               an instance appended, field ``b`` = the encoded batch
``...:lease``          string  the leader lease, ``"<instance>:<fence>"``, with a TTL
``...:fence``          string  the fencing counter; each new lease takes the next number
``...:snapshot``       hash    ``upto`` (log id it covers), ``fence``, ``at``, ``blob``
``...:config``         hash    the region file as last accepted: ``fingerprint`` (SHA-256
                               of ``document``), ``document`` (its canonical JSON), ``at``,
                               ``by`` (see ``router/service/regionfile.py``)
``...:quarantine``     stream  log entries an operator moved aside (``yhteys log
                               quarantine``): field ``id`` = the entry's id in the log,
                               ``at`` = when it was moved, ``f:<name>`` = its fields
=====================  ======  ==========================================================
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

SCHEMA_VERSION = 1
_SLUG = re.compile(r"[^a-z0-9]+")


def region_key(name: str) -> str:
    """A region's name as it appears in keys: lower case letters, digits and '-' (accents
    dropped: 'Österbotten' is 'osterbotten')."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = _SLUG.sub("-", ascii_name.lower()).strip("-")
    if not slug:
        raise ValueError(f"region name {name!r} has no letters or digits to key it by")
    return slug


@dataclass(frozen=True, slots=True)
class Keys:
    region: str

    @property
    def prefix(self) -> str:
        return f"yhteys:v{SCHEMA_VERSION}:{{{self.region}}}:"

    @property
    def log(self) -> str:
        return self.prefix + "log"

    @property
    def lease(self) -> str:
        return self.prefix + "lease"

    @property
    def fence(self) -> str:
        return self.prefix + "fence"

    @property
    def snapshot(self) -> str:
        return self.prefix + "snapshot"

    @property
    def config(self) -> str:
        return self.prefix + "config"

    @property
    def quarantine(self) -> str:
        """Log entries moved aside by an operator: kept, never dropped."""
        return self.prefix + "quarantine"

    def all(self) -> tuple[str, ...]:
        """The keys every running region has (the quarantine exists only once used)."""
        return (self.log, self.lease, self.fence, self.snapshot, self.config)
