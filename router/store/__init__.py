"""Where the region's ordered input log, the leader lease and engine snapshots live:
in process (``MemoryStore``) or in Redis (``RedisStore``), behind one contract."""

from router.store.base import (
    LogEntry,
    NotLeader,
    Saved,
    Snapshot,
    Store,
    StoredConfig,
    StoreUnavailable,
    id_after,
    parse_id,
)

__all__ = [
    "LogEntry",
    "NotLeader",
    "Saved",
    "Snapshot",
    "Store",
    "StoreUnavailable",
    "StoredConfig",
    "id_after",
    "parse_id",
]
