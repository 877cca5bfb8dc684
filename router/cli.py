"""The ``yhteys`` command line: ``yhteys serve`` runs the routing service; ``yhteys check
[REGION.yaml]`` checks a region file (problems exit 2, warnings are printed); ``yhteys
token`` generates a bearer token and the ``tokens:`` entry holding its hash; ``yhteys
demo`` runs the engine on a region in virtual time and prints what it decided and why;
``yhteys log inspect`` and ``yhteys log quarantine ID`` show what a region's Redis keys
hold and move an unreadable log entry aside (docs/redis.md, "When something goes wrong");
``yhteys staffing`` (router/staffing) sizes a pool by Erlang C / Erlang A; ``yhteys
simulate`` (router/whatif) is the replicated what-if on the real engine.

Without a region file named, every command reads ``$YHTEYS_CONFIG``, else
``./config/region.yaml`` when it exists, else the sample region packaged with the
distribution. Every ``serve`` option has an environment variable (``YHTEYS_*``, named in
its help); the command line wins over the environment."""

from __future__ import annotations

import argparse
import os
import random
import re
import secrets
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from statistics import mean
from typing import TYPE_CHECKING, TypedDict

import yaml

from router import __version__
from router.config import ConfigError, load_region
from router.config.advice import region_warnings
from router.config.reader import IDENT
from router.config.region import Region
from router.config.sample import CONFIG_HELP, region_file
from router.config.tokens import ApiChannel, Role, hash_token
from router.core import decisions as d
from router.core.engine import Engine
from router.core.model import Channel, ContactSpec
from router.sim import Behaviour, ContactFactory, Simulation, servable
from router.staffing import command as staffing_command
from router.whatif import command as whatif_command
from router.whatif import compare_command

if TYPE_CHECKING:
    from router.store.redis import RedisStore


# Which channel a demo contact of a service arrives on, and how often each is used.
_LANGUAGE_MIX = (("fi", 0.75), ("sv", 0.2), ("en", 0.05))


def _clock(t: float) -> str:
    t = int(t)
    return f"{8 + t // 3600:02d}:{t // 60 % 60:02d}:{t % 60:02d}"


def _describe(decision: d.Decision) -> str:
    match decision:
        case d.Queued(contact_id=c, service=s, step=step, due_at=due):
            return f"queued     {c:<6} {s} at step {step.value}, due {_clock(due)}"
        case d.Offered(contact_id=c, agent_id=a, channel=ch, trace=tr):
            return f"offered    {c:<6} to {a} ({ch.value}; {tr})"
        case d.Assigned(contact_id=c, agent_id=a):
            return f"assigned   {c:<6} to {a}"
        case d.Requeued(contact_id=c, agent_id=a, reason=r):
            return f"requeued   {c:<6} from {a}: {r}, keeps its place"
        case d.Widened(contact_id=c, step=step, skipped=sk):
            skipped = f" (skipped {', '.join(s.value for s in sk)})" if sk else ""
            return f"widened    {c:<6} to {step.value}{skipped}"
        case d.Overflowed(contact_id=c, from_service=f, to_service=t):
            return f"overflowed {c:<6} from {f} to {t}"
        case d.Redirected(contact_id=c, target=t, urgency=u):
            return f"redirected {c:<6} to {t} (urgency {u})"
        case d.EscalationWarning(contact_id=c, service=s, due_at=due):
            return f"WARNING    {c:<6} {s} due {_clock(due)} and still waiting"
        case d.DeadlineMissed(contact_id=c, service=s, due_at=due):
            return f"MISSED     {c:<6} {s} was due {_clock(due)}"
        case d.Closed(contact_id=c, outcome=o, agent_id=a):
            return f"closed     {c:<6} {o}" + (f" by {a}" if a else "")
        case d.AgentPresenceSet(agent_id=a, presence=p, reason=r):
            return f"presence   {a} -> {p.value} ({r})"
        case d.WrapUpStarted(agent_id=a, until=u):
            return f"wrap-up    {a} until {_clock(u)}"
        case d.WrapUpEnded(agent_id=a):
            return f"wrap-up    {a} done"
        case d.OfferWithdrawn(contact_id=c, agent_id=a, reason=r):
            return f"withdrawn  {c:<6} from {a}: {r}"
    return repr(decision)


# Channels a demo contact arrives on, by weight (work-item services: work items only).
_CHANNEL_MIX = ((Channel.VOICE, 3.0), (Channel.CHAT, 1.0), (Channel.WEB, 1.0))
# How far ahead the demo asks the engine whether a kind of contact can ever be served.
_SERVABLE_HORIZON_S = 2 * 86400.0


def _demand_mix(
    region: Region,
) -> tuple[dict[str, list[tuple[Channel, str | None, float]]], list[str]]:
    """Per service, the (channel, language, weight) kinds of contact someone on the
    roster can serve, and a line for each kind nobody can (left out of the demo)."""
    languages: list[tuple[str | None, float]] = [
        (code, w) for code, w in _LANGUAGE_MIX if code in region.languages
    ] or [(None, 1.0)]
    policy = region.policy()
    mix: dict[str, list[tuple[Channel, str | None, float]]] = {}
    unservable = []
    for name in sorted(region.services):
        svc = region.services[name]
        workitem = "omaolo" in str(svc.requirement) or "symptom" in name
        channels = ((Channel.WORKITEM, 1.0),) if workitem else _CHANNEL_MIX
        kinds: list[tuple[Channel, str | None, float]] = []
        for channel, cw in channels:
            for language, lw in languages:
                spec = ContactSpec(
                    id="probe",
                    channel=channel,
                    service=name,
                    urgency=svc.default_urgency,
                    language=language,
                )
                if servable(lambda: Engine(policy), spec, _SERVABLE_HORIZON_S):
                    kinds.append((channel, language, cw * lw))
                else:
                    unservable.append(f"{name} by {channel.value} in {language or 'any language'}")
        if kinds:
            mix[name] = kinds
    return mix, unservable


def _contact_factory(region: Region) -> ContactFactory:
    """Demo contacts of every service, channel and language someone can serve."""
    mix, _ = _demand_mix(region)
    services = sorted(mix)
    sites = sorted(region.sites)

    def make(rnd: random.Random, n: int, t: float) -> ContactSpec:
        name = rnd.choice(services)
        svc = region.services[name]
        classes = [u for u, cls in svc.urgencies.items() if cls.redirect is None]
        urgency = rnd.choice(classes)
        if rnd.random() < 0.01 and any(c.redirect for c in svc.urgencies.values()):
            urgency = next(u for u, c in svc.urgencies.items() if c.redirect)
        kinds = mix[name]
        channel, language, _ = rnd.choices(kinds, [w for _, _, w in kinds])[0]
        return ContactSpec(
            id=f"c{n}",
            channel=channel,
            service=name,
            urgency=urgency,
            language=language,
            preferred_site=rnd.choice(sites) if sites else None,
        )

    return make


def demo(args: argparse.Namespace) -> int:
    try:
        region = load_region(region_file(args.config))
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    engine = Engine(region.policy())
    patience = {ch: args.patience_s for ch in Channel} if args.patience_s else {}
    sim = Simulation(engine, seed=args.seed, behaviour=Behaviour(patience_s=patience))
    sim.log_in_everyone()
    minutes = args.minutes
    _, unservable = _demand_mix(region)
    sim.arrivals(_contact_factory(region), per_hour=args.per_hour, until=minutes * 60)
    print(
        f"Yhteys demo: {region.name} — {len(region.agents)} agents, "
        f"{len(region.services)} services, {args.per_hour:g} contacts/hour for {minutes} "
        f"minutes of virtual time (seed {args.seed}).",
        flush=True,
    )
    if unservable:
        print(
            f"Not drawn, as nobody on the roster can serve them: {'; '.join(unservable)}.",
            flush=True,
        )
    counts: Counter[str] = Counter()
    shown = 0
    for t, decision in sim.run(until=minutes * 60 + 3600):
        counts[type(decision).__name__] += 1
        if shown < args.show:
            print(f"{_clock(t)}  {_describe(decision)}")
            shown += 1
    waits = list(sim.answered_wait_s.values())
    print()
    print("Summary:")
    for kind, n in sorted(counts.items()):
        print(f"  {kind:<18} {n}")
    if waits:
        waits.sort()
        p90 = waits[int(0.9 * (len(waits) - 1))]
        print(f"  answered: {len(waits)}, mean wait {mean(waits):.0f} s, 90th pct {p90:.0f} s")
    arrivals = len(sim.arrived_at)
    if arrivals:
        sl_s = args.sl_s
        within = sum(1 for w in waits if w <= sl_s)
        abandoned = len(sim.abandoned_wait_s)
        of_answered = f"{within / len(waits):.1%}" if waits else "-"
        print(
            f"  service level ({sl_s:g} s): {within / arrivals:.1%} of all {arrivals} arrivals, "
            f"{of_answered} of answered contacts"
        )
        print(f"  abandoned: {abandoned} ({abandoned / arrivals:.1%} of arrivals)")
    print(f"  still waiting: {engine.waiting_count}")
    return 0


def check(args: argparse.Namespace) -> int:
    """Loads the region as ``serve`` would: every problem (exit 2), else every warning
    (``warning: ...`` lines) and a summary (exit 0)."""
    if args.file and args.config and args.file != args.config:
        print(
            f"yhteys check: two region files given ({args.file} and --config {args.config}); "
            "name one",
            file=sys.stderr,
        )
        return 2
    path = region_file(args.file or args.config)
    try:
        region = load_region(path)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    warnings = region_warnings(region)
    for text in warnings:
        print(f"warning: {text}")
    print(
        f"{path}: region {region.name}: {len(region.services)} services, "
        f"{len(region.agents)} agents, {len(warnings)} warning(s)"
    )
    return 0


# ``serve``'s options and their environment variables; the command line wins.
SERVE_ENV = {
    "config": "YHTEYS_CONFIG",
    "host": "YHTEYS_HOST",
    "port": "YHTEYS_PORT",
    "demo": "YHTEYS_DEMO",
    "log_format": "YHTEYS_LOG_FORMAT",
    "access_log": "YHTEYS_ACCESS_LOG",
    "redis": "YHTEYS_REDIS_URL",
    "apply_region_changes": "YHTEYS_APPLY_REGION_CHANGES",
    "notify_url": "YHTEYS_NOTIFY_URL",
}
LOG_FORMATS = ("json", "text")


class ServeOptions(TypedDict):
    """``router.serve.run``'s keyword arguments, as ``serve`` resolved them."""

    host: str
    port: int
    demo: bool
    log_format: str
    access_log: bool
    redis_url: str | None
    notify_url: str | None
    apply_region_changes: bool


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("", "0", "false", "no", "off")


def serve_settings(
    args: argparse.Namespace, env: Mapping[str, str]
) -> tuple[str, ServeOptions, list[str]]:
    """The region file and ``run``'s keyword arguments from the command line, else the
    environment, else the defaults; and a line for each environment variable that holds no
    valid value."""
    problems: list[str] = []

    def given(dest: str) -> str | None:
        value = env.get(SERVE_ENV[dest])
        return value if value else None

    def flag(dest: str) -> bool:
        cli_value: bool | None = getattr(args, dest)
        if cli_value is not None:
            return cli_value
        raw = env.get(SERVE_ENV[dest], "")
        if raw.strip().lower() in _TRUE:
            return True
        if raw.strip().lower() not in _FALSE:
            problems.append(
                f"${SERVE_ENV[dest]}: expected one of {', '.join(_TRUE)} or "
                f"{', '.join(x for x in _FALSE if x)} (or empty), got {raw!r}"
            )
        return False

    port: int = 8080
    if args.port is not None:
        port = args.port
    elif (raw := given("port")) is not None:
        if raw.isdigit() and 0 <= int(raw) <= 65535:
            port = int(raw)
        else:
            problems.append(f"$YHTEYS_PORT: expected a port number 0..65535, got {raw!r}")
    log_format = args.log_format or given("log_format") or "json"
    if log_format not in LOG_FORMATS:
        problems.append(
            f"$YHTEYS_LOG_FORMAT: expected one of {', '.join(LOG_FORMATS)}, got {log_format!r}"
        )
    options: ServeOptions = {
        "host": args.host or given("host") or "127.0.0.1",
        "port": port,
        "demo": flag("demo"),
        "log_format": log_format,
        "access_log": flag("access_log"),
        "redis_url": args.redis or given("redis"),
        "notify_url": args.notify_url or given("notify_url"),
        "apply_region_changes": flag("apply_region_changes"),
    }
    return region_file(args.config, env), options, problems


def serve(args: argparse.Namespace) -> int:
    from router.serve import ServeError, run  # noqa: PLC0415 - aiohttp only when serving

    config, options, problems = serve_settings(args, os.environ)
    if problems:
        for problem in problems:
            print(f"yhteys serve: {problem}", file=sys.stderr)
        return 2
    try:
        run(config, **options)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    except ServeError as exc:
        print(f"yhteys serve: {exc}", file=sys.stderr)
        return 2
    return 0


# Random bytes in a generated token's secret (256 bits), and the fewest accepted.
TOKEN_BYTES = 32
TOKEN_MIN_BYTES = 16


def token(args: argparse.Namespace) -> int:
    """Prints a new secret (line 1) and the ``tokens:`` entry with its SHA-256 (line 2) on
    stdout; the warning to store the secret goes to stderr. Nothing is printed on stdout
    when the options do not make a valid entry (exit 2)."""
    role = Role(args.role)
    problems = []
    if not IDENT.fullmatch(args.name):
        problems.append(
            f"--name {args.name!r}: expected an id (letters, digits, '_', '.', '-'; "
            "starting with a letter or digit)"
        )
    if role is Role.AGENT:
        if args.agent is None:
            problems.append("--role agent needs --agent ID: the agent the token acts as")
        elif not IDENT.fullmatch(args.agent):
            problems.append(f"--agent {args.agent!r}: expected an agent id")
    elif args.agent is not None:
        problems.append(f"--agent: only agent tokens name an agent, not {role} tokens")
    if role is Role.INTEGRATION and not args.channels:
        problems.append(
            "--role integration needs --channel (one or more of "
            f"{', '.join(c.value for c in ApiChannel)}): where the token may post"
        )
    if role is not Role.INTEGRATION and (args.channels or args.sources):
        problems.append(f"--channel and --source: only integration tokens have them, not {role}")
    if args.bytes < TOKEN_MIN_BYTES:
        problems.append(f"--bytes {args.bytes}: at least {TOKEN_MIN_BYTES} random bytes")
    if problems:
        for problem in problems:
            print(f"yhteys token: {problem}", file=sys.stderr)
        return 2
    secret = secrets.token_urlsafe(args.bytes)
    entry: dict[str, object] = {"name": args.name, "role": role.value}
    if args.agent is not None:
        entry["agent"] = args.agent
    if args.channels:
        entry["channels"] = list(dict.fromkeys(args.channels))
    if args.sources:
        entry["sources"] = list(dict.fromkeys(args.sources))
    entry["sha256"] = hash_token(secret)
    line = yaml.safe_dump(entry, default_flow_style=True, sort_keys=False, width=1 << 16)
    print(
        "yhteys token: the first line is the secret: store it now (e.g. in the client's "
        "secret store); it is shown only this once and the region file keeps only its hash. "
        "Paste the second line into the region file's tokens: section and restart "
        "(docs/configuration.md, 'tokens').",
        file=sys.stderr,
    )
    print(secret)
    print(f"  - {line.strip()}")
    return 0


# How many log entries ``yhteys log inspect`` reads at most, and per round trip.
INSPECT_LIMIT = 100_000
INSPECT_PAGE = 500


def log_command(args: argparse.Namespace) -> int:
    """``yhteys log inspect`` / ``yhteys log quarantine ID`` against a region's Redis."""
    import asyncio  # noqa: PLC0415 - only this command needs the event loop and Redis

    from router.store.keys import region_key  # noqa: PLC0415
    from router.store.redis import BadRedisUrl, RedisStore  # noqa: PLC0415

    url = args.redis or os.environ.get("YHTEYS_REDIS_URL")
    if not url:
        print("yhteys log: --redis URL (or $YHTEYS_REDIS_URL) is required", file=sys.stderr)
        return 2
    name = args.region
    if name is None:
        try:
            name = load_region(region_file(args.config)).name
        except ConfigError as exc:
            print(exc, file=sys.stderr)
            return 2
    try:
        store = RedisStore(url, region_key(name))
    except (BadRedisUrl, ValueError) as exc:
        print(f"yhteys log: {exc}", file=sys.stderr)
        return 2

    async def run() -> int:
        try:
            if args.action == "inspect":
                return await _inspect(store)
            return await _quarantine(store, args.entry_id, args.force)
        finally:
            await store.close()

    from router.store import StoreUnavailable  # noqa: PLC0415

    try:
        return asyncio.run(run())
    except StoreUnavailable as exc:
        print(f"yhteys log: {exc}", file=sys.stderr)
        return 2


async def _inspect(store: RedisStore) -> int:
    from router.service.replica_log import readable  # noqa: PLC0415
    from router.store import LogEntry  # noqa: PLC0415

    found = await store.describe()
    types = found["types"]
    print(f"region keys {store.keys.prefix}* on {store.url}")
    for name in ("log", "lease", "fence", "snapshot", "quarantine"):
        expected = {"log": "stream", "snapshot": "hash", "quarantine": "stream"}.get(name, "string")
        kind = types[name]
        if kind not in ("none", expected):
            print(f"  {name}: PROBLEM: a {kind}, expected a {expected} (not written by Yhteys)")
            continue
        if name == "log":
            print(f"  log: {found.get('log_length', 0)} entries")
        elif name == "lease":
            ttl = found["lease_ttl_ms"]
            if kind == "none":
                print("  lease: nobody leads")
            elif ttl == -1:
                print(f"  lease: {found['lease']} PROBLEM: no expiry (instances give it one)")
            else:
                print(f"  lease: {found['lease']}, lapses in {ttl} ms unless renewed")
        elif name == "fence":
            fence = found.get("fence")
            ok = fence is None or fence.isdigit()
            print(f"  fence: {fence}" + ("" if ok else " PROBLEM: not a number"))
        elif name == "snapshot":
            snap = found.get("snapshot")
            if snap is None:
                print("  snapshot: none")
            elif not {"upto", "fence", "at", "blob"} <= set(snap):
                print(f"  snapshot: PROBLEM: fields {', '.join(sorted(snap))}")
            else:
                print(f"  snapshot: up to {snap['upto']}, fence {snap['fence']}, {snap['blob']}")
        else:
            print(f"  quarantine: {found.get('quarantined', 0)} entries")
    if types["log"] != "stream":
        return 1 if types["log"] != "none" else 0
    bad = 0
    after, scanned = "-", 0
    while scanned < INSPECT_LIMIT:
        page = await store.entries(after, INSPECT_PAGE)
        for entry_id, fields in page:
            scanned += 1
            problem = readable(LogEntry(entry_id, fields.get("b", b"")))
            if isinstance(problem, str):
                bad += 1
                names = ", ".join(sorted(fields))
                print(f"unreadable log entry {entry_id}: {problem} (fields: {names})")
        if len(page) < INSPECT_PAGE:
            break
        after = "(" + page[-1][0]
    print(f"{scanned} log entries read, {bad} unreadable")
    if bad:
        print("move each aside with: yhteys log quarantine ID (same --redis and region)")
    return 1 if bad else 0


async def _quarantine(store: RedisStore, entry_id: str, force: bool = False) -> int:
    from router.service.replica_log import readable  # noqa: PLC0415
    from router.store import LogEntry  # noqa: PLC0415

    if re.fullmatch(r"\d+-\d+", entry_id) is None:
        print(
            f"yhteys log: {entry_id!r} is not a whole log entry id; expected "
            "<milliseconds>-<sequence> as 'yhteys log inspect' prints it",
            file=sys.stderr,
        )
        return 2
    found = await store.entries(entry_id, 1)
    if found and found[0][0] == entry_id and not force:
        problem = readable(LogEntry(entry_id, found[0][1].get("b", b"")))
        if not isinstance(problem, str):
            # Moving a readable entry would drop events that instances already past it
            # have applied and the others never will: the replicas would disagree.
            print(
                f"yhteys log: entry {entry_id} is readable: it holds events every instance "
                "applies, so it is not moved (only unreadable entries are quarantined; "
                "--force moves it anyway)",
                file=sys.stderr,
            )
            return 2
    moved = await store.quarantine(entry_id)
    if moved is None:
        print(f"yhteys log: the log has no entry {entry_id}", file=sys.stderr)
        return 1
    print(f"moved log entry {entry_id} to {store.keys.quarantine} (as {moved})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The whole command line (every option has help text: tests/test_cli_ops.py)."""
    parser = argparse.ArgumentParser(
        prog="yhteys", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"%(prog)s {__version__}",
        help="print the version and exit",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser(
        "serve",
        help="run the routing service (HTTP + websockets)",
        description="Run the routing service. Every option has an environment variable "
        "(named in its help); the command line wins over the environment.",
    )
    s.add_argument("--config", help=f"{CONFIG_HELP}; env YHTEYS_CONFIG")
    s.add_argument("--host", help="address to bind (default 127.0.0.1; env YHTEYS_HOST)")
    s.add_argument("--port", type=int, help="port (default 8080; env YHTEYS_PORT)")
    s.add_argument(
        "--demo",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="allow the sample's published demo tokens on a non-loopback address "
        "(env YHTEYS_DEMO=1; --no-demo overrides it)",
    )
    s.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        help="log lines as JSON objects or as text; phone numbers and personal identity "
        "codes are masked in both (default json; env YHTEYS_LOG_FORMAT)",
    )
    s.add_argument(
        "--access-log",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="log every HTTP request (env YHTEYS_ACCESS_LOG=1)",
    )
    s.add_argument(
        "--redis",
        metavar="URL",
        help="Redis mode: share the region with other instances through this Redis "
        "(redis://HOST:PORT/DB, redis+sentinel://S1,S2/MASTER/DB or redis+cluster://N1,N2; "
        "see docs/redis.md; env YHTEYS_REDIS_URL; none: in memory, alone)",
    )
    s.add_argument(
        "--apply-region-changes",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="Redis mode: apply the region file's differences from the configuration the "
        "region was last started with, as supervisors' live edits (default: refuse to "
        "start and list them; see docs/redis.md; env YHTEYS_APPLY_REGION_CHANGES=1)",
    )
    s.add_argument(
        "--notify-url",
        metavar="URL",
        help="notification hook (e.g. the SMS gateway) told when a callback ends "
        "unreachable (env YHTEYS_NOTIFY_URL; bearer token from $YHTEYS_NOTIFY_TOKEN)",
    )
    s.set_defaults(func=serve)
    c = sub.add_parser("check", help="check a region file: problems, then warnings")
    c.add_argument("file", nargs="?", metavar="REGION.yaml", help=CONFIG_HELP)
    c.add_argument("--config", help="the same as REGION.yaml (kept for scripts)")
    c.set_defaults(func=check)
    t = sub.add_parser(
        "token",
        help="generate a bearer token and the tokens: entry with its hash",
        description="Generate a random bearer token. Prints the secret (line 1: store it, "
        "it is shown only once) and the entry to paste into the region file's tokens: "
        "section (line 2: the secret's SHA-256, never the secret). See "
        "docs/configuration.md, 'tokens'.",
    )
    t.add_argument(
        "--role",
        required=True,
        choices=[r.value for r in Role],
        help="what the token may call (docs/service.md, 'Roles and tokens')",
    )
    t.add_argument(
        "--name",
        required=True,
        help="the token's name, unique in the file: shown in logs and the audit instead "
        "of the secret (e.g. supervisor-2 beside supervisor-1 when rotating)",
    )
    t.add_argument("--agent", metavar="ID", help="agent tokens (required): the agent id it acts as")
    t.add_argument(
        "--channel",
        dest="channels",
        action="append",
        choices=[ch.value for ch in ApiChannel],
        help="integration tokens (at least one): a channel it may post to; repeat for more",
    )
    t.add_argument(
        "--source",
        dest="sources",
        action="append",
        metavar="NAME",
        help="integration tokens with workitems: a source system (one of the region's "
        "authorisations) it may submit items for; repeat for more",
    )
    t.add_argument(
        "--bytes",
        type=int,
        default=TOKEN_BYTES,
        help="random bytes in the secret (%(default)s; at least 16)",
    )
    t.set_defaults(func=token)
    p = sub.add_parser("demo", help="run the engine on a region in virtual time")
    p.add_argument("--config", help=CONFIG_HELP)
    p.add_argument("--minutes", type=int, default=60, help="virtual minutes of arrivals")
    p.add_argument("--per-hour", type=float, default=240.0, help="contacts arriving per hour")
    p.add_argument("--seed", type=int, default=1, help="random seed (%(default)s)")
    p.add_argument("--show", type=int, default=60, help="decisions to print in full")
    p.add_argument(
        "--patience-s",
        type=float,
        default=0.0,
        help="mean patience of customers in seconds (exponential); 0: nobody abandons",
    )
    p.add_argument(
        "--sl-s",
        type=float,
        default=20.0,
        help="service-level threshold: answered within this many seconds (%(default)g)",
    )
    p.set_defaults(func=demo)
    lg = sub.add_parser(
        "log",
        help="inspect a region's Redis keys; move an unreadable log entry aside",
        description="Operators' tools for Redis mode (docs/redis.md, 'When something goes "
        "wrong'). inspect: what the region's keys hold and every log entry that cannot be "
        "read (exit 1 when there is one). quarantine ID: move that entry to the "
        "quarantine stream (kept, never dropped); the instances then carry on.",
    )
    lg.add_argument(
        "action",
        choices=["inspect", "quarantine"],
        help="inspect: read the keys and every log entry; quarantine: move entry ID aside",
    )
    lg.add_argument("entry_id", nargs="?", metavar="ID", help="the log entry (quarantine)")
    lg.add_argument(
        "--force",
        action="store_true",
        help="quarantine: move the entry even though it is readable (the instances that "
        "applied it keep its effect, the others never see it; only when you know why)",
    )
    lg.add_argument("--redis", metavar="URL", help="the region's Redis (default $YHTEYS_REDIS_URL)")
    lg.add_argument("--region", metavar="NAME", help="the region's name (default: --config's)")
    lg.add_argument("--config", help=CONFIG_HELP)
    lg.set_defaults(func=log_command)
    staffing_command.add_parser(sub)
    whatif_command.add_parser(sub)
    compare_command.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "log" and (args.action == "quarantine") != (args.entry_id is not None):
        parser.error("log quarantine takes one entry ID; log inspect takes none")
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
