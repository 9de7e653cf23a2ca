"""Deadlines as the law counts them: a calendar month from the day of receipt (end-of-month rule, leap years),
the notice's shorter promises when they end earlier, an extension by two further months, in the clinic's zone."""

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from portal.privacy.deadlines import add_months, due_for, extended_due

AMS = "Europe/Amsterdam"


def _local_day(moment: datetime, zone: str = AMS) -> date:
    return moment.astimezone(ZoneInfo(zone)).date()


def _at(day: str, hour: int = 10, zone: str = AMS) -> datetime:
    return datetime.combine(date.fromisoformat(day), datetime.min.time().replace(hour=hour), ZoneInfo(zone))


@pytest.mark.parametrize("received, kind, due", [
    ("2027-01-31", "access", "2027-02-28"),     # no 31 February: the month's last day
    ("2028-01-31", "access", "2028-02-29"),     # a leap year
    ("2027-01-15", "correction", "2027-02-15"),  # the same date next month
    ("2027-12-31", "objection", "2028-01-31"),  # across the year
    ("2027-03-31", "restriction", "2027-04-30"),
    ("2027-01-31", "erasure", "2027-02-28"),    # 30 days would be 2 March: the month ends first
    ("2027-01-15", "erasure", "2027-02-14"),    # 30 days end before the month
    ("2028-02-01", "erasure", "2028-03-01"),    # 29 days in February 2028: the month ends first
    ("2027-01-31", "inquiry", "2027-02-15"),    # the promise of 15 days
    ("2027-02-20", "inquiry", "2027-03-07"),
])
def test_the_deadline_is_the_earlier_of_the_month_and_the_promise(received, kind, due):
    assert _local_day(due_for(kind, _at(received), AMS)) == date.fromisoformat(due)


def test_the_period_ends_with_the_last_hour_of_the_day_in_the_clinics_zone():
    received = _at("2027-01-31", 0)  # half past midnight in Amsterdam is still 30 January in UTC
    due = due_for("access", received.replace(minute=30), AMS)
    assert due.astimezone(ZoneInfo(AMS)).replace(microsecond=0) == _at("2027-02-28", 23).replace(minute=59, second=59)
    assert due.tzinfo == timezone.utc


@pytest.mark.parametrize("received, months, due", [
    ("2027-01-31", 2, "2027-04-30"), ("2027-11-30", 2, "2028-02-29"), ("2027-11-30", 1, "2028-01-30"),
    ("2027-01-15", 2, "2027-04-15"),
])
def test_an_extension_adds_up_to_two_further_months_from_receipt(received, months, due):
    assert _local_day(extended_due(_at(received), months, AMS)) == date.fromisoformat(due)
    with pytest.raises(ValueError):
        extended_due(_at(received), 3, AMS)


def test_add_months_keeps_the_date_or_takes_the_last_day():
    assert add_months(date(2027, 8, 31), 1) == date(2027, 9, 30)
    assert add_months(date(2027, 12, 15), 1) == date(2028, 1, 15)
    assert add_months(date(2100, 1, 29), 1) == date(2100, 2, 28)  # 2100 is no leap year
    assert add_months(date(2000, 1, 29), 1) == date(2000, 2, 29)
