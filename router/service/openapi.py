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
from collections.abc import Iterable
from importlib import metadata
from typing import Any

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
    413: "Request body too large",
    426: "Upgrade Required: a websocket is reached with GET and 'Upgrade: websocket'",
    503: "The store or the dispatch loop is unavailable (or shutting down); retry later",
}

# A free-text field must hold a non-blank character (``router.config.reader.as_text``).
NON_BLANK = r"\S"

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
        schema: dict[str, Any] = {"type": "string"}
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
    return body


def strict(schema: Any) -> Any:
    """A request body schema as exact as the body reader: objects that list their
    properties are closed, free strings must not be blank. Explicit settings win."""
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ("properties", "patternProperties", "$defs"):
            out[key] = {name: strict(sub) for name, sub in value.items()}
        elif key in ("enum", "const", "examples", "default", "required"):
            out[key] = value
        else:
            out[key] = strict(value)
    if "properties" in out:
        out.setdefault("additionalProperties", False)
    if out.get("type") == "string" and not {"enum", "const", "pattern", "format"} & set(out):
        out["pattern"] = NON_BLANK
    return out


def operation(route: Route) -> dict[str, Any]:
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
    if params:
        op["parameters"] = params
    if route.body is not None:
        op["requestBody"] = {
            # A POST body whose schema requires nothing may be left out altogether.
            "required": route.method in ("PUT", "PATCH") or bool(route.body.get("required")),
            "content": {"application/json": {"schema": strict(route.body)}},
        }
    responses: dict[int, str] = dict(route.responses)
    if route.websocket:  # a successful upgrade is 101, whatever else the route lists
        ok = responses.get(101, _REASONS[101])
        responses = {101: ok, **{s: t for s, t in responses.items() if s >= 300}}
        responses.setdefault(426, _REASONS[426])
    if route.body is not None:
        responses.setdefault(400, "Invalid input (every problem listed)")
        responses.setdefault(413, _REASONS[413])
    if route.query:
        responses.setdefault(400, "Invalid query parameter (every problem listed)")
    if route.roles:
        responses.setdefault(401, _REASONS[401])
        responses.setdefault(403, _REASONS[403])
    if route.method != "GET":
        responses.setdefault(503, _REASONS[503])
    op["responses"] = {str(s): _response(route, s, t) for s, t in sorted(responses.items())}
    return op


def build(routes: Iterable[Route], version: str | None = None) -> dict[str, Any]:
    """The OpenAPI 3.1 document for ``routes``."""
    paths: dict[str, dict[str, Any]] = {}
    tags: list[str] = []
    for route in routes:
        path, _ = openapi_path(route.path)
        method = "get" if route.websocket else route.method.lower()
        item = paths.setdefault(path, {})
        if method in item:
            raise ValueError(f"two routes for {method.upper()} {path}")
        item[method] = operation(route)
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
                "arrays/objects deep (else 400); a websocket frame is held to the same depth."
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
