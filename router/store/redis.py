"""The store in Redis: the log is a stream, the lease a key with a TTL, the snapshot a
hash. Writes that only the leader may make run as Lua scripts that check the lease in the
same step, so a leader that lost its lease (paused, partitioned) cannot write after its
successor has begun. Every connection error surfaces as ``StoreUnavailable``.

Three deployments, chosen by the URL (``URL_FORMS``): one Redis (``redis://``,
``rediss://``, ``unix://``), a Redis master found through Sentinel (``redis+sentinel://``,
followed across failovers), and Redis Cluster (``redis+cluster://``). Every key of a
region carries one hash tag (``router.store.keys``), so on a cluster the scripts, the
pipelined appends and the stream reads of a region all go to the one node owning its slot.

The Lua scripts are ``router.store.redis_scripts``; which Redis a URL names and how to
connect is ``router.store.redis_connection``.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Awaitable
from typing import Any, TypeVar, cast

from redis.exceptions import (
    AuthenticationError,
    BusyLoadingError,
    ClusterError,
    MasterDownError,
    OutOfMemoryError,
    ReadOnlyError,
    RedisClusterException,
    ResponseError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from router.store.base import (
    LogEntry,
    NotLeader,
    OutcomeUnknown,
    Saved,
    Snapshot,
    StoredConfig,
    StoreUnavailable,
    Unreadable,
)
from router.store.keys import Keys
from router.store.redis_connection import connect, parse_url, redact
from router.store.redis_scripts import (
    ACQUIRE,
    APPEND_FENCED,
    CONFIG,
    QUARANTINE,
    RELEASE,
    RENEW,
    SAVED,
    SNAPSHOT,
)

T = TypeVar("T")
log = logging.getLogger("yhteys.store")

# Errors that mean "Redis cannot be used right now" rather than "this command is wrong".
# ClusterError covers CLUSTERDOWN/MASTERDOWN during a cluster failover and exhausted
# redirections; RedisClusterException an unreachable or not fully covered cluster;
# ReadOnlyError a write that reached a replica (a demoted master).
_UNAVAILABLE = (
    RedisConnectionError,
    RedisTimeoutError,
    OSError,
    ClusterError,
    RedisClusterException,
    ReadOnlyError,
    OutOfMemoryError,
    BusyLoadingError,
    MasterDownError,
    TryAgainError,
)


def cause(exc: BaseException) -> str:
    """What a Redis error means for the operator, in one line: the Redis error code
    (NOAUTH, WRONGPASS, …) or the network's (connection refused, DNS) and the fix."""
    text = str(exc)
    root = exc.__cause__ or exc.__context__
    if isinstance(exc, AuthenticationError) or "NOAUTH" in text or "WRONGPASS" in text:
        if "invalid username-password" in text or "WRONGPASS" in text:
            return f"WRONGPASS: Redis refused the user or password in the URL ({text})"
        return f"NOAUTH: Redis requires a password and the URL gives none ({text})"
    if "DB index is out of range" in text:
        return f"the database number in the URL does not exist on this Redis ({text})"
    if isinstance(root, socket.gaierror) or "Name or service not known" in text:
        return f"DNS: the host name in the URL cannot be resolved ({text})"
    if isinstance(root, ConnectionRefusedError) or "Connection refused" in text:
        return f"connection refused: nothing listens at that address ({text})"
    if isinstance(exc, RedisTimeoutError | TimeoutError):
        return f"timed out: Redis did not answer in time ({text or type(exc).__name__})"
    return text or type(exc).__name__


_REFUSED_WRITES = ("NOREPLICAS", "BUSY")
# Replies that mean the URL or the server's set-up is wrong, not the command.
_MISCONFIGURED = ("DB index is out of range", "NOAUTH", "WRONGPASS", "NOPERM")


class RedisStore:
    def __init__(self, url: str, region: str, *, socket_timeout_s: float = 5.0) -> None:
        target = parse_url(url)
        self.url = redact(url)  # for messages: never the password
        self.kind = target.kind
        self.keys = Keys(region)
        self.r, self._sentinel = connect(target, socket_timeout_s=socket_timeout_s)
        self._acquire = self.r.register_script(ACQUIRE)
        self._renew = self.r.register_script(RENEW)
        self._release = self.r.register_script(RELEASE)
        self._append_fenced = self.r.register_script(APPEND_FENCED)
        self._snapshot = self.r.register_script(SNAPSHOT)
        self._config = self.r.register_script(CONFIG)
        self._quarantine = self.r.register_script(QUARANTINE)

    async def _call(self, work: Awaitable[T]) -> T:
        try:
            return await work
        except (RedisTimeoutError, TimeoutError) as exc:
            # Sent, but no answer: a write may have landed (or land later).
            raise OutcomeUnknown(f"redis at {self.url}: {cause(exc)}") from exc
        except _UNAVAILABLE as exc:
            raise StoreUnavailable(f"redis at {self.url}: {cause(exc)}") from exc
        except ResponseError as exc:
            text = str(exc)
            if "NOTLEADER" in text:
                raise NotLeader(text) from None
            if any(sign in text for sign in _MISCONFIGURED):
                raise StoreUnavailable(f"redis at {self.url}: {cause(exc)}") from exc
            if text.startswith("WRONGTYPE") or "not an integer" in text:
                raise Unreadable(
                    f"a key of region {self.keys.region} holds what Yhteys did not write "
                    f"({text}); see `yhteys log inspect`"
                ) from None
            if text.startswith(_REFUSED_WRITES):
                # Redis is up but will not take writes now (no replica to confirm them,
                # out of memory, a script running): as good as unreachable for us.
                raise StoreUnavailable(f"redis at {self.url} refuses writes: {text}") from exc
            raise

    async def append(self, batches: list[bytes]) -> list[str]:
        if len(batches) == 1:
            entry_id = await self._call(self.r.xadd(self.keys.log, {b"b": batches[0]}))
            return [_text(entry_id)]
        pipe = self.r.pipeline(transaction=False)
        for batch in batches:
            pipe.xadd(self.keys.log, {b"b": batch})
        ids = await self._call(pipe.execute())
        return [_text(i) for i in ids]

    async def read(self, after: str, count: int, block_ms: int | None) -> list[LogEntry]:
        reply: Any = await self._call(
            self.r.xread({self.keys.log: after}, count=count, block=block_ms or None)
        )
        return _entries(reply)

    async def read_and_trim(
        self, after: str, count: int, block_ms: int | None
    ) -> tuple[list[LogEntry], str | None]:
        # One round trip: the server runs HGET after XREAD returns, so a trim made
        # before the read is seen.
        pipe = self.r.pipeline(transaction=False)
        pipe.xread({self.keys.log: after}, count=count, block=block_ms or None)
        pipe.hget(self.keys.snapshot, "trimmed")
        reply, trimmed = await self._call(pipe.execute())
        return _entries(reply), (_text(trimmed) if trimmed is not None else None)

    async def first_id(self) -> str | None:
        entries: Any = await self._call(self.r.xrange(self.keys.log, count=1))
        return _text(entries[0][0]) if entries else None

    async def trimmed_below(self) -> str | None:
        value: Any = await self._call(
            cast(Awaitable[Any], self.r.hget(self.keys.snapshot, "trimmed"))
        )
        return _text(value) if value is not None else None

    async def acquire(self, owner: str, ttl_ms: int) -> int | None:
        try:
            fence = await self._call(
                cast(
                    Awaitable[Any],
                    self._acquire(keys=[self.keys.lease, self.keys.fence], args=[owner, ttl_ms]),
                )
            )
        except Unreadable as exc:
            raise Unreadable(
                f"the fence counter at {self.keys.fence} (or the lease at {self.keys.lease}) "
                f"is not what Yhteys writes: {exc}"
            ) from None
        if fence is not None and int(fence) == -1:
            log.warning(
                "the lease key %s had no expiry (nobody could ever take it over): "
                "gave it %d ms; an instance takes the lead when that lapses",
                self.keys.lease,
                ttl_ms,
            )
            return None
        return int(fence) if fence else None

    async def renew(self, owner: str, fence: int, ttl_ms: int) -> bool:
        ok = await self._call(
            cast(
                Awaitable[Any],
                self._renew(keys=[self.keys.lease], args=[f"{owner}:{fence}", ttl_ms]),
            )
        )
        return bool(ok)

    async def release(self, owner: str, fence: int) -> None:
        await self._call(
            cast(Awaitable[Any], self._release(keys=[self.keys.lease], args=[f"{owner}:{fence}"]))
        )

    async def holder(self) -> str | None:
        value = await self._call(self.r.get(self.keys.lease))
        return _text(value) if value is not None else None

    async def append_fenced(self, owner: str, fence: int, batch: bytes) -> str:
        entry_id = await self._call(
            cast(
                Awaitable[Any],
                self._append_fenced(
                    keys=[self.keys.lease, self.keys.log], args=[f"{owner}:{fence}", batch]
                ),
            )
        )
        return _text(entry_id)

    async def save_snapshot(self, owner: str, fence: int, snapshot: Snapshot) -> Saved:
        stored = await self._call(
            cast(
                Awaitable[Any],
                self._snapshot(
                    keys=[self.keys.lease, self.keys.snapshot, self.keys.log],
                    args=[
                        f"{owner}:{fence}",
                        snapshot.upto,
                        snapshot.fence,
                        repr(snapshot.at),
                        snapshot.blob,
                    ],
                ),
            )
        )
        return SAVED[int(stored)]

    async def load_snapshot(self) -> Snapshot | None:
        h = await self._call(
            cast(Awaitable[dict[bytes, bytes]], self.r.hgetall(self.keys.snapshot))
        )
        if not h:
            return None
        try:
            return Snapshot(
                upto=_text(h[b"upto"]),
                fence=int(h[b"fence"]),
                at=float(h[b"at"]),
                blob=h[b"blob"],
            )
        except (KeyError, ValueError, UnicodeDecodeError) as exc:
            fields = ", ".join(sorted(_text(k) for k in h))
            raise Unreadable(
                f"the snapshot at {self.keys.snapshot} is not one Yhteys wrote "
                f"(fields: {fields}; {type(exc).__name__}: {exc})"
            ) from None

    # ---------------------------------------------------------- operators' tools

    async def entries(
        self, after: str = "-", count: int = 100
    ) -> list[tuple[str, dict[str, bytes]]]:
        """Up to ``count`` log entries from ``after`` (inclusive), with all their fields."""
        reply: Any = await self._call(self.r.xrange(self.keys.log, min=after, count=count))
        return [(_text(i), {_text(k): v for k, v in fields.items()}) for i, fields in reply]

    async def quarantine(self, entry_id: str) -> str | None:
        """Moves log entry ``entry_id`` to the quarantine stream; its id there, or None
        when the log has no such entry."""
        moved = await self._call(
            cast(
                Awaitable[Any],
                self._quarantine(
                    keys=[self.keys.log, self.keys.quarantine], args=[entry_id, repr(time.time())]
                ),
            )
        )
        return _text(moved) if moved else None

    async def describe(self) -> dict[str, Any]:
        """What the region's keys hold, for ``yhteys log inspect``."""
        k = self.keys
        pipe = self.r.pipeline(transaction=False)
        for key in (k.log, k.lease, k.fence, k.snapshot, k.quarantine):
            pipe.type(key)
        pipe.pttl(k.lease)
        replies: list[Any] = await self._call(pipe.execute())
        types = [_text(t) for t in replies[:5]]
        found: dict[str, Any] = {
            "types": dict(
                zip(("log", "lease", "fence", "snapshot", "quarantine"), types, strict=True)
            ),
            "lease_ttl_ms": int(replies[5]),
        }
        if types[0] == "stream":
            found["log_length"] = int(await self._call(self.r.xlen(k.log)))
        if types[1] == "string":
            lease: Any = await self._call(self.r.get(k.lease))
            found["lease"] = _text(lease) if lease is not None else None
        if types[2] == "string":
            fence: Any = await self._call(self.r.get(k.fence))
            found["fence"] = _text(fence) if fence is not None else None
        if types[3] == "hash":
            h: Any = await self._call(cast(Awaitable[Any], self.r.hgetall(k.snapshot)))
            found["snapshot"] = {
                _text(key): (_text(v) if key != b"blob" else f"{len(v)} bytes")
                for key, v in h.items()
            }
        if types[4] == "stream":
            found["quarantined"] = int(await self._call(self.r.xlen(k.quarantine)))
        return found

    async def load_config(self) -> StoredConfig | None:
        h = await self._call(cast(Awaitable[dict[bytes, bytes]], self.r.hgetall(self.keys.config)))
        if not h:
            return None
        return StoredConfig(
            fingerprint=_text(h[b"fingerprint"]),
            document=h[b"document"],
            at=float(h[b"at"]),
            by=_text(h[b"by"]),
        )

    async def save_config(self, config: StoredConfig, expected: str | None) -> bool:
        stored = await self._call(
            cast(
                Awaitable[Any],
                self._config(
                    keys=[self.keys.config],
                    args=[
                        expected or "",
                        config.fingerprint,
                        config.document,
                        repr(config.at),
                        config.by,
                    ],
                ),
            )
        )
        return bool(stored)

    async def ping(self) -> None:
        await self._call(cast(Awaitable[Any], self.r.ping()))

    async def close(self) -> None:
        await self.r.aclose()
        if self._sentinel is not None:  # the master's client does not own the Sentinels'
            for client in self._sentinel.sentinels:
                await client.aclose()


def _entries(reply: Any) -> list[LogEntry]:
    if not reply:
        return []
    # RESP2 gives [[stream, entries]]; RESP3 gives {stream: [entries]}.
    streams = reply.values() if isinstance(reply, dict) else (s[1] for s in reply)
    # An entry without the field ``b`` was not written by Yhteys (a stray XADD): it is
    # passed on empty, and the replica reports it as unreadable with its id.
    return [
        LogEntry(_text(entry_id), dict(fields).get(b"b", b""))
        for entries in streams
        for entry_id, fields in entries
    ]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
