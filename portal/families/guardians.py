"""Guardians who are patients of the same clinic: linking one to a child, and the children a patient is guardian of.

A linked guardian's name, language and addresses are the linked record's, copied by the database on link and on
every change (migration 2026-12-03T04:00): the patient columns hold only confirmed addresses, so the privacy
centre's sign-in as guardian trusts only what the guardian confirmed. Free-text guardians stay in portal.patients.
"""

from dataclasses import dataclass
from datetime import datetime, timezone

from portal import audit, patient_fields
from portal.db import transaction
from portal.errors import ValidationFailed
from portal.forms import whole_number
from portal.i18n import gettext
from portal.patients import ensure_in_clinic
from portal.permissions import Actor, Permission, require
from portal.tables import Guardian, Patient


@dataclass(frozen=True)
class LinkForm:
    guardian_patient: str = ""  # the guardian's patient id, chosen from the typeahead
    link_relationship: str = ""


async def in_clinic(actor: Actor, patient_id: int | None) -> dict | None:
    """The patient behind a chosen id if they are one of this clinic's (not isolated), else None."""
    if patient_id is None:
        return None
    return await Patient.select(Patient.id, Patient.given_name, Patient.family_name).where(
        (Patient.id == patient_id) & (Patient.clinic == actor.clinic_id) & Patient.isolated_at.is_null()).first()


async def link_guardian(actor: Actor, child_id: int, form: LinkForm) -> int:
    """Make another patient of this clinic a guardian of the child; another clinic's patient is refused."""
    require(actor, Permission.EDIT_DEMOGRAPHICS)
    await ensure_in_clinic(actor, child_id)  # a foreign child is a 404 before any message
    errors = {}
    chosen = whole_number(form.guardian_patient or "")
    if chosen is None:
        errors["guardian_patient"] = gettext("Search for the guardian and choose them from the list.")
    elif chosen == child_id:
        errors["guardian_patient"] = gettext("A patient cannot be their own guardian.")
    elif await in_clinic(actor, chosen) is None:
        errors["guardian_patient"] = gettext("No patient with that number in this clinic.")
    elif await Guardian.exists().where((Guardian.patient == child_id) & (Guardian.guardian_patient == chosen)):
        errors["guardian_patient"] = gettext("This patient is already a guardian of this child.")
    try:
        relationship = patient_fields.text(form.link_relationship, 60)
    except patient_fields.FieldProblem as problem:
        errors["link_relationship"] = problem.message
    if errors:
        raise ValidationFailed(errors)
    async with transaction():
        # name, email, phone and language are filled from the linked record by the database (guardian_linked)
        row = Guardian(clinic=actor.clinic_id, patient=child_id, guardian_patient=chosen, name="",
                       relationship=relationship, created_at=datetime.now(timezone.utc))
        await row.save()
        await audit.record(actor, "guardian.added", patient_id=child_id, object_type="guardian", object_id=row.id,
                           detail={"guardian_patient": chosen})
        await audit.record(actor, "guardian.linked", patient_id=chosen, object_type="guardian", object_id=row.id,
                           detail={"child": child_id})
    return row.id


async def children_of(actor: Actor, patient_id: int) -> list[dict]:
    """The children this patient is a linked guardian of (the caller audits the page that shows them)."""
    return await Guardian.raw(
        "SELECT p.id, p.given_name, p.family_name, p.date_of_birth, g.relationship FROM guardian g "
        "JOIN patient p ON p.id = g.patient WHERE g.guardian_patient = {} AND g.clinic = {} "
        "AND p.isolated_at IS NULL ORDER BY p.family_name, p.given_name, p.id", patient_id, actor.clinic_id)
