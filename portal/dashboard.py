"""The signed-in home page: today's clinic at a glance (the calendar fills in appointments later)."""

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from portal.permissions import Actor, Permission, require
from portal.tables import Patient, Staff


async def clinic_overview(actor: Actor) -> dict:
    """Counts and a six-month series of new patients; no personal data, so nothing to audit."""
    require(actor, Permission.VIEW_DASHBOARD)
    zone = ZoneInfo(actor.time_zone)
    today = datetime.now(zone).date()
    first = date(today.year, today.month, 1)
    months = [_shift_month(first, -k) for k in range(5, -1, -1)]
    since = datetime.combine(months[0], datetime.min.time(), zone).astimezone(timezone.utc)
    rows = await Patient.raw(
        "SELECT date_trunc('month', created_at AT TIME ZONE {}) AS month, count(*) AS n FROM patient "
        "WHERE clinic = {} AND created_at >= {} GROUP BY 1", actor.time_zone, actor.clinic_id, since)
    per_month = {r["month"].date(): r["n"] for r in rows}
    series = [{"label": m.strftime("%b"), "count": per_month.get(m, 0)} for m in months]
    return {
        "today": today,
        "patients": await Patient.count().where(Patient.clinic == actor.clinic_id),
        "staff": await Staff.count().where((Staff.clinic == actor.clinic_id) & (Staff.active == True)),  # noqa: E712
        "new_patients": series,
        "chart_max": max([s["count"] for s in series] + [1]),
    }


def _shift_month(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


