"""The OpenAPI 3.1 document, built from the same route table as the aiohttp router.

Every ``Route`` becomes one operation: summary, tag, path parameters, the JSON request
body schema, its documented responses, and - for routes that need a token - the bearer
security requirement with 401 and 403 answers and the roles (and integration channel)
that may call it (``x-roles``, ``x-channel``). Websocket routes are documented as a
``GET`` answered with ``101 Switching Protocols``. Errors share one schema, the body of
``router.service.http.ApiError``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from importlib import metadata
from typing import Any

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
    503: "Not ready",
}

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["status", "code", "message"],
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
                    "description": "every problem with the input, at once",
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


def _response(status: int, text: str) -> dict[str, Any]:
    body: dict[str, Any] = {"description": text or _REASONS.get(status, "")}
    if status >= 400:
        body["content"] = {"application/json": {"schema": _ERROR_REF}}
    return body


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
    if params:
        op["parameters"] = params
    if route.body is not None:
        op["requestBody"] = {
            # A POST body whose schema requires nothing may be left out altogether.
            "required": route.method in ("PUT", "PATCH") or bool(route.body.get("required")),
            "content": {"application/json": {"schema": route.body}},
        }
    responses: dict[int, str] = dict(route.responses)
    if route.websocket:  # a successful upgrade is 101, whatever else the route lists
        ok = responses.get(101, _REASONS[101])
        responses = {101: ok, **{s: t for s, t in responses.items() if s >= 300}}
    if route.body is not None:
        responses.setdefault(400, "Invalid input (every problem listed)")
    if route.roles:
        responses.setdefault(401, _REASONS[401])
        responses.setdefault(403, _REASONS[403])
    op["responses"] = {str(s): _response(s, t) for s, t in sorted(responses.items())}
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
                '`{"error": {"status", "code", "message", "problems"?}}`.'
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
