"""Where the region's ordered input log, the leader lease and engine snapshots live:
in process (``MemoryStore``) or in Redis (``RedisStore``), behind one contract."""

from router.store.base import (
    LogEntry,
    NotLeader,
    OutcomeUnknown,
    Saved,
    Snapshot,
    Store,
    StoredConfig,
    StoreUnavailable,
    Unreadable,
    id_after,
    parse_id,
)

__all__ = [
    "LogEntry",
    "NotLeader",
    "OutcomeUnknown",
    "Saved",
    "Snapshot",
    "Store",
    "StoreUnavailable",
    "StoredConfig",
    "Unreadable",
    "id_after",
    "parse_id",
]
