"""The owner's practice reports read from the calendar and the patient register (never stored): no-show and
cancellation rates per month, chair utilisation per week, new patients per month.

- No-show rate: no-shows among the month's appointments that were not cancelled; cancellation rate: cancelled
  among all booked for the month. Only appointments that have started count (the future has no no-shows yet).
- Utilisation: chair time booked (every status but cancelled and no-show) against chair time open: the opening
  hours of each day in the range, less closures, times the chairs in service today (retiring a chair is not
  dated, so past weeks count today's chairs). Weeks are ISO weeks in the clinic's zone, cut to the range.
- New patients: patients registered in the month (erased patients are gone from the count, as from the register).
"""

from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal

from portal.calendar import statuses
from portal.i18n import lazy_gettext
from portal.permissions import Actor
from portal.tables import Appointment, Chair, Closure, OpeningHours, Patient

REPORTS = {"no_shows_month": lazy_gettext("No-show and cancellation rates by month"),
           "utilisation_week": lazy_gettext("Chair utilisation by week"),
           "new_patients_month": lazy_gettext("New patients by month")}
TENTH = Decimal("0.1")


def rate(part: int | float | Decimal, whole: int | float | Decimal) -> Decimal | None:
    """Percent with one decimal; None when there is nothing to divide by."""
    if not whole:
        return None
    return (Decimal(str(part)) * 100 / Decimal(str(whole))).quantize(TENTH, rounding=ROUND_HALF_UP)


async def rows(actor: Actor, name: str, span) -> list[dict]:
    low, high = span.bounds(actor.time_zone)
    if name == "no_shows_month":
        return await _no_shows(actor, low, min(high, datetime.now(timezone.utc)))
    if name == "utilisation_week":
        return await _utilisation(actor, span, low, high)
    return [{"label": r["label"], "amount": r["n"], "items": r["n"]} for r in await Patient.raw(
        "SELECT to_char(date_trunc('month', created_at AT TIME ZONE {}), 'YYYY-MM') AS label, count(*) AS n "
        "FROM patient WHERE clinic = {} AND created_at >= {} AND created_at < {} GROUP BY 1 ORDER BY 1",
        actor.time_zone, actor.clinic_id, low, high)]


async def _no_shows(actor: Actor, low: datetime, high: datetime) -> list[dict]:
    found = await Appointment.raw(
        "SELECT to_char(date_trunc('month', starts_at AT TIME ZONE {}), 'YYYY-MM') AS label, count(*) AS total, "
        "count(*) FILTER (WHERE status = 'no_show') AS no_shows, "
        "count(*) FILTER (WHERE status = 'cancelled') AS cancellations FROM appointment "
        "WHERE clinic = {} AND starts_at >= {} AND starts_at < {} GROUP BY 1 ORDER BY 1",
        actor.time_zone, actor.clinic_id, low, high)
    return [{"label": r["label"], "amount": rate(r["no_shows"], r["total"] - r["cancellations"]) or Decimal("0.0"),
             "cancel_rate": rate(r["cancellations"], r["total"]) or Decimal("0.0"), "items": r["total"],
             "no_shows": r["no_shows"], "cancellations": r["cancellations"]} for r in found]


async def _open_minutes(actor: Actor, span) -> dict[str, int]:
    """Chair minutes open per ISO week label over the range's days."""
    hours = await OpeningHours.select(OpeningHours.weekday, OpeningHours.opens, OpeningHours.closes).where(
        OpeningHours.clinic == actor.clinic_id)
    per_weekday = {d: 0 for d in range(7)}
    for row in hours:
        start, end = row["opens"], row["closes"]
        per_weekday[row["weekday"]] += max(0, (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute))
    closures = await Closure.select(Closure.first_day, Closure.last_day).where(
        (Closure.clinic == actor.clinic_id) & (Closure.last_day >= span.start) & (Closure.first_day <= span.end))
    chairs = await Chair.count().where((Chair.clinic == actor.clinic_id) & (Chair.retired.eq(False)))
    weeks: dict[str, int] = {}
    day = span.start
    while day <= span.end:
        year, week, weekday = day.isocalendar()
        label = f"{year}-W{week:02d}"
        closed = any(c["first_day"] <= day <= c["last_day"] for c in closures)
        weeks[label] = weeks.get(label, 0) + (0 if closed else per_weekday[weekday - 1] * chairs)
        day += timedelta(days=1)
    return weeks


async def _utilisation(actor: Actor, span, low: datetime, high: datetime) -> list[dict]:
    booked = {r["label"]: r for r in await Appointment.raw(
        "SELECT to_char(starts_at AT TIME ZONE {}, 'IYYY-\"W\"IW') AS label, count(*) AS n, "
        "sum(extract(epoch FROM ends_at - starts_at)) / 60 AS minutes FROM appointment WHERE clinic = {} "
        f"AND status NOT IN {statuses.sql_list(statuses.FREED)} AND starts_at >= {{}} AND starts_at < {{}} GROUP BY 1",
        actor.time_zone, actor.clinic_id, low, high)}
    out = []
    for label, open_minutes in (await _open_minutes(actor, span)).items():
        used = booked.get(label, {"n": 0, "minutes": 0})
        minutes = Decimal(str(used["minutes"] or 0))
        if not open_minutes and not used["n"]:
            continue
        out.append({"label": label, "amount": rate(minutes, open_minutes) or Decimal("0.0"), "items": used["n"],
                    "booked_hours": (minutes / 60).quantize(TENTH, rounding=ROUND_HALF_UP),
                    "open_hours": (Decimal(open_minutes) / 60).quantize(TENTH, rounding=ROUND_HALF_UP)})
    return out
