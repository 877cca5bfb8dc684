"""How long and how much the audit keeps: ``retention_days`` after a contact arrived and
at most ``max_contacts`` records, read from ``YHTEYS_AUDIT_RETENTION_DAYS`` and
``YHTEYS_AUDIT_MAX_CONTACTS`` (every instance of a region must use the same values), and
how many closed records are sealed together."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

RETENTION_ENV = "YHTEYS_AUDIT_RETENTION_DAYS"
MAX_CONTACTS_ENV = "YHTEYS_AUDIT_MAX_CONTACTS"
DEFAULT_RETENTION_DAYS = 31
DEFAULT_MAX_CONTACTS = 100_000
SEAL_EVERY = 500  # closed records per sealed segment


@dataclass(frozen=True, slots=True)
class AuditSettings:
    retention_days: int = DEFAULT_RETENTION_DAYS
    max_contacts: int = DEFAULT_MAX_CONTACTS
    seal_every: int = SEAL_EVERY

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AuditSettings:
        env = os.environ if environ is None else environ
        return cls(
            _env_int(env, RETENTION_ENV, DEFAULT_RETENTION_DAYS),
            _env_int(env, MAX_CONTACTS_ENV, DEFAULT_MAX_CONTACTS),
        )


def _env_int(env: Mapping[str, str], key: str, default: int) -> int:
    text = env.get(key, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"{key} must be a whole number >= 1, got {text!r}")
    return value
