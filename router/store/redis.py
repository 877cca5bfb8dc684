"""The store in Redis: the log is a stream, the lease a key with a TTL, the snapshot a
hash. Writes that only the leader may make run as Lua scripts that check the lease in the
same step, so a leader that lost its lease (paused, partitioned) cannot write after its
successor has begun. Every connection error surfaces as ``StoreUnavailable``.

Three deployments, chosen by the URL (``URL_FORMS``): one Redis (``redis://``,
``rediss://``, ``unix://``), a Redis master found through Sentinel (``redis+sentinel://``,
followed across failovers), and Redis Cluster (``redis+cluster://``). Every key of a
region carries one hash tag (``router.store.keys``), so on a cluster the scripts, the
pipelined appends and the stream reads of a region all go to the one node owning its slot.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, cast
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import redis.asyncio as aioredis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import NoBackoff
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

T = TypeVar("T")
log = logging.getLogger("yhteys.store")

# A lease key with no expiry (set by hand, or restored from a dump without TTLs) would
# keep every instance from leading for ever: it is given the lease's TTL (so it lapses
# like a lease whose holder died) and reported with -1.
_ACQUIRE = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  if redis.call('PTTL', KEYS[1]) == -1 then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return -1
  end
  return false
end
local fence = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. fence, 'PX', ARGV[2])
return fence
"""

_RENEW = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
"""

_APPEND_FENCED = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('NOTLEADER') end
return redis.call('XADD', KEYS[2], '*', 'b', ARGV[2])
"""

_CONFIG = """
local current = redis.call('HGET', KEYS[1], 'fingerprint')
if (current or '') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'fingerprint', ARGV[2], 'document', ARGV[3],
  'at', ARGV[4], 'by', ARGV[5])
return 1
"""

_SNAPSHOT = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('NOTLEADER') end
local previous = redis.call('HGET', KEYS[2], 'upto')
if previous then
  -- Never replace a snapshot with an older one (a new leader still catching up): the
  -- trim below would then cut entries the stored snapshot does not hold.
  local function parse(id)
    local ms, seq = string.match(id, '^(%d+)-?(%d*)$')
    return tonumber(ms), tonumber(seq) or 0
  end
  local pms, pseq = parse(previous)
  local nms, nseq = parse(ARGV[2])
  if nms == pms and nseq == pseq then return 2 end
  if nms < pms or (nms == pms and nseq < pseq) then return 0 end
end
redis.call('HSET', KEYS[2], 'upto', ARGV[2], 'fence', ARGV[3], 'at', ARGV[4], 'blob', ARGV[5])
if previous then
  redis.call('XTRIM', KEYS[3], 'MINID', previous)
  redis.call('HSET', KEYS[2], 'trimmed', previous)
end
return 1
"""

_SAVED = {0: Saved.BEHIND, 1: Saved.STORED, 2: Saved.CURRENT}

# Moves one log entry to the quarantine stream, fields and all, in one step.
_QUARANTINE = """
local found = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if #found == 0 then return false end
local fields = found[1][2]
local moved = {'id', ARGV[1], 'at', ARGV[2]}
for i = 1, #fields, 2 do
  moved[#moved + 1] = 'f:' .. fields[i]
  moved[#moved + 1] = fields[i + 1]
end
local qid = redis.call('XADD', KEYS[2], '*', unpack(moved))
redis.call('XDEL', KEYS[1], ARGV[1])
return qid
"""


URL_FORMS = (
    "redis://[USER:PASSWORD@]HOST[:PORT][/DB], rediss://… (TLS), unix:///PATH[?db=DB]; "
    "redis+sentinel://[USER:PASSWORD@]HOST[:PORT][,HOST[:PORT]…]/MASTER-NAME[/DB] "
    "(Sentinels, port 26379 by default; rediss+sentinel:// for TLS); "
    "redis+cluster://[USER:PASSWORD@]HOST[:PORT][,HOST[:PORT]…] "
    "(cluster nodes, port 6379 by default; rediss+cluster:// for TLS)"
)
_PLAIN_SCHEMES = ("redis", "rediss", "unix")
_MULTI_SCHEMES: dict[str, tuple[Literal["sentinel", "cluster"], bool]] = {
    "redis+sentinel": ("sentinel", False),
    "rediss+sentinel": ("sentinel", True),
    "redis+cluster": ("cluster", False),
    "rediss+cluster": ("cluster", True),
}
_DEFAULT_PORT = {"sentinel": 26379, "cluster": 6379}


def _flag(value: str) -> bool:
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(value)


# Query options of the Sentinel and Cluster forms (every client type takes these), and
# the Sentinels' own credentials when they require a password.
_OPTIONS: dict[str, Any] = {
    "socket_timeout": float,
    "socket_connect_timeout": float,
    "health_check_interval": int,
    "max_connections": int,
    "client_name": str,
    "ssl_ca_certs": str,
    "ssl_certfile": str,
    "ssl_keyfile": str,
    "ssl_cert_reqs": str,
    "ssl_check_hostname": _flag,
}
_SENTINEL_AUTH = frozenset({"sentinel_username", "sentinel_password"})
_SECRET_OPTIONS = frozenset({"password", "sentinel_password"})
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


class BadRedisUrl(ValueError):
    """The URL names no deployment this store can use; the message lists the forms."""


@dataclass(frozen=True, slots=True)
class RedisTarget:
    """What a URL names: one Redis (``url`` as given), Sentinels watching ``master``, or
    the startup nodes of a cluster, with the connection options they share."""

    kind: Literal["single", "sentinel", "cluster"]
    url: str
    nodes: tuple[tuple[str, int], ...] = ()
    master: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    sentinel_options: dict[str, Any] = field(default_factory=dict)


def parse_url(url: str) -> RedisTarget:
    """Reads ``--redis``; raises ``BadRedisUrl`` naming the expected forms."""
    scheme, sep, _ = url.partition("://")
    scheme = scheme.lower()
    if not sep or (scheme not in _PLAIN_SCHEMES and scheme not in _MULTI_SCHEMES):
        raise BadRedisUrl(f"{redact(url)!r} is not a Redis URL; expected {URL_FORMS}")
    if scheme in _PLAIN_SCHEMES:
        return RedisTarget("single", url)
    kind, tls = _MULTI_SCHEMES[scheme]

    def bad(why: str) -> BadRedisUrl:
        return BadRedisUrl(f"{redact(url)!r}: {why}; expected {URL_FORMS}")

    parts = urlsplit(url)
    userinfo, at, hostlist = parts.netloc.rpartition("@")
    if not at:
        hostlist = parts.netloc
    nodes: list[tuple[str, int]] = []
    for item in hostlist.split(","):
        try:
            one = urlsplit("//" + item.strip())
            host, port = one.hostname, one.port
        except ValueError as exc:
            raise bad(f"{item!r} is not HOST:PORT ({exc})") from None
        if not host:
            raise bad(f"{item!r} is not HOST:PORT")
        nodes.append((host, port or _DEFAULT_PORT[kind]))

    options: dict[str, Any] = {}
    user, _, password = userinfo.partition(":")  # as redis-py reads redis://USER:PASSWORD@
    if user:
        options["username"] = unquote(user)
    if password:
        options["password"] = unquote(password)
    if tls:
        options["ssl"] = True
    sentinel_options: dict[str, Any] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name in _SENTINEL_AUTH and kind == "sentinel":
            sentinel_options[name.removeprefix("sentinel_")] = value
            continue
        if name not in _OPTIONS:
            raise bad(f"unknown option {name!r}")
        if name.startswith("ssl_") and not tls:
            raise bad(f"option {name!r} needs TLS (rediss+{kind}://)")
        try:
            options[name] = _OPTIONS[name](value)
        except ValueError:
            raise bad(f"option {name}={value!r} is not valid") from None

    segments = (
        [unquote(s) for s in parts.path.strip("/").split("/")] if parts.path.strip("/") else []
    )
    master: str | None = None
    if kind == "sentinel":
        if not segments or not segments[0] or len(segments) > 2:
            raise bad("the path must be /MASTER-NAME or /MASTER-NAME/DB")
        master = segments[0]
        if len(segments) == 2:
            if not segments[1].isdigit():
                raise bad(f"database {segments[1]!r} is not a number")
            options["db"] = int(segments[1])
    elif segments not in ([], ["0"]):
        raise bad("a cluster has only database 0; give no path")
    return RedisTarget(kind, url, tuple(nodes), master, options, sentinel_options)


def redact(url: str) -> str:
    """The URL without its secrets: the password of the user part and of the query."""
    if "://" not in url:
        return "***@" + url.rpartition("@")[2] if "@" in url else url
    try:
        parts = urlsplit(url)
    except ValueError:
        return url.partition("://")[0] + "://…"
    userinfo, at, hosts = parts.netloc.rpartition("@")
    netloc = parts.netloc
    if at:
        user, colon, _ = userinfo.partition(":")
        netloc = f"{user}:***@{hosts}" if colon else f"***@{hosts}"
    query = "&".join(
        f"{name}=***" if name in _SECRET_OPTIONS else f"{name}={quote(value, safe='/:')}"
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
    )
    return f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "")


RedisClient = aioredis.Redis | RedisCluster


def connect(
    target: RedisTarget, *, socket_timeout_s: float = 5.0
) -> tuple[RedisClient, Sentinel | None]:
    """A client for the deployment (not yet connected: redis-py connects on first use),
    and the ``Sentinel`` it asks for the master, to be closed with it."""
    common: dict[str, Any] = {
        "decode_responses": False,
        "socket_connect_timeout": 2.0,
        "socket_timeout": socket_timeout_s,
        "health_check_interval": 10,
    }
    if target.kind == "single":
        return aioredis.Redis.from_url(target.url, **common), None
    if target.kind == "cluster":
        return RedisCluster(
            startup_nodes=[ClusterNode(host, port) for host, port in target.nodes],
            **{**common, **target.options},
        ), None
    assert target.master is not None
    options = {**common, **target.options}
    # Called through ``Any``: redis-py before 8.2 ships ``Sentinel.__init__`` untyped and
    # 8.2 types it, so neither a plain call nor an ignore type-checks under both.
    make_sentinel: Any = Sentinel
    sentinel: Sentinel = make_sentinel(
        list(target.nodes),
        sentinel_kwargs={
            **{k: v for k, v in options.items() if k.startswith(("socket_", "ssl"))},
            # Asking is already a loop over the Sentinels: retrying one that is down
            # would hold up every new connection to the master for seconds.
            "retry": Retry(NoBackoff(), 0),
            **target.sentinel_options,
        },
    )
    master = sentinel.master_for(target.master, redis_class=aioredis.Redis, **options)
    return master, sentinel


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
        self._acquire = self.r.register_script(_ACQUIRE)
        self._renew = self.r.register_script(_RENEW)
        self._release = self.r.register_script(_RELEASE)
        self._append_fenced = self.r.register_script(_APPEND_FENCED)
        self._snapshot = self.r.register_script(_SNAPSHOT)
        self._config = self.r.register_script(_CONFIG)
        self._quarantine = self.r.register_script(_QUARANTINE)

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
        return _SAVED[int(stored)]

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
