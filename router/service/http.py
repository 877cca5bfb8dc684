"""JSON errors and request-body reading for the HTTP API.

Every error is a JSON body ``{"error": {"status", "code", "message", "problems"}}``;
``problems`` lists ``{"field", "reason"}`` for invalid input, every problem at once (an
empty list when the error is not about a field).
Limits on what is read: a body (or websocket frame) of at most ``MAX_BODY_BYTES`` and JSON
nested at most ``MAX_JSON_DEPTH`` arrays/objects deep; more is a 413 / 400, never a 500.
Bodies are read with the same typed readers as the region file (``router.config.reader``),
so an API field and a YAML key are checked by the same rules.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from aiohttp import hdrs, web
from multidict import CIMultiDict

from router.config.errors import Problems
from router.config.reader import Fields
from router.core.errors import Conflict, InvalidEvent, RoutingError, UnknownAgent, UnknownContact
from router.service.runtime import Stopped
from router.store import StoreUnavailable

log = logging.getLogger("yhteys.http")

MAX_BODY_BYTES = 64 * 1024
# Deeper than any body the API defines (they nest 3 levels at most) and far below what
# the JSON parser itself survives (about 1,000 levels, then RecursionError).
MAX_JSON_DEPTH = 32


def kept_encoder(item_separator: str, key_separator: str) -> Callable[[Any], str]:
    """``json.dumps`` with these separators (and its other defaults), by one C encoder made
    once: ``dumps`` and ``JSONEncoder.encode`` build a new one, with a closure and two
    Python frames around it, for every value (about half the cost of encoding an
    answer). The same C encoder writes the same text; without it (no ``_json``), the
    plain encoder. Values here are never cyclic, so there is no check for cycles."""
    make = getattr(json.encoder, "c_make_encoder", None)
    default = json.JSONEncoder().default  # the same TypeError for what JSON cannot hold
    if make is None:
        encoder = json.JSONEncoder(separators=(item_separator, key_separator))
        return encoder.encode
    chunks = make(
        None,
        default,
        json.encoder.encode_basestring_ascii,
        None,
        key_separator,
        item_separator,
        False,  # sort_keys
        False,  # skipkeys
        True,  # allow_nan
    )

    def encode(value: Any) -> str:
        return "".join(chunks(value, 0))

    return encode


# ``json.dumps(value)``: what ``web.json_response`` writes by default, the same text.
dumps = kept_encoder(", ", ": ")


def json_answer(value: Any, status: int = 200) -> web.Response:
    """``web.json_response(value, status=status)``, encoded by ``dumps``: the answer of a
    route on every webhook's path."""
    return json_text_answer(dumps(value), status)


# The header ``web.json_response`` gives its answer, made once.
_JSON_HEADERS: CIMultiDict[str] = CIMultiDict(
    {hdrs.CONTENT_TYPE: "application/json; charset=utf-8"}
)


def json_text_answer(text: str, status: int = 200) -> web.Response:
    """``web.json_response`` of the value whose JSON is ``text``: the same status, header
    and bytes, without its ``Response`` checking and writing the content type (about a
    third of what making the answer costs)."""
    return web.Response(body=text.encode(), status=status, headers=_JSON_HEADERS)


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        problems: Sequence[tuple[str, str]] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.problems = list(problems)
        self.headers = dict(headers or {})
        if status == 401:
            self.headers.setdefault("WWW-Authenticate", "Bearer")

    def body(self) -> dict[str, object]:
        error: dict[str, object] = {
            "status": self.status,
            "code": self.code,
            "message": self.message,
            "problems": [{"field": f, "reason": r} for f, r in self.problems],
        }
        return {"error": error}

    def response(self) -> web.Response:
        return web.json_response(self.body(), status=self.status, headers=self.headers or None)


def invalid(problems: Sequence[tuple[str, str]]) -> ApiError:
    first = problems[0]
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return ApiError(400, "invalid_input", f"{first[0]}: {first[1]}{more}", problems)


def from_routing(exc: RoutingError) -> ApiError:
    """Maps the engine's refusals: unknown ids are 404, state conflicts 409, bad values 400."""
    if isinstance(exc, UnknownContact | UnknownAgent):
        return ApiError(404, "not_found", str(exc))
    if isinstance(exc, Conflict):
        return ApiError(409, "conflict", str(exc))
    if isinstance(exc, InvalidEvent):
        return ApiError(400, "invalid_input", str(exc))
    return ApiError(400, "refused", str(exc))


class BodyProblems(Problems):
    """Collects body problems as (field, reason) pairs instead of file lines."""

    __slots__ = ("pairs",)

    def __init__(self) -> None:
        super().__init__("body")
        self.pairs: list[tuple[str, str]] = []

    def add(self, path: str, reason: str) -> None:
        super().add(path, reason)
        self.pairs.append((path or "(body)", reason))

    def raise_if_any(self) -> None:
        if self.pairs:
            raise invalid(self.pairs)

    def at_most(self, path: str, text: str, limit: int) -> bool:
        """Whether ``text`` has at most ``limit`` characters; a problem at ``path`` when not."""
        if len(text) <= limit:
            return True
        self.add(path, f"must be at most {limit} characters, got {len(text)}")
        return False

    def only_known(self, query: Iterable[str], allowed: Sequence[str]) -> None:
        """A problem for each query parameter not in ``allowed``."""
        for key in query:
            if key not in allowed:
                self.add(key, f"unknown query parameter; expected one of: {', '.join(allowed)}")


async def read_bytes(request: web.Request) -> bytes:
    """The request's body, at most ``MAX_BODY_BYTES`` (else a 413)."""
    length = request.content_length  # parsed from the header on each read: read once
    if length is not None and length > MAX_BODY_BYTES:
        raise ApiError(413, "too_large", f"request body over {MAX_BODY_BYTES} bytes")
    try:
        return await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise ApiError(413, "too_large", f"request body over {MAX_BODY_BYTES} bytes") from None


def body_json(raw: bytes) -> object:
    """A request body's JSON value (a 400 when there is none or it is not JSON)."""
    if not raw:
        raise ApiError(400, "invalid_input", "a JSON body is required")
    return decode_json(raw, "the body")


async def read_json(request: web.Request) -> object:
    return body_json(await read_bytes(request))


def _depth(value: object, limit: int) -> int:
    """How deep ``value`` nests (a scalar is 0), counting no further than ``limit + 1``."""
    if isinstance(value, dict):
        children: Iterable[object] = value.values()
    elif isinstance(value, list):
        children = value
    else:
        return 0
    if limit <= 0:
        return 1
    return 1 + max((_depth(child, limit - 1) for child in children), default=0)


def _brackets(raw: bytes | str) -> int:
    """How many ``{`` and ``[`` the text holds: a bound on how deep it can nest."""
    if isinstance(raw, bytes):
        return raw.count(b"{") + raw.count(b"[")
    return raw.count("{") + raw.count("[")


def decode_json(raw: bytes | str, what: str) -> object:
    """JSON text as a value: a 400 (never a 500) when it is not JSON or nests deeper
    than ``MAX_JSON_DEPTH``."""
    try:
        value = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError(400, "invalid_json", f"{what} is not valid JSON: {exc}") from None
    except ValueError:  # an integer of more digits than Python converts
        limit = sys.get_int_max_str_digits()
        raise ApiError(
            400, "invalid_json", f"{what} holds a number of more than {limit} digits"
        ) from None
    except RecursionError:
        value = None
        too_deep = True
    else:
        # Each level of nesting is an opening bracket in the text, so a text with no more
        # brackets than the limit cannot nest deeper: the walk is for the rare one that has
        # (a bracket byte of any encoding json.loads reads counts; one inside a string
        # only makes the walk happen).
        too_deep = (
            _brackets(raw) > MAX_JSON_DEPTH and _depth(value, MAX_JSON_DEPTH) > MAX_JSON_DEPTH
        )
    if too_deep:
        raise ApiError(
            400,
            "invalid_json",
            f"{what} nests arrays/objects more than {MAX_JSON_DEPTH} levels deep",
            [("(body)", f"at most {MAX_JSON_DEPTH} levels of nesting")],
        )
    return value


def parse_frame(text: str) -> dict[str, Any]:
    """A websocket text frame: a JSON object with a string ``type``."""
    body = decode_json(text, "the frame")
    if not isinstance(body, dict) or not isinstance(body.get("type"), str):
        raise ApiError(400, "invalid_input", "expected an object with a 'type'")
    return body


async def read_fields(
    request: web.Request, required: Sequence[str], optional: Sequence[str] = ()
) -> tuple[Fields, BodyProblems]:
    """The body as a checked mapping; call ``problems.raise_if_any()`` after reading."""
    problems = BodyProblems()
    # A body of optional fields only may be left out altogether (as the OpenAPI says).
    body = await read_json(request) if required or request.can_read_body else {}
    fields = Fields(problems, "", body, required, optional)
    if not fields.valid:
        problems.raise_if_any()
    return fields, problems


def error_answer(request: web.Request, exc: Exception) -> web.StreamResponse:
    """The API's answer to ``exc``, raised while answering ``request`` (an ``HTTPException``
    below 400, a redirect, is raised on). Called by every route's handler in its own
    ``except`` (``routes.bind``) and by the answer to a request no route takes
    (``routes.unmatched_handler``): not a middleware, which added two coroutine layers to every
    request."""
    if isinstance(exc, ApiError):
        return exc.response()
    if isinstance(exc, RoutingError):
        return from_routing(exc).response()
    if isinstance(exc, Stopped):
        return ApiError(503, "unavailable", "the service is shutting down").response()
    if isinstance(exc, StoreUnavailable):
        # Nothing was (knowingly) stored. A retry is safe where the caller named the
        # contact (call id, work item id, Idempotency-Key).
        return ApiError(503, "store_unavailable", str(exc)).response()
    if isinstance(exc, web.HTTPRequestEntityTooLarge):
        return ApiError(413, "too_large", f"request body over {MAX_BODY_BYTES} bytes").response()
    if isinstance(exc, web.HTTPException):
        if exc.status < 400:
            raise exc
        code = exc.reason.lower().replace(" ", "_")
        # Keep what the exception says about the resource (a 405's Allow header).
        headers = {k: v for k, v in exc.headers.items() if k.lower() == "allow"}
        return ApiError(exc.status, code, exc.reason, headers=headers).response()
    log.error("unhandled error on %s %s", request.method, request.path, exc_info=exc)
    return ApiError(500, "internal", "internal error; see the service log").response()
