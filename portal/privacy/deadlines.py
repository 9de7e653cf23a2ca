"""When a rights request must be answered, counted as the law counts (GDPR Art. 12(3), Regulation 1182/71).

One month from the day of receipt by the calendar: the same date in the next month, or that month's last day
when it has no such date (31 January -> 28 or 29 February); the period ends with the last hour of that day in
the clinic's zone. A shorter promise of the clinic's notice (15 days for questions, 30 days for erasure) wins
when it ends earlier. An extension by one or two further months counts from the receipt as well (three months
at most in all), whatever promise applied before.
"""

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

LEGAL_MONTHS = 1
MAX_EXTENSION_MONTHS = 2
PROMISED_DAYS = {"inquiry": 15, "erasure": 30}  # the notice's own, shorter promises


def add_months(day: date, months: int) -> date:
    """The same date `months` later, or the last day of that month when it has no such date."""
    index = day.year * 12 + day.month - 1 + months
    year, month = index // 12, index % 12 + 1
    following = date(year + (month == 12), month % 12 + 1, 1)
    return day.replace(year=year, month=month, day=min(day.day, (following - timedelta(days=1)).day))


def end_of_day(day: date, zone: str) -> datetime:
    """The last moment of a day in the clinic's zone, in UTC."""
    start_of_next = datetime.combine(day + timedelta(days=1), time.min, ZoneInfo(zone))
    return (start_of_next - timedelta(microseconds=1)).astimezone(timezone.utc)


def received_day(received: datetime, zone: str) -> date:
    return received.astimezone(ZoneInfo(zone)).date()


def due_for(kind: str, received: datetime, zone: str = "UTC") -> datetime:
    """The earlier of the legal month and the notice's promise for this kind of request."""
    start = received_day(received, zone)
    day = add_months(start, LEGAL_MONTHS)
    if kind in PROMISED_DAYS:
        day = min(day, start + timedelta(days=PROMISED_DAYS[kind]))
    return end_of_day(day, zone)


def extended_due(received: datetime, months: int, zone: str = "UTC") -> datetime:
    """The deadline after an extension by `months` (1 or 2) further months."""
    if not 1 <= months <= MAX_EXTENSION_MONTHS:
        raise ValueError("an extension is one or two months")
    return end_of_day(add_months(received_day(received, zone), LEGAL_MONTHS + months), zone)
