"""Structured JSON logs, with phone numbers and personal identity codes masked.

Every record is one JSON object per line (``time``, ``level``, ``logger``, ``message`` and
any ``extra`` fields). Masking runs on the rendered message and on string extras, so a
caller's number or a Finnish personal identity code (henkilötunnus) never reaches a log
file in full: ``+358401234567`` becomes ``+35840*****67``.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from typing import Any

# Phone numbers: international (+358...) or national (0...) with 7+ digits and optional
# spaces or dashes. Dates and plain ids do not start with + or 0 and are left alone.
_PHONE = re.compile(r"(?<![\w+-])(\+\d[\d \-]{5,}\d|0\d[\d \-]{5,}\d)(?![\w])")
# Finnish personal identity code: DDMMYY, century sign, 3 digits, check character.
_HETU = re.compile(r"\b(\d{6})[-+A-FU-Y](\d{3})[0-9A-Y]\b")

_STANDARD = set(vars(logging.makeLogRecord({})))


def mask(text: str) -> str:
    text = _HETU.sub(lambda m: m.group(1)[:2] + "****-****", text)

    def phone(m: re.Match[str]) -> str:
        raw = m.group(1)
        digits = [c for c in raw if c.isdigit()]
        if len(digits) < 7:
            return raw
        keep_head = 5 if raw.startswith("+") else 3
        head = raw[:keep_head]
        return head + "*" * (len(digits) - (len(head.replace("+", "")) + 2)) + "".join(digits[-2:])

    return _PHONE.sub(phone, text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": mask(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = mask(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exception"] = mask(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


class MaskingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return mask(super().format(record))


def configure_logging(fmt: str = "json", level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter()
        if fmt == "json"
        else MaskingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
