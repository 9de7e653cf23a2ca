"""What a person reads: instants in the clinic's time zone, dates and numbers in the reader's locale, enum labels.

Templates never call `strftime` or `replace("_", " ")`; they use the filters registered here:

    {{ note.signed_at | when }}             Mon, 30 Nov 2026, 14:05 (clinic zone; nl: ma 30 nov 2026, 14:05)
    {{ note.signed_at | when("date") }}     30 Nov 2026
    {{ row.at | when("short") }}            30 Nov, 14:05
    {{ slot.start | when("time") }}         14:05
    {{ patient.date_of_birth | day }}       26 Apr 1981   (a calendar date: no zone)
    {{ feed.created_at | when_utc }}        Mon, 30 Nov 2026, 13:05 UTC (only where the page says UTC)
    {{ a.status | label("appointment_status") }}
    <input type="time" value="{{ card.local_start | input_time }}">   14:05 (a machine format for form values)
    ?date={{ a.starts_at | iso_day }}       2026-11-30 (the clinic-zone day, a machine format for links)
    {{ 1234.5 | number }}  {{ fee | money(currency) }}   1,234.5  €105.00 (nl: 1.234,5  € 105,00)
    first_weekday()                         0 = Monday (en_US: 6 = Sunday), for month grids

Formats come from Babel (CLDR) for the current language (portal/i18n.py) with the clinic's country: each style
is a CLDR standard length or skeleton, so the order, month names and punctuation follow the locale.

The zone is the template's `time_zone` variable when set (patient pages), else the signed-in actor's clinic zone.
A naive datetime is already a wall-clock time (the calendar computes those) and is shown as it is.
Labels are registered as `lazy_gettext(...)` strings (or plain source strings) and translated when shown.
"""

from collections.abc import Callable
from datetime import date, datetime, time, timezone
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel import dates as babel_dates
from babel import numbers as babel_numbers
from jinja2 import pass_context
from jinja2.runtime import Context

from portal import i18n

# style -> (the date part: a CLDR standard length or a skeleton, the time part: a skeleton or None)
INSTANT_FORMATS = {
    "datetime": ("yMMMEd", "Hm"),
    "long": ("full", "Hm"),
    "date": ("medium", None),
    "long_date": ("long", None),
    "short": ("MMMd", "Hm"),
    "seconds": ("medium", "Hms"),
    "time": (None, "Hm"),
}
DAY_FORMATS = {
    "date": "medium",
    "long": "long",
    "weekday": "full",
    "short_weekday": "Ed",
    "day_month": "MMMd",
    "month": "yMMMM",
}
_STANDARD = {"short", "medium", "long", "full"}

_LABELS: dict[str, dict[str, str]] = {}


def register_labels(kind: str, labels: dict[str, str]) -> None:
    """An enum's human labels, registered once by the module that owns the enum (`lazy_gettext` strings)."""
    _LABELS.setdefault(kind, {}).update(labels)


def label(value: str | None, kind: str) -> str:
    """The human label of an enum value; an unregistered kind is a programming error, not a fallback."""
    if value is None:
        return ""
    text = _LABELS[kind].get(value, value)
    return i18n.gettext(text) if isinstance(text, str) else str(text)


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


def _time_skeleton(skeleton: str, locale) -> str:
    # A 12-hour locale (en_US) asks for h, not H: let CLDR's preferred hour cycle decide.
    return skeleton.replace("H", "h") if "a" in locale.time_formats["short"].pattern else skeleton


def _format(moment: datetime | date, date_skeleton: str | None, time_skeleton: str | None) -> str:
    # The key is the wall-clock reading (no format here shows a zone): two aware datetimes of one instant in
    # different zones are equal in Python and must not share a cached text.
    wall = moment.replace(tzinfo=None) if isinstance(moment, datetime) else moment
    return _format_wall(wall, date_skeleton, time_skeleton, i18n.babel_locale())


@lru_cache(maxsize=8192)
def _format_wall(moment: datetime | date, date_skeleton: str | None, time_skeleton: str | None, locale) -> str:
    # Babel resolves a skeleton to a pattern on every call (~0.2 ms); a ledger or a calendar shows the same
    # instants on every reload, so their texts are kept per locale.
    if date_skeleton in _STANDARD:
        day = babel_dates.format_date(moment, date_skeleton, locale=locale)
    else:
        day = babel_dates.format_skeleton(date_skeleton, moment, locale=locale) if date_skeleton else ""
    if not time_skeleton:
        return day
    clock = babel_dates.format_skeleton(_time_skeleton(time_skeleton, locale), moment, locale=locale)
    if not day:
        return clock
    return locale.datetime_formats["medium"].format(clock, day).replace("'", "")


def format_instant(moment: datetime | None, zone: str, style: str = "datetime") -> str:
    if moment is None:
        return ""
    return _format(local_instant(moment, zone), *INSTANT_FORMATS[style])


def clock_times(zone: str) -> Callable[[datetime], str]:
    """`format_instant(moment, zone, "time")`, remembered per instant: for a drawing that shows the same start times
    over and over (the calendar grids, the today board's timeline)."""
    seen: dict[datetime, str] = {}

    def clock(moment: datetime) -> str:
        text = seen.get(moment)
        if text is None:
            text = seen[moment] = format_instant(moment, zone, "time")
        return text

    return clock


def format_day(day: date | None, style: str = "date") -> str:
    if day is None:
        return ""
    return _format(day, DAY_FORMATS[style], None)


@pass_context
def when(context: Context, moment: datetime | None, style: str = "datetime") -> str:
    return format_instant(moment, zone_of(context), style)


def when_utc(moment: datetime | None, style: str = "datetime") -> str:
    if moment is None:
        return ""
    return _format(moment.astimezone(timezone.utc), *INSTANT_FORMATS[style]) + " UTC"


def input_time(value: datetime | time | None) -> str:
    """HH:MM for `<input type="time">` values and form fields: a machine format, not the clinic's display one."""
    if value is None:
        return ""
    return (value.time() if isinstance(value, datetime) else value).isoformat(timespec="minutes")


@pass_context
def iso_day(context: Context, moment: datetime | None) -> str:
    """The clinic-zone calendar day of an instant as YYYY-MM-DD: a machine format, for links such as ?date=."""
    return "" if moment is None else local_instant(moment, zone_of(context)).date().isoformat()


def number(value: int | float | Decimal | None, digits: int | None = None) -> str:
    """A number with the locale's separators; `digits` fixes the decimals."""
    if value is None:
        return ""
    pattern = None if digits is None else "#,##0" + ("." + "0" * digits if digits else "")
    return babel_numbers.format_decimal(value, format=pattern, locale=i18n.babel_locale())


def money(value: int | float | Decimal | None, currency: str = "EUR") -> str:
    """An amount in the clinic's currency, as the locale writes it (€ 105,00 in Dutch, 105,00 € in German)."""
    if value is None:
        return ""
    return _money(value, currency, i18n.babel_locale())


@lru_cache(maxsize=4096)
def _money(value: int | float | Decimal, currency: str, locale) -> str:
    # Babel formats a currency in ~0.3 ms (it looks up the currency's names each time); an account page shows
    # hundreds of amounts, most of them alike (fees, instalments, running balances repeat).
    return babel_numbers.format_currency(value, currency, locale=locale)


first_weekday = i18n.first_weekday  # also a template global: {{ first_weekday() }}


FILTERS = {"when": when, "when_utc": when_utc, "day": format_day, "label": label, "input_time": input_time,
           "iso_day": iso_day, "number": number, "money": money}


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value) -> str:
    """A value as a CSV cell a spreadsheet shows as text: one starting like a formula gets a leading apostrophe
    (CSV injection: names and notes people typed end up in exports); None is empty."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
