"""One patient's appointments as the patient page lists them: what is coming and what has been."""

import asyncio
from dataclasses import dataclass, field
from datetime import date

from portal import audit, clock
from portal.errors import NotFound
from portal.permissions import Actor, Permission, require
from portal.tables import Appointment, ImportedVisit

PAST_SHOWN = 20


@dataclass(frozen=True)
class PatientVisits:
    upcoming: list[dict]
    past: list[dict]
    more_past: bool
    today: date  # in the clinic's zone: where "Book" opens the calendar
    imported: list[dict] = field(default_factory=list)  # visits at a previous clinic, from an imported record


_COLUMNS = ('a.id, a.starts_at, a.ends_at, a.status, a.cancel_reason, t.name AS "appointment_type.name", '
            's.name AS "provider.name", c.name AS "chair.name" FROM appointment a '
            "LEFT JOIN appointment_type t ON t.id = a.appointment_type LEFT JOIN staff s ON s.id = a.provider "
            "LEFT JOIN chair c ON c.id = a.chair WHERE a.clinic = {} AND a.patient = {} ")
# Upcoming soonest first, then the latest past ones (newest first), in one statement.
_VISITS = (f"(SELECT true AS upcoming, row_number() OVER (ORDER BY a.starts_at) AS place, {_COLUMNS} "
           "AND a.starts_at >= {}) UNION ALL "
           f"(SELECT false, row_number() OVER (ORDER BY a.starts_at DESC), {_COLUMNS} AND a.starts_at < {{}} "
           "ORDER BY a.starts_at DESC LIMIT {}) ORDER BY upcoming DESC, place")


async def for_patient(actor: Actor, patient_id: int) -> PatientVisits:
    """Upcoming (soonest first, cancelled ones included so the desk sees them) and the latest past appointments."""
    require(actor, Permission.MANAGE_CALENDAR)
    now = clock.now()
    # The reads and the audit row (which checks the patient is this clinic's and not isolated) go out at once,
    # outside a transaction, each on its own pooled connection: the patient page loads this list on every open.
    rows, imported, shown = await asyncio.gather(
        Appointment.raw(_VISITS, actor.clinic_id, patient_id, now, actor.clinic_id, patient_id, now, PAST_SHOWN + 1),
        ImportedVisit.select(
            ImportedVisit.starts_at, ImportedVisit.status, ImportedVisit.type, ImportedVisit.provider,
            ImportedVisit.cancel_reason, ImportedVisit.patient_import.source_clinic).where(
            (ImportedVisit.clinic == actor.clinic_id) & (ImportedVisit.patient == patient_id)).order_by(
            ImportedVisit.starts_at, ascending=False).run(),
        audit.record_if_in_clinic(actor, "patient.appointments_viewed", patient_id))
    if not shown:
        raise NotFound()
    upcoming = [r for r in rows if r["upcoming"]]
    past = [r for r in rows if not r["upcoming"]]
    return PatientVisits(upcoming=upcoming, past=past[:PAST_SHOWN], more_past=len(past) > PAST_SHOWN,
                         today=clock.local(now, actor.time_zone).date(), imported=imported)
