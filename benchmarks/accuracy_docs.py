"""The accuracy figures in ``docs/waiting-times.md``, written from a run of
``python -m benchmarks.estimate_accuracy --write-docs`` rather than copied by hand.

The generated text sits between two HTML comments. The opening one carries the SHA-256 of
the text between them, so a hand edit is caught (``check`` and the test suite). Whether
the estimate is called *optimistic* (announced shorter than the actual waits) or
*pessimistic* (longer) is worked out from the sign of its bias in the same run, and
those words appear nowhere else in the file.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from benchmarks.accuracy_measure import Result

DOCS = "docs/waiting-times.md"
COMMAND = "python -m benchmarks.estimate_accuracy --write-docs"
_BEGIN = re.compile(
    r"<!-- BEGIN accuracy figures: written by `(?P<command>[^`]+)`; do not edit by hand "
    r"\(sha256 (?P<digest>[0-9a-f]{64})\) -->\n"
)
END = "<!-- END accuracy figures -->"
# The rows of the generated table and the names the prose gives them.
ROWS = (
    ("per contact", "per contact (phone, chat, statuses)"),
    ("per contact, without abandonment", "per contact, without the abandonment term"),
    (
        "per contact, previous formula",
        "per contact, the previous formula (rounded up, no abandonment)",
    ),
    (
        "service-wide (public status)",
        "service-wide (public status, as for a contact arriving then)",
    ),
    ("service-wide, without abandonment", "service-wide, without the abandonment term"),
    (
        "naive baseline",
        "naive baseline: waiting for the service × handle time / logged-in agents who "
        "meet the requirement",
    ),
)
# The verdict sentences: which row each judges.
JUDGED = (
    ("per contact", "The per-contact estimate"),
    ("service-wide (public status)", "The service-wide estimate"),
)
_WORDS = ("optimistic", "pessimistic")


def _num(x: float) -> str:
    return "–" if math.isnan(x) else f"{x:,.0f}"


def _signed(x: float) -> str:
    return "–" if math.isnan(x) else f"{x:+,.0f}".replace("-", "−")


def _pct(x: float) -> str:
    return "–" if math.isnan(x) else f"{x:.0%}"


def verdict(bias_s: float) -> str:
    """``optimistic`` when the announced waits were too short on average (negative bias),
    ``pessimistic`` when too long, ``unbiased`` within half a second."""
    if abs(bias_s) < 0.5:
        return "unbiased"
    return "optimistic" if bias_s < 0 else "pessimistic"


def _verdict_sentence(subject: str, bias_s: float) -> str:
    word = verdict(bias_s)
    if word == "unbiased":
        return f"- {subject} is **unbiased** on average (bias {_signed(bias_s)} s)."
    side = "shorter" if bias_s < 0 else "longer"
    return (
        f"- {subject} is **{word}**: on average it announced waits {abs(bias_s):,.0f} s "
        f"{side} than they turned out (bias {_signed(bias_s)} s)."
    )


def body(results: Sequence[Result]) -> str:
    """The generated text for runs of the same workload with different seeds (the first
    is shown in full, the others summarised)."""
    first = results[0]
    g = first.overall
    lines = [
        f"Seed {first.workload.seed}: {g.arrived:,} contacts arrived, and {g.queued:,} had "
        f"to queue and were given an estimate. Of those, {g.answered:,} were answered "
        f"(mean wait {_num(g.mean_wait_s)} s) and {g.abandoned:,} gave up.",
        "",
        "| estimate | MAE s | bias s | actual wait in range |",
        "|---|---:|---:|---:|",
    ]
    for key, label in ROWS:
        f = g.figures[key]
        lines.append(
            f"| {label} | {_num(f.mae_s)} | {_signed(f.bias_s)} | {_pct(f.inside_share)} |"
        )
    channels = "; ".join(
        f"{name} {_num(grp.figures['per contact'].mae_s)} s / "
        f"{_pct(grp.figures['per contact'].inside_share)} "
        f"({_num(grp.figures['service-wide (public status)'].mae_s)} s / "
        f"{_pct(grp.figures['service-wide (public status)'].inside_share)} service-wide)"
        for name, grp in first.by_channel.items()
    )
    lines += ["", f"By channel (MAE / in range), per contact: {channels}."]
    if len(results) > 1:
        others = results[1:]
        seeds = " and ".join(str(r.workload.seed) for r in others)

        def series(key: str) -> str:
            return ", ".join(_num(r.overall.figures[key].mae_s) for r in others)

        def biases(key: str) -> str:
            return ", ".join(_signed(r.overall.figures[key].bias_s) for r in others)

        lines += [
            "",
            f"Seeds {seeds}: MAE per contact {series('per contact')} s (bias "
            f"{biases('per contact')} s), service-wide "
            f"{series('service-wide (public status)')} s (bias "
            f"{biases('service-wide (public status)')} s), naive {series('naive baseline')} s.",
        ]
    lines += ["", f"Over seed {first.workload.seed}:", ""]
    lines += [_verdict_sentence(subject, g.figures[key].bias_s) for key, subject in JUDGED]
    return "\n".join(lines) + "\n"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def block(results: Sequence[Result], command: str = COMMAND) -> str:
    """The whole generated block, markers included."""
    return wrap(body(results), command)


def wrap(text: str, command: str = COMMAND) -> str:
    """``text`` between the markers, the opening one carrying its hash."""
    return (
        f"<!-- BEGIN accuracy figures: written by `{command}`; do not edit by hand "
        f"(sha256 {_digest(text)}) -->\n{text}{END}\n"
    )


def _find(doc: str) -> tuple[re.Match[str], int] | None:
    begin = _BEGIN.search(doc)
    if begin is None:
        return None
    end = doc.find(END, begin.end())
    return (begin, end) if end >= 0 else None


def command_of(doc: str) -> str | None:
    """The command line that wrote ``doc``'s block (None: no block)."""
    found = _find(doc)
    return found[0]["command"] if found is not None else None


def current(doc: str) -> str | None:
    """``doc``'s whole generated block, markers included (None: no block)."""
    found = _find(doc)
    if found is None:
        return None
    begin, end = found
    return doc[begin.start() : end + len(END) + 1]


def replace(doc: str, new_block: str) -> str:
    """``doc`` with its generated block replaced by ``new_block``."""
    found = _find(doc)
    if found is None:
        raise ValueError(f"no generated block ({_BEGIN.pattern[:40]}... {END}) in the document")
    begin, end = found
    return doc[: begin.start()] + new_block + doc[end + len(END) + 1 :]


def _bias_in_table(text: str, label: str) -> float | None:
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0] == label:
            try:
                return float(cells[2].replace("−", "-").replace(",", ""))
            except ValueError:
                return None
    return None


def check(doc: str) -> list[str]:
    """What is wrong with ``doc``'s generated block (empty: nothing)."""
    found = _find(doc)
    if found is None:
        return [f"no generated block: expected one opening with the form of {_BEGIN.pattern!r}"]
    begin, end = found
    text = doc[begin.end() : end]
    problems: list[str] = []
    command = begin["command"]
    if not command.startswith("python -m benchmarks.estimate_accuracy") or (
        "--write-docs" not in command.split()
    ):
        problems.append(f"the block names {command!r}, expected a run of {COMMAND!r}")
    if _digest(text) != begin["digest"]:
        problems.append(
            "the block was edited by hand (its sha256 does not match); "
            f"regenerate it with `{COMMAND}`"
        )
    labels = dict(ROWS)
    for key, subject in JUDGED:
        bias = _bias_in_table(text, labels[key])
        if bias is None:
            problems.append(f"no bias for {labels[key]!r} in the block's table")
            continue
        said = re.search(re.escape(subject) + r" is \*\*(\w+)\*\*", text)
        expected = verdict(bias)
        if said is None:
            problems.append(f"no verdict sentence for {subject!r}")
        elif said[1] != expected:
            problems.append(f"{subject} has bias {bias:+g} s, so it is {expected}, not {said[1]}")
    outside = doc[: begin.start()] + doc[end:]
    for word in _WORDS:
        if word in outside.lower():
            problems.append(
                f"{word!r} outside the generated block: only the run may say which way the "
                "estimate errs"
            )
    return problems
