"""One patient's appointments as the patient page lists them: what is coming and what has been."""

import asyncio
from dataclasses import dataclass, field
from datetime import date

from portal import audit, clock
from portal.db import literal_limit
from portal.errors import NotFound
from portal.permissions import Actor, Permission, require
from portal.tables import Appointment

PAST_SHOWN = 20


@dataclass(frozen=True)
class PatientVisits:
    upcoming: list[dict]
    past: list[dict]
    more_past: bool
    today: date  # in the clinic's zone: where "Book" opens the calendar
    imported: list[dict] = field(default_factory=list)  # visits at a previous clinic, from an imported record
    # each row: id (None when imported), starts_at, ends_at, status, cancel_reason, appointment_type.name,
    # provider.name, chair.name, source_clinic (the previous clinic's name, imported rows only)


def _named(part: int, order: str, appointments: str) -> str:
    """One part of the list: `appointments` (a subquery of appointment rows, already cut to what is shown) with
    their type, provider and chair named. Names are joined after the cut, so a ten-year patient's page looks up
    21 names, not one per visit they ever had."""
    return (f"SELECT {part} AS part, row_number() OVER (ORDER BY a.starts_at {order}) AS place, a.id, a.starts_at, "
            'a.ends_at, a.status, a.cancel_reason, t.name AS "appointment_type.name", s.name AS "provider.name", '
            f'c.name AS "chair.name", NULL AS source_clinic FROM ({appointments}) a '
            "LEFT JOIN appointment_type t ON t.id = a.appointment_type LEFT JOIN staff s ON s.id = a.provider "
            "LEFT JOIN chair c ON c.id = a.chair")


_OWN = ("SELECT id, starts_at, ends_at, status, cancel_reason, appointment_type, provider, chair FROM appointment "
        "WHERE clinic = {} AND patient = {} ")
_LATEST_PAST = f"AND starts_at < {{}} ORDER BY starts_at DESC {literal_limit(PAST_SHOWN + 1)}"
UPCOMING, PAST, IMPORTED = 0, 1, 2
# Upcoming soonest first, the latest past ones newest first, then the visits of an imported record (their type and
# provider as the other clinic named them), in one statement: the patient page loads this list on every open.
_VISITS = (f"({_named(UPCOMING, 'ASC', _OWN + 'AND starts_at >= {}')}) UNION ALL "
           f"({_named(PAST, 'DESC', _OWN + _LATEST_PAST)}) UNION ALL "
           f"(SELECT {IMPORTED}, row_number() OVER (ORDER BY v.starts_at DESC), NULL, v.starts_at, v.ends_at, "
           "v.status, v.cancel_reason, v.type, v.provider, NULL, i.source_clinic FROM imported_visit v "
           "LEFT JOIN patient_import i ON i.id = v.patient_import WHERE v.clinic = {} AND v.patient = {}) "
           "ORDER BY part, place")


async def for_patient(actor: Actor, patient_id: int) -> PatientVisits:
    """Upcoming (soonest first, cancelled ones included so the desk sees them) and the latest past appointments."""
    require(actor, Permission.MANAGE_CALENDAR)
    now = clock.now()
    # The read and the audit row (which checks the patient is this clinic's and not isolated) go out at once,
    # outside a transaction, each on its own pooled connection.
    rows, shown = await asyncio.gather(
        Appointment.raw(_VISITS, actor.clinic_id, patient_id, now, actor.clinic_id, patient_id, now,
                        actor.clinic_id, patient_id),
        audit.record_if_in_clinic(actor, "patient.appointments_viewed", patient_id))
    if not shown:
        raise NotFound()
    past = [r for r in rows if r["part"] == PAST]
    return PatientVisits(upcoming=[r for r in rows if r["part"] == UPCOMING], past=past[:PAST_SHOWN],
                         more_past=len(past) > PAST_SHOWN, today=clock.local(now, actor.time_zone).date(),
                         imported=[r for r in rows if r["part"] == IMPORTED])
