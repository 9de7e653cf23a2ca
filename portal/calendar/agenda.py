"""What the calendar shows: a day per chair, a week per provider or chair, a month of counts (reads audited)."""

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from portal import clock
from portal.calendar import grid_cache, practice_setup, setup_cache, statuses
from portal.charts import medical_history
from portal.permissions import Actor, Permission, require
from portal.tables import Appointment

STEPS = (5, 10, 15)
MAX_APPOINTMENT_MINUTES = 480  # the appointment length limit, also checked by the database
DEFAULT_START, DEFAULT_END = time(8), time(18)


@dataclass(frozen=True)
class Grid:
    """Rows of `step` minutes from `start` to `end` (local wall-clock); row 1 is the header."""

    start: time
    end: time
    step: int

    @property
    def rows(self) -> list[time]:
        minutes = range(_minutes(self.start), _minutes(self.end), self.step)
        return [time(m // 60, m % 60) for m in minutes]

    @property
    def labels(self) -> list[str]:
        return [f"{t.hour:02d}:{t.minute:02d}" for t in self.rows]

    def place(self, local_start: datetime, local_end: datetime) -> tuple[int, int] | None:
        """(first row, row span) for an appointment, clipped to the grid; None when outside it."""
        first, last = _minutes(local_start.time()), _minutes(local_end.time()) or 24 * 60
        if local_end.date() > local_start.date():
            last = 24 * 60
        lo, hi = max(first, _minutes(self.start)), min(last, _minutes(self.end))
        if lo >= hi:
            return None
        row = (lo - _minutes(self.start)) // self.step + 2
        return row, max(1, math.ceil((hi - lo) / self.step))


def _minutes(at: time) -> int:
    return at.hour * 60 + at.minute


async def _grid(actor: Actor, step: int, weekdays: set[int]) -> Grid:
    rows = [r for r in await setup_cache.opening_hours(actor) if r["weekday"] in weekdays]
    start = min([r["opens"] for r in rows], default=DEFAULT_START)
    end = max([r["closes"] for r in rows], default=DEFAULT_END)
    start = time(start.hour)  # whole hours read better
    end = time(min(23, end.hour + (1 if end.minute else 0)), 0) if end < time(23) else time(23, 55)
    return Grid(start, end, step if step in STEPS else 15)


# The calendar's hottest read, written out: Piccolo spent about a millisecond composing its joined select on every
# view. Piccolo's own joins are LEFT JOINs and name joined columns "table.column"; so does this.
_APPOINTMENTS = (
    'SELECT a.id, a.patient, a.provider, a.chair, a.starts_at, a.ends_at, a.status, a.notes, '
    'p.given_name AS "patient.given_name", p.family_name AS "patient.family_name", '
    'p.isolated_at AS "patient.isolated_at", s.name AS "provider.name", t.name AS "appointment_type.name", '
    't.colour AS "appointment_type.colour" '
    'FROM appointment a LEFT JOIN patient p ON p.id = a.patient LEFT JOIN staff s ON s.id = a.provider '
    'LEFT JOIN appointment_type t ON t.id = a.appointment_type '
    # No appointment is longer than 8 hours, which gives the (clinic, starts_at) index a lower bound too.
    'WHERE a.clinic = {} AND a.starts_at < {} AND a.ends_at > {} AND a.starts_at > {}')


async def _appointments(actor: Actor, first: datetime, last: datetime, viewed: str, provider: int | None = None,
                        chair: int | None = None) -> grid_cache.Kept:
    """The appointments shown, with their patients' alerts, from this process's copy while the clinic's calendar
    version has not moved; the showing is audited as `viewed` (a list row, and the patients' own rows once a day)."""
    # types and providers' names come with the rows: the set-up's version guards them
    key = (actor.clinic_id, actor.setup_version, actor.time_zone, actor.language, first, last, provider, chair)
    kept = await grid_cache.shown(actor, key, lambda: _read_appointments(actor, key), viewed)
    return kept


async def _read_appointments(actor: Actor, key: tuple) -> tuple[list[dict], list[int]]:
    first, last, provider, chair = key[-4:]
    sql, values = _APPOINTMENTS, [actor.clinic_id, last, first, first - timedelta(minutes=MAX_APPOINTMENT_MINUTES)]
    for column, value in (("provider", provider), ("chair", chair)):
        if value is not None:
            sql += f" AND a.{column} = {{}}"
            values.append(value)
    rows = await Appointment.raw(sql + " ORDER BY a.starts_at", *values)
    patients = sorted({row["patient"] for row in rows})
    alerts = await medical_history.alerts_for_patients(actor.clinic_id, patients)
    for row in rows:
        row["alerts"] = alerts.get(row["patient"], [])
        if row["patient.isolated_at"]:  # erased on request: the kept record shows as a placeholder
            row["patient.given_name"], row["patient.family_name"] = "Restricted", "record"
        row["local_start"] = clock.local(row["starts_at"], actor.time_zone)
        row["local_end"] = clock.local(row["ends_at"], actor.time_zone)
        row["colour_class"] = practice_setup.colour_class(row["appointment_type.colour"])
        row["initials"] = f'{row["patient.given_name"][:1]}{row["patient.family_name"][:1]}'
    return rows, patients


def _now_row(actor: Actor, grid: Grid, day: date) -> int | None:
    now = clock.local(datetime.now(timezone.utc), actor.time_zone)
    if now.date() != day:
        return None
    placed = grid.place(now, now + timedelta(minutes=1))
    return placed[0] if placed else None


async def day_view(actor: Actor, day: date, step: int = 15, show_freed: bool = False) -> dict:
    """Every active chair as a column; cancelled and no-show appointments are listed, and placed on demand."""
    require(actor, Permission.MANAGE_CALENDAR)
    chairs = await setup_cache.chairs(actor)
    grid = await _grid(actor, step, {day.weekday()})
    first, last = clock.day_bounds(day, actor.time_zone)
    kept = await _appointments(actor, first, last, "calendar.day_viewed")
    rows = kept.rows
    column = {chair["id"]: index + 2 for index, chair in enumerate(chairs)}
    placed, freed, covered = [], [], set()
    for row in rows:
        is_freed = row["status"] in statuses.FREED
        if is_freed:
            freed.append(row)
        if (not is_freed or show_freed) and (spot := grid.place(row["local_start"], row["local_end"])) \
                and row["chair"] in column:
            placed.append({**row, "row": spot[0], "span": spot[1], "column": column[row["chair"]], "freed": is_freed,
                           "movable": row["status"] in statuses.CANCELLABLE})
            if not is_freed:
                covered.update((r, column[row["chair"]]) for r in range(spot[0], spot[0] + spot[1]))
    # A slot under an active appointment is hidden by its card: the grid leaves it out (a drag finds its target by
    # position, and the two-tap move page renders every slot).
    return {"day": day, "grid": grid, "chairs": chairs, "appointments": placed, "freed": freed, "covered": covered,
            "default_status": statuses.Status.BOOKED, "show_freed": show_freed,
            "now_row": _now_row(actor, grid, day), "step": grid.step,
            "closure": await _closure(actor, day),
            # the drawn cards follow from the rows and the set-up alone (grid_html.cards keeps them with the rows)
            "drawn": kept.drawn, "drawn_as": ("day", grid, show_freed, tuple(column.items()))}


async def _closure(actor: Actor, day: date) -> str | None:
    closures = (await setup_cache.booking_rules(actor))["closures"]
    row = next((c for c in closures if c["first_day"] <= day <= c["last_day"]), None)
    return (row["reason"] or "Closed") if row else None


async def week_view(actor: Actor, day: date, provider_id: int | None = None, chair_id: int | None = None,
                    step: int = 15) -> dict:
    """Seven day columns (Monday first) for one provider or one chair."""
    require(actor, Permission.MANAGE_CALENDAR)
    monday = day - timedelta(days=day.weekday())
    days = [monday + timedelta(days=i) for i in range(7)]
    grid = await _grid(actor, step, set(range(7)))
    first, _ = clock.day_bounds(monday, actor.time_zone)
    _, last = clock.day_bounds(days[-1], actor.time_zone)
    kept = await _appointments(actor, first, last, "calendar.week_viewed", provider=provider_id, chair=chair_id)
    rows = kept.rows
    placed = []
    for row in rows:
        if row["status"] in statuses.FREED:
            continue
        if spot := grid.place(row["local_start"], row["local_end"]):
            placed.append({**row, "row": spot[0], "span": spot[1],
                           "column": (row["local_start"].date() - monday).days + 2,
                           "movable": row["status"] in statuses.CANCELLABLE})
    return {"monday": monday, "days": days, "grid": grid, "appointments": placed, "step": grid.step,
            "default_status": statuses.Status.BOOKED, "drawn": kept.drawn, "drawn_as": ("week", grid, monday)}


async def month_view(actor: Actor, day: date) -> dict:
    """Counts of active appointments per day, as weeks of the month (no names, so nothing to audit)."""
    require(actor, Permission.MANAGE_CALENDAR)
    first_of_month = day.replace(day=1)
    start = first_of_month - timedelta(days=first_of_month.weekday())
    weeks = [[start + timedelta(days=7 * w + d) for d in range(7)] for w in range(6)]
    lo, _ = clock.day_bounds(weeks[0][0], actor.time_zone)
    _, hi = clock.day_bounds(weeks[-1][-1], actor.time_zone)
    rows = await Appointment.raw(
        "SELECT (starts_at AT TIME ZONE {})::date AS day, count(*) AS n FROM appointment WHERE clinic = {} "
        f"AND starts_at >= {{}} AND starts_at < {{}} AND status IN {statuses.sql_list(statuses.ACTIVE)} GROUP BY 1",
        actor.time_zone, actor.clinic_id, lo, hi)
    counts = {r["day"]: r["n"] for r in rows}
    return {"month": first_of_month, "weeks": weeks, "counts": counts, "max": max(counts.values(), default=1)}
