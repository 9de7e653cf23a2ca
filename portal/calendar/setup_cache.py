"""The clinic's set-up as the calendar reads it on every request (chairs, appointment types, treating staff,
opening hours, and the booking rules: closures, provider hours and absences), kept in this process per clinic and
`clinic.setup_version`.

Triggers move the version on in the transaction of every change (migrations 2026-12-04T09:20 and T10:00), and the
session query reads it with the clinic, so a process learns of another's change on the next request, without a
query of its own. Only pages that read set-up use this; the pages that change it read the tables themselves. An
Actor without a version (built outside a request) always reads the tables.
"""

from collections.abc import Awaitable, Callable

from portal.calendar import practice_setup
from portal.permissions import Actor
from portal.tables import Chair, Closure, OpeningHours, ProviderAbsence, ProviderHours, Staff

_kept: dict[tuple[str, int], tuple[int, object]] = {}


async def _read(actor: Actor, kind: str, load: Callable[[], Awaitable[list[dict]]]) -> list[dict]:
    if not actor.setup_version:
        return await load()
    key = (kind, actor.clinic_id)
    hit = _kept.get(key)
    if hit is None or hit[0] != actor.setup_version:
        hit = _kept[key] = (actor.setup_version, await load())
    return [dict(row) for row in hit[1]]  # callers may annotate their rows


async def booking_rules(actor: Actor) -> dict[str, list[dict]]:
    """Every row the slot finder and the booking check read besides appointments, all dates; shared, not copied:
    callers only read it (portal/calendar/availability.py)."""
    if not actor.setup_version:
        return await _booking_rules(actor.clinic_id)
    key = ("booking_rules", actor.clinic_id)
    hit = _kept.get(key)
    if hit is None or hit[0] != actor.setup_version:
        hit = _kept[key] = (actor.setup_version, await _booking_rules(actor.clinic_id))
    return hit[1]


async def _booking_rules(clinic_id: int) -> dict[str, list[dict]]:
    return {
        "opening": await OpeningHours.select().where(OpeningHours.clinic == clinic_id).order_by(OpeningHours.opens),
        "closures": await Closure.select().where(Closure.clinic == clinic_id).order_by(Closure.first_day),
        "provider_hours": await ProviderHours.select().where(ProviderHours.clinic == clinic_id).order_by(
            ProviderHours.starts),
        "absences": await ProviderAbsence.select().where(ProviderAbsence.clinic == clinic_id),
        "staff": await Staff.select(Staff.id, Staff.name, Staff.role).where(
            (Staff.clinic == clinic_id) & (Staff.active == True)).order_by(Staff.name),  # noqa: E712
        "chairs": await Chair.select(Chair.id, Chair.name).where(
            (Chair.clinic == clinic_id) & (Chair.retired == False)).order_by(Chair.position).order_by(Chair.id),  # noqa: E712
    }


async def chairs(actor: Actor) -> list[dict]:
    """The clinic's chairs in use, in their order."""
    return await _read(actor, "chairs", lambda: practice_setup.list_chairs(actor))


async def appointment_types(actor: Actor) -> list[dict]:
    return await _read(actor, "types", lambda: practice_setup.list_types(actor))


async def providers(actor: Actor) -> list[dict]:
    return await _read(actor, "providers", lambda: practice_setup.list_providers(actor))


async def opening_hours(actor: Actor) -> list[dict]:
    """Every weekday's opening and closing time."""
    return await _read(actor, "hours", lambda: OpeningHours.select(
        OpeningHours.weekday, OpeningHours.opens, OpeningHours.closes).where(OpeningHours.clinic == actor.clinic_id))


def forget() -> None:
    """Drop everything kept, so that a test starts from reading the tables."""
    _kept.clear()
