"""The OpenAPI 3.1 document, built from the same route table as the aiohttp router.

Every ``Route`` becomes one operation: summary, tag, path parameters, the JSON request
body schema, its documented responses, and - for routes that need a token - the bearer
security requirement with 401 and 403 answers and the roles (and integration channel)
that may call it (``x-roles``, ``x-channel``). Websocket routes are documented as a
``GET`` answered with ``101 Switching Protocols`` (or ``426 Upgrade Required`` to a plain
``GET``). Errors share one schema, the body of ``router.service.http.ApiError``.

What every operation gets from its shape, so a new route needs to declare only what is
its own (summary, roles, body schema, query parameters, its specific answers):
- a body: 400 (every problem listed) and 413; its object schemas are closed
  (``additionalProperties: false``, as the body reader refuses unknown keys) and its free
  strings must hold a non-blank character (the reader refuses empty text);
- query parameters: 400;
- a token: the bearer requirement, 401 and 403;
- a write (any method but GET): 503, when the store or the dispatch loop is away;
- a websocket: 101 and 426.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from importlib import metadata
from typing import Any

from router.config.region import Region
from router.service.http import MAX_BODY_BYTES, MAX_JSON_DEPTH
from router.service.routes import Route

OPENAPI_VERSION = "3.1.0"
TITLE = "Yhteys routing service"

# aiohttp path parameters: {name} or {name:regex}; the regex may itself hold braces.
_PARAM = re.compile(r"\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::(?P<regex>(?:[^{}]|\{[^{}]*\})+))?\}")

_REASONS = {
    101: "Switching Protocols",
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No Content",
    400: "Invalid input",
    401: "Missing or invalid bearer token",
    403: "The token's role or channel may not use this endpoint",
    404: "Not found",
    409: "Conflict with the current state",
    412: "If-Match names a representation that is no longer current (code changed_since_read); "
    "nothing was changed",
    413: "Request body too large",
    426: "Upgrade Required: a websocket is reached with GET and 'Upgrade: websocket'",
    503: "The store or the dispatch loop is unavailable (or shutting down); retry later",
}

# Python's whitespace (``str.isspace``, ``re``'s \s) as a JSON Schema (ECMA) class: ECMA's
# \s lacks \x1c-\x1f and \x85, which Python strips.
PY_SPACE = r"\s\x1c-\x1f\x85"
# A free-text field must hold a non-blank character (``router.config.reader.as_text``).
NON_BLANK = f"[^{PY_SPACE}]"

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["status", "code", "message", "problems"],
            "properties": {
                "status": {"type": "integer"},
                "code": {"type": "string", "examples": ["unauthorized", "invalid_input"]},
                "message": {"type": "string"},
                "opens_at": {
                    "type": ["number", "null"],
                    "description": "with code closed (after hours): when the service opens, "
                    "epoch seconds; null when it has no opening hours ahead",
                },
                "problems": {
                    "type": "array",
                    "description": (
                        "every problem with the input, at once (empty when the error is "
                        "not about a field)"
                    ),
                    "items": {
                        "type": "object",
                        "required": ["field", "reason"],
                        "properties": {
                            "field": {"type": "string"},
                            "reason": {"type": "string"},
                        },
                    },
                },
            },
        }
    },
}

_ERROR_REF = {"$ref": "#/components/schemas/Error"}


def openapi_path(path: str) -> tuple[str, list[dict[str, Any]]]:
    """The OpenAPI form of an aiohttp path (``{id:\\d+}`` -> ``{id}``) and its parameters."""
    params: list[dict[str, Any]] = []

    def plain(m: re.Match[str]) -> str:
        schema: dict[str, Any] = {"type": "string", "pattern": NON_BLANK}
        if m.group("regex"):
            schema["pattern"] = f"^(?:{m.group('regex')})$"
        params.append({"name": m.group("name"), "in": "path", "required": True, "schema": schema})
        return "{" + m.group("name") + "}"

    return _PARAM.sub(plain, path), params


def operation_id(route: Route) -> str:
    words = re.findall(r"[A-Za-z0-9]+", _PARAM.sub(lambda m: "by_" + m.group("name"), route.path))
    return "_".join([route.method.lower(), *words])


def _response(route: Route, status: int, text: str) -> dict[str, Any]:
    body: dict[str, Any] = {"description": text or _REASONS.get(status, "")}
    schema = route.schemas.get(status)
    if schema is None and status >= 400:
        schema = _ERROR_REF
    if schema is not None:
        body["content"] = {"application/json": {"schema": schema}}
    if status == 426:
        body["headers"] = {
            "Upgrade": {"description": "websocket", "schema": {"const": "websocket"}}
        }
    if status == 405:
        body["headers"] = {"Allow": {"description": "the methods allowed", "schema": {}}}
    if status in (200, 412) and (route.path in ETAG_PATHS or 412 in route.responses):
        body["headers"] = {"ETag": ETAG_HEADER}
    return body


# The records read with an ``ETag`` and edited with ``If-Match`` (``router.service.supervisor``):
# a route lists 412 among its answers when it honours If-Match.
# An If-Match header: ``*`` or entity tags, comma-separated (RFC 9110 section 13.1.1).
IF_MATCH_PATTERN = r'^(\*|(W/)?"[^"]*"( *, *(W/)?"[^"]*")*)$'
ETAG_HEADER: dict[str, Any] = {
    "description": "a hash of the record's editable representation; send it back as "
    "If-Match to refuse the edit (412) if someone changed the record meanwhile",
    "schema": {"type": "string"},
}
ETAG_PATHS = frozenset(("/api/supervisor/agents/{agent_id}", "/api/supervisor/services/{name}"))
IF_MATCH_PARAM: dict[str, Any] = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "description": "the ETag read with the record: the edit is refused with 412 "
    "(changed_since_read) and nothing changes when the record changed since; without it "
    "the edit applies unconditionally",
    "schema": {"type": "string", "pattern": IF_MATCH_PATTERN},
}


# A phone number as every channel reads it (``channels.common.E164``); a number to call
# back must be Finnish (``channels.callback.CALLABLE_PREFIXES``).
E164_SCHEMA: dict[str, Any] = {"type": "string", "pattern": r"^\+[1-9]\d{6,14}$"}
CALLABLE_SCHEMA: dict[str, Any] = {"type": "string", "pattern": r"^\+358\d{4,11}$"}
# A key chosen by the integration (call id, work item source and id: ``channels.common.REF``).
KEY_SCHEMA: dict[str, Any] = {
    "type": "string",
    "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$",
}
# The key under which ``vocabulary`` gives each service's urgency classes.
URGENCY_BY_SERVICE = "@urgency"


def vocabulary(region: Region, urgencies: Mapping[str, Iterable[str]]) -> dict[str, Any]:
    """What a body field of a given name holds, the same wherever it appears: the one
    place that says a ``service`` is one of the region's services, a ``number`` a number
    the service may call back, and so on. ``strict`` applies it to a free string field of
    that name; ``urgencies`` (each service's classes now) ties an ``urgency`` to the
    ``service`` beside it."""

    def one_of(values: Iterable[str]) -> dict[str, Any]:
        return {"type": "string", "enum": list(values)}

    return {
        "service": one_of(region.services),
        "overflow_to": one_of(region.services),
        "site": one_of(region.sites),
        "team": one_of(region.teams),
        "own_team": one_of(region.teams),
        "own_agent": one_of(region.agents),
        "language": one_of(region.languages),
        # An agent entry's names: each item (or key, for skills) one of the catalogue's.
        "languages": one_of(region.languages),
        "authorisations": one_of(region.catalogue.authorisations),
        "skills": one_of(region.catalogue.skills),
        # No agreements: no partner can be named; a schema without a value says it.
        "partner": one_of(region.agreements) if region.agreements else {"not": {}},
        "number": CALLABLE_SCHEMA,
        "phone": E164_SCHEMA,
        "caller": {"anyOf": [E164_SCHEMA, {"type": "string", "enum": ["hidden"]}]},
        "source": KEY_SCHEMA,
        "item_id": KEY_SCHEMA,
        "call_id": KEY_SCHEMA,
        "person_ref": KEY_SCHEMA,
        URGENCY_BY_SERVICE: {name: list(classes) for name, classes in urgencies.items()},
    }


# Marks an optional property that may not be null (a merge patch's null removes a key,
# which a key without a default refuses).
NOT_NULL = "x-not-null"


def strict(schema: Any, words: dict[str, Any] | None = None) -> Any:
    """A request body schema as exact as the body reader: objects that list their
    properties are closed, free strings must not be blank, an optional property may be
    ``null`` (the reader takes it as absent), and a free string field named in
    ``words`` (see ``vocabulary``) takes that shape. Explicit settings win."""
    words = words or {}
    if isinstance(schema, list):
        return [strict(item, words) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "properties":
            required = set(schema.get("required", ()))
            out[key] = {
                name: _optional(
                    _named(strict(sub, words), words.get(name)),
                    name in required or bool(isinstance(sub, dict) and sub.get(NOT_NULL)),
                )
                for name, sub in value.items()
            }
        elif key in ("patternProperties", "$defs"):
            out[key] = {name: strict(sub, words) for name, sub in value.items()}
        elif key in ("enum", "const", "examples", "default", "required"):
            out[key] = value
        else:
            out[key] = strict(value, words)
    if "properties" in out:
        out.setdefault("additionalProperties", False)
        by_service = words.get(URGENCY_BY_SERVICE)
        if by_service and {"service", "urgency"} <= set(out["properties"]):
            # The urgency class must be one of that service's classes.
            out["anyOf"] = [
                {
                    "properties": {
                        "service": {"const": name},
                        "urgency": _optional(
                            {"type": "string", "enum": classes},
                            "urgency" in out.get("required", ()),
                        ),
                    }
                }
                for name, classes in by_service.items()
            ]
    out.pop(NOT_NULL, None)
    if _free_string(out):
        out["pattern"] = NON_BLANK
    return out


def _free_string(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "string" and not {"enum", "const", "pattern", "format"} & set(
        schema
    )


def _named(schema: Any, word: dict[str, Any] | None) -> Any:
    """A field's schema with the vocabulary's ``word`` for its name applied: to a free
    string, to the free strings a list holds, or to the keys of a mapping."""
    if word is None or not isinstance(schema, dict):
        return schema
    items = schema.get("items")
    if schema.get("type") == "array" and isinstance(items, dict):
        return {**schema, "items": _named(items, word)}
    if schema.get("type") == "object" and isinstance(schema.get("additionalProperties"), dict):
        return {**schema, "propertyNames": word}
    if schema.get("pattern") != NON_BLANK:
        return schema
    kept = {k: v for k, v in schema.items() if k in ("description", "title")}
    return {**kept, **word}


def _optional(schema: Any, required: bool) -> Any:
    if required or not isinstance(schema, dict):
        return schema
    kind = schema.get("type")
    if kind == "null" or (isinstance(kind, list) and "null" in kind):
        return schema
    return {"anyOf": [schema, {"type": "null"}]}


def operation(route: Route, words: dict[str, Any] | None = None) -> dict[str, Any]:
    _, params = openapi_path(route.path)
    op: dict[str, Any] = {
        "operationId": operation_id(route),
        "summary": route.summary,
        "tags": [route.tag],
    }
    description: list[str] = []
    if route.websocket:
        description.append(
            "A websocket: upgrade with GET. Browsers cannot set headers on a websocket, so "
            "the token may be passed as `?access_token=`."
        )
        params.append(
            {
                "name": "access_token",
                "in": "query",
                "required": False,
                "description": "the bearer token, for clients that cannot set headers",
                "schema": {"type": "string"},
            }
        )
    if route.roles:
        roles = [role.value for role in route.roles]
        op["x-roles"] = roles
        who = f"Token role: {' or '.join(roles)}"
        if route.channel is not None:
            op["x-channel"] = route.channel.value
            who += f"; an integration token must list the {route.channel.value} channel"
        description.append(who + ".")
        op["security"] = [{"bearer": []}]
    else:
        description.append("No token needed.")
        op["security"] = []
    op["description"] = " ".join(description)
    for query in route.query:
        param: dict[str, Any] = {
            "name": query.name,
            "in": "query",
            "required": query.required,
            "schema": query.schema,
        }
        if query.description:
            param["description"] = query.description
        params.append(param)
    if 412 in route.responses:
        params.append(IF_MATCH_PARAM)
    if params:
        op["parameters"] = params
    if route.body is not None:
        op["requestBody"] = {
            # A POST body whose schema requires nothing may be left out altogether.
            "required": route.method in ("PUT", "PATCH") or bool(route.body.get("required")),
            "content": {"application/json": {"schema": strict(route.body, words)}},
        }
    responses: dict[int, str] = dict(route.responses)
    if route.websocket:  # a successful upgrade is 101, whatever else the route lists
        ok = responses.get(101, _REASONS[101])
        responses = {101: ok, **{s: t for s, t in responses.items() if s >= 300}}
        responses.setdefault(426, _REASONS[426])
    if route.body is not None:
        responses.setdefault(400, "Invalid input (every problem listed)")
        responses.setdefault(413, _REASONS[413])
    if route.query or params:
        responses.setdefault(400, "Invalid parameter (every problem listed)")
    if route.roles:
        responses.setdefault(401, _REASONS[401])
        responses.setdefault(403, _REASONS[403])
    if route.method != "GET":
        responses.setdefault(503, _REASONS[503])
    op["responses"] = {str(s): _response(route, s, t) for s, t in sorted(responses.items())}
    return op


def build(
    routes: Iterable[Route],
    version: str | None = None,
    region: Region | None = None,
    urgencies: Mapping[str, Iterable[str]] | None = None,
) -> dict[str, Any]:
    """The OpenAPI 3.1 document for ``routes`` (with ``region``: its names as enums, and
    ``urgencies``, each service's classes now)."""
    words = vocabulary(region, urgencies or {}) if region is not None else None
    paths: dict[str, dict[str, Any]] = {}
    tags: list[str] = []
    for route in routes:
        path, _ = openapi_path(route.path)
        method = "get" if route.websocket else route.method.lower()
        item = paths.setdefault(path, {})
        if method in item:
            raise ValueError(f"two routes for {method.upper()} {path}")
        item[method] = operation(route, words)
        if route.tag not in tags:
            tags.append(route.tag)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": TITLE,
            "version": version or _version(),
            "description": (
                "The routing engine behind one number: channels post contacts, agents take "
                "offers over one websocket, supervisors steer live. Errors are "
                '`{"error": {"status", "code", "message", "problems"}}`. Every route that '
                "answers GET also answers HEAD; a method a path does not take is a 405 with "
                "an `Allow` header. A JSON body: at most "
                f"{MAX_BODY_BYTES // 1024} KiB (else 413), nested at most {MAX_JSON_DEPTH} "
                "arrays/objects deep (else 400); a websocket frame is held to the same depth. "
                "A waiting "
                "contact's `position` counts only the contacts ahead of it that wait for the "
                "same agents: the same channel, current reach (own agent, team, station or "
                "region) and requirement (skills, language, authorisation), not every "
                "contact waiting for the service."
            ),
        },
        "tags": [{"name": tag} for tag in tags],
        "paths": paths,
        "components": {
            "schemas": {"Error": ERROR_SCHEMA},
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": (
                        "Tokens are configured per role (agent, supervisor, integration, "
                        "public) as SHA-256 hashes in the region file."
                    ),
                }
            },
        },
    }


def _version() -> str:
    try:
        return metadata.version("yhteys")
    except metadata.PackageNotFoundError:
        return "0"
