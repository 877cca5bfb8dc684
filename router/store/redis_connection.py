"""Which Redis a URL names and the client that reaches it: one Redis (``redis://``,
``rediss://``, ``unix://``), a master found through Sentinel (``redis+sentinel://``) or
a Redis Cluster (``redis+cluster://``) (``URL_FORMS``); the password is never shown
(``redact``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import redis.asyncio as aioredis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import NoBackoff

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
