"""The survey's HTTP API: the integration endpoints that take an answer or an opt-out
(as notes in the log, so every instance has them) and the report of the figures per
service, team, channel, language and site. What is asked, of whom, and what is kept is
``router.service.feedback``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from aiohttp import web

from router.config.tokens import ApiChannel, Role
from router.service.audit import csv_download, parse_choice, parse_day
from router.service.auth import Principal
from router.service.body_shapes import read_body, request_schema
from router.service.feedback import (
    DIMENSIONS,
    FIGURES,
    FORMATS,
    MAX_PERIOD_DAYS,
    Feedback,
    FeedbackAnswered,
    FeedbackOptedOut,
)
from router.service.feedback_shapes import (
    ANSWER_SCHEMA,
    OPTED_OUT_SCHEMA,
    AnswerBody,
    OptOutBody,
)
from router.service.http import ApiError, BodyProblems
from router.service.logs import mask
from router.service.routes import DAY, Query, Route, choice

log = logging.getLogger("yhteys.feedback")


class FeedbackApi:
    def __init__(self, feedback: Feedback) -> None:
        self.feedback = feedback

    async def answer(self, request: web.Request, _: Principal | None) -> web.StreamResponse:
        body = await read_body(request, AnswerBody)
        rid, score, text = body.request_id, body.score, body.text
        feedback = self.feedback
        record = feedback.requests.get(rid)
        if record is None:
            raise ApiError(
                404,
                "not_found",
                f"no feedback request {rid!r} (unknown, or older than the retention)",
            )
        runtime = feedback.service.runtime
        if body.opts_out:
            await runtime.submit(FeedbackOptedOut(record["number_hash"], "answer", rid))
            return web.json_response({"request_id": rid, "opted_out": True})
        assert score is not None
        masked = None if text is None else mask(text)
        if record["answered_at"] is not None:
            if (record["score"], record["text"]) == (score, masked):
                return web.json_response(answer_json(record))  # a retry: counted once
            raise ApiError(
                409,
                "already_answered",
                f"request {rid!r} was answered at {feedback.days.iso(record['answered_at'])}; "
                "an answer cannot be changed",
            )
        if runtime.clock() > record["answer_by"]:
            raise ApiError(
                409,
                "window_closed",
                f"answers to {rid!r} were taken until {feedback.days.iso(record['answer_by'])}",
            )
        await runtime.submit(FeedbackAnswered(rid, score, masked))
        if record["answered_at"] is None:  # the window closed while it waited in line
            raise ApiError(409, "window_closed", f"answers to {rid!r} are no longer taken")
        if (record["score"], record["text"]) != (score, masked):
            # Another answer to the same request was applied first: this one is not kept.
            raise ApiError(
                409,
                "already_answered",
                f"request {rid!r} was answered meanwhile with another answer; "
                "an answer cannot be changed",
            )
        return web.json_response(answer_json(record))

    async def opt_out(self, request: web.Request, _: Principal | None) -> web.StreamResponse:
        number = (await read_body(request, OptOutBody)).number
        feedback = self.feedback
        await feedback.service.runtime.submit(FeedbackOptedOut(feedback.hash(number), "api"))
        return web.json_response({"opted_out": True})

    async def get_report(self, request: web.Request, _: Principal | None) -> web.StreamResponse:
        query = request.query
        problems = BodyProblems()
        first = parse_day(problems, query, "from")
        last = parse_day(problems, query, "to")
        by = parse_choice(problems, query, "by", DIMENSIONS)
        fmt = parse_choice(problems, query, "format", FORMATS) or "json"
        if first is not None and last is not None:
            if last < first:
                problems.add("to", f"{last} is before from={first}")
            elif (last - first).days + 1 > MAX_PERIOD_DAYS:
                problems.add("to", f"at most {MAX_PERIOD_DAYS} days per report")
        problems.raise_if_any()
        zone = self.feedback.days.zone
        today = datetime.fromtimestamp(self.feedback.service.runtime.clock(), zone).date()
        first = first or last or today
        last = last or first
        report = self.feedback.report(first, last, by)
        if fmt == "json":
            return web.json_response(report)
        lines: list[list[object]] = [["date", "by", "group", *FIGURES]]
        blocks = [(d["date"], d) for d in report["days"]]
        blocks.append((f"{report['from']}..{report['to']}", report["period"]))
        for label, block in blocks:
            for row in block.get("rows", []):
                lines.append([label, by, row[by or ""], *(row[k] for k in FIGURES)])
            lines.append([label, "total", None, *(block["total"][k] for k in FIGURES)])
        return csv_download(lines, f"yhteys-feedback-{report['from']}_{report['to']}.csv")

    def routes(self) -> list[Route]:
        integ = (Role.INTEGRATION,)
        ch = ApiChannel.FEEDBACK
        return [
            Route(
                "POST",
                "/api/channels/feedback/answers",
                self.answer,
                "An answer to a feedback request (score 0..10, optional text), linked to "
                "its contact; a retried answer counts once",
                integ,
                ch,
                request_schema(AnswerBody),
                {
                    200: "the recorded answer, or {request_id, opted_out: true}",
                    400: "invalid input (every problem listed); nothing recorded",
                    404: "unknown request id (or older than the retention)",
                    409: "already_answered (with another answer) or window_closed",
                    413: "body too large",
                    503: "the service is shutting down or the store is unavailable",
                },
                tag="feedback",
                schemas={200: ANSWER_SCHEMA},
            ),
            Route(
                "POST",
                "/api/channels/feedback/opt-outs",
                self.opt_out,
                "A number opts out of feedback requests (recorded; never asked again)",
                integ,
                ch,
                request_schema(OptOutBody),
                {
                    200: "recorded (also when it had opted out already)",
                    400: "not an E.164 number",
                    413: "body too large",
                    503: "the service is shutting down or the store is unavailable",
                },
                tag="feedback",
                schemas={200: OPTED_OUT_SCHEMA},
            ),
            Route(
                "GET",
                "/api/supervisor/feedback",
                self.get_report,
                "NPS and response rate of the feedback requests made on the local days "
                "from … to (query: from, to = YYYY-MM-DD, default today, at most 92 days; "
                "by=service|team|channel|language|site; format=json|csv): each day and "
                "the whole period; never per agent",
                (Role.SUPERVISOR,),
                tag="supervisor",
                responses={
                    200: "the report (JSON or CSV)",
                    400: "malformed dates, a range over 92 days, unknown by or format",
                },
                query=(
                    Query("from", DAY, "the first local day (default: to, else today)"),
                    Query(
                        "to",
                        DAY,
                        f"the last local day (default: from; at most {MAX_PERIOD_DAYS} days)",
                    ),
                    Query("by", choice(DIMENSIONS), "one row per service, team, channel, ..."),
                    Query("format", choice(FORMATS), "json (default) or csv"),
                ),
            ),
        ]


def answer_json(record: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "request_id": record["request_id"],
        "contact_id": record["contact_id"],
        "score": record["score"],
        "text": record["text"],
        "answered_at": record["answered_at"],
    }


def routes(feedback: Feedback) -> list[Route]:
    return FeedbackApi(feedback).routes()
