"""What a person reads: instants in the clinic's time zone, dates in the clinic's format, enum values by label.

Templates never call `strftime` or `replace("_", " ")`; they use the filters registered here:

    {{ note.signed_at | when }}             Mon 30 Nov 2026 14:05 (clinic zone)
    {{ note.signed_at | when("date") }}     30 Nov 2026
    {{ row.at | when("short") }}            30 Nov 14:05
    {{ slot.start | when("time") }}         14:05
    {{ patient.date_of_birth | day }}       26 Apr 1981   (a calendar date: no zone)
    {{ feed.created_at | when_utc }}        30 Nov 2026 13:05 UTC (only where the page says UTC)
    {{ a.status | label("appointment_status") }}
    <input type="time" value="{{ card.local_start | input_time }}">   14:05 (a machine format for form values)

The zone is the template's `time_zone` variable when set (patient pages), else the signed-in actor's clinic zone.
A naive datetime is already a wall-clock time (the calendar computes those) and is shown as it is.
"""

from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

from jinja2 import pass_context
from jinja2.runtime import Context

INSTANT_FORMATS = {
    "datetime": "%a %d %b %Y %H:%M",
    "long": "%A %d %B %Y, %H:%M",
    "date": "%d %b %Y",
    "long_date": "%d %B %Y",
    "short": "%d %b %H:%M",
    "seconds": "%d %b %Y %H:%M:%S",
    "time": "%H:%M",
    "iso_date": "%Y-%m-%d",  # the clinic-zone day of an instant, for links such as ?date=
}
DAY_FORMATS = {
    "date": "%d %b %Y",
    "long": "%d %B %Y",
    "weekday": "%A %d %B %Y",
    "short_weekday": "%a %d",
    "month": "%B %Y",
}

_LABELS: dict[str, dict[str, str]] = {}


def register_labels(kind: str, labels: dict[str, str]) -> None:
    """An enum's human labels, registered once by the module that owns the enum."""
    _LABELS.setdefault(kind, {}).update(labels)


def label(value: str | None, kind: str) -> str:
    """The human label of an enum value; an unregistered kind is a programming error, not a fallback."""
    if value is None:
        return ""
    return _LABELS[kind].get(value, value)


def zone_of(context: Context) -> str:
    zone = context.get("time_zone")
    if zone:
        return zone
    actor = context.get("actor")
    if actor is not None and getattr(actor, "time_zone", None):
        return actor.time_zone
    raise LookupError("No time zone in the template context: pass time_zone or render for a signed-in actor.")


def local_instant(moment: datetime, zone: str) -> datetime:
    return moment if moment.tzinfo is None else moment.astimezone(ZoneInfo(zone))


def format_instant(moment: datetime | None, zone: str, style: str = "datetime") -> str:
    if moment is None:
        return ""
    return local_instant(moment, zone).strftime(INSTANT_FORMATS[style])


def format_day(day: date | None, style: str = "date") -> str:
    if day is None:
        return ""
    return day.strftime(DAY_FORMATS[style])


@pass_context
def when(context: Context, moment: datetime | None, style: str = "datetime") -> str:
    return format_instant(moment, zone_of(context), style)


def when_utc(moment: datetime | None, style: str = "datetime") -> str:
    if moment is None:
        return ""
    return moment.astimezone(timezone.utc).strftime(INSTANT_FORMATS[style]) + " UTC"


def input_time(value: datetime | time | None) -> str:
    """HH:MM for `<input type="time">` values and form fields: a machine format, not the clinic's display one."""
    if value is None:
        return ""
    return (value.time() if isinstance(value, datetime) else value).isoformat(timespec="minutes")


FILTERS = {"when": when, "when_utc": when_utc, "day": format_day, "label": label, "input_time": input_time}
