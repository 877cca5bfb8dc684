"""The data rows of a CSV file that the command line reads (a forecast, an arrival curve,
shifts, an audit export), each with its line number for ``file:line:column`` errors:
blank rows are skipped, and a row of the wrong width is refused naming its line."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _csv import Reader


def data_rows(
    reader: Reader, width: int, name: str, error: type[Exception]
) -> Iterator[tuple[int, list[str]]]:
    """``(line, row)`` for each non-blank row after the header; ``error`` when a row does
    not have ``width`` cells."""
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != width:
            raise error(f"{name}:{line}: expected {width} columns, got {len(row)}")
        yield line, row
