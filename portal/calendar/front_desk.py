"""The front desk's today: each chair's appointments as a timeline, who is expected next, who waits and for how long.

The board is derived from appointments and their status history; nothing is stored for it. It is polled all day:
each refresh is audited as one list row, and each patient shown gets a row of their own once per staff member and
day ("front_desk.viewed"; portal/audit.py, record_patients_shown).
"""

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from markupsafe import Markup

from portal import clock, i18n
from portal.calendar import grid_cache, setup_cache, today_timeline
from portal.calendar.statuses import OPEN, Status
from portal.charts import medical_history
from portal.display import register_labels
from portal.i18n import gettext, lazy_gettext
from portal.permissions import Actor, Permission, can, require
from portal.tables import Appointment

LATE_AFTER = timedelta(minutes=5)  # an expected patient this long past the start is "running late"
SHOWN_STATUSES = tuple(s for s in Status if s != Status.CANCELLED)  # a no-show stays on the day's board
# The one next step the desk takes with a tap (the full choice stays on the appointment card).
ONE_TAP = {Status.BOOKED: Status.ARRIVED, Status.CONFIRMED: Status.ARRIVED, Status.ARRIVED: Status.IN_CHAIR,
           Status.IN_CHAIR: Status.COMPLETED}
VIEWED = "front_desk.viewed"
DEFAULT_OPENS, DEFAULT_CLOSES = time(8), time(18)

register_labels("front_desk_state", {
    "expected": lazy_gettext("Expected"), "late": lazy_gettext("Running late"), "waiting": lazy_gettext("Waiting"),
    "in_chair": lazy_gettext("In chair"), "completed": lazy_gettext("Completed"), "no_show": lazy_gettext("No-show")})
register_labels("front_desk_action", {Status.ARRIVED: lazy_gettext("Arrived"), Status.IN_CHAIR: lazy_gettext("Seat"),
                                      Status.COMPLETED: lazy_gettext("Complete")})


@dataclass
class Visit:
    """One appointment as the front desk sees it now."""

    id: int
    patient_id: int
    patient_name: str
    provider: str
    kind: str
    colour: str
    status: str
    starts_at: datetime
    ends_at: datetime
    state: str  # expected | late | waiting | in_chair | completed | no_show
    waited_minutes: int | None = None
    next_status: str | None = None
    alerts: list[str] = field(default_factory=list)


@dataclass
class ChairDay:
    id: int
    name: str
    visits: list[Visit]


@dataclass
class Board:
    opens_at: datetime  # the timeline's ends: opening hours, widened to every appointment of the day
    closes_at: datetime
    now: datetime
    chairs: list[ChairDay]
    expected_next: list[Visit]
    waiting: list[Visit]
    counts: dict[str, int] | None  # the owner's numbers of the day; None for other roles
    zone: str = "UTC"  # the clinic's, for the timeline's clock times
    # The calendar version the board's rows were read under (None: not known), for what the dashboard keeps with it.
    version: int | None = None
    # What readers derive from this board, kept with it while it is served (the rendered board: kept_include in
    # portal/views/pages.py). Only a live board is shared; one built for a given `now` gets its own.
    kept: dict = field(default_factory=dict)

    @property
    def timeline(self) -> Markup:
        """The chairs' day as SVG (portal/calendar/today_timeline.py)."""
        return today_timeline.draw(self, self.zone)

    @property
    def hours(self) -> list[datetime]:
        """Each full hour on the timeline, for its tick marks."""
        first = self.opens_at.replace(minute=0, second=0, microsecond=0)
        if first < self.opens_at:
            first += timedelta(hours=1)
        count = int((self.closes_at - first).total_seconds() // 3600) + 1
        return [first + timedelta(hours=k) for k in range(max(count, 0))]


def _state(status: str, starts_at: datetime, now: datetime) -> str:
    if status in OPEN:
        return "late" if now > starts_at + LATE_AFTER else "expected"
    return "waiting" if status == Status.ARRIVED else status


# Written out: the board is polled every 30 s, and composing the joined select cost Piccolo about a millisecond. The
# patient's active alerts (`medical_history.ACTIVE_ALERTS`, the one home of "active") and, for a patient waiting, the
# time of arrival come in the same statement: two reads fewer on every poll.
_TODAY = (
    'SELECT ap.id, ap.patient, ap.chair, ap.starts_at, ap.ends_at, ap.status, p.given_name AS "patient.given_name", '
    'p.family_name AS "patient.family_name", p.isolated_at AS "patient.isolated_at", s.name AS "provider.name", '
    't.name AS "appointment_type.name", t.colour AS "appointment_type.colour", '
    f"CASE WHEN ap.status = '{Status.ARRIVED.value}' THEN (SELECT max(h.at) FROM appointment_change h "
    f"WHERE h.appointment = ap.id AND h.clinic = ap.clinic AND h.to_status = '{Status.ARRIVED.value}') END "
    "AS arrived_at, "
    + medical_history.ACTIVE_ALERTS.format("ap.patient", "ap.clinic") + " AS alerts "
    'FROM appointment ap LEFT JOIN patient p ON p.id = ap.patient LEFT JOIN staff s ON s.id = ap.provider '
    'LEFT JOIN appointment_type t ON t.id = ap.appointment_type '
    'WHERE ap.clinic = {} AND ap.starts_at >= {} AND ap.starts_at < {} AND ap.status = ANY({}) '
    'ORDER BY ap.starts_at')


async def today(actor: Actor, now: datetime | None = None) -> Board:
    """Today's board in the clinic's zone (audited as a list: audit.record_patients_shown).

    Polled every 30 seconds on every desk: the rows are kept under the calendar's version (calendar/grid_cache.py),
    and the live board built from them is shared for the rest of its minute by everyone of one language and one
    view of the day's numbers. A shared board is as of its first reader that minute: a change moves the version and
    is on the next board; a visit turns "running late" up to a minute after it is.
    """
    require(actor, Permission.MANAGE_CALENDAR)
    live = now is None
    now = now or clock.now()
    local_day = clock.local(now, actor.time_zone).date()
    first, last = clock.day_bounds(local_day, actor.time_zone)
    key = ("today", actor.clinic_id, actor.setup_version, first, last)
    kept = await grid_cache.shown(actor, key, lambda: _read_today(actor, first, last), VIEWED)
    version = kept.version if kept.version >= 0 else None
    if not live:
        return await _board(actor, kept.rows, now, local_day, version)
    shared_as = ("board", now.replace(second=0, microsecond=0), actor.time_zone, i18n.current(),
                 str(i18n.babel_locale()), can(actor, Permission.MANAGE_CLINIC))
    board = kept.drawn.get(shared_as)
    if board is None:
        board = kept.drawn[shared_as] = await _board(actor, kept.rows, now, local_day, version)
    return board


async def _board(actor: Actor, rows: list[dict], now: datetime, local_day, version: int | None) -> Board:
    chairs = await setup_cache.chairs(actor)
    visits = [_visit(r, now) for r in rows]
    by_chair = {c["id"]: ChairDay(c["id"], c["name"], []) for c in chairs}
    for row, visit in zip(rows, visits, strict=True):
        if row["chair"] in by_chair:
            by_chair[row["chair"]].visits.append(visit)
    expected = [v for v in visits if v.state in ("expected", "late")]
    opens_at, closes_at = await _timeline_ends(actor, local_day, rows)
    return Board(
        opens_at=opens_at, closes_at=closes_at, now=now, chairs=list(by_chair.values()),
        expected_next=expected[:5], waiting=sorted((v for v in visits if v.state == "waiting"),
                                                   key=lambda v: -(v.waited_minutes or 0)),
        counts=_counts(visits, rows) if can(actor, Permission.MANAGE_CLINIC) else None, zone=actor.time_zone,
        version=version)


async def _read_today(actor: Actor, first: datetime, last: datetime) -> tuple[list[dict], list[int]]:
    rows = await Appointment.raw(_TODAY, actor.clinic_id, first, last, [s.value for s in SHOWN_STATUSES])
    return rows, [r["patient"] for r in rows]


async def _timeline_ends(actor: Actor, day, rows: list[dict]) -> tuple[datetime, datetime]:
    hours = [h for h in await setup_cache.opening_hours(actor) if h["weekday"] == day.weekday()]
    opens = clock.to_utc(day, min([h["opens"] for h in hours], default=DEFAULT_OPENS), actor.time_zone)
    closes = clock.to_utc(day, max([h["closes"] for h in hours], default=DEFAULT_CLOSES), actor.time_zone)
    return (min([opens, *(r["starts_at"] for r in rows)]), max([closes, *(r["ends_at"] for r in rows)]))


def _visit(row: dict, now: datetime) -> Visit:
    hidden = bool(row["patient.isolated_at"])
    arrived_at = row["arrived_at"]
    return Visit(
        id=row["id"], patient_id=row["patient"],
        patient_name=gettext("Restricted record") if hidden
        else f'{row["patient.given_name"]} {row["patient.family_name"]}',
        provider=row["provider.name"], kind=row["appointment_type.name"], colour=row["appointment_type.colour"],
        status=row["status"], starts_at=row["starts_at"], ends_at=row["ends_at"],
        state=_state(row["status"], row["starts_at"], now),
        waited_minutes=int((now - arrived_at).total_seconds() // 60) if arrived_at else None,
        next_status=ONE_TAP.get(row["status"]),  # a StrEnum member hashes as its value
        alerts=[] if hidden else medical_history.alert_labels(row["alerts"]))


def _counts(visits: list[Visit], rows: list[dict]) -> dict[str, int]:
    states = [v.state for v in visits]
    booked_minutes = sum(int((r["ends_at"] - r["starts_at"]).total_seconds() // 60) for r in rows
                         if r["status"] != Status.NO_SHOW)
    return {"appointments": len(visits), "completed": states.count("completed"),
            "waiting": states.count("waiting"), "in_chair": states.count("in_chair"),
            "late": states.count("late"), "no_show": states.count("no_show"), "booked_minutes": booked_minutes}
