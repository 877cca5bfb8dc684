"""Redis mode on the two deployments the project promises, against real servers the tests
start on free loopback ports: a master with a replica watched by Sentinel
(``redis+sentinel://``), and Redis Cluster (``redis+cluster://``, two masters sharing the
slots, so a region's keys may live on a node the client did not start from).

The whole store contract (``tests/test_store_contract.py``) runs through both URLs; the
Sentinel set-up then loses its master and the store carries on against the promoted
replica. The URL tests at the end need no server.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import shutil
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.crc import key_slot

from router.core import decisions as d
from router.core.events import AgentLoggedIn, ContactArrived
from router.core.model import Channel, ContactSpec
from router.service.replica_state import ReplicaSettings
from router.service.replicated import ReplicatedRuntime
from router.service.service import Service, Settings
from router.store import NotLeader, Snapshot, Store, StoredConfig, StoreUnavailable
from router.store.keys import Keys
from router.store.redis import RedisStore
from router.store.redis_connection import URL_FORMS, BadRedisUrl, parse_url, redact
from tests import test_store_contract as contract
from tests.redis_support import free_port, require_redis_server, unique_region
from tests.service_support import region

PASSWORD = "admin-test-secret"  # the default user's: replication, Sentinel, the tests
SENTINEL_PASSWORD = "sentinel-test-secret"
USER, USER_PASSWORD = "yhteys", "yhteys-test-secret"
# Yhteys connects as a user with only what it needs: the ACL given in docs/redis.md.
ACL = (
    "~yhteys:* resetchannels -@all +hello +auth +ping +select +command +asking "
    "+cluster|slots +xadd +xread +xrange +xtrim +get +set +incr +exists +pexpire +pttl +del "
    "+hget +hset +hgetall +evalsha +script|load +type +xlen +xdel"
)
SECRETS = (PASSWORD, SENTINEL_PASSWORD, USER_PASSWORD)
MASTER_NAME = "yhteys"
START_TIMEOUT_S = 10.0
FAILOVER_TIMEOUT_S = 20.0


@dataclass
class Server:
    """One ``redis-server`` (or Sentinel) process of the tests' own."""

    name: str
    port: int
    dir: Path
    args: list[str]
    password: str | None = PASSWORD
    ca: Path | None = None  # TLS only, trusting this CA
    proc: subprocess.Popen[bytes] | None = None
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.dir / f"{self.name}.log"

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                ["redis-server", *self.args], stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            with contextlib.suppress(redis.RedisError), self.admin() as c:
                if c.ping():
                    return
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not start on {self.port}: {self.tail()}")

    def admin(self) -> redis.Redis:
        return redis.Redis(
            host="127.0.0.1",
            port=self.port,
            password=self.password,
            socket_timeout=2,
            socket_connect_timeout=1,
            decode_responses=True,
            ssl=self.ca is not None,
            ssl_ca_certs=str(self.ca) if self.ca else None,
        )

    def command(self, *args: Any) -> Any:
        with self.admin() as c:
            return c.execute_command(*args)

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None

    def tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-2000:]
        except OSError:
            return "(no log)"


def redis_node(name: str, tmp: Path, *extra: str, tls: Path | None = None) -> Server:
    """A Redis on a free port; with ``tls`` (a directory from ``make_certificates``) it
    speaks TLS only, replicates over TLS and runs its cluster bus over TLS."""
    port = free_port()
    home = tmp / name
    home.mkdir(parents=True)
    listen = ["--port", str(port)]
    if tls is not None:
        listen = ["--port", "0", "--tls-port", str(port), *tls_options(tls)]
        listen += ["--tls-replication", "yes", "--tls-cluster", "yes"]
    args = [
        *listen,
        "--bind", "127.0.0.1",
        "--save", "",
        "--appendonly", "no",
        "--dir", str(home),
        "--requirepass", PASSWORD,
        "--masterauth", PASSWORD,
        "--repl-diskless-sync-delay", "0",
        *extra,
    ]  # fmt: skip
    return Server(name, port, tmp, args, ca=tls / "ca.crt" if tls else None)


def tls_options(tls: Path) -> list[str]:
    return [
        "--tls-cert-file", str(tls / "server.crt"),
        "--tls-key-file", str(tls / "server.key"),
        "--tls-ca-cert-file", str(tls / "ca.crt"),
        "--tls-auth-clients", "no",
    ]  # fmt: skip


def make_certificates(tmp: Path) -> Path:
    """A throw-away CA and a certificate for 127.0.0.1 signed by it (openssl)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    tls = tmp / "tls"
    tls.mkdir()
    (tls / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for step in (
        ["req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "1",
         "-subj", "/CN=yhteys test CA"],
        ["req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1"],
        ["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
         "-CAcreateserial", "-out", "server.crt", "-days", "1", "-extfile", "san.ext"],
    ):  # fmt: skip
        subprocess.run(["openssl", *step], cwd=tls, check=True, capture_output=True, timeout=30)
    return tls


def until(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Waits (blocking: only for set-up in fixtures) until ``check`` holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(redis.RedisError):
            if check():
                return
        time.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}")


def launch(server: Server, started: list[Server]) -> Server:
    started.append(server)  # first, so that it is killed even if it never answers
    server.start()
    if "--sentinel" not in server.args:
        server.command("ACL", "SETUSER", USER, "reset", "on", f">{USER_PASSWORD}", *ACL.split())
    return server


@contextlib.contextmanager
def processes() -> Iterator[tuple[Path, list[Server]]]:
    """A scratch directory and a list of servers, all killed on the way out."""
    started: list[Server] = []
    with tempfile.TemporaryDirectory(prefix="yhteys-topology-") as tmp:
        try:
            yield Path(tmp), started
        finally:
            for server in started:
                server.kill()


# ------------------------------------------------------------------ Sentinel


@dataclass
class SentinelSetup:
    master: Server
    replica: Server
    sentinel: Server
    dead_sentinel_port: int

    def url(self, db: int = 0, master: str = MASTER_NAME) -> str:
        # A Sentinel that is not running comes first: the client must move on to the next.
        ca = self.sentinel.ca
        return (
            f"{'rediss' if ca else 'redis'}+sentinel://{USER}:{USER_PASSWORD}@"
            f"127.0.0.1:{self.dead_sentinel_port},127.0.0.1:{self.sentinel.port}/{master}/{db}"
            f"?sentinel_password={SENTINEL_PASSWORD}" + (f"&ssl_ca_certs={ca}" if ca else "")
        )

    def master_port(self) -> int:
        _, port = self.sentinel.command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME)
        return int(port)


def start_sentinel_setup(
    tmp: Path, started: list[Server], tls: Path | None = None
) -> SentinelSetup:
    master = launch(redis_node("master", tmp, tls=tls), started)
    replica = launch(
        redis_node("replica", tmp, "--replicaof", "127.0.0.1", str(master.port), tls=tls),
        started,
    )
    until(
        lambda: replica.command("INFO", "replication")["master_link_status"] == "up",
        START_TIMEOUT_S,
        "the replica to sync",
    )
    port = free_port()
    home = tmp / "sentinel"
    home.mkdir(parents=True)
    conf = home / "sentinel.conf"  # Sentinel rewrites its file: a writable copy of its own
    listen = f"port {port}\n"
    if tls is not None:  # Sentinel's own port, and how it talks to the Redis it watches
        options = tls_options(tls)
        listen = f"port 0\ntls-port {port}\ntls-replication yes\n" + "".join(
            f"{options[i][2:]} {options[i + 1]}\n" for i in range(0, len(options), 2)
        )
    conf.write_text(
        listen + "bind 127.0.0.1\n"
        f"dir {home}\n"
        f"requirepass {SENTINEL_PASSWORD}\n"
        f"sentinel monitor {MASTER_NAME} 127.0.0.1 {master.port} 1\n"
        f"sentinel auth-pass {MASTER_NAME} {PASSWORD}\n"
        f"sentinel down-after-milliseconds {MASTER_NAME} 400\n"
        f"sentinel failover-timeout {MASTER_NAME} 4000\n"
    )
    sentinel = launch(
        Server(
            "sentinel",
            port,
            tmp,
            [str(conf), "--sentinel"],
            SENTINEL_PASSWORD,
            ca=tls / "ca.crt" if tls else None,
        ),
        started,
    )

    def knows_the_replica() -> bool:
        replicas = sentinel.command("SENTINEL", "REPLICAS", MASTER_NAME)
        return any(int(r["port"]) == replica.port for r in replicas)

    until(knows_the_replica, START_TIMEOUT_S, "Sentinel to find the replica")
    return SentinelSetup(master, replica, sentinel, free_port())


@pytest.fixture(scope="module")
def sentinel_setup() -> Iterator[SentinelSetup]:
    require_redis_server()
    with processes() as (tmp, started):
        yield start_sentinel_setup(tmp, started)


# ------------------------------------------------------------------ Cluster


@dataclass
class ClusterSetup:
    nodes: list[Server]

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{n.port}" for n in self.nodes)
        ca = self.nodes[0].ca
        return f"{'rediss' if ca else 'redis'}+cluster://{USER}:{USER_PASSWORD}@{hosts}" + (
            f"?ssl_ca_certs={ca}" if ca else ""
        )

    def owner(self, slot: int) -> Server:
        return self.nodes[slot * len(self.nodes) // 16384]


def start_cluster(
    tmp: Path, started: list[Server], masters: int = 2, tls: Path | None = None
) -> ClusterSetup:
    """``masters`` nodes sharing the 16384 slots in equal ranges."""
    nodes = []
    for i in range(masters):
        node = redis_node(
            f"node{i}",
            tmp,
            "--cluster-enabled", "yes",
            "--cluster-config-file", str(tmp / f"node{i}.conf"),
            "--cluster-port", str(free_port()),
            "--cluster-node-timeout", "2000",
            tls=tls,
        )  # fmt: skip
        nodes.append(launch(node, started))
    for i, node in enumerate(nodes):
        node.command("CLUSTER", "SET-CONFIG-EPOCH", i + 1)
        first, last = i * 16384 // masters, (i + 1) * 16384 // masters - 1
        node.command("CLUSTER", "ADDSLOTSRANGE", first, last)
    for node in nodes[1:]:
        bus = int(node.command("CONFIG", "GET", "cluster-port")["cluster-port"])
        nodes[0].command("CLUSTER", "MEET", "127.0.0.1", node.port, bus)

    def converged() -> bool:
        return all(
            "cluster_state:ok" in n.command("CLUSTER", "INFO")
            and len(n.command("CLUSTER", "SLOTS")) == masters
            for n in nodes
        )

    until(converged, START_TIMEOUT_S, "the cluster to cover every slot")
    return ClusterSetup(nodes)


@pytest.fixture(scope="module")
def cluster_setup() -> Iterator[ClusterSetup]:
    require_redis_server()
    with processes() as (tmp, started):
        yield start_cluster(tmp, started)


# ------------------------------------------------------------------ the contract


def contract_checks() -> list[Callable[..., Any]]:
    """Every store test of the contract suite (each takes ``store``, some ``request``)."""
    return [
        f
        for name, f in sorted(vars(contract).items())
        if name.startswith("test_")
        and inspect.iscoroutinefunction(f)
        and "store" in inspect.signature(f).parameters
    ]


@pytest.fixture(params=["sentinel", "cluster"])
async def topology_store(request: pytest.FixtureRequest) -> AsyncIterator[RedisStore]:
    if request.param == "sentinel":
        url = request.getfixturevalue("sentinel_setup").url()
    else:
        url = request.getfixturevalue("cluster_setup").url
    store = RedisStore(url, unique_region())
    assert store.kind == request.param
    try:
        yield store
    finally:
        await store.close()


def test_the_contract_suite_is_found() -> None:
    names = {f.__name__ for f in contract_checks()}
    assert "test_a_lapsed_lease_goes_to_the_next_taker_and_fences_the_old_holder" in names
    assert "test_snapshots_keep_the_newest_and_trim_below_the_previous" in names
    assert len(names) >= 8


@pytest.mark.timeout(20)
@pytest.mark.parametrize("check", contract_checks(), ids=lambda f: f.__name__[5:])
async def test_the_store_contract_holds(
    check: Callable[..., Any], topology_store: RedisStore, request: pytest.FixtureRequest
) -> None:
    wanted = inspect.signature(check).parameters
    given = {"store": topology_store, "request": request}
    await check(**{name: given[name] for name in wanted})


# ------------------------------------------------------------------ Sentinel specifics


@pytest.mark.timeout(20)
async def test_sentinel_keys_go_to_the_master_in_the_database_named_by_the_url(
    sentinel_setup: SentinelSetup,
) -> None:
    store = RedisStore(sentinel_setup.url(db=3), unique_region())
    try:
        await store.append([b"x"])
        fence = await store.acquire("a", 60_000)
        assert fence is not None
        await store.append_fenced("a", fence, b"tick")
    finally:
        await store.close()
    with redis.Redis(port=sentinel_setup.master.port, password=PASSWORD, db=3) as c:
        assert c.xlen(store.keys.log) == 2
    with redis.Redis(port=sentinel_setup.master.port, password=PASSWORD, db=0) as c:
        assert not c.exists(store.keys.log)


@pytest.mark.timeout(20)
async def test_an_unknown_master_name_or_no_sentinel_is_unavailable_not_a_crash(
    sentinel_setup: SentinelSetup,
) -> None:
    for url in (
        sentinel_setup.url(master="no-such-master"),
        f"redis+sentinel://{USER}:{USER_PASSWORD}@127.0.0.1:{free_port()}/{MASTER_NAME}",
    ):
        store = RedisStore(url, unique_region())
        try:
            with pytest.raises(StoreUnavailable, match="No master found") as caught:
                await store.ping()
            assert not any(secret in str(caught.value) for secret in SECRETS)
        finally:
            await store.close()


async def wait_until_ok(store: Store, timeout: float) -> None:
    """Retries until the store answers again."""
    async with asyncio.timeout(timeout):
        while True:
            try:
                await store.ping()
                return
            except StoreUnavailable:
                await asyncio.sleep(0.1)


FAST = ReplicaSettings(
    lease_ttl_s=0.6, renew_every_s=0.1, acquire_every_s=0.05, read_block_ms=100, retry_s=0.05
)


def call(n: int) -> ContactArrived:
    return ContactArrived(
        ContactSpec(f"phone-c{n}", Channel.VOICE, "nursing_advice", language="fi")
    )


@pytest.mark.timeout(40)
async def test_a_sentinel_failover_promotes_the_replica_and_the_store_carries_on() -> None:
    require_redis_server()
    with processes() as (tmp, started):
        setup = start_sentinel_setup(tmp, started)
        old_master = setup.master.port
        store = RedisStore(setup.url(), unique_region())
        service = Service(
            region(), Settings(), store=RedisStore(setup.url(), unique_region()), replica=FAST
        )
        runtime = service.runtime
        assert isinstance(runtime, ReplicatedRuntime)
        task = asyncio.create_task(runtime.run())
        try:
            async with asyncio.timeout(5):
                await runtime.started.wait()
            # Before: the log, a lease, a snapshot; an instance applying it.
            fence = await store.acquire("a", 60_000)
            assert fence is not None
            ids = await store.append([b"one", b"two"])
            ids.append(await store.append_fenced("a", fence, b"three"))
            await store.save_snapshot("a", fence, Snapshot(ids[0], fence, 1.0, b"snap"))
            await runtime.submit(AgentLoggedIn("a001"))
            assert [type(x) for x in await runtime.submit(call(1))] == [d.Offered]
            # Everything written has reached the replica before the master dies.
            assert setup.master.command("WAIT", 1, 2000) == 1

            setup.master.kill()
            # Until Sentinel promotes the replica there is no master: the instance says it
            # is not ready and refuses what it cannot store (the API's 503).
            async with asyncio.timeout(FAILOVER_TIMEOUT_S):
                while runtime.healthy:
                    await asyncio.sleep(0.01)
            with pytest.raises(StoreUnavailable):
                await runtime.submit(call(2))
            await wait_until_ok(store, FAILOVER_TIMEOUT_S)
            assert setup.master_port() == setup.replica.port != old_master
            assert setup.replica.command("INFO", "replication")["role"] == "master"

            # After: the same client object, now against the promoted replica.
            entries = await store.read("0", 10, None)
            assert [e.data for e in entries] == [b"one", b"two", b"three"]
            assert await store.holder() == f"a:{fence}"
            assert await store.acquire("b", 60_000) is None
            assert await store.renew("a", fence, 60_000)
            (later,) = await store.append([b"four"])
            assert later > ids[-1] and [e.id for e in await store.read(ids[-1], 10, None)] == [
                later
            ]
            snap = await store.load_snapshot()
            assert snap is not None and snap.blob == b"snap"
            await store.release("a", fence)
            b = await store.acquire("b", 60_000)
            assert b is not None and b > fence
            with pytest.raises(NotLeader):
                await store.append_fenced("a", fence, b"from the old leader")

            # The instance is ready again and takes events; its state survived.
            async with asyncio.timeout(FAILOVER_TIMEOUT_S):
                while not runtime.healthy:
                    await asyncio.sleep(0.05)
            decisions = await runtime.submit(call(2))
            assert [type(x) for x in decisions] == [d.Queued]  # a001 has phone-c1 on offer
            assert {c.id for c in service.engine.contacts()} == {"phone-c1", "phone-c2"}
        finally:
            runtime.halt()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(5):
                    await task
            await store.close()
            await service.store.close()  # type: ignore[union-attr]


# ------------------------------------------------------------------ Cluster specifics


def slot_of(name: str) -> int:
    return key_slot(Keys(name).log.encode())


def region_in(low: int, high: int) -> str:
    """A region name whose hash tag falls in the slots ``low`` … ``high``."""
    while True:
        name = unique_region()
        if low <= slot_of(name) <= high:
            return name


@pytest.mark.timeout(20)
async def test_each_region_lives_whole_on_the_node_owning_its_slot(
    cluster_setup: ClusterSetup,
) -> None:
    assert len(cluster_setup.nodes) == 2
    for low, high in ((0, 8191), (8192, 16383)):
        name = region_in(low, high)
        store = RedisStore(cluster_setup.url, name)
        try:
            fence = await store.acquire("a", 60_000)
            assert fence is not None
            ids = await store.append([b"one", b"two", b"three"])  # a pipeline
            await store.append_fenced("a", fence, b"tick")  # EVALSHA over two keys
            await store.save_snapshot("a", fence, Snapshot(ids[1], fence, 1.0, b"s"))
            assert await store.save_config(StoredConfig("f", b"{}", 1.0, "a"), None)
            assert len(await store.read("0", 10, 100)) == 4  # XREAD with BLOCK
        finally:
            await store.close()
        keys = Keys(name)
        owner = cluster_setup.owner(slot_of(name))
        assert owner.command("EXISTS", *keys.all()) == len(keys.all())  # every key, one node
        assert {int(owner.command("CLUSTER", "KEYSLOT", key)) for key in keys.all()} == {
            slot_of(name)
        }


@pytest.mark.timeout(20)
async def test_an_unreachable_cluster_or_a_plain_redis_is_unavailable_not_a_crash(
    sentinel_setup: SentinelSetup,
) -> None:
    for url, message in (
        (f"redis+cluster://127.0.0.1:{free_port()}", "cannot be connected"),
        (
            f"redis+cluster://{USER}:{USER_PASSWORD}@127.0.0.1:{sentinel_setup.master.port}",
            "cannot be connected",
        ),
    ):
        store = RedisStore(url, unique_region())
        try:
            with pytest.raises(StoreUnavailable, match=message) as caught:
                await store.read("0", 1, None)
            assert not any(secret in str(caught.value) for secret in SECRETS)
        finally:
            await store.close()


# ------------------------------------------------------------------ TLS


async def some_of_everything(store: RedisStore) -> None:
    fence = await store.acquire("a", 60_000)
    assert fence is not None
    ids = await store.append([b"one", b"two"])
    await store.append_fenced("a", fence, b"tick")
    await store.save_snapshot("a", fence, Snapshot(ids[0], fence, 1.0, b"s"))
    assert [e.data for e in await store.read("0", 10, 100)] == [b"one", b"two", b"tick"]
    assert (await store.load_snapshot()) == Snapshot(ids[0], fence, 1.0, b"s")


@pytest.mark.timeout(30)
async def test_tls_to_sentinel_and_to_a_single_node_cluster() -> None:
    require_redis_server()
    with processes() as (tmp, started):
        tls = make_certificates(tmp)
        sentinel_url = start_sentinel_setup(tmp, started, tls=tls).url()
        cluster_url = start_cluster(tmp / "cluster", started, masters=1, tls=tls).url
        for url in (sentinel_url, cluster_url):
            assert url.startswith("rediss+")
            store = RedisStore(url, unique_region())
            try:
                await some_of_everything(store)
            finally:
                await store.close()


# ------------------------------------------------------------------ URLs (no server)


@pytest.mark.parametrize(
    ("url", "kind", "nodes", "master", "options", "sentinel_options"),
    [
        ("redis://127.0.0.1:6379/0", "single", (), None, {}, {}),
        ("rediss://:pw@redis.example:6380/2", "single", (), None, {}, {}),
        ("unix:///run/redis.sock?db=1", "single", (), None, {}, {}),
        (
            "redis+sentinel://:pw@s1:26379,s2,[::1]:5000/main/2?sentinel_password=sp",
            "sentinel",
            (("s1", 26379), ("s2", 26379), ("::1", 5000)),
            "main",
            {"password": "pw", "db": 2},
            {"password": "sp"},
        ),
        (
            "rediss+sentinel://yhteys:p%40ss@s1/main?ssl_ca_certs=/etc/ca.pem",
            "sentinel",
            (("s1", 26379),),
            "main",
            {"username": "yhteys", "password": "p@ss", "ssl": True, "ssl_ca_certs": "/etc/ca.pem"},
            {},
        ),
        (
            "redis+cluster://n1:7000,n2:7001?socket_timeout=3",
            "cluster",
            (("n1", 7000), ("n2", 7001)),
            None,
            {"socket_timeout": 3.0},
            {},
        ),
        (
            "rediss+cluster://:pw@n1/0",
            "cluster",
            (("n1", 6379),),
            None,
            {"password": "pw", "ssl": True},
            {},
        ),
    ],
)
def test_urls_name_the_deployment(
    url: str,
    kind: str,
    nodes: tuple[tuple[str, int], ...],
    master: str | None,
    options: dict[str, Any],
    sentinel_options: dict[str, Any],
) -> None:
    target = parse_url(url)
    assert (target.kind, target.nodes, target.master) == (kind, nodes, master)
    assert (target.options, target.sentinel_options) == (options, sentinel_options)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("localhost:6379", "is not a Redis URL"),
        ("http://redis:6379", "is not a Redis URL"),
        ("sentinel://s1:26379/main", "is not a Redis URL"),
        ("redis+sentinel://s1:26379", "path must be /MASTER-NAME"),
        ("redis+sentinel://s1/main/zero", "database 'zero' is not a number"),
        ("redis+sentinel://s1/main/0/1", "path must be /MASTER-NAME"),
        ("redis+cluster://n1/1", "only database 0"),
        ("redis+cluster://n1:port", "is not HOST:PORT"),
        ("redis+cluster://n1,,n2", "is not HOST:PORT"),
        ("redis+cluster://n1?db=2", "unknown option 'db'"),
        ("redis+cluster://n1?ssl_ca_certs=/ca.pem", "needs TLS"),
        ("redis+cluster://n1?socket_timeout=soon", "is not valid"),
    ],
)
def test_bad_urls_are_refused_naming_the_expected_forms(url: str, why: str) -> None:
    with pytest.raises(BadRedisUrl, match=why) as caught:
        RedisStore(url, "r")
    assert URL_FORMS in str(caught.value)


def test_secrets_never_appear_in_what_is_shown() -> None:
    assert redact("redis://:pw@h:1/0") == "redis://:***@h:1/0"
    assert redact("redis://user:pw@h/0") == "redis://user:***@h/0"
    assert redact("unix:///s.sock?db=1&password=pw") == "unix:///s.sock?db=1&password=***"
    assert (
        redact("redis+sentinel://:pw@s1,s2/main/0?sentinel_password=sp")
        == "redis+sentinel://:***@s1,s2/main/0?sentinel_password=***"
    )
    with pytest.raises(BadRedisUrl) as caught:
        parse_url("redis+cluster://:s3cr3t@n1?nonsense=1")
    assert "s3cr3t" not in str(caught.value)
