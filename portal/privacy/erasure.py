"""Erasure on approval: administrative data erased at once; the clinical record isolated until its date.

Isolated means: `patient.isolated_at` set (every normal staff list, search, record and calendar card leaves
the patient out or shows a placeholder), processing marked restricted, future visits cancelled, and the
record reachable only by the owner (ACCESS_RESTRICTED_RECORDS) with a recorded reason.
"""

from dataclasses import dataclass
from datetime import datetime, timezone

from portal import audit
from portal.calendar import scheduling, statuses
from portal.db import transaction
from portal.errors import NotFound, ValidationFailed
from portal.forms import required, too_long
from portal.i18n import gettext
from portal.permissions import Actor, Permission, require
from portal.privacy import traces
from portal.privacy.categories import allow_erasure
from portal.privacy.registry import all_categories
from portal.tables import Appointment, Patient, PatientSession


async def carry_out(actor: Actor, patient_id: int) -> dict:
    """Runs inside the approving transaction; returns what was erased and what was kept (isolated)."""
    require(actor, Permission.HANDLE_PRIVACY_REQUESTS)
    if not await Patient.exists().where((Patient.id == patient_id) & (Patient.clinic == actor.clinic_id)):
        raise NotFound()
    await allow_erasure()
    # Future visits are cancelled first, as any cancellation is: history, iCal SEQUENCE, mail.
    for row in await Appointment.select(Appointment.id).where(
            (Appointment.clinic == actor.clinic_id) & (Appointment.patient == patient_id)
            & (Appointment.starts_at > datetime.now(timezone.utc)) & Appointment.status.is_in(list(statuses.OPEN))):
        await scheduling.set_status(actor, row["id"], statuses.Status.CANCELLED, "Erasure requested",
                                    by=scheduling.ERASURE)
    found = await traces.addresses_of(patient_id)  # read before contact details are blanked
    erased, kept = [], []
    for category in all_categories():
        if category.retention == "administrative":
            await category.erase(patient_id)
            erased.append(category.name)
        else:
            kept.append(category.name)
    forgotten = await traces.forget(found) if found else {}
    await Patient.raw("UPDATE patient SET isolated_at = now(), restricted_at = coalesce(restricted_at, now()), "
                      "updated_at = now() WHERE id = {}", patient_id)
    await PatientSession.delete().where(PatientSession.patient_id == patient_id)
    return {"erased": erased, "isolated": kept, "traces": forgotten}


@dataclass(frozen=True)
class ReasonForm:
    reason: str = ""


async def isolated_patients(actor: Actor) -> list[dict]:
    """The owner's list of isolated records (names shown only here)."""
    require(actor, Permission.ACCESS_RESTRICTED_RECORDS)
    rows = await Patient.select(Patient.id, Patient.given_name, Patient.family_name, Patient.isolated_at).where(
        (Patient.clinic == actor.clinic_id) & Patient.isolated_at.is_not_null()).order_by(Patient.isolated_at)
    await audit.record_patients_shown(actor, "privacy.isolated_listed", [r["id"] for r in rows])
    return rows


async def open_isolated(actor: Actor, patient_id: int, reason: str) -> dict:
    """The owner reads an isolated record; the reason is recorded with the read."""
    from portal.privacy.centre import gather, patient_header

    require(actor, Permission.ACCESS_RESTRICTED_RECORDS)
    header = await patient_header(actor.clinic_id, patient_id)
    if header["isolated_at"] is None:
        raise NotFound()
    problem = required(reason, gettext("The reason")) or too_long(reason, 500)
    if problem:
        raise ValidationFailed({"reason": problem})
    async with transaction():
        sections = await gather(actor.clinic_id, patient_id)
        await audit.record(actor, "privacy.isolated_opened", patient_id=patient_id, object_type="patient",
                           object_id=patient_id, detail={"reason": reason.strip()})
    return {"patient": header, "sections": sections}
