"""The region's local calendar days, by which the audit indexes, reports and exports its
records (a contact belongs to the local day it arrived on)."""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

log = logging.getLogger("yhteys.audit")

DAY_S = 86_400.0


def region_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("time zone %r unknown here; counting days in UTC", name)
        return ZoneInfo("UTC")


class Days:
    """Local calendar days of epoch times, with the current day's bounds cached."""

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self._start = self._end = 0.0
        self._iso = ""

    def of(self, t: float) -> str:
        if self._start <= t < self._end:
            return self._iso
        day = datetime.fromtimestamp(t, self.zone).date()
        start = datetime.combine(day, time.min, self.zone).timestamp()
        end = datetime.combine(day + timedelta(days=1), time.min, self.zone).timestamp()
        if start <= t < end:  # always, barring a zone database without this day
            self._start, self._end, self._iso = start, end, day.isoformat()
        return day.isoformat()

    def iso(self, t: float | None) -> str | None:
        """ISO 8601 local time with offset and milliseconds."""
        if t is None:
            return None
        return datetime.fromtimestamp(t, self.zone).isoformat(timespec="milliseconds")
