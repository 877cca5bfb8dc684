"""``yhteys log inspect`` and ``yhteys log quarantine ID``: what a region's Redis keys
hold, and moving an unreadable log entry aside (docs/redis.md, "When something goes
wrong").
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from typing import TYPE_CHECKING

from router.config import ConfigError, load_region
from router.config.sample import region_file

if TYPE_CHECKING:
    from router.store.redis import RedisStore

# How many log entries ``yhteys log inspect`` reads at most, and per round trip.
INSPECT_LIMIT = 100_000
INSPECT_PAGE = 500


def log_command(args: argparse.Namespace) -> int:
    """``yhteys log inspect`` / ``yhteys log quarantine ID`` against a region's Redis."""
    import asyncio  # noqa: PLC0415 - only this command needs the event loop and Redis

    from router.store.keys import region_key  # noqa: PLC0415
    from router.store.redis import RedisStore  # noqa: PLC0415
    from router.store.redis_connection import BadRedisUrl  # noqa: PLC0415

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
