"""What the webhook's cheaper paths must keep: the same ``/metrics``, the same masked
numbers in the audit, the same principals for the same tokens."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from aiohttp import web
from hypothesis import example, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import generate_latest

from channels.answers import queue_text
from router.app import build_app
from router.config.tokens import ApiChannel, Role, TokenSpec, hash_token
from router.core import decisions as d
from router.core.events import ContactArrived
from router.core.model import Channel, ContactSpec, StepKind
from router.instance import audit_for
from router.service.audit import MAX_TRAIL
from router.service.audit.record import mask_number
from router.service.auth import TokenStore
from router.service.logs import mask, masked_in_full
from router.service.metrics import DISPATCH_BUCKETS, UNKNOWN, WAIT_BUCKETS, Metrics
from tests.service_support import bearer, make_service, next_of

PHONE = ApiChannel.PHONE
CALL = {
    "call_id": "k1",
    "caller": "+358401234567",
    "ivr": {"service": "nursing_advice", "language": "fi"},
    "site": "vaasa",
}
TRACE = d.Trace(StepKind.REGION, "r")
FAMILIES = ("yhteys_decisions", "yhteys_contacts", "yhteys_wait_seconds", "yhteys_dispatch_seconds")


class Direct:
    """The metrics as every decision and dispatch time went straight to prometheus."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        self.decisions = Counter("yhteys_decisions", "d", ("kind",), registry=registry)
        self.contacts = Counter(
            "yhteys_contacts", "c", ("channel", "service", "outcome"), registry=registry
        )
        self.wait = Histogram(
            "yhteys_wait_seconds", "w", ("service",), buckets=WAIT_BUCKETS, registry=registry
        )
        self.dispatch = Histogram(
            "yhteys_dispatch_seconds", "s", buckets=DISPATCH_BUCKETS, registry=registry
        )

    def on_decision(self, decision: d.Decision, now: float) -> None:
        self.decisions.labels(type(decision).__name__).inc()
        if isinstance(decision, d.Closed):
            channel = decision.channel.value if decision.channel is not None else UNKNOWN
            self.contacts.labels(channel, decision.service or UNKNOWN, decision.outcome).inc()
        elif isinstance(decision, d.Assigned):
            self.wait.labels(decision.service).observe(max(0.0, now - decision.arrived_at))


def exported(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], str]:
    """The samples of ``FAMILIES`` that have been counted, values as exact text (NaN
    included); ``_created`` times and the children at zero are left out (the metrics
    resolve every decision kind and service up front)."""
    out: dict[tuple[str, tuple[tuple[str, str], ...]], str] = {}
    for family in registry.collect():
        if family.name not in FAMILIES:
            continue
        for s in family.samples:
            if not s.name.endswith("_created"):
                out[(s.name, tuple(sorted(s.labels.items())))] = repr(s.value)
    return out


def counted(samples: dict[tuple[str, tuple[tuple[str, str], ...]], str]) -> dict[Any, str]:
    """The series of the children that counted something (a zero child of the metrics
    is one the direct registry never made)."""
    seen = {
        (name.rsplit("_", 1)[0], tuple(kv for kv in labels if kv[0] != "le"))
        for (name, labels), v in samples.items()
        if name.endswith(("_total", "_count")) and v != "0.0"
    }
    return {
        k: v
        for k, v in samples.items()
        if (k[0].rsplit("_", 1)[0], tuple(kv for kv in k[1] if kv[0] != "le")) in seen
    }


seconds = st.one_of(
    st.floats(min_value=0.0, max_value=1.0),
    st.sampled_from([*DISPATCH_BUCKETS, 0.0, math.inf, math.nan, 0.3, 1e-6]),
)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("queued"), st.sampled_from(["a", "b"])),
        st.tuples(
            st.just("closed"),
            st.sampled_from([None, Channel.VOICE, Channel.CHAT]),
            st.sampled_from(["", "a", "zz"]),
            st.sampled_from(["resolved", "abandoned"]),
        ),
        st.tuples(st.just("assigned"), st.sampled_from(["a", "zz"]), st.floats(0, 1e5)),
        st.tuples(st.just("dispatch"), seconds),
        st.tuples(st.just("scrape")),
    ),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(operations)
def test_metrics_read_the_same_as_every_count_sent_to_prometheus_at_once(ops: list[Any]) -> None:
    metrics, direct = Metrics(make_service()), Direct()
    now = 1_000_000.0
    for op in ops:
        now += 1.0
        decision: d.Decision | None = None
        if op[0] == "queued":
            decision = d.Queued("c", op[1], StepKind.REGION, now, d.Trace(StepKind.REGION, "r"))
        elif op[0] == "closed":
            decision = d.Closed("c", op[3], None, op[2], op[1])
        elif op[0] == "assigned":
            decision = d.Assigned("c", "ag", op[1], None, now - op[2], now)
        elif op[0] == "dispatch":
            metrics.observe_dispatch(op[1])
            direct.dispatch.observe(op[1])
        else:
            assert counted(exported(metrics.registry)) == counted(exported(direct.registry))
        if decision is not None:
            metrics.on_decision(decision, now)
            direct.on_decision(decision, now)
    assert counted(exported(metrics.registry)) == counted(exported(direct.registry))
    assert counted(exported(metrics.registry)) == counted(exported(metrics.registry))


def test_the_exposition_shows_what_was_counted_since_the_last_read() -> None:
    metrics = Metrics(make_service())
    metrics.observe_dispatch(0.00003)
    metrics.on_decision(d.Closed("c", "resolved", None, "a", Channel.VOICE), 5.0)
    text = generate_latest(metrics.registry).decode()
    assert 'yhteys_dispatch_seconds_bucket{le="5e-05"} 1.0' in text
    assert 'yhteys_decisions_total{kind="Closed"} 1.0' in text
    assert 'yhteys_contacts_total{channel="voice",outcome="resolved",service="a"} 1.0' in text
    metrics.observe_dispatch(0.00003)
    metrics.on_decision(d.Closed("c", "resolved", None, "a", Channel.VOICE), 6.0)
    body, _ = metrics.render(None)
    assert b"yhteys_dispatch_seconds_count 2.0" in body
    assert b'yhteys_decisions_total{kind="Closed"} 2.0' in body
    assert b'yhteys_contacts_total{channel="voice",outcome="resolved",service="a"} 2.0' in body


# ------------------------------------------------------------------ masking numbers

number_like = st.one_of(
    st.from_regex(r"\A\+[0-9]{5,17}\Z", fullmatch=True),
    st.text(alphabet="+0123456789 -٣²\nx", min_size=1, max_size=19),
)


@settings(max_examples=2000, deadline=None)
@given(number_like)
@example("+358401234²67")  # a digit to isdigit, not to the logs' patterns
@example("+٣٥٨٤٠١٢٣٤٥٦٧")  # other digits
@example("+35840123456\n")
@example("+358 40 123 45")
def test_the_audit_masks_a_number_as_the_logs_mask_it(raw: str) -> None:
    assert mask_number(raw) == mask(raw)


@pytest.mark.parametrize("digits", range(7, 16))
def test_every_length_of_lone_number_keeps_at_least_four_digits_hidden(digits: int) -> None:
    raw = "+" + "123456789012345"[:digits]
    masked = mask_number(raw)
    assert masked == masked_in_full(raw)
    assert masked.count("*") >= 4 and masked[-2:] == raw[-2:]


# ------------------------------------------------------------------ tokens

tokens = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=80)


@settings(max_examples=300, deadline=None)
@given(tokens, tokens)
def test_a_token_is_known_by_the_hash_the_region_file_holds(token: str, other: str) -> None:
    spec = TokenSpec("crm", Role.INTEGRATION, hash_token(token), channels=frozenset({PHONE}))
    store = TokenStore([spec])
    principal = store.identify(token)
    assert principal is not None and principal.name == "crm" and principal.channels == {PHONE}
    assert (store.identify(other) is None) == (other != token)


# ------------------------------------------------------------------ the audit's trail cap


def test_a_trail_at_its_cap_omits_arrivals_and_queueing_but_keeps_the_close() -> None:
    service = make_service()
    audit = audit_for(service)
    spec = ContactSpec("phone-cap", Channel.VOICE, "nursing_advice", attributes={"caller": "+1"})
    audit.on_applied(ContactArrived(spec), 10.0)
    for i in range(MAX_TRAIL + 50):
        queued = d.Queued("phone-cap", "nursing_advice", StepKind.REGION, 99.0, TRACE)
        audit.on_decision(queued, 11.0 + i)
    audit.on_applied(ContactArrived(spec), 500.0)  # the same id again: omitted, counted
    record = audit.live["phone-cap"]
    assert len(record.trail) == MAX_TRAIL and record.omitted == 52
    assert [c[1] for c in record.trail].count("arrived") == 1
    audit.on_decision(d.Closed("phone-cap", "abandoned", None, "nursing_advice"), 600.0)
    assert len(record.trail) == MAX_TRAIL + 1 and record.trail[-1][1] == "closed"
    assert audit.now == 600.0


# ------------------------------------------------------------------ the queue answer

floats = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 10**20))
waits = st.one_of(
    st.none(),
    st.fixed_dictionaries({"min_s": floats, "max_s": floats}),
    st.fixed_dictionaries({"max_s": floats, "min_s": floats}),  # the keys the other way
    st.dictionaries(st.sampled_from(["min_s", "max_s", "x"]), floats),
)
texts = st.text(st.characters(exclude_categories=["Cs"]), max_size=20)


@settings(max_examples=1500, deadline=None)
@given(
    texts,
    st.one_of(st.none(), st.integers(-(10**20), 10**20), st.booleans()),
    waits,
    st.one_of(st.none(), texts),
)
@example("k1", 1, {"min_s": 60.0, "max_s": 180.0}, "fi")
@example('a"\\\n\u00e4\U0001f600', 10**30, {"min_s": 0.1, "max_s": 1e300}, None)
def test_the_queue_answer_is_the_text_the_encoder_writes(
    call_id: str, position: Any, wait: Any, language: str | None
) -> None:
    answer = {
        "call_id": call_id,
        "action": "queue",
        "announcement": {"position": position, "estimated_wait": wait, "language": language},
    }
    assert queue_text(call_id, position, wait, language) == json.dumps(answer)


async def test_a_queued_calls_answer_is_the_json_response_of_its_instruction(
    aiohttp_client: Any,
) -> None:
    service = make_service()
    client = await aiohttp_client(build_app(service))
    # a nurse of the service takes a first call and is busy: serving, so the call after
    # it waits with an estimate (a not-ready nurse gives none)
    ws = await client.ws_connect("/api/agent/ws?access_token=demo-agent-a005")
    await next_of(ws, "state")
    await ws.send_json({"type": "login"})
    await next_of(ws, "ack")
    r = await client.post(
        "/api/channels/phone/calls", json={**CALL, "call_id": "k0"}, headers=bearer("telephony")
    )
    connect = await r.text()
    assert r.status == 201 and json.loads(connect)["agent_id"] == "a005"
    # the answer of a call offered as it came in, written from the holder's glance, is
    # the instruction the call's own route gives (from the views), byte for byte
    again = await client.get("/api/channels/phone/calls/k0", headers=bearer("telephony"))
    assert json.loads(connect)["action"] == "connect" and await again.text() == connect
    r = await client.post("/api/channels/phone/calls", json=CALL, headers=bearer("telephony"))
    text = await r.text()
    answer = json.loads(text)
    assert r.status == 201 and answer["action"] == "queue"
    assert answer["announcement"]["estimated_wait"] is not None
    expected = web.json_response(answer, status=201)
    assert r.headers["Content-Type"] == expected.headers["Content-Type"]
    assert text.encode() == expected.body
    assert int(r.headers["Content-Length"]) == len(text)
    await ws.close()
