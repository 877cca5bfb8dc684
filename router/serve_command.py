"""``yhteys serve``'s options: each from the command line, else its environment variable
(``SERVE_ENV``), else its default; problems are listed together and exit 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from typing import TypedDict

from router.config import ConfigError
from router.config.sample import region_file

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
