"""When can something be booked: opening hours, closures, provider hours and absences, and the slot finder."""

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, timezone
from typing import Iterator
from zoneinfo import ZoneInfo

from portal import clock
from portal.calendar import setup_cache, statuses
from portal.forms import parse_date, whole_number
from portal.i18n import lazy_gettext
from portal.permissions import Actor, Permission, require
from portal.tables import Appointment, AppointmentType

PARTS_OF_DAY = {"": lazy_gettext("Any time"), "morning": lazy_gettext("Morning (before 12:00)"),
                "afternoon": lazy_gettext("Afternoon (12:00–17:00)"),
                "evening": lazy_gettext("Evening (from 17:00)")}


@dataclass(frozen=True)
class SlotQuery:
    minutes: int
    roles: tuple[str, ...] = ("dentist", "hygienist")
    provider_id: int | None = None
    chair_id: int | None = None
    first_day: date | None = None
    days: int = 14
    part_of_day: str = ""
    limit: int = 5
    step_minutes: int = 15


@dataclass(frozen=True)
class FreeSlot:
    starts_at: datetime
    local_start: datetime
    provider_id: int
    provider_name: str
    chair_id: int
    chair_name: str


@dataclass
class Rules:
    """Everything the finder needs for a date range, loaded in a handful of queries."""

    zone: str
    opening: dict[int, list[tuple[time, time]]]
    closed_days: set[date]
    provider_hours: dict[int, dict[int, list[tuple[time, time, int | None]]]]
    absent: dict[int, set[date]]
    providers: dict[int, tuple[str, str]]  # id -> (name, role)
    chairs: list[tuple[int, str]]
    # Busy intervals per (owner id, UTC date touched), so a check scans one day, not two weeks.
    busy_provider: dict[tuple[int, date], list[tuple[datetime, datetime]]]
    busy_chair: dict[tuple[int, date], list[tuple[datetime, datetime]]]


def _days(first: date, last: date):
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


async def load_rules(actor: Actor, first: date, last: date, ignore_appointment: int | None = None) -> Rules:
    """The set-up's rules for [first, last] and every active appointment then (what the slot finder needs)."""
    rules = hours_rules(actor, await setup_cache.booking_rules(actor), first, last)
    start, _ = clock.day_bounds(first, actor.time_zone)
    _, end = clock.day_bounds(last, actor.time_zone)
    query = Appointment.select(Appointment.id, Appointment.provider, Appointment.chair, Appointment.starts_at,
                               Appointment.ends_at).where(
        (Appointment.clinic == actor.clinic_id) & (Appointment.starts_at < end) & (Appointment.ends_at > start)
        & (Appointment.starts_at > start - timedelta(hours=8))  # longest appointment: a lower index bound
        & Appointment.status.is_in(list(statuses.ACTIVE)))
    for row in await query:
        if row["id"] != ignore_appointment:
            add_busy(rules, row["provider"], row["chair"], row["starts_at"], row["ends_at"])
    return rules


def hours_rules(actor: Actor, setup: dict[str, list[dict]], first: date, last: date) -> Rules:
    """Opening hours, closures, provider hours and absences for [first, last], nothing booked yet: enough to tell
    whether a time is bookable at all (`within_bookable_hours`); PostgreSQL decides overlaps."""
    opening: dict[int, list] = defaultdict(list)
    for row in setup["opening"]:
        opening[row["weekday"]].append((row["opens"], row["closes"]))
    closed: set[date] = set()
    for row in setup["closures"]:
        if row["last_day"] >= first and row["first_day"] <= last:
            closed.update(_days(max(row["first_day"], first), min(row["last_day"], last)))
    hours: dict[int, dict[int, list]] = defaultdict(lambda: defaultdict(list))
    for row in setup["provider_hours"]:
        hours[row["provider"]][row["weekday"]].append((row["starts"], row["ends"], row["chair"]))
    absent: dict[int, set] = defaultdict(set)
    for row in setup["absences"]:
        if row["last_day"] >= first and row["first_day"] <= last:
            absent[row["provider"]].update(_days(max(row["first_day"], first), min(row["last_day"], last)))
    providers = {r["id"]: (r["name"], r["role"]) for r in setup["staff"]}
    chairs = [(r["id"], r["name"]) for r in setup["chairs"]]
    return Rules(actor.time_zone, opening, closed, hours, absent, providers, chairs, defaultdict(list),
                 defaultdict(list))


def add_busy(rules: Rules, provider_id: int, chair_id: int, start: datetime, end: datetime) -> None:
    """Count one more interval as taken (e.g. a slot an online patient holds while confirming)."""
    for day in _days(start.astimezone(timezone.utc).date(), end.astimezone(timezone.utc).date()):
        rules.busy_provider[(provider_id, day)].append((start, end))
        rules.busy_chair[(chair_id, day)].append((start, end))


def _busy(table: dict, owner: int, start: datetime, end: datetime) -> bool:
    """Whether `owner` has anything overlapping [start, end) (half-open, like the database constraint).

    `start` and `end` are UTC instants (the finder's starts come from `_window_starts`), so their dates are the keys.
    """
    day, last = start.date(), end.date()
    while True:
        if any(s < end and start < e for s, e in table.get((owner, day), ())):
            return True
        if day >= last:
            return False
        day += timedelta(days=1)


def _windows(rules: Rules, provider_id: int, day: date) -> list[tuple[time, time, int | None]]:
    """The provider's working windows that day, clipped to the clinic's opening hours."""
    opening = rules.opening.get(day.weekday(), [])
    if day in rules.closed_days or day in rules.absent.get(provider_id, set()) or not opening:
        return []
    own = rules.provider_hours.get(provider_id)
    if not own:
        return [(o, c, None) for o, c in opening]
    clipped = []
    for starts, ends, chair in own.get(day.weekday(), []):
        for opens, closes in opening:
            lo, hi = max(starts, opens), min(ends, closes)
            if lo < hi:
                clipped.append((lo, hi, chair))
    return clipped


def within_bookable_hours(rules: Rules, provider_id: int, day: date, at: time, minutes: int) -> bool:
    end = (datetime.combine(day, at) + timedelta(minutes=minutes)).time()
    if end <= at:  # runs past midnight
        return False
    return any(lo <= at and end <= hi for lo, hi, _ in _windows(rules, provider_id, day))


def _part_of_day_ok(part: str, at: time) -> bool:
    return (not part or (part == "morning" and at.hour < 12) or (part == "afternoon" and 12 <= at.hour < 17)
            or (part == "evening" and at.hour >= 17))


def free_slots(rules: Rules, query: SlotQuery, first: date, now: datetime) -> list[FreeSlot]:
    """The first free starts, in time order, one per start and provider (the first free chair)."""
    found: list[FreeSlot] = []
    for day_slots in free_days(rules, query, first, now):
        found.extend(day_slots)
        if len(found) >= query.limit:
            break
    return found[:query.limit]


def free_days(rules: Rules, query: SlotQuery, first: date, now: datetime) -> Iterator[list[FreeSlot]]:
    """Day after day (query.days of them), that day's free starts in time order; callers stop when they have enough."""
    provider_ids = [query.provider_id] if query.provider_id else [
        pid for pid, (_, role) in rules.providers.items() if role in query.roles]
    chair_names = dict(rules.chairs)
    zone = ZoneInfo(rules.zone)
    length = timedelta(minutes=query.minutes)
    for day in _days(first, first + timedelta(days=query.days - 1)):
        today_slots = []
        for pid in provider_ids:
            if pid not in rules.providers:
                continue
            for lo, hi, window_chair in _windows(rules, pid, day):
                chairs = [query.chair_id] if query.chair_id else ([window_chair] if window_chair else
                                                                  [c for c, _ in rules.chairs])
                for at, start in _window_starts(day, lo, hi, query, zone):
                    if start <= now or _busy(rules.busy_provider, pid, start, start + length):
                        continue
                    chair_id = next((c for c in chairs if c in chair_names
                                     and not _busy(rules.busy_chair, c, start, start + length)), None)
                    if chair_id is not None:
                        today_slots.append(FreeSlot(start, datetime.combine(day, at, zone), pid,
                                                    rules.providers[pid][0], chair_id, chair_names[chair_id]))
        today_slots.sort(key=lambda s: (s.starts_at, s.provider_name, s.chair_name))
        yield today_slots


def _window_starts(day: date, lo: time, hi: time, query: SlotQuery, zone: ZoneInfo) -> Iterator[tuple[time, datetime]]:
    """Each start in a working window (wall-clock time, UTC instant) whose appointment ends by `hi` that day, in the
    part of day asked for; a start the clock skips or shows twice (a clock change) is left out.

    On an ordinary day one conversion serves the whole window; only a window with a clock change in it converts
    start by start.
    """
    step, length = timedelta(minutes=query.step_minutes), timedelta(minutes=query.minutes)
    window_start = datetime.combine(day, lo)
    steady = datetime.combine(day, lo, zone).utcoffset() == datetime.combine(day, hi, zone).utcoffset()
    try:
        base = clock.to_utc(day, lo, zone.key) if steady else None
    except ValueError:
        base, steady = None, False
    at = window_start
    while (at + length).time() <= hi and at.date() == day:
        if _part_of_day_ok(query.part_of_day, at.time()):
            if steady:
                yield at.time(), base + (at - window_start)
            else:
                try:
                    yield at.time(), clock.to_utc(day, at.time(), zone.key)
                except ValueError:
                    pass  # skipped or doubled by a clock change
        at += step
        if at.time() < lo:  # wrapped past midnight
            break


async def find_free_slots(actor: Actor, query: SlotQuery) -> list[FreeSlot]:
    """Next free starts for a type's length, optionally for one provider, chair, date range and part of day."""
    rules, first = await _rules_for(actor, query)
    return free_slots(rules, query, first, datetime.now(timezone.utc))


async def _rules_for(actor: Actor, query: SlotQuery) -> tuple[Rules, date]:
    require(actor, Permission.MANAGE_CALENDAR)
    first = max(query.first_day or clock.today(actor.time_zone), clock.today(actor.time_zone))
    return await load_rules(actor, first, first + timedelta(days=query.days - 1)), first


async def free_for_type(actor: Actor, type_id: str, provider_id: str = "", chair_id: str = "", day: str = "",
                        part_of_day: str = "", limit: int = 8) -> tuple[dict | None, list[FreeSlot]]:
    """The "Next free" button: the chosen type (None if unknown) and its next free starts, from form values."""
    require(actor, Permission.MANAGE_CALENDAR)
    chosen_id = whole_number(type_id)
    chosen = await AppointmentType.select().where((AppointmentType.id == (chosen_id or 0))
                                                  & (AppointmentType.clinic == actor.clinic_id)
                                                  & (AppointmentType.active == True)).first()  # noqa: E712
    if chosen is None:
        return None, []
    query = SlotQuery(minutes=chosen["minutes"], roles=tuple(chosen["provider_roles"].split(",")),
                      provider_id=whole_number(provider_id), chair_id=whole_number(chair_id),
                      first_day=parse_date(day), part_of_day=part_of_day if part_of_day in PARTS_OF_DAY else "",
                      limit=SPREAD_POOL)
    rules, first = await _rules_for(actor, query)
    return chosen, spread(spread_pool(free_days(rules, query, first, datetime.now(timezone.utc)), limit), limit)


SPREAD_POOL = 2000  # candidates the spread chooses from: two weeks of 15-minute starts for a few providers


def _part_of(at: time) -> int:
    """0 morning, 1 afternoon, 2 evening (as PARTS_OF_DAY)."""
    return 0 if at.hour < 12 else 1 if at.hour < 17 else 2


def spread_pool(days: Iterator[list[FreeSlot]], limit: int) -> list[FreeSlot]:
    """The candidates `spread` needs, read day by day: it stops once `limit` (day, part of day) groups have starts.

    `spread` gives the first group in date order one start, then the next, and so on, so with `limit` groups
    filled its choice cannot reach a later day; reading the fortnight would only cost time.
    """
    pool: list[FreeSlot] = []
    groups: set[tuple[date, int]] = set()
    for day_slots in days:
        pool.extend(day_slots)
        groups.update((s.local_start.date(), _part_of(s.local_start.time())) for s in day_slots)
        if len(groups) >= limit or len(pool) >= SPREAD_POOL:
            break
    return pool[:SPREAD_POOL]


def spread(slots: list[FreeSlot], limit: int) -> list[FreeSlot]:
    """At most `limit` starts spread over days and parts of day, and over providers within each, in time order.

    Round after round, each (day, part of day) gives one start, from the provider offered least so far; so eight
    offers cover three days' mornings, afternoons and evenings rather than eight consecutive quarters of one morning.
    """
    buckets: dict[tuple[date, int], list[FreeSlot]] = defaultdict(list)
    for slot in slots:
        buckets[(slot.local_start.date(), _part_of(slot.local_start.time()))].append(slot)
    offered: dict[int, int] = defaultdict(int)
    picked: list[FreeSlot] = []
    while len(picked) < limit and any(buckets.values()):
        for key in sorted(buckets):
            if not buckets[key] or len(picked) >= limit:
                continue
            choice = min(buckets[key], key=lambda s: (offered[s.provider_id], s.starts_at))
            buckets[key].remove(choice)
            offered[choice.provider_id] += 1
            picked.append(choice)
    return sorted(picked, key=lambda s: (s.starts_at, s.provider_name))


async def nearest_alternatives(actor: Actor, query: SlotQuery, wanted: datetime, ignore: int | None = None,
                               count: int = 5) -> list[FreeSlot]:
    """Free starts closest to the refused time on the same day first, then the following days."""
    day = clock.local(wanted, actor.time_zone).date()
    first = max(day, clock.today(actor.time_zone))
    rules = await load_rules(actor, first, first + timedelta(days=14), ignore_appointment=ignore)
    now = datetime.now(timezone.utc)
    same_day = free_slots(rules, replace(query, days=1, limit=500), first, now)
    same_day.sort(key=lambda s: abs((s.starts_at - wanted).total_seconds()))
    picked = same_day[:count]
    if len(picked) < count:
        later = free_slots(rules, replace(query, days=14, limit=count),
                           first + timedelta(days=1), now)
        picked += later[:count - len(picked)]
    return sorted(picked, key=lambda s: s.starts_at)
