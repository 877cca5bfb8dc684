"""The text of the service benchmark: each mode in full (the three phases, CPU, the
server's log and Redis statistics, the targets), then the modes side by side."""

from __future__ import annotations

from typing import Any

from benchmarks.service_load_calls import WARMUP_S

OTHER_LOAD_WARN = 0.15  # share of a core used by other processes that spoils a run


def _ms(s: dict[str, float]) -> str:
    return "  ".join(f"{k} {v:.2f}" for k, v in s.items()) + " ms"


def _cpu(f: dict[str, Any], per: str = "contact") -> str:
    return (
        f"server {f['server_cpu_s']:.2f} s ({f['server_core_share']:.0%} of a core, "
        f"{f['server_cpu_us_per_contact']:.0f} µs/{per}, {f['server_sys_share']:.0%} in "
        "the kernel); "
        + (
            f"redis-server {f['redis_cpu_s']:.2f} s ({f['redis_core_share']:.0%} of a core); "
            if f.get("redis_cpu_s")
            else ""
        )
        + f"client {f['client_cpu_s']:.2f} s ({f['client_core_share']:.0%} of a core); "
        f"other processes {f['other_core_share']:.0%} of a core"
    )


def _snapshot_lines(f: dict[str, Any]) -> list[str]:
    taken = f.get("snapshots") or []
    if not taken:
        return []
    each = ", ".join(f"{s['bytes'] / 1e6:.1f} MB at {s['at_s']:.1f} s" for s in taken)
    return [
        f"   snapshots       {len(taken)} taken by the leader during the phase ({each}), "
        "pickled in a forked child (its CPU counts under other processes)"
    ]


def _redis_lines(r: dict[str, Any]) -> list[str]:
    stats = r.get("redis")
    if not stats:
        return []
    if "error" in stats:
        return [f"redis: statistics unavailable ({stats['error']})"]
    commands = ", ".join(
        f"{name} {c['calls']:,} x {c['usec_per_call']:.1f} µs"
        for name, c in sorted(stats["commands"].items(), key=lambda kv: -kv[1]["calls"])
    )
    server = r["server"]
    return [
        f"redis: commands over the run {commands}; memory {stats['used_memory_mib']:.1f} MiB",
        f"       snapshots saved by the server: {server['snapshots']}"
        + (f" (last: {server['last_snapshot']})" if server["last_snapshot"] else ""),
    ]


def _closed_loop_lines(f: dict[str, Any]) -> list[str]:
    acts = f["actions"]
    lines = [
        f"   ingested+routed {f['routed_per_s']:,.0f} contacts/s ({f['routed']:,} in "
        f"{f['elapsed_s']:.2f} s: {acts.get('connect', 0):,} connect, "
        f"{acts.get('queue', 0):,} queue)" + (" — DEADLINE HIT" if f["timed_out"] else ""),
        f"   webhook answer  {_ms(f['answer_ms'])}",
        f"   agents          offered {f['agents_offered']:,}, completed "
        f"{f['agents_completed']:,}"
        + (f" ({f['completed_per_s']:,.0f} calls/s end to end)" if f["agents_completed"] else "")
        + f"; server RSS after {f['server_rss_mib_after']:.0f} MiB",
        f"   CPU             {_cpu(f)}",
        *_snapshot_lines(f),
    ]
    other = {k: v for k, v in acts.items() if k not in ("connect", "queue")}
    if other or f["broken_connections"]:
        lines.append(
            f"   problems        {other} {f['broken_connections']} broken connection(s) "
            f"{f['first_failure'] or ''}"
        )
    return lines


def _contention(r: dict[str, Any]) -> list[str]:
    worst = max(r[k]["other_core_share"] for k in ("latency", "lifecycle", "surge"))
    if worst < OTHER_LOAD_WARN:
        return []
    return [
        f"WARNING: other processes used up to {worst:.0%} of a core during the run: the "
        "figures are not this machine's; run again when it is idle.",
        "",
    ]


def report_mode(r: dict[str, Any]) -> str:
    m, lat, ag = r["machine"], r["latency"], r["agents"]
    life, sur = r["lifecycle"], r["surge"]
    acts = lat["actions"]
    lines = [
        "Yhteys service under load — real server on loopback, load from a separate process"
        + f", {r['mode']} mode"
        + (" (quick)" if r["quick"] else ""),
        f"machine:  {m['cpus']} CPUs, {m['cpu_model']}, {m['implementation']} {m['python']}, "
        f"aiohttp {m['aiohttp']}, uvloop {m['uvloop']} (server and client share the CPUs)",
        f"workload: {r['workload']['region']}; {r['workload']['channel']}",
        f"server:   {r['workload']['server']}",
        f"          server ready in {r['server']['ready_s']:.2f} s, agents logged in in "
        f"{ag['login_s']:.2f} s",
        "",
        f"1. latency at a fixed rate: {lat['rate']:,.0f} calls/s for "
        f"{r['settings']['seconds']:g} s ({lat['calls']:,} calls after a "
        f"{WARMUP_S:g} s warm-up); agents accept at once and complete on assignment",
        f"   achieved        {lat['achieved_rate']:,.1f} calls/s sent; send lag "
        f"p99 {lat['send_lag_ms']['p99']:.2f} ms, max {lat['send_lag_ms']['max']:.2f} ms",
        f"   ingest → offer  {_ms(lat['ingest_to_offer_ms'])}",
        f"   webhook answer  {_ms(lat['answer_ms'])}",
        f"   routed          {acts.get('connect', 0):,} connected at once, "
        f"{acts.get('queue', 0):,} queued first; offered {lat['offered']:,}/{lat['sent']:,}"
        + (f"; {lat['failures']} failed ({lat['first_failure']})" if lat["failures"] else ""),
        f"   CPU             {_cpu(lat, 'call, accept + complete included')}",
        *_snapshot_lines(lat),
        "",
        f"2. whole lifecycle as fast as it goes: {life['calls']:,} calls, "
        f"{life['concurrency']} in flight ({life['client']} HTTP/1.1 keep-alive client); "
        "agents accept and complete every call",
        *_closed_loop_lines(life),
        "",
        f"3. surge, ingest and route: {sur['calls']:,} calls, {sur['concurrency']} in flight "
        f"({sur['client']} client); every agent keeps its first call, the rest queue",
        *_closed_loop_lines(sur),
        "",
        *_contention(r),
        f"server: log lines by level {r['server']['log_levels']}, exit code "
        f"{r['server']['exit_code']}; agent errors {ag['errors']}"
        + (f" ({ag['last_error']})" if ag["errors"] else ""),
        *_redis_lines(r),
        "targets:",
    ]
    t = r["targets"]
    rate, p99 = t["sustained_rate"], t["p99_ingest_to_offer_ms"]
    lines.append(
        f"  {'PASS' if rate['pass'] else 'MISS'}  sustained ingest+route >= "
        f"{rate['target']:,.0f} contacts/s (surge): {rate['measured']:,.0f}"
    )
    lines.append(
        f"  {'PASS' if p99['pass'] else 'MISS'}  p99 ingest → offer < {p99['target']:g} ms "
        f"at {p99['at_rate']:,.0f} contacts/s: {p99['measured']:.2f} ms"
    )
    lines.append(f"(total {r['total_s']:.1f} s)")
    return "\n".join(lines)


def _side_by_side(runs: list[dict[str, Any]]) -> list[str]:
    def cpu(f: dict[str, Any]) -> str:
        text = f"{f['server_core_share']:.0%}"
        if f.get("redis_cpu_s"):
            text += f" + redis {f['redis_core_share']:.0%}"
        return text

    rows: list[tuple[str, ...]] = [
        (
            "mode",
            "surge contacts/s",
            "server µs/contact",
            "CPU (cores)",
            "p50 ms",
            "p99 ms",
            "p99.9 ms",
            "lifecycle calls/s",
            "CPU (cores)",
        )
    ]
    for r in runs:
        lat, life, sur = r["latency"], r["lifecycle"], r["surge"]
        rows.append(
            (
                r["mode"],
                f"{sur['routed_per_s']:,.0f}" + (" (deadline)" if sur["timed_out"] else ""),
                f"{sur['server_cpu_us_per_contact']:.0f}",
                cpu(sur),
                f"{lat['ingest_to_offer_ms']['p50']:.2f}",
                f"{lat['ingest_to_offer_ms']['p99']:.2f}",
                f"{lat['ingest_to_offer_ms']['p99.9']:.2f}",
                f"{life['completed_per_s']:,.0f}",
                cpu(life),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    rate = runs[0]["latency"]["rate"]
    return [
        "Side by side (surge: ingest + route with every agent busy; p50/p99: ingest → agent "
        f"offer at {rate:,.0f} calls/s; lifecycle: ingest, offer, accept, complete end to "
        "end; CPU: share of one core during the phase):",
        *lines,
    ]


def report(result: dict[str, Any]) -> str:
    """The text of ``run_settings``: each mode in full, then the modes side by side."""
    runs: list[dict[str, Any]] = result["runs"]
    parts = [report_mode(r) for r in runs]
    if result.get("skipped"):
        parts.append(
            "skipped: " + "; ".join(f"{m} ({why})" for m, why in result["skipped"].items())
        )
    if runs:
        parts.append("\n".join(_side_by_side(runs)))
    return "\n\n".join(parts)
