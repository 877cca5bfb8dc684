"""Structured JSON logs, with phone numbers, personal identity codes and tokens masked.

Every record is one JSON object per line: ``time`` (UTC, ISO 8601 with milliseconds),
``level``, ``logger``, ``message``, any ``extra`` fields, and ``exception`` / ``stack``
when present. Masking runs on the rendered message, on extras (strings inside dicts and
lists too, and the text of any other object) and on tracebacks, so a caller's number or
a Finnish personal identity code (henkilötunnus) never reaches a log file in full:

- ``+358401234567`` and ``+358 40 123 4567`` become ``+35840*****67``;
  ``040 123 4567`` becomes ``040*****67`` (operator prefix and the last two digits kept);
- ``131052-308T`` becomes ``******-****``;
- ``access_token=...`` and ``Bearer ...`` secrets become ``***``.

Dates (``2024-05-06``, ``06.05.2024``, ``06-05-2024``), times and plain ids are left alone.
"""

from __future__ import annotations

import json
import logging
import math
import re
import sys
import time
from collections.abc import Mapping
from typing import Any

# Finnish personal identity code: DDMMYY, century sign, 3 digits, check character. The
# century signs are + (1800s), - U V W X Y (1900s) and A B C D E F (2000s). Masked even
# when glued to letters (``hetu:131052-308T``, ``id131052-308Tx``): over-masking a hash is
# harmless, a leaked code is not.
_HETU = re.compile(
    r"(?<!\d)(?:0[1-9]|[12]\d|3[01])(?:0[1-9]|1[0-2])\d\d[-+A-FU-Y]\d{3}"
    r"[0-9A-FHJ-NPR-Y](?!\d)",
    re.IGNORECASE,
)
# Phone numbers: international (+358..., 00358...) or national (0 + area or operator code),
# 7-15 digits with single spaces or dashes between them. Not inside a word or a longer
# number; a date such as 06-05-2024 is excluded explicitly.
_PHONE = re.compile(
    r"(?<![\w+.\-])"
    r"(?!\d{1,2}[-.]\d{1,2}[-.]\d{2,4}(?![\d]))"
    r"(\+\d(?:[ \-]?\d){6,14}|0\d(?:[ \-]?\d){5,13})"
    r"(?![\w])"
)
# Bearer tokens, and the chat resume secret (which hands over a live chat), in URLs too.
_SECRETS = re.compile(r"(?i)(access_token=|resume=|bearer\s+)[^\s&\"',;]+")

_HEAD_INTERNATIONAL = 5  # +358 40: country and operator code
_HEAD_NATIONAL = 3  # 040
_MIN_MASKED = 4

# Attributes every LogRecord has (and ``message``/``asctime``, which Formatter.format adds
# when another handler formatted the record first): everything else is an ``extra``.
_STANDARD = {*vars(logging.makeLogRecord({})), "message", "asctime", "taskName"}
_RESERVED = ("time", "level", "logger", "message", "exception", "stack")


def _phone(m: re.Match[str]) -> str:
    raw = m.group(1)
    return _masked_number(raw.startswith("+"), "".join(c for c in raw if c.isdigit()))


def _masked_number(plus: bool, digits: str) -> str:
    """The number of ``digits`` (international with ``plus``), its middle starred."""
    head = _HEAD_INTERNATIONAL if plus else _HEAD_NATIONAL
    head = max(0, min(head, len(digits) - 2 - _MIN_MASKED))
    hidden = len(digits) - head - 2
    return ("+" if plus else "") + digits[:head] + "*" * hidden + digits[-2:]


# A whole text that is one E.164-style number (the audit masks every caller's): neither
# a secret nor an identity code can be in it and ``_PHONE`` matches all of it, so the
# number masked as ``_phone`` masks it is what the three substitutions give, at a
# fraction of the cost.
_JUST_A_NUMBER = re.compile(r"\+[0-9]{7,15}")


def mask(text: str) -> str:
    """``text`` with personal identity codes, phone numbers and tokens masked."""
    if _JUST_A_NUMBER.fullmatch(text) is not None:
        return _masked_number(True, text[1:])
    return masked_in_full(text)


def masked_in_full(text: str) -> str:
    """``mask`` without its shortcut for a lone number: every substitution, in order."""
    text = _SECRETS.sub(lambda m: m.group(1) + "***", text)
    text = _HETU.sub("******-****", text)
    return _PHONE.sub(_phone, text)


def mask_value(value: object) -> object:
    """A JSON-ready copy of ``value`` with every string in it masked."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)  # JSON has no NaN
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, Mapping):
        return {mask(str(k)): mask_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [mask_value(v) for v in value]
    return mask(str(value))


def _timestamp(created: float) -> str:
    seconds = int(created)
    millis = int((created - seconds) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": mask(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key in _STANDARD or key.startswith("_"):
                continue
            name = f"extra_{key}" if key in _RESERVED else key
            entry[name] = mask_value(value)
        if record.exc_info:
            entry["exception"] = mask(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exception"] = mask(record.exc_text)
        if record.stack_info:
            entry["stack"] = mask(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


class MaskingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return mask(super().format(record))


def configure_logging(fmt: str = "json", level: int = logging.INFO) -> None:
    """Sends every log record (and Python warnings) to stderr, one masked line each."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter()
        if fmt == "json"
        else MaskingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.captureWarnings(True)
