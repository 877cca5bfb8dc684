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
import secrets
import sys
from collections.abc import Callable, Sequence

import yaml

from router import __version__
from router.config import ConfigError, load_region
from router.config.advice import region_warnings
from router.config.reader import IDENT
from router.config.sample import CONFIG_HELP, region_file
from router.config.tokens import ApiChannel, Role, hash_token
from router.demo import demo
from router.log_command import log_command
from router.serve_command import LOG_FORMATS, serve
from router.staffing import command as staffing_command
from router.whatif import command as whatif_command
from router.whatif import compare_command
from router.whatif.demand import MAX_PER_HOUR

DEMO_MAX_MINUTES = 7 * 24 * 60  # a week of virtual arrivals
DAY_S = 86_400.0


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


def _integer(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: an integer in ``low..high``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected {low}..{high}, got {text!r}")
        return value

    return parse


def _number(low: float, high: float, *, above: bool = False) -> Callable[[str], float]:
    """An argparse type: a finite number from ``low`` (or, with ``above``, over it) to
    ``high``. NaN and infinity are refused: a demo of infinitely many contacts an hour
    never ends."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not (low < value if above else low <= value) or not value <= high:
            lowest = f"above {low:g}" if above else f"from {low:g}"
            raise argparse.ArgumentTypeError(
                f"expected a number {lowest} to {high:g}, got {text!r}"
            )
        return value

    return parse


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
    s.add_argument("--port", type=_integer(0, 65535), help="port (default 8080; env YHTEYS_PORT)")
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
    p.add_argument(
        "--minutes",
        type=_integer(1, DEMO_MAX_MINUTES),
        default=60,
        help=f"virtual minutes of arrivals (1..{DEMO_MAX_MINUTES}; %(default)s)",
    )
    p.add_argument(
        "--per-hour",
        type=_number(0, MAX_PER_HOUR, above=True),
        default=240.0,
        help=f"contacts arriving per hour (above 0, at most {MAX_PER_HOUR:,}; %(default)g)",
    )
    p.add_argument("--seed", type=int, default=1, help="random seed (%(default)s)")
    p.add_argument(
        "--show",
        type=_integer(0, 10**9),
        default=60,
        help="decisions to print in full (%(default)s)",
    )
    p.add_argument(
        "--patience-s",
        type=_number(0, DAY_S),
        default=0.0,
        help="mean patience of customers in seconds (exponential); 0: nobody abandons",
    )
    p.add_argument(
        "--sl-s",
        type=_number(0, DAY_S),
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
