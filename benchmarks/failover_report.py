"""The failover benchmark's figures: the webhooks of a round, the check that every
answered call was offered, assigned and closed exactly once, and the text report
(``benchmarks.failover``)."""

from __future__ import annotations

import statistics
from collections import Counter
from typing import Any

from benchmarks.failover_load import Load
from benchmarks.failover_watch import Seen
from benchmarks.service_load import (
    summary_ms,
)


def webhooks_in(load: Load, seen: Seen, start: float, end: float) -> dict[str, Any]:
    """The calls on their way at ``start`` or posted until ``end`` (perf_counter): the
    failover as the telephony platform saw it."""
    window = [
        (cid, call)
        for cid, call in load.calls.items()
        if cid.startswith("f-")
        and call.first_sent <= end
        and (call.answered_at is None or call.answered_at >= start)
    ]
    answers = [
        call.answered_at - call.first_sent
        for _, call in window
        if call.answered_at is not None and call.status in (200, 201)
    ]
    to_offer = [
        seen.offered_at[f"phone-{cid}"] - call.first_sent
        for cid, call in window
        if f"phone-{cid}" in seen.offered_at
    ]
    return {
        "posted": len(window),
        "retried": sum(1 for _, c in window if c.attempts > 1),
        "failed": sum(1 for _, c in window if c.status not in (200, 201)),
        "answer_ms": summary_ms(answers),
        "ingest_to_offer_ms": summary_ms(to_offer),
    }


def rounded(value: float | None) -> float | None:
    return round(value, 3) if value is not None else None


# ---------------------------------------------------------------- the run


def max_known(values: list[float | None]) -> float | None:
    return max((v for v in values if v is not None), default=None)


def spread(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {
        "min": round(min(values), 3),
        "median": round(statistics.median(values), 3),
        "max": round(max(values), 3),
    }


def check_calls(load: Load, seen: Seen) -> dict[str, Any]:
    """Every call as the agents saw it: answered calls offered, assigned and closed once."""
    statuses: Counter[str] = Counter()
    once = lost = twice = 0
    examples: list[str] = []
    for cid, call in load.calls.items():
        if not cid.startswith("f-"):
            continue
        statuses[str(call.status) if call.status is not None else "no answer"] += 1
        contact = f"phone-{cid}"
        counts = (seen.offers[contact], seen.assigned[contact], seen.closed[contact])
        if call.status not in (200, 201):
            if len(examples) < 5:
                examples.append(f"{cid}: {call.status} {call.body or call.failures[-3:]}")
            continue
        if counts == (1, 1, 1):
            once += 1
        elif max(counts) == 0:
            lost += 1
            if len(examples) < 5:
                examples.append(f"{cid}: lost (answered {call.status})")
        else:
            twice += 1
            if len(examples) < 5:
                examples.append(f"{cid}: offers/assigned/closed {counts}")
    posted = sum(statuses.values())
    return {
        "posted": posted,
        "answers": dict(statuses),
        "retried": sum(
            1 for c, call in load.calls.items() if c.startswith("f-") and call.attempts > 1
        ),
        "exactly_once": once,
        "lost": lost,
        "not_exactly_once": twice,
        "unanswered_or_refused": posted - statuses["200"] - statuses["201"],
        "examples": examples,
    }


# ---------------------------------------------------------------- the report


def _s(value: float | None) -> str:
    return f"{value:.2f}" if value is not None else "—"


def report(r: dict[str, Any]) -> str:
    st, m, lease = r["settings"], r["machine"], r["lease"]
    lines = [
        "Yhteys failover in Redis mode — the lease holder killed with SIGKILL under load"
        + (" (quick)" if r["quick"] else ""),
        f"machine:  {m['cpus']} CPUs, {m['cpu_model']}, {m['implementation']} {m['python']}, "
        f"aiohttp {m['aiohttp']}, uvloop {m['uvloop']}, redis-server {r['redis_server']} "
        "(everything on this machine, on loopback)",
        f"workload: {st['instances']} instances of yhteys serve --redis (one redis-server, no "
        f"persistence); {st['agents']} working agents and {st['silent']} silent ones on "
        "websockets to an instance that does not lead; "
        f"{st['rate']:g} calls/s round-robin over the live instances (retried on the next one "
        f"when one fails); {st['silent']} held call(s) whose offers expire every "
        f"{st['held_offer_timeout_s']:g} s",
        f"lease:    TTL {lease['ttl_s']:g} s, renewed every {lease['renew_every_s']:g} s, "
        f"followers try every {lease['acquire_every_s']:g} s (the defaults)",
        "",
        "Seconds from the SIGKILL of the leader (late: how long after it was due a silent "
        "agent had an offer expiry, worst from the kill to the new leader's first timer "
        "decision; under load every input carries time, so due timers fire with the next "
        "input; quiet: no input from 1 s before the kill, only the lease holder's TimerDue "
        "moves time):",
    ]
    header = (
        f"{'round':>5}  {'':>5}  {'killed':>7}  {'leader':>6}  {'lease':>5}  "
        f"{'TimerDue':>8}  {'decision':>8}  {'late':>5}  {'posted':>6}  {'retried':>7}  "
        f"{'failed':>6}  {'max answer ms':>13}  {'max ingest→offer ms':>19}"
    )
    lines += [header, "-" * len(header)]
    for x in r["rounds"]:
        w = x["webhooks"]
        lines.append(
            f"{x['round']:>5}  {'quiet' if x['quiet'] else 'load':>5}  {x['killed_pid']:>7}  "
            f"{_s(x['leader_s']):>6}  {_s(x['lease_taken_log_s']):>5}  "
            f"{_s(x['first_timer_log_s']):>8}  {_s(x['first_timer_agent_s']):>8}  "
            f"{_s(x['timers_late_max_s']):>5}  {w['posted']:>6}  {w['retried']:>7}  "
            f"{w['failed']:>6}  {w['answer_ms']['max']:>13.1f}  "
            f"{w['ingest_to_offer_ms']['max']:>19.1f}"
        )
    lines += [
        "  leader: a survivor says leader on /readyz (polled every 20 ms); lease: the "
        "successor logged that it took the lease; TimerDue: the first one another instance "
        "appended (stream id); decision: a silent agent had that TimerDue's offer expiry",
        "",
    ]
    names = {
        "leader_s": "survivor says leader on /readyz",
        "first_timer_log_s": "first TimerDue of the new leader",
        "first_timer_agent_s": "first timer decision of the new leader",
        "timers_late_max_s": "worst lateness of an offer expiry",
    }
    for kind, title in (("under_load", "under load"), ("quiet", "quiet")):
        for key, name in names.items():
            spread = r["summary"][kind][key]
            if spread:
                lines.append(
                    f"  {title:<10} {name:<40} min {spread['min']:.2f}  median "
                    f"{spread['median']:.2f}  max {spread['max']:.2f} s"
                )
    doomed = [x["in_flight_at_kill"] for x in r["rounds"] if x.get("in_flight_at_kill")]
    if doomed:
        lines.append(
            "  a webhook sent to the leader 2 ms before each kill under load: "
            + "; ".join(
                f"{d['status']} after {d['attempts']} attempt(s)"
                + (f" ({', '.join(d['failures'])})" if d["failures"] else "")
                for d in doomed
            )
        )
    c, ag, inst = r["calls"], r["agents"], r["instances"]
    lines += [
        "",
        f"calls:  {c['posted']:,} posted, answers {c['answers']}, {c['retried']} retried on "
        f"another instance; offered, assigned and closed exactly once: "
        f"{c['exactly_once']:,}; lost {c['lost']}; more than once {c['not_exactly_once']}; "
        f"unanswered or refused {c['unanswered_or_refused']}"
        + ("" if c["settled"] else " (NOT SETTLED within the bound)"),
    ]
    if c["examples"]:
        lines.append(f"        e.g. {'; '.join(c['examples'])}")
    lines += [
        f"agents: timer decisions seen by the silent agents {r['timer_decisions_seen']:,}; "
        f"offers withdrawn from working agents {ag['withdrawn_from_working']}; contacts in "
        f"hand on reconnecting {ag['resumed_after_move']}; errors "
        f"{ag['errors']}" + (f" ({ag['first_errors']})" if ag["errors"] else ""),
        f"instances: {inst['started']} started, killed {inst['killed']}; log lines by level "
        f"{inst['log_levels']}; exit codes of the rest {inst['exit_codes']} (SIGTERM; "
        f"stopped in {inst['stop_s']:.1f} s)",
        *(
            f"  pid {pid} did not stop cleanly; its log ends:\n{tail}"
            for pid, tail in inst["unclean_exit_logs"].items()
        ),
        "targets:",
    ]
    t = r["targets"]
    f, calls = t["failover_s"], t["no_call_lost_or_doubled"]
    lines.append(
        f"  {'PASS' if f['pass'] else 'MISS'}  failover < {f['target']:g} s with the default "
        f"lease (worst round): leader again {_s(f['leader_max'])} s, an offer expiry at most "
        f"{_s(f['timers_late_max'])} s late, first timer decision after a quiet kill "
        f"{_s(f['quiet_first_timer_max'])} s"
    )
    lines.append(
        f"  {'PASS' if calls['pass'] else 'MISS'}  no call lost, none offered, assigned or "
        "closed twice"
    )
    lines.append(f"(total {r['total_s']:.1f} s)")
    return "\n".join(lines)
