"""Clinic time: wall-clock times in the clinic's zone to UTC and back, refusing impossible or ambiguous ones."""

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo


class ImpossibleLocalTime(ValueError):
    """The clock skips this time (spring forward)."""


class AmbiguousLocalTime(ValueError):
    """The clock shows this time twice (fall back)."""


def to_utc(day: date, at: time, zone_name: str) -> datetime:
    """The UTC instant a person means by `day` `at` on the clinic's wall clock."""
    zone = ZoneInfo(zone_name)
    first = datetime.combine(day, at, zone).replace(fold=0)
    second = first.replace(fold=1)
    if first.utcoffset() != second.utcoffset():
        # Either the time is skipped (it does not survive a round trip) or it happens twice.
        back = first.astimezone(timezone.utc).astimezone(zone)
        if back.replace(tzinfo=None) != first.replace(tzinfo=None):
            raise ImpossibleLocalTime(f"{day} {at:%H:%M}")
        raise AmbiguousLocalTime(f"{day} {at:%H:%M}")
    return first.astimezone(timezone.utc)


def local(moment: datetime, zone_name: str) -> datetime:
    return moment.astimezone(ZoneInfo(zone_name))


def day_bounds(day: date, zone_name: str) -> tuple[datetime, datetime]:
    """UTC start and end of a local calendar day (23 or 25 hours long on DST days)."""
    zone = ZoneInfo(zone_name)
    start = datetime.combine(day, time.min, zone)
    end = datetime.combine(day + timedelta(days=1), time.min, zone)
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


def now() -> datetime:
    """The current instant (UTC); tests replace this one function to stand at another moment."""
    return datetime.now(timezone.utc)


def today(zone_name: str) -> date:
    return datetime.now(ZoneInfo(zone_name)).date()


def parse_time(text: str) -> time | None:
    try:
        hours, minutes = text.strip().split(":")[:2]
        return time(int(hours), int(minutes))
    except (ValueError, TypeError):
        return None
