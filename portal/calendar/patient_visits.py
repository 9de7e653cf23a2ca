"""One patient's appointments as the patient page lists them: what is coming and what has been."""

from dataclasses import dataclass, field
from datetime import date

from portal import audit, clock
from portal.patients import ensure_in_clinic
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


async def for_patient(actor: Actor, patient_id: int) -> PatientVisits:
    """Upcoming (soonest first, cancelled ones included so the desk sees them) and the latest past appointments."""
    require(actor, Permission.MANAGE_CALENDAR)
    await ensure_in_clinic(actor, patient_id)
    now = clock.now()
    columns = (Appointment.id, Appointment.starts_at, Appointment.ends_at, Appointment.status,
               Appointment.cancel_reason, Appointment.appointment_type.name, Appointment.provider.name,
               Appointment.chair.name)
    mine = (Appointment.clinic == actor.clinic_id) & (Appointment.patient == patient_id)
    upcoming = await Appointment.select(*columns).where(mine & (Appointment.starts_at >= now)).order_by(
        Appointment.starts_at)
    past = await Appointment.select(*columns).where(mine & (Appointment.starts_at < now)).order_by(
        Appointment.starts_at, ascending=False).limit(PAST_SHOWN + 1)
    imported = await ImportedVisit.select(
        ImportedVisit.starts_at, ImportedVisit.status, ImportedVisit.type, ImportedVisit.provider,
        ImportedVisit.cancel_reason, ImportedVisit.patient_import.source_clinic).where(
        (ImportedVisit.clinic == actor.clinic_id) & (ImportedVisit.patient == patient_id)).order_by(
        ImportedVisit.starts_at, ascending=False)
    await audit.record(actor, "patient.appointments_viewed", patient_id=patient_id, object_type="patient",
                       object_id=patient_id)
    return PatientVisits(upcoming=upcoming, past=past[:PAST_SHOWN], more_past=len(past) > PAST_SHOWN,
                         today=clock.local(now, actor.time_zone).date(), imported=imported)
