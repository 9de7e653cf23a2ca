"""Clinical notes: written from a template, signed by the author with their credentials, never edited.

A correction is an amendment: a new signed note that references the original; both stay visible in
order. The database refuses UPDATE and DELETE on signed notes (trigger), so this holds beyond the app.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone

from portal import audit
from portal.db import literal_limit, transaction
from portal.errors import NotFound, ValidationFailed
from portal.forms import collect, required, too_long, whole_number
from portal.i18n import gettext, lazy_gettext
from portal.patients import ensure_in_clinic
from portal.permissions import Actor, Permission, Role, require
from portal.tables import Appointment, ClinicalNote, Staff

TEMPLATES = {  # (name, the body a new note starts from), both in the writer's language
    "exam": (lazy_gettext("Examination"),
             lazy_gettext("Complaint:\nHistory reviewed: yes\nExtra-oral:\nIntra-oral:\nRadiographs:\n"
                          "Diagnosis:\nPlan:\n")),
    "hygiene": (lazy_gettext("Hygiene visit"),
                lazy_gettext("Plaque score:\nBleeding on probing:\nPocket depths:\nTreatment: scale and polish\n"
                             "Advice given:\nRecall:\n")),
    "treatment": (lazy_gettext("Treatment"),
                  lazy_gettext("Procedure:\nTooth/surfaces:\nAnaesthesia:\nMaterials:\nPatient tolerated well: "
                               "yes\nPost-operative advice:\n")),
    "free": (lazy_gettext("Free text"), ""),
}
PROCEDURE_TEMPLATE = "procedure"  # written by the system when a planned procedure is completed
TEMPLATE_NAMES = {**{key: name for key, (name, _) in TEMPLATES.items()},
                  PROCEDURE_TEMPLATE: lazy_gettext("Procedure completed"), "amendment": lazy_gettext("Amendment")}
PAGE_SIZE = 20


@dataclass(frozen=True)
class NoteForm:
    template: str = "exam"
    body: str = ""
    appointment_id: str = ""


@dataclass(frozen=True)
class AmendmentForm:
    body: str = ""
    reason: str = ""


def content_hash(patient_id: int, author_id: int, signed_at: datetime, body: str, amends: int | None) -> str:
    """What was signed: a later reader can recompute it and see the note is the one the author signed."""
    text = f"{patient_id}\n{author_id}\n{signed_at.isoformat()}\n{amends or ''}\n{body}"
    return hashlib.sha256(text.encode()).hexdigest()


REGISTERED_ROLES = (Role.DENTIST, Role.HYGIENIST)  # regulated professions: no signature without a registration
MISSING_REGISTRATION = lazy_gettext("Your registration number is missing: ask the owner to add it to your staff "
                                    "record before you sign clinical entries.")


async def _credentials(actor: Actor) -> str:
    """The signer's registration as it goes into the signed entry; refused when a clinician has none."""
    row = await Staff.select(Staff.registration_body, Staff.registration_number).where(Staff.id == actor.id).first()
    if actor.role in REGISTERED_ROLES and not row["registration_number"].strip():
        raise ValidationFailed({"form": MISSING_REGISTRATION})
    return " ".join(part for part in (row["registration_body"], row["registration_number"]) if part)


async def sign(actor: Actor, patient_id: int, template: str, body: str, appointment_id: int | None = None,
               amends: int | None = None, reason: str = "") -> int:
    """Insert one signed note and its audit row (the caller holds the transaction and checked the input)."""
    signed_at = datetime.now(timezone.utc)
    note_id = (await ClinicalNote.insert(ClinicalNote(
        clinic=actor.clinic_id, patient=patient_id, appointment=appointment_id, template=template, body=body,
        amends=amends, amendment_reason=reason, author=actor.id, author_name=actor.name,
        author_role=actor.role.value if actor.role else "", author_credentials=await _credentials(actor),
        content_hash=content_hash(patient_id, actor.id, signed_at, body, amends), signed_at=signed_at)))[0]["id"]
    await audit.record(actor, "clinical_note.amended" if amends else "clinical_note.signed", patient_id=patient_id,
                       object_type="clinical_note", object_id=note_id, detail={"amends": amends} if amends else {})
    return note_id


async def _appointment(actor: Actor, patient_id: int, text: str, errors: dict) -> int | None:
    if not text.strip():
        return None
    appointment_id = whole_number(text)
    if appointment_id is None or not await Appointment.exists().where(
            (Appointment.id == appointment_id) & (Appointment.patient == patient_id)
            & (Appointment.clinic == actor.clinic_id)):
        errors["appointment_id"] = gettext("Choose one of this patient's visits.")
        return None
    return appointment_id


async def write_note(actor: Actor, patient_id: int, form: NoteForm) -> int:
    require(actor, Permission.WRITE_CLINICAL)
    await ensure_in_clinic(actor, patient_id)
    body = form.body.strip()
    errors = collect(template=None if form.template in TEMPLATES else gettext("Choose a template from the list."),
                     body=required(body, gettext("The note")) or too_long(body, 20000))
    appointment_id = await _appointment(actor, patient_id, form.appointment_id, errors)
    if errors:
        raise ValidationFailed(errors)
    async with transaction():
        return await sign(actor, patient_id, form.template, body, appointment_id)


async def amend_note(actor: Actor, patient_id: int, note_id: int, form: AmendmentForm) -> int:
    """Sign a correction that references the original (amendments of amendments point at the same original)."""
    require(actor, Permission.WRITE_CLINICAL)
    original = await _note(actor, patient_id, note_id)
    body, reason = form.body.strip(), form.reason.strip()
    errors = collect(body=required(body, gettext("The correction")) or too_long(body, 20000),
                     reason=required(reason, gettext("The reason")) or too_long(reason, 500))
    if errors:
        raise ValidationFailed(errors)
    async with transaction():
        return await sign(actor, patient_id, "amendment", body, original["appointment"],
                          amends=original["amends"] or original["id"], reason=reason)


async def _note(actor: Actor, patient_id: int, note_id: int) -> dict:
    row = await ClinicalNote.select().where(
        (ClinicalNote.id == note_id) & (ClinicalNote.patient == patient_id)
        & (ClinicalNote.clinic == actor.clinic_id)).first()
    if row is None:
        raise NotFound()
    return row


async def get_note(actor: Actor, patient_id: int, note_id: int) -> dict:
    require(actor, Permission.READ_CLINICAL)
    async with transaction():
        row = await _note(actor, patient_id, note_id)
        await audit.record(actor, "clinical_note.viewed", patient_id=patient_id, object_type="clinical_note",
                           object_id=note_id)
    return row


async def list_notes(actor: Actor, patient_id: int, limit: int = PAGE_SIZE, before: int | None = None,
                     patient_checked: bool = False) -> tuple[list[dict], bool]:
    """Original notes newest first, each with its amendments in order; True when older notes exist.
    `patient_checked`: the caller has just checked the patient is the actor clinic's and not isolated."""
    require(actor, Permission.READ_CLINICAL)
    if not patient_checked:
        await ensure_in_clinic(actor, patient_id)
    query = ClinicalNote.select().where((ClinicalNote.patient == patient_id)
                                        & (ClinicalNote.clinic == actor.clinic_id) & ClinicalNote.amends.is_null())
    if before is not None:
        query = query.where(ClinicalNote.id < before)
    async with transaction():
        roots = await query.order_by(ClinicalNote.id, ascending=False).limit(limit + 1)
        more = len(roots) > limit
        roots = roots[:limit]
        by_id = {row["id"]: {**row, "amendments": []} for row in roots}
        if by_id:
            for row in await ClinicalNote.select().where(
                    ClinicalNote.amends.is_in(list(by_id)) & (ClinicalNote.clinic == actor.clinic_id)
            ).order_by(ClinicalNote.id):
                by_id[row["amends"]]["amendments"].append(row)
        await audit.record(actor, "clinical_notes.viewed", patient_id=patient_id, object_type="clinical_note",
                           detail={"notes": list(by_id)})
    return list(by_id.values()), more


async def recent_notes(actor: Actor, patient_id: int, limit: int) -> tuple[list[dict], bool]:
    """The newest original notes for the chart's summary (id, when, author, body, and whether amended), newest
    first; True when older ones exist. One statement and the audit row (the read changes nothing, so no
    transaction of its own); the caller has checked the patient is the actor clinic's and not isolated."""
    require(actor, Permission.READ_CLINICAL)
    rows = await ClinicalNote.raw(
        "SELECT n.id, n.signed_at, n.author_name, n.body, EXISTS (SELECT 1 FROM clinical_note a WHERE a.amends = n.id "
        "AND a.clinic = n.clinic) AS amended FROM clinical_note n WHERE n.patient = {} AND n.clinic = {} "
        f"AND n.amends IS NULL ORDER BY n.id DESC {literal_limit(limit + 1)}", patient_id, actor.clinic_id)
    notes = rows[:limit]
    await audit.record(actor, "clinical_notes.viewed", patient_id=patient_id, object_type="clinical_note",
                       detail={"notes": [row["id"] for row in notes]})
    return notes, len(rows) > limit


async def visits(actor: Actor, patient_id: int, limit: int = 30) -> list[dict]:
    """The patient's recent and coming appointments, to link a note to its visit."""
    return await Appointment.select(Appointment.id, Appointment.starts_at).where(
        (Appointment.patient == patient_id) & (Appointment.clinic == actor.clinic_id)
    ).order_by(Appointment.starts_at, ascending=False).limit(limit)
