"""Request bodies read through one pydantic model each, in the API's own error format.

A body's model says its keys, which are required, their types and bounds, and - with
validators that raise :func:`refuse` - the rules a type cannot say (an E.164 number, a
name of the region): the body is checked and its OpenAPI schema (:func:`request_schema`)
written from the same model. pydantic reports every problem at once; :func:`problems_of`
says each in the words of the region file's readers (``router.config.reader``: "required
key is missing", "expected a string, got integer 5", "unknown key 'x'; did you mean
...?"), so a 400 lists the same ``(field, reason)`` pairs as the hand-written readers did.

A validator that needs the running service reads it from the validation context
(``info.context``), which :func:`check_body` fills; without one only the shape is checked.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import UnionType
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from aiohttp import web
from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError
from pydantic_core import ErrorDetails, PydanticCustomError

from router.config.errors import key_path
from router.config.reader import did_you_mean, expected
from router.config.shapes import json_schema
from router.service.http import body_json, invalid, read_bytes

B = TypeVar("B", bound=BaseModel)


class BodyShape(BaseModel):
    """A request body (or a part of one): unknown keys refused, no type coercion, and a
    ``null`` optional key taken as absent (its default)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def refuse(reason: str) -> PydanticCustomError:
    """The error a validator raises: ``reason`` becomes the problem's reason as is."""
    return PydanticCustomError("refused", "{reason}", {"reason": reason})


EMPTY = "must not be empty"


def _non_blank(text: str) -> str:
    if not text.strip():
        raise refuse(EMPTY)
    return text


def refuse_text(text: str, reason: str) -> PydanticCustomError:
    """The problem of a string its field's own check refused: "must not be empty" when
    it is blank (what ``Text`` says first), else ``reason``. A check that no blank
    string passes can so stand for ``Text`` and itself in one validator: each Python
    validator is a call out of pydantic's core, on every field of every webhook."""
    return refuse(reason if text.strip() else EMPTY)


def non_blank(text: str) -> None:
    """``Text``'s check, for a validator that stands for it and passes a value it does
    not check otherwise (a shape-only check without the running service)."""
    if not text.strip():
        raise refuse(EMPTY)


# A non-empty string (the readers' ``as_text``).
Text = Annotated[str, AfterValidator(_non_blank)]


def _allowed_keys(shape: type[BaseModel]) -> list[str]:
    fields = shape.model_fields
    return [n for n, f in fields.items() if f.is_required()] + [
        n for n, f in fields.items() if not f.is_required()
    ]


def _shape_at(shape: type[BaseModel], loc: Sequence[int | str]) -> type[BaseModel] | None:
    """The model of the object at ``loc`` inside ``shape`` (None when not a model)."""
    current: type[BaseModel] = shape
    for part in loc:
        info = current.model_fields.get(str(part))
        if info is None:
            return None
        found = [
            t
            for t in (info.annotation, *get_args(info.annotation))
            if isinstance(t, type) and issubclass(t, BaseModel)
        ]
        if not found:
            return None
        current = found[0]
    return current


def _path(loc: Sequence[int | str]) -> str:
    path = ""
    for part in loc:
        path = f"{path}[{part}]" if isinstance(part, int) else key_path(path, part)
    return path


def _reason(error: ErrorDetails, shape: type[BaseModel]) -> str:
    kind, value = error["type"], error.get("input")
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        inside = _shape_at(shape, error["loc"][:-1])
        allowed = _allowed_keys(inside) if inside is not None else []
        key = str(error["loc"][-1])
        return (
            f"unknown key {key!r}; {did_you_mean(key, allowed)}"
            f"expected one of: {', '.join(allowed)}"
        )
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return expected("a mapping", value)
    if kind == "string_type":
        return expected("a string", value)
    if kind in ("float_type", "int_type"):
        return expected("a number", value)
    if kind == "bool_type":
        return expected("a boolean (true or false)", value)
    if kind == "finite_number":
        return f"must be a finite number, got {value!r}"
    if kind == "greater_than_equal":
        bound = ctx.get("ge")
        return f"must be {'non-negative' if bound == 0 else f'>= {bound}'}, got {value!r}"
    if kind == "greater_than":
        bound = ctx.get("gt")
        return f"must be {'above 0' if bound == 0 else f'above {bound}'}, got {value!r}"
    if kind in ("string_too_long", "too_long") and isinstance(value, str):
        return f"must be at most {ctx.get('max_length')} characters, got {len(value)}"
    if kind == "string_too_short":
        return "must not be empty"
    # A validator's refuse(): its reason as is (any other kind: pydantic's own words).
    return str(error["msg"])


# Problems in the readers' order: unknown keys, then missing ones, then the rest.
_RANK = {"extra_forbidden": 0, "missing": 1}


def problems_of(exc: ValidationError, shape: type[BaseModel]) -> list[tuple[str, str]]:
    """The ``(field, reason)`` pairs of a failed validation of ``shape``, every one, in
    the region file readers' words; the body itself is the field ``(body)``."""
    errors = sorted(exc.errors(include_url=False), key=lambda e: _RANK.get(e["type"], 2))
    return [(_path(e["loc"]) or "(body)", _reason(e, shape)) for e in errors]


def check_body(value: object, shape: type[B], context: object = None) -> B:
    """``value`` as a ``shape``; a 400 with every problem when it is not one."""
    try:
        return shape.model_validate(value, context=context)
    except ValidationError as exc:
        raise invalid(problems_of(exc, shape)) from None


_UNIONS = (Union, UnionType)


def _text_only(shape: type[BaseModel]) -> bool:
    """Whether every value ``shape`` accepts is a string, or an object of such a shape
    (so no number, list or free-form mapping anywhere in a body it accepts)."""
    for info in shape.model_fields.values():
        kinds = [t for t in (info.annotation, *get_args(info.annotation)) if t is not None]
        kinds = [get_args(t)[0] if get_origin(t) is Annotated else t for t in kinds]
        kinds = [t for t in kinds if t is not type(None) and get_origin(t) not in _UNIONS]
        for kind in kinds:
            if isinstance(kind, type) and issubclass(kind, BodyShape):
                if not _text_only(kind):
                    return False
            elif kind is not str:
                return False
    return True


# What is asked of a body shape on every request, and a model's fields do not change:
# whether it has a required key (so the body may not be left out), and whether it is
# read from the body's bytes directly (``read_body``).
_NEEDS_BODY: dict[type[BaseModel], bool] = {}
_DIRECT: dict[type[BaseModel], bool] = {}


async def read_body(request: web.Request, shape: type[B], context: object = None) -> B:
    """The request's JSON body as a ``shape``. A body of optional keys only may be left
    out altogether (as the OpenAPI document says).

    A shape of strings only (``_text_only``) is first read from the body's bytes by
    pydantic's own JSON parser, which skips making the Python value first (a webhook's
    JSON decoding was as costly as its checks). Any failure there, and every other
    shape, goes the way it always went: ``json.loads`` with the API's limits and
    messages, then the model, so a refused body is answered as before. What the direct
    read accepts, the other way accepts alike: a body of strings only holds no number
    (where the two parsers' limits differ) and, with unknown keys refused, nests no
    deeper than its shape; a text ``json.loads`` takes and the direct parser does not
    (UTF-16, a byte-order mark, a lone surrogate escaped) fails it and goes the old way;
    a repeated key keeps its last value in both (``tests/test_body_direct.py``)."""
    needs = _NEEDS_BODY.get(shape)
    if needs is None:
        needs = _NEEDS_BODY[shape] = any(f.is_required() for f in shape.model_fields.values())
    if not (needs or request.can_read_body):
        return check_body({}, shape, context)
    raw = await read_bytes(request)
    direct = _DIRECT.get(shape)
    if direct is None:
        direct = _DIRECT[shape] = _text_only(shape)
    if direct:
        try:
            return shape.model_validate_json(raw, context=context)
        except ValidationError:
            pass  # answered below, as the body always was
    return check_body(body_json(raw), shape, context)


def request_schema(shape: type[BaseModel]) -> dict[str, Any]:
    """The OpenAPI request body schema of ``shape`` (the document's ``strict`` then adds
    the region's names and that a null optional key is allowed)."""
    return json_schema(shape)


def _inlined(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_inlined(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str):
        return _inlined(defs[ref.rsplit("/", 1)[-1]], defs)
    return {k: _inlined(v, defs) for k, v in node.items() if k not in ("title", "default")}


def answer_schema(*shapes: type[BaseModel]) -> dict[str, Any]:
    """The OpenAPI schema of an answer that is one of ``shapes``: closed objects, nested
    shapes inlined, and a key that may be null (or left out) says so."""
    schemas = []
    for shape in shapes:
        schema = shape.model_json_schema(mode="serialization")
        schemas.append(_inlined(schema, schema.pop("$defs", {})))
    return schemas[0] if len(schemas) == 1 else {"oneOf": schemas}


class Answer(BaseModel):
    """An answer with a fixed set of keys: its schema refuses any other."""

    model_config = ConfigDict(extra="forbid")


class Wait(Answer):
    """The published wait estimate, seconds from now (the phone's announcement, a
    contact's status, the public status page)."""

    min_s: float
    max_s: float
