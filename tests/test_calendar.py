"""Opening hours, Finnish public holidays, the same-day rule and the after-hours policy
(router.calendar), with real dates in 2026-2027.

Calendar facts the tests rely on (Europe/Helsinki):

- Easter Sunday 2026 is 5 April (Maundy Thursday 2 April, Good Friday 3 April, Easter
  Monday 6 April); Easter Sunday 2027 is 28 March (Maundy Thursday 25 March, Good Friday
  26 March, Easter Monday 29 March).
- Summer time starts on the last Sundays of March (29 March 2026, 28 March 2027) at 03:00
  EET, when the clocks jump to 04:00 EEST (UTC+3); it ends on the last Sundays of October
  (25 October 2026, 31 October 2027) at 04:00 EEST, when the clocks go back to 03:00 EET
  (UTC+2). So Easter 2027 and the spring change share a weekend.
- Midsummer Eve 2026 is Friday 19 June; Christmas Eve 2026 is a Thursday, New Year's Day
  2027 a Friday, Independence Day 2027 a Monday.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import assume, example, given
from hypothesis import strategies as st

from router.calendar import (
    ALWAYS_OPEN,
    CLOSED,
    FINNISH_HOLIDAYS,
    HORIZON_DAYS,
    AfterHoursPolicy,
    CallBackAt,
    DayHours,
    Redirect,
    Route,
    Schedule,
    ServiceHours,
    Unavailable,
    WaitUntil,
    WhenClosed,
    due_times,
    never_open,
    on_arrival,
    same_day_due,
)
from router.calendar.clock import day_of, instant, wall
from router.config.errors import Problems
from router.config.hours_reader import read_after_hours, read_hours
from router.core.model import Channel

HEL = ZoneInfo("Europe/Helsinki")
SRC = "region.yaml"
PATH = "services[0].hours"
HOUR = 3600.0
WEEK = 7 * 24 * HOUR


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> float:
    """Epoch seconds of a Helsinki wall-clock time (an existing, unambiguous one)."""
    return datetime(year, month, day, hour, minute, tzinfo=HEL).timestamp()


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> float:
    return datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp()


def shown(t: float | None) -> str:
    """A Helsinki wall-clock reading with its offset, for readable failures."""
    return "None" if t is None else datetime.fromtimestamp(t, HEL).isoformat()


def hours_of(doc: object, timezone: str = "Europe/Helsinki") -> ServiceHours:
    problems = Problems(SRC)
    result = read_hours(problems, PATH, doc, timezone)
    assert problems.items == []
    return result


def hours_problems(doc: object) -> list[str]:
    problems = Problems(SRC)
    read_hours(problems, PATH, doc)
    return problems.items


OFFICE_DOC: dict[str, Any] = {"weekly": {"mon-fri": ["08:00-16:00"]}}
OFFICE = hours_of(OFFICE_DOC).default

# A fuller service, as it would be written in the region file.
SERVICE_YAML = """
hours:
  weekly:
    mon-thu: ["08:00-16:00"]
    fri: ["08:00-11:30", "12:30-15:00"]
  holidays: closed
  exceptions:
    2026-12-24: ["08:00-12:00"]
    "2026-12-31": closed
    "2027-07-05..2027-07-30": closed
  channels:
    chat:
      weekly: {mon-fri: ["08:00-20:00"], sat-sun: "10:00-16:00"}
    workitem: always
    web: closed
after_hours:
  redirect: {P0: "112", P1: "116117"}
  others: wait
  channels: {voice: call_back}
"""
SERVICE_DOC = yaml.safe_load(SERVICE_YAML)
SERVICE = hours_of(SERVICE_DOC["hours"])
SERVICE_DESK = SERVICE.default


def policy_of(
    doc: object, urgencies: tuple[str, ...] | None = ("P0", "P1", "P5")
) -> AfterHoursPolicy:
    problems = Problems(SRC)
    result = read_after_hours(problems, "services[0].after_hours", doc, urgencies)
    assert problems.items == []
    return result


POLICY = policy_of(SERVICE_DOC["after_hours"])


# --- the clock: local times on the days the clocks change --------------------------------


class TestClock:
    def test_an_ordinary_local_time(self) -> None:
        assert instant(HEL, date(2026, 3, 2), 8 * 60) == utc(2026, 3, 2, 6)  # EET, UTC+2
        assert instant(HEL, date(2026, 6, 1), 8 * 60) == utc(2026, 6, 1, 5)  # EEST, UTC+3

    def test_a_time_skipped_in_spring_means_the_change(self) -> None:
        change = utc(2026, 3, 29, 1)  # 03:00 EET becomes 04:00 EEST
        for minute in (180, 210, 239, 240):  # 03:00, 03:30, 03:59 (skipped), 04:00
            assert instant(HEL, date(2026, 3, 29), minute) == change
        assert instant(HEL, date(2026, 3, 29), 179) == change - 60  # 02:59 EET

    def test_a_time_repeated_in_autumn_means_its_first_occurrence(self) -> None:
        assert instant(HEL, date(2026, 10, 25), 210) == utc(2026, 10, 25, 0, 30)  # 03:30 EEST
        assert instant(HEL, date(2026, 10, 25), 240) == utc(2026, 10, 25, 2)  # 04:00 EET

    def test_day_of(self) -> None:
        assert day_of(HEL, at(2026, 3, 2)) == date(2026, 3, 2)
        assert day_of(HEL, at(2026, 3, 2) - 1) == date(2026, 3, 1)
        assert day_of(HEL, utc(2026, 10, 25, 1, 30)) == date(2026, 10, 25)  # 03:30 again
        # Midnight after the autumn change: 22:00 UTC, an hour later than in summer.
        assert day_of(HEL, utc(2026, 10, 25, 21, 59)) == date(2026, 10, 25)
        assert day_of(HEL, utc(2026, 10, 25, 22)) == date(2026, 10, 26)


# --- opening hours ----------------------------------------------------------------------


class TestOpeningHours:
    def test_weekday_hours_are_half_open(self) -> None:
        monday = (2026, 3, 2)
        assert not OFFICE.is_open(at(*monday, 8) - 1)
        assert OFFICE.is_open(at(*monday, 8))
        assert OFFICE.is_open(at(*monday, 16) - 1)
        assert not OFFICE.is_open(at(*monday, 16))
        assert not OFFICE.is_open(at(2026, 3, 7, 10))  # Saturday
        assert not OFFICE.is_open(at(2026, 3, 8, 10))  # Sunday

    def test_a_split_day_is_closed_in_its_break(self) -> None:
        friday = (2026, 3, 6)
        assert SERVICE_DESK.is_open(at(*friday, 11, 29))
        assert not SERVICE_DESK.is_open(at(*friday, 11, 45))
        assert SERVICE_DESK.next_opening(at(*friday, 11, 45)) == at(*friday, 12, 30)
        assert SERVICE_DESK.closing_of_day(at(*friday, 9)) == at(*friday, 15)

    @pytest.mark.parametrize(
        ("day", "name"),
        [
            (date(2026, 1, 1), "New Year's Day"),
            (date(2026, 1, 6), "Epiphany"),
            (date(2026, 4, 3), "Good Friday"),
            (date(2026, 4, 6), "Easter Monday"),
            (date(2026, 5, 1), "May Day"),
            (date(2026, 5, 14), "Ascension Day"),
            (date(2026, 6, 19), "Midsummer Eve"),
            (date(2026, 12, 24), "Christmas Eve"),
            (date(2026, 12, 25), "Christmas Day"),
            (date(2027, 1, 1), "New Year's Day"),
            (date(2027, 3, 26), "Good Friday"),
            (date(2027, 3, 29), "Easter Monday"),
            (date(2027, 5, 6), "Ascension Day"),
            (date(2027, 6, 25), "Midsummer Eve"),
            (date(2027, 12, 6), "Independence Day"),
        ],
    )
    def test_finnish_weekday_holidays_are_closed(self, day: date, name: str) -> None:
        assert day.weekday() < 5
        plan = OFFICE.plan(day)
        assert (plan.hours, plan.source, plan.holiday) == (CLOSED, "holiday", name)
        assert not OFFICE.is_open(at(day.year, day.month, day.day, 10))

    def test_ordinary_weekdays_around_easter_are_open(self) -> None:
        for day in (date(2026, 4, 2), date(2026, 4, 7), date(2027, 3, 25), date(2027, 3, 30)):
            assert OFFICE.plan(day).source == "weekly"
            assert OFFICE.is_open(at(day.year, day.month, day.day, 10))

    def test_holidays_may_follow_the_weekly_hours(self) -> None:
        hours = hours_of({**OFFICE_DOC, "holidays": "weekly"}).default
        assert hours.is_open(at(2026, 4, 3, 10))  # Good Friday
        assert hours.plan(date(2026, 4, 3)).source == "weekly"

    def test_an_exception_overrides_a_holiday_and_a_weekday(self) -> None:
        christmas_eve = (2026, 12, 24)  # a holiday, opened by the exception 08:00-12:00
        assert SERVICE_DESK.plan(date(*christmas_eve)).source == "exception"
        assert SERVICE_DESK.is_open(at(*christmas_eve, 11, 59))
        assert not SERVICE_DESK.is_open(at(*christmas_eve, 12))
        assert SERVICE_DESK.closing_of_day(at(*christmas_eve, 9)) == at(*christmas_eve, 12)
        assert not SERVICE_DESK.is_open(at(2026, 12, 31, 10))  # a Thursday, closed

    def test_a_range_exception_closes_every_day_in_it(self) -> None:
        # Summer closure 5-30 July 2027 (Monday to Friday four weeks later).
        assert SERVICE_DESK.is_open(at(2027, 7, 2, 10))
        assert SERVICE_DESK.next_opening(at(2027, 7, 2, 16)) == at(2027, 8, 2, 8)
        assert SERVICE_DESK.end_of_next_working_day(at(2027, 7, 2, 16)) == at(2027, 8, 2, 16)

    def test_next_opening(self) -> None:
        monday_10 = at(2026, 3, 2, 10)
        assert OFFICE.next_opening(monday_10) == monday_10  # open now
        assert OFFICE.next_opening(at(2026, 3, 2, 7)) == at(2026, 3, 2, 8)
        assert OFFICE.next_opening(at(2026, 3, 6, 16)) == at(2026, 3, 9, 8)  # Fri -> Mon
        assert OFFICE.next_opening(at(2026, 4, 2, 17)) == at(2026, 4, 7, 8)  # Easter
        assert OFFICE.next_opening(at(2027, 3, 25, 17)) == at(2027, 3, 30, 8)

    def test_next_closing(self) -> None:
        assert OFFICE.next_closing(at(2026, 3, 2, 10)) == at(2026, 3, 2, 16)
        assert OFFICE.next_closing(at(2026, 3, 2, 17)) is None  # closed now
        # Round-the-clock weekdays: the opening runs on across midnight until Saturday.
        nonstop = hours_of({"weekly": {"mon-fri": ["00:00-24:00"]}}).default
        assert nonstop.next_closing(at(2026, 3, 2, 10)) == at(2026, 3, 7)
        assert nonstop.closing_of_day(at(2026, 3, 2, 10)) == at(2026, 3, 3)

    def test_closing_of_day(self) -> None:
        assert OFFICE.closing_of_day(at(2026, 3, 2, 10)) == at(2026, 3, 2, 16)
        assert OFFICE.closing_of_day(at(2026, 3, 2, 20)) == at(2026, 3, 2, 16)  # already past
        assert OFFICE.closing_of_day(at(2026, 3, 7, 10)) is None  # Saturday
        assert OFFICE.closing_of_day(at(2026, 4, 3, 10)) is None  # Good Friday

    def test_end_of_next_working_day(self) -> None:
        assert OFFICE.end_of_next_working_day(at(2026, 3, 6, 17)) == at(2026, 3, 9, 16)
        assert OFFICE.end_of_next_working_day(at(2026, 3, 9, 7)) == at(2026, 3, 9, 16)
        assert OFFICE.end_of_next_working_day(at(2026, 3, 9, 10)) == at(2026, 3, 10, 16)
        assert OFFICE.end_of_next_working_day(at(2027, 3, 25, 10)) == at(2027, 3, 30, 16)

    def test_a_service_without_hours_is_always_open(self) -> None:
        hours = hours_of(None)
        for channel in Channel:
            schedule = hours.schedule(channel)
            assert schedule.always_open
            assert schedule.is_open(at(2026, 12, 25, 3))
            assert schedule.next_opening(at(2026, 12, 25, 3)) == at(2026, 12, 25, 3)
            assert schedule.closing_of_day(at(2026, 12, 25, 3)) is None
            assert schedule.end_of_next_working_day(at(2026, 12, 25, 3)) is None

    def test_digital_channels_keep_their_own_hours(self) -> None:
        saturday_12 = at(2026, 3, 7, 12)
        assert not SERVICE.schedule(Channel.VOICE).is_open(saturday_12)
        assert SERVICE.schedule(Channel.CHAT).is_open(saturday_12)
        assert SERVICE.schedule(Channel.CHAT).is_open(at(2026, 3, 2, 19))
        assert SERVICE.schedule(Channel.WORKITEM).always_open
        assert SERVICE.schedule(Channel.WEB).next_opening(saturday_12) is None
        # A channel's hours take the service's holiday rule but not its exceptions.
        assert not SERVICE.schedule(Channel.CHAT).is_open(at(2026, 4, 3, 12))  # Good Friday
        assert SERVICE.schedule(Channel.CHAT).is_open(at(2026, 12, 31, 12))

    def test_another_time_zone(self) -> None:
        stockholm = hours_of({**OFFICE_DOC, "timezone": "Europe/Stockholm"}).default
        assert stockholm.is_open(utc(2026, 3, 2, 7))  # 08:00 CET
        assert not stockholm.is_open(utc(2026, 3, 2, 6, 30))
        assert OFFICE.is_open(utc(2026, 3, 2, 6, 30))  # 08:30 EET
        region = hours_of(OFFICE_DOC, timezone="Europe/Stockholm").default
        assert region.zone == ZoneInfo("Europe/Stockholm")


class TestDaylightSaving:
    def test_closing_time_after_the_spring_change(self) -> None:
        # Friday 27 March 2026 in winter time; Monday 30 March in summer time.
        assert OFFICE.closing_of_day(at(2026, 3, 27, 10)) == utc(2026, 3, 27, 14)
        due = same_day_due(OFFICE, at(2026, 3, 27, 17), WEEK)
        assert due == utc(2026, 3, 30, 13) == at(2026, 3, 30, 16)

    def test_closing_time_after_the_autumn_change(self) -> None:
        # Friday 23 October 2026 in summer time; Monday 26 October in winter time.
        assert OFFICE.closing_of_day(at(2026, 10, 23, 10)) == utc(2026, 10, 23, 13)
        due = same_day_due(OFFICE, at(2026, 10, 23, 17), WEEK)
        assert due == utc(2026, 10, 26, 14) == at(2026, 10, 26, 16)

    def test_easter_2027_shares_its_weekend_with_the_spring_change(self) -> None:
        due = same_day_due(OFFICE, at(2027, 3, 25, 17), WEEK)  # Maundy Thursday, EET
        assert due == utc(2027, 3, 30, 13), shown(due)  # Tuesday 16:00 EEST

    @pytest.mark.parametrize(
        ("sunday", "opens", "closes"),
        [
            (date(2026, 3, 29), utc(2026, 3, 29, 7), utc(2026, 3, 29, 13)),
            (date(2026, 10, 25), utc(2026, 10, 25, 8), utc(2026, 10, 25, 14)),
            (date(2027, 3, 28), utc(2027, 3, 28, 7), utc(2027, 3, 28, 13)),
            (date(2027, 10, 31), utc(2027, 10, 31, 8), utc(2027, 10, 31, 14)),
        ],
    )
    def test_weekend_chat_hours_on_the_change_sundays(
        self, sunday: date, opens: float, closes: float
    ) -> None:
        chat = SERVICE.schedule(Channel.CHAT)
        holiday = chat.plan(sunday).holiday  # Easter Sunday 2027 is a holiday
        if holiday is None:
            assert chat.spans(sunday) == ((opens, closes),)  # 10:00-16:00, six hours
        else:
            assert holiday == "Easter Sunday"
            assert chat.spans(sunday) == ()

    def test_a_whole_day_lasts_23_or_25_hours(self) -> None:
        nonstop = hours_of({"weekly": {"sun": ["00:00-24:00"]}, "holidays": "weekly"}).default
        ((start, end),) = nonstop.spans(date(2026, 3, 29))
        assert end - start == 23 * HOUR
        ((start, end),) = nonstop.spans(date(2026, 10, 25))
        assert end - start == 25 * HOUR

    def test_hours_within_the_changing_hour(self) -> None:
        doc = {"weekly": {"sun": ["03:30-04:30"]}, "holidays": "weekly"}
        small_hours = hours_of(doc).default
        # Spring: 03:30 does not exist; the office opens at the change (04:00 EEST).
        assert small_hours.spans(date(2026, 3, 29)) == (
            (utc(2026, 3, 29, 1), utc(2026, 3, 29, 1, 30)),
        )
        # Autumn: 03:30 happens twice; the office opens at the first and stays open
        # through the repeated hour until 04:30 EET.
        assert small_hours.spans(date(2026, 10, 25)) == (
            (utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 2, 30)),
        )

    def test_hours_entirely_in_the_skipped_hour_do_not_open(self) -> None:
        doc = {"weekly": {"sun": ["03:10-03:50"]}, "holidays": "weekly"}
        skipped = hours_of(doc).default
        assert skipped.spans(date(2026, 3, 29)) == ()
        assert skipped.next_opening(at(2026, 3, 29)) == at(2026, 4, 5, 3, 10)


# --- the same-day rule ------------------------------------------------------------------


class TestSameDayRule:
    def test_in_office_hours_the_urgency_target_applies_within_the_day(self) -> None:
        monday_10 = at(2026, 3, 2, 10)
        assert same_day_due(OFFICE, monday_10, 4 * HOUR) == at(2026, 3, 2, 14)
        assert same_day_due(OFFICE, monday_10, 8 * HOUR) == at(2026, 3, 2, 16)
        assert same_day_due(OFFICE, monday_10, 0) == monday_10

    def test_after_closing_on_a_friday_it_is_due_on_monday_at_closing(self) -> None:
        assert same_day_due(OFFICE, at(2026, 3, 6, 17), WEEK) == at(2026, 3, 9, 16)
        assert same_day_due(OFFICE, at(2026, 3, 6, 16), WEEK) == at(2026, 3, 9, 16)  # at 16:00

    def test_after_closing_on_maundy_thursday_it_is_due_on_the_tuesday_after_easter(
        self,
    ) -> None:
        assert same_day_due(OFFICE, at(2026, 4, 2, 16, 30), WEEK) == at(2026, 4, 7, 16)
        assert same_day_due(OFFICE, at(2027, 3, 25, 16, 30), WEEK) == at(2027, 3, 30, 16)

    def test_on_a_saturday_morning_it_is_due_on_monday(self) -> None:
        assert same_day_due(OFFICE, at(2026, 3, 7, 9), WEEK) == at(2026, 3, 9, 16)

    def test_before_opening_on_a_working_day_it_is_due_that_day(self) -> None:
        assert same_day_due(OFFICE, at(2026, 3, 9, 7), WEEK) == at(2026, 3, 9, 16)

    def test_after_hours_the_urgency_clock_starts_at_the_next_opening(self) -> None:
        assert same_day_due(OFFICE, at(2026, 3, 6, 20), HOUR) == at(2026, 3, 9, 9)

    def test_a_break_in_a_split_day_counts_as_that_office_day(self) -> None:
        friday_break = at(2026, 3, 6, 12)
        assert same_day_due(SERVICE_DESK, friday_break, WEEK) == at(2026, 3, 6, 15)
        assert same_day_due(SERVICE_DESK, friday_break, HOUR) == at(2026, 3, 6, 13, 30)

    def test_around_christmas_and_new_year(self) -> None:
        eve = (2026, 12, 24)  # open 08:00-12:00 by exception
        assert same_day_due(SERVICE_DESK, at(*eve, 11), WEEK) == at(*eve, 12)
        # Christmas Day (Fri), St Stephen's Day (Sat), Sunday: Monday 28 December.
        assert same_day_due(SERVICE_DESK, at(*eve, 12), WEEK) == at(2026, 12, 28, 16)
        # 31 December closed by exception, 1 January a holiday: Monday 4 January.
        assert same_day_due(SERVICE_DESK, at(2026, 12, 30, 17), WEEK) == at(2027, 1, 4, 16)

    def test_midsummer(self) -> None:
        assert same_day_due(OFFICE, at(2026, 6, 18, 17), WEEK) == at(2026, 6, 22, 16)

    def test_an_always_open_service_uses_the_urgency_target(self) -> None:
        t = at(2026, 12, 25, 3)
        assert same_day_due(ALWAYS_OPEN, t, HOUR) == t + HOUR

    def test_a_schedule_that_never_opens_uses_the_urgency_target(self) -> None:
        t = at(2026, 3, 2, 10)
        assert same_day_due(never_open(), t, HOUR) == t + HOUR


# --- after hours ------------------------------------------------------------------------


class TestAfterHours:
    MONDAY_10 = at(2026, 3, 2, 10)
    FRIDAY_EVENING = at(2026, 3, 6, 21)
    MONDAY_8 = at(2026, 3, 9, 8)

    def test_open_routes_every_class(self) -> None:
        for urgency in ("P0", "P1", "P5"):
            action = on_arrival(SERVICE, POLICY, Channel.VOICE, urgency, self.MONDAY_10)
            assert action == Route()

    def test_closed_redirects_the_urgent_classes(self) -> None:
        def act(urgency: str) -> object:
            return on_arrival(SERVICE, POLICY, Channel.VOICE, urgency, self.FRIDAY_EVENING)

        assert act("P0") == Redirect("112")
        assert act("P1") == Redirect("116117")

    def test_closed_others_wait_or_are_told_when_to_call_back(self) -> None:
        voice = on_arrival(SERVICE, POLICY, Channel.VOICE, "P5", self.FRIDAY_EVENING)
        assert voice == CallBackAt(self.MONDAY_8)
        callback = on_arrival(SERVICE, POLICY, Channel.CALLBACK, "P5", self.FRIDAY_EVENING)
        assert callback == WaitUntil(self.MONDAY_8)

    def test_a_digital_channel_open_in_the_evening_routes(self) -> None:
        chat = on_arrival(SERVICE, POLICY, Channel.CHAT, "P5", at(2026, 3, 6, 19))
        assert chat == Route()
        assert on_arrival(SERVICE, POLICY, Channel.CHAT, "P5", self.FRIDAY_EVENING) == WaitUntil(
            at(2026, 3, 7, 10)
        )
        assert on_arrival(SERVICE, POLICY, Channel.WORKITEM, "P5", self.FRIDAY_EVENING) == Route()

    def test_a_channel_that_never_opens(self) -> None:
        assert on_arrival(SERVICE, POLICY, Channel.WEB, "P5", self.MONDAY_10) == Unavailable()
        assert on_arrival(SERVICE, POLICY, Channel.WEB, "P0", self.MONDAY_10) == Redirect("112")

    def test_the_default_policy_lets_everyone_wait(self) -> None:
        action = on_arrival(SERVICE, AfterHoursPolicy(), Channel.VOICE, "P0", self.FRIDAY_EVENING)
        assert action == WaitUntil(self.MONDAY_8)

    def test_the_policy_as_read(self) -> None:
        assert (
            AfterHoursPolicy(
                {"P0": "112", "P1": "116117"},
                WhenClosed.WAIT,
                {Channel.VOICE: WhenClosed.CALL_BACK},
            )
            == POLICY
        )


# --- the configuration ------------------------------------------------------------------


def weekly_days(schedule: Schedule) -> tuple[DayHours, ...]:
    assert schedule.weekly is not None
    return schedule.weekly


class TestReadingHours:
    def test_the_full_example(self) -> None:
        desk = SERVICE_DESK
        assert weekly_days(desk) == (
            ((480, 960),),
            ((480, 960),),
            ((480, 960),),
            ((480, 960),),
            ((480, 690), (750, 900)),
            (),
            (),
        )
        assert desk.holidays == FINNISH_HOLIDAYS
        assert desk.exceptions[date(2026, 12, 24)] == ((480, 720),)
        assert desk.exceptions[date(2026, 12, 31)] == ()
        assert len([d for d in desk.exceptions if d.year == 2027]) == 26
        assert set(SERVICE.channels) == {Channel.CHAT, Channel.WORKITEM, Channel.WEB}
        assert weekly_days(SERVICE.schedule(Channel.CHAT))[5] == ((600, 960),)

    def test_touching_intervals_are_joined_and_order_does_not_matter(self) -> None:
        hours = hours_of({"weekly": {"mon": ["12:00-16:00", "08:00-12:00"], "tue": "9:00-10:00"}})
        assert weekly_days(hours.default)[:2] == (((480, 960),), ((540, 600),))

    def test_without_weekly_only_the_channels_have_hours(self) -> None:
        hours = hours_of({"channels": {"chat": {"weekly": {"mon": "08:00-09:00"}}}})
        assert hours.default.always_open
        assert not hours.schedule(Channel.CHAT).always_open

    @pytest.mark.parametrize(
        ("doc", "problem"),
        [
            (
                {"weekly": {"mon": ["8-16"]}},
                "weekly.mon[0]: expected HH:MM-HH:MM, got string '8-16'",
            ),
            (
                {"weekly": {"mon": "8-16"}},
                "weekly.mon: expected HH:MM-HH:MM (or a list of them, or closed), "
                "got string '8-16'",
            ),
            (
                {"weekly": {"mon": [800]}},
                "weekly.mon[0]: expected HH:MM-HH:MM, got integer 800",
            ),
            (
                {"weekly": {"sat": False}},
                "weekly.sat: expected a list of HH:MM-HH:MM intervals, one HH:MM-HH:MM, "
                "or closed, got boolean false",
            ),
            (
                {"weekly": {"mon": ["25:00-26:00"]}},
                "weekly.mon[0]: '25:00-26:00': hours must be 00..23 and minutes 00..59 "
                "(24:00 only as a closing time)",
            ),
            (
                {"weekly": {"mon": ["22:00-02:00"]}},
                "weekly.mon[0]: '22:00-02:00' closes before it opens; an interval cannot "
                "cross midnight (end this one at 24:00 and start the next day at 00:00)",
            ),
            (
                {"weekly": {"mon": ["08:00-12:00", "11:00-16:00"]}},
                "weekly.mon[1]: '11:00-16:00' overlaps '08:00-12:00' (item 0)",
            ),
            (
                {"weekly": {"mom": ["08:00-16:00"]}},
                "weekly.mom: unknown day 'mom'; expected mon, tue, wed, thu, fri, sat, sun "
                "or a range such as mon-fri",
            ),
            (
                {"weekly": {"fri-mon": ["08:00-16:00"]}},
                "weekly.fri-mon: 'fri-mon' runs backwards; a range runs from Monday towards "
                "Sunday, e.g. mon-fri",
            ),
            (
                {"weekly": {"mon-fri": ["08:00-16:00"], "wed-thu": ["08:00-18:00"]}},
                "weekly.wed-thu: wed, thu already given by 'mon-fri'",
            ),
            (
                {"weekly": {"mon": "closed"}, "holiday": "closed"},
                "holiday: unknown key 'holiday'; did you mean 'holidays'? expected one of: "
                "timezone, weekly, holidays, exceptions, eves, channels, same_day",
            ),
            (
                {"weekly": {}, "holidays": "open"},
                "holidays: unknown holiday rule 'open'; expected one of: closed, weekly",
            ),
            (
                {"weekly": {}, "timezone": "Europe/Helsingfors"},
                "timezone: unknown time zone 'Europe/Helsingfors'; use an IANA name such as "
                "Europe/Helsinki",
            ),
            (
                {"weekly": {}, "exceptions": {"24.12.2026": "closed"}},
                "exceptions.24.12.2026: expected a date YYYY-MM-DD or a range "
                "YYYY-MM-DD..YYYY-MM-DD, got string '24.12.2026'",
            ),
            (
                {"weekly": {}, "exceptions": {"2026-02-30": "closed"}},
                "exceptions.2026-02-30: '2026-02-30' is not a date in the calendar",
            ),
            (
                {"weekly": {}, "exceptions": {"2026-12-31..2026-12-24": "closed"}},
                "exceptions.2026-12-31..2026-12-24: '2026-12-31..2026-12-24' ends before it starts",
            ),
            (
                {"weekly": {}, "exceptions": {"2026-01-01..2027-12-31": "closed"}},
                "exceptions.2026-01-01..2027-12-31: '2026-01-01..2027-12-31' spans 730 days; "
                "at most 366",
            ),
            (
                {
                    "weekly": {},
                    "exceptions": {
                        "2026-12-20..2026-12-31": "closed",
                        date(2026, 12, 24): "closed",
                    },
                },
                "exceptions.2026-12-24: 2026-12-24 already given by '2026-12-20..2026-12-31'",
            ),
            (
                {"weekly": {}, "exceptions": {datetime(2026, 12, 24, 8): "closed"}},
                "exceptions.2026-12-24T08:00:00: expected a date YYYY-MM-DD or a range "
                "YYYY-MM-DD..YYYY-MM-DD, got datetime",
            ),
            (
                {"weekly": {}, "exceptions": ["2026-12-24"]},
                "exceptions: expected a mapping of dates, got list",
            ),
            (
                {"exceptions": {"2026-12-24": "closed"}},
                "exceptions: only with weekly hours (without weekly the service is always open)",
            ),
            (
                {"channels": {"phone": "always"}},
                "channels.phone: unknown channel 'phone'; expected one of: voice, chat, web, "
                "callback, workitem",
            ),
            (
                {"channels": {"chat": {"exceptions": {}}}},
                "channels.chat.weekly: required key is missing",
            ),
            (
                {"channels": {"chat": "sometimes"}},
                "channels.chat: expected a mapping of hours, always or closed, "
                "got string 'sometimes'",
            ),
        ],
    )
    def test_problems(self, doc: object, problem: str) -> None:
        assert hours_problems(doc) == [f"{SRC}: {PATH}.{problem}"]

    def test_hours_must_be_a_mapping(self) -> None:
        assert hours_problems(["08:00-16:00"]) == [f"{SRC}: {PATH}: expected a mapping, got list"]

    def test_every_problem_is_reported_at_once(self) -> None:
        doc = yaml.safe_load(
            """
            timezone: Mars/Olympus
            weekly:
              mon-fri: ["08:00-16:00"]
              fri: ["8-12"]
              sun: ["10:00-09:00"]
            holidays: maybe
            exceptions:
              2026-12-24: ["08:00-12:00", "11:00-13:00"]
            channels:
              chat: {weekly: {mon: "08:00-20:00"}, timezone: Nowhere}
            """
        )
        assert hours_problems(doc) == [
            f"{SRC}: {PATH}.timezone: unknown time zone 'Mars/Olympus'; use an IANA name such "
            "as Europe/Helsinki",
            f"{SRC}: {PATH}.holidays: unknown holiday rule 'maybe'; expected one of: closed, "
            "weekly",
            f"{SRC}: {PATH}.weekly.fri[0]: expected HH:MM-HH:MM, got string '8-12'",
            f"{SRC}: {PATH}.weekly.fri: fri already given by 'mon-fri'",
            f"{SRC}: {PATH}.weekly.sun[0]: '10:00-09:00' closes before it opens; an interval "
            "cannot cross midnight (end this one at 24:00 and start the next day at 00:00)",
            f"{SRC}: {PATH}.exceptions.2026-12-24[1]: '11:00-13:00' overlaps '08:00-12:00' "
            "(item 0)",
            f"{SRC}: {PATH}.channels.chat.timezone: unknown time zone 'Nowhere'; use an IANA "
            "name such as Europe/Helsinki",
        ]


class TestReadingAfterHours:
    @pytest.mark.parametrize(
        ("doc", "problem"),
        [
            (
                {"redirect": {"P9": "112"}},
                "redirect.P9: unknown urgency class 'P9'; expected one of: P0, P1, P5",
            ),
            (
                {"redirect": {"P0": 112}},
                'redirect.P0: expected a string, got integer 112 (quote it: "112")',
            ),
            (
                {"others": "drop"},
                "others: unknown after-hours rule 'drop'; expected one of: wait, call_back",
            ),
            (
                {"channels": {"chat": "later"}},
                "channels.chat: unknown after-hours rule 'later'; expected one of: wait, call_back",
            ),
            (
                {"channels": {"sms": "wait"}},
                "channels.sms: unknown channel 'sms'; expected one of: voice, chat, web, "
                "callback, workitem",
            ),
            (
                {"redirect": {"P0": "112"}, "other": "wait"},
                "other: unknown key 'other'; did you mean 'others'? expected one of: redirect, "
                "others, channels",
            ),
        ],
    )
    def test_problems(self, doc: object, problem: str) -> None:
        problems = Problems(SRC)
        read_after_hours(problems, "services[0].after_hours", doc, ("P0", "P1", "P5"))
        assert problems.items == [f"{SRC}: services[0].after_hours.{problem}"]

    def test_absent_is_the_default(self) -> None:
        assert policy_of(None) == AfterHoursPolicy()

    def test_urgencies_unchecked_when_not_given(self) -> None:
        assert policy_of({"redirect": {"urgent": "116117"}}, None).redirect == {"urgent": "116117"}


# --- properties -------------------------------------------------------------------------

# Interval boundaries on the half hour, but not 03:30: a boundary inside the hour the
# autumn change repeats would make the wall-clock oracle below ambiguous.
_BOUNDARIES = [m for m in range(0, 24 * 60 + 1, 30) if m != 210]
_START = at(2026, 1, 1)
_END = at(2028, 1, 1)
_CHANGE_DAYS = [date(2026, 3, 29), date(2026, 10, 25), date(2027, 3, 28), date(2027, 10, 31)]


@st.composite
def day_hours(draw: st.DrawFn) -> DayHours:
    points = sorted(set(draw(st.lists(st.sampled_from(_BOUNDARIES), max_size=6))))
    pairs = list(zip(points[::2], points[1::2], strict=False))
    return tuple((start, end) for start, end in pairs if start < end)


@st.composite
def schedules(draw: st.DrawFn) -> Schedule:
    weekly = tuple(draw(day_hours()) for _ in range(7))
    some_day = st.one_of(
        st.dates(date(2026, 1, 1), date(2027, 12, 31)), st.sampled_from(_CHANGE_DAYS)
    )
    exception_days = draw(st.lists(some_day, max_size=4, unique=True))
    exceptions = {day: draw(day_hours()) for day in exception_days}
    holidays = draw(st.sampled_from([FINNISH_HOLIDAYS, None]))
    return Schedule(HEL, weekly, holidays, exceptions)


@st.composite
def instants(draw: st.DrawFn) -> float:
    """Any second in 2026-2027, often on a day the clocks change."""
    if draw(st.booleans()):
        day = draw(st.sampled_from(_CHANGE_DAYS))
        start = instant(HEL, day - timedelta(days=1), 0)
        return draw(st.floats(start, start + 3 * 24 * HOUR))
    return draw(st.floats(_START, _END))


def oracle_is_open(schedule: Schedule, t: float) -> bool:
    """Open by reading the wall clock: the local time of day falls in that date's hours.

    The clock is read at the whole second and the fraction added after: reading it at
    ``t`` itself rounds to the microsecond, so one float step before midnight would show
    the next day (hypothesis found 2027-12-31 23:59:59.9999998)."""
    whole = math.floor(t)
    shown_at = wall(HEL, whole)
    second = shown_at.hour * 3600 + shown_at.minute * 60 + shown_at.second + (t - whole)
    hours = schedule.plan(shown_at.date()).hours
    return any(start * 60 <= second < end * 60 for start, end in hours)


@given(schedules(), instants())
@example(  # one float step before the last midnight of 2027, a Friday open all day
    Schedule(HEL, ((), (), (), (), ((0, 1440),), (), ()), FINNISH_HOLIDAYS, {}),
    at(2028, 1, 1) - 2.384185791015625e-07,
)
def test_is_open_agrees_with_the_wall_clock(schedule: Schedule, t: float) -> None:
    assert schedule.is_open(t) == oracle_is_open(schedule, t), shown(t)


@given(schedules(), instants(), st.lists(st.floats(0, 1), max_size=8))
def test_next_opening_is_the_first_open_instant(
    schedule: Schedule, t: float, fractions: list[float]
) -> None:
    opening = schedule.next_opening(t)
    if opening is None:
        first = schedule.day_of(t)
        for k in range(HORIZON_DAYS):
            assert all(end <= t for _, end in schedule.spans(first + timedelta(days=k)))
        return
    assert opening >= t
    assert schedule.is_open(opening)
    day = schedule.day_of(t)
    while day <= schedule.day_of(opening):
        for start, end in schedule.spans(day):
            assert max(start, t) >= min(end, opening), (shown(t), shown(opening))
        day += timedelta(days=1)
    for fraction in fractions:
        between = t + (opening - t) * fraction
        if between < opening:
            assert not schedule.is_open(between)


@given(schedules(), instants(), st.floats(0, 14 * 24 * HOUR))
def test_the_due_time_is_never_before_arrival_and_within_an_office_day(
    schedule: Schedule, t: float, target_s: float
) -> None:
    due = same_day_due(schedule, t, target_s)
    assert due >= t
    opening = schedule.next_opening(t)
    if opening is None:
        assert due == t + target_s
        return
    closing = schedule.closing_of_day(opening)
    assert closing is not None
    assert opening < closing
    assert due == min(opening + target_s, closing)
    if schedule.is_open(t):
        assert due <= t + target_s
    # Within an office day (its first opening to its last closing, breaks included) the
    # contact is due by that day's end; outside one, by the end of the next working day.
    spans = schedule.spans(schedule.day_of(t))
    if spans and spans[0][0] <= t < spans[-1][1]:
        assert closing == spans[-1][1]
    else:
        assert closing == schedule.end_of_next_working_day(t)


@given(schedules(), instants())
def test_next_closing_ends_the_opening(schedule: Schedule, t: float) -> None:
    closing = schedule.next_closing(t)
    if not schedule.is_open(t):
        assert closing is None
        return
    assume(closing is not None)
    assert closing is not None
    assert closing > t
    assert not schedule.is_open(closing)
    assert schedule.is_open(closing - 0.5)


@given(schedules(), instants())
def test_day_spans_are_ordered_and_inside_the_day(schedule: Schedule, t: float) -> None:
    day = schedule.day_of(t)
    begin = instant(HEL, day, 0)
    end = instant(HEL, day + timedelta(days=1), 0)
    assert begin <= t < end
    previous = begin
    for start, stop in schedule.spans(day):
        assert previous <= start < stop <= end
        previous = stop


def test_the_sample_schedules_are_hashable_and_comparable() -> None:
    again = hours_of(SERVICE_DOC["hours"])
    assert again == SERVICE
    assert again.default == SERVICE_DESK
    assert hash(OFFICE) == hash(hours_of(OFFICE_DOC).default)
    assert OFFICE != SERVICE_DESK
    assert Schedule(weekly=(CLOSED,) * 7) != Schedule()


class TestHolidayEvesAndTheSameDayWindow:
    """Issue 11.4: a holiday eve is a rule written once, and a service open round the clock
    names the office window its same-day rule counts."""

    EVES = hours_of(
        yaml.safe_load(
            """
            weekly: {mon-fri: ["08:00-16:00"]}
            eves:
              Good Friday: ["08:00-14:00"]        # Maundy Thursday
              New Year's Day: closed              # New Year's Eve
            """
        )
    ).default

    @pytest.mark.parametrize(
        ("thursday", "good_friday"),
        [
            (date(2026, 4, 2), date(2026, 4, 3)),
            (date(2027, 3, 25), date(2027, 3, 26)),
            (date(2028, 4, 13), date(2028, 4, 14)),
        ],
    )
    def test_maundy_thursday_is_short_every_year_from_one_rule(
        self, thursday: date, good_friday: date
    ) -> None:
        plan = self.EVES.plan(thursday)
        assert (plan.hours, plan.source) == (((8 * 60, 14 * 60),), "eve")
        assert self.EVES.plan(good_friday).source == "holiday"
        y, m, d = thursday.year, thursday.month, thursday.day
        # The same-day rule closes the office day at the eve's end.
        assert same_day_due(self.EVES, at(y, m, d, 10), WEEK) == at(y, m, d, 14)
        assert same_day_due(self.EVES, at(y, m, d, 15), WEEK) > at(y, m, d + 4)

    def test_an_eve_closes_a_day_and_never_opens_a_closed_one(self) -> None:
        assert self.EVES.plan(date(2026, 12, 31)).hours == CLOSED  # Thursday before 1 Jan
        assert self.EVES.plan(date(2027, 12, 31)).source == "eve"  # a Friday, every year
        # 30 April 2027 (a Friday) is no eve here: May Day has no rule; a Sunday before a
        # holiday stays closed.
        assert self.EVES.plan(date(2027, 4, 30)).source == "weekly"
        assert self.EVES.plan(date(2028, 12, 31)).hours == CLOSED  # a Sunday
        assert self.EVES.plan(date(2028, 12, 31)).source == "weekly"

    def test_a_round_the_clock_service_counts_its_same_day_window(self) -> None:
        hours = hours_of({"same_day": {"weekly": {"mon-fri": "08:00-16:00"}}})
        voice = hours.schedule(Channel.VOICE)
        assert voice.always_open and hours.office_window(Channel.VOICE) is hours.same_day
        monday = (2026, 3, 2)
        p8 = due_times(voice, at(*monday, 10), WEEK, hours.same_day)
        assert (p8.target_at, p8.due_at) == (at(2026, 3, 9, 10), at(*monday, 16))
        # After the window, the next working day's; an urgent class keeps its target.
        assert due_times(voice, at(*monday, 20), WEEK, hours.same_day).due_at == at(2026, 3, 3, 16)
        saturday = due_times(voice, at(2026, 3, 7, 9), WEEK, hours.same_day)
        assert saturday.due_at == at(2026, 3, 9, 16)  # the next Monday's
        p2 = due_times(voice, at(*monday, 20), 1800, hours.same_day)
        assert (p2.target_at, p2.due_at) == (at(*monday, 20, 30),) * 2
        # Without a window the line has no office day: due at the target.
        assert due_times(voice, at(*monday, 10), WEEK).due_at == at(2026, 3, 9, 10)

    def test_the_window_and_eves_are_checked_like_the_hours(self) -> None:
        assert hours_problems(
            {
                "same_day": {"weekly": {"mon-fri": "8-16"}, "eves": {"Good friday": "closed"}},
                "eves": {"Good Friday": "closed"},
            }
        ) == [
            f"{SRC}: {PATH}.eves: only with weekly hours (without weekly the service is always "
            "open)",
            f"{SRC}: {PATH}.same_day.weekly.mon-fri: expected HH:MM-HH:MM (or a list of them, "
            "or closed), got string '8-16'",
            f"{SRC}: {PATH}.same_day.eves.Good friday: unknown public holiday 'Good friday'; "
            "expected one of: New Year's Day, Epiphany, Good Friday, Easter Sunday, Easter "
            "Monday, May Day, Ascension Day, Pentecost, Midsummer Eve, Midsummer Day, All "
            "Saints' Day, Independence Day, Christmas Eve, Christmas Day, Second Day of "
            "Christmas",
        ]
        assert hours_problems({"same_day": "08:00-16:00"}) == [
            f"{SRC}: {PATH}.same_day: expected a mapping of hours, got string '08:00-16:00'"
        ]
        assert hours_problems(
            {"weekly": {"mon": "08:00-16:00"}, "holidays": "weekly", "eves": {"May Day": "closed"}}
        ) == [f"{SRC}: {PATH}.eves: holiday eves need public holidays (holidays: closed)"]
