"""Structured logs: one JSON object per line, personal data and secrets masked."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from router.service.logs import JsonFormatter, MaskingFormatter, configure_logging, mask

PHONES = ["+358401234567", "+358 40 123 4567", "040 123 4567", "040-1234567", "00358401234567"]
HETUS = ["131052-308T", "010199A123B", "311299+001H", "131052-308t"]
LEFT_ALONE = [
    "2024-05-06",
    "2024-05-06T08:15:00.123Z",
    "06.05.2024",
    "06-05-2024",
    "08:15:00",
    "a001",
    "phone-k1",
    "c123",
    "wi-2024-000123",
    "waited 0.25 s",
    "port 8080",
    "1700000000.5",
    "P3",
]


@pytest.fixture
def logger() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    log = logging.getLogger("yhteys.test-logs")
    log.handlers[:] = [handler]
    log.setLevel(logging.DEBUG)
    log.propagate = False
    yield log, stream
    log.handlers.clear()
    log.propagate = True


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    text = stream.getvalue()
    assert text.endswith("\n")
    entries = [json.loads(line) for line in text.splitlines()]
    assert all(isinstance(e, dict) for e in entries)
    return entries


@pytest.mark.parametrize("phone", PHONES)
def test_phone_numbers_are_masked_but_recognisable(phone: str) -> None:
    masked = mask(f"call from {phone} queued")
    assert phone not in masked
    digits = "".join(c for c in phone if c.isdigit())
    assert digits[2:-2] not in "".join(c for c in masked if c.isdigit() or c == "*")
    assert masked.startswith("call from ") and masked.endswith("67 queued")
    assert "*****" in masked


def test_the_documented_masks() -> None:
    assert mask("+358401234567") == "+35840*****67"
    assert mask("+358 40 123 4567") == "+35840*****67"
    assert mask("040 123 4567") == "040*****67"
    assert mask("hetu 131052-308T.") == "hetu ******-****."


@pytest.mark.parametrize("hetu", HETUS)
def test_personal_identity_codes_are_masked_whole(hetu: str) -> None:
    for text in (hetu, f"hetu={hetu}", f"({hetu})", f'"{hetu}"', f"id:{hetu}x"):
        masked = mask(text)
        assert hetu not in masked and hetu[:6] not in masked and hetu[-4:] not in masked
        assert "******-****" in masked


@pytest.mark.parametrize("text", LEFT_ALONE)
def test_dates_times_and_plain_ids_are_left_alone(text: str) -> None:
    assert mask(f"at {text}: ok") == f"at {text}: ok"


def test_tokens_are_masked() -> None:
    assert mask("GET /api/agent/ws?access_token=demo-agent-a001&x=1") == (
        "GET /api/agent/ws?access_token=***&x=1"
    )
    assert mask("Authorization: Bearer s3cret-t0ken") == "Authorization: Bearer ***"


def test_one_json_object_per_line_with_the_standard_fields_and_extras(
    logger: tuple[logging.Logger, io.StringIO],
) -> None:
    log, stream = logger
    log.info("offered %s to %s", "c1", "a001", extra={"contact_id": "c1", "wait_s": 12.5})
    log.warning("two\nlines")
    first, second = lines(stream)
    assert first["level"] == "info" and second["level"] == "warning"
    assert first["logger"] == "yhteys.test-logs"
    assert first["message"] == "offered c1 to a001"
    assert first["contact_id"] == "c1" and first["wait_s"] == 12.5
    assert first["time"].endswith("Z") and first["time"][10] == "T" and len(first["time"]) == 24
    assert second["message"] == "two\nlines"
    assert set(second) == {"time", "level", "logger", "message"}


def test_personal_data_is_masked_in_messages_extras_and_exceptions(
    logger: tuple[logging.Logger, io.StringIO],
) -> None:
    log, stream = logger

    @dataclass
    class Spec:
        caller: str

    log.info(
        "call %s from %s",
        "k1",
        "+358401234567",
        extra={
            "caller": "040 123 4567",
            "body": {"hetu": "131052-308T", "numbers": ["+358401234567", 7], "+358401234567": 1},
            "spec": Spec("+358501234567"),
            "count": 3,
            "ratio": float("nan"),
        },
    )
    try:
        raise ValueError("no patient 131052-308T at +358401234567")
    except ValueError:
        log.exception("lookup failed for %s", "131052-308T")
    log.info("stack", stack_info=True, extra={"note": "called by 040 123 4567"})
    text = stream.getvalue()
    for secret in ("+358401234567", "4567", "131052", "308T", "+358501234567"):
        assert secret not in text, secret
    info, error, stack = lines(stream)
    assert info["message"] == "call k1 from +35840*****67"
    assert info["caller"] == "040*****67"
    assert info["body"] == {
        "hetu": "******-****",
        "numbers": ["+35840*****67", 7],
        "+35840*****67": 1,
    }
    assert "+35850*****67" in info["spec"]
    assert info["count"] == 3 and info["ratio"] == "nan"
    assert error["level"] == "error"
    assert error["message"] == "lookup failed for ******-****"
    assert "ValueError: no patient ******-**** at +35840*****67" in error["exception"]
    assert "Traceback" in error["exception"]
    assert "stack" in stack and stack["note"] == "called by 040*****67"


def test_extras_do_not_overwrite_the_standard_fields(
    logger: tuple[logging.Logger, io.StringIO],
) -> None:
    log, stream = logger
    log.info("hello", extra={"level": "fake", "time": "never", "logger_name": "x"})
    (entry,) = lines(stream)
    assert entry["level"] == "info" and entry["time"] != "never"
    assert entry["extra_level"] == "fake" and entry["extra_time"] == "never"
    assert entry["logger_name"] == "x"


def test_a_record_formatted_by_another_handler_first_has_no_stray_fields() -> None:
    record = logging.LogRecord("yhteys.x", logging.INFO, __file__, 1, "a %s", ("b",), None)
    logging.Formatter("%(asctime)s %(message)s").format(record)  # sets message, asctime
    entry = json.loads(JsonFormatter().format(record))
    assert set(entry) == {"time", "level", "logger", "message"}
    assert entry["message"] == "a b"


def test_the_text_format_is_masked_too() -> None:
    formatter = MaskingFormatter("%(levelname)s %(message)s")
    record = logging.LogRecord(
        "yhteys.x", logging.INFO, __file__, 1, "from %s", ("+358401234567",), None
    )
    assert formatter.format(record) == "INFO from +35840*****67"


def test_configure_logging_sends_masked_json_lines_to_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging("json", logging.INFO)
        logging.getLogger("yhteys.x").info("caller %s", "+358401234567")
        logging.getLogger("yhteys.x").debug("not shown")
    finally:
        logging.captureWarnings(False)
        root.handlers[:], level = saved
        root.setLevel(level)
    err = capsys.readouterr().err
    (entry,) = [json.loads(line) for line in err.splitlines()]
    assert entry["message"] == "caller +35840*****67"
