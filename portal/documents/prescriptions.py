"""Prescriptions: checked against the patient's allergies and medication, signed by a registered prescriber as a
PDF kept in the chart (append-only), and mailed through the outbox to the patient or a pharmacy."""

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone

from portal import audit, display
from portal.charts.medical_history import ALERT_RULES
from portal.db import transaction
from portal.documents import letterhead, pdf
from portal.errors import NotFound, ValidationFailed
from portal.forms import collect, email_problem, required, too_long, whole_number
from portal.i18n import gettext as _
from portal.messaging import outbox
from portal.patients import ensure_in_clinic
from portal.permissions import Actor, Permission, require
from portal.privacy.lab_records import record_disclosure
from portal.tables import MedicalHistory, Patient, Prescription, Staff

PENICILLINS = (r"penicillin|amoxi|ampicillin|flucloxacillin|dicloxacillin|piperacillin|co-amoxiclav|augmentin|"
               r"pivmecillinam|phenoxymethyl")
NSAIDS = (r"ibuprofen|naproxen|diclofenac|aspirin|acetylsalicyl|celecoxib|etoricoxib|ketorolac|meloxicam|"
          r"ketoprofen|nsaid")
ANTICOAGULANTS = next(pattern for label, _fields, pattern in ALERT_RULES if label == "Anticoagulants")


@dataclass(frozen=True)
class PrescriptionForm:
    medicine: str = ""
    strength: str = ""
    dose: str = ""
    quantity: str = ""
    instructions: str = ""
    repeats: str = "0"
    acknowledged: bool = False  # the prescriber has weighed the warnings


@dataclass(frozen=True)
class MailForm:
    to: str = ""


def warnings_for(medicine: str, history: dict | None) -> list[str]:
    """What the history says against this medicine (empty when nothing, or no history is recorded)."""
    if not history or not medicine.strip():
        return []
    found = []
    allergies, medications = history["allergies"], history["medications"]
    if re.search(PENICILLINS, medicine, re.I) and re.search(PENICILLINS, allergies, re.I):
        found.append(_("Penicillin allergy recorded, and %(medicine)s is a penicillin.", medicine=medicine.strip()))
    if re.search(NSAIDS, medicine, re.I) and re.search(ANTICOAGULANTS, medications, re.I):
        found.append(_("The patient takes an anticoagulant: %(medicine)s (an NSAID) raises the bleeding risk.",
                       medicine=medicine.strip()))
    if re.search(NSAIDS, medicine, re.I) and re.search(NSAIDS, allergies, re.I):
        found.append(_("NSAID allergy recorded, and %(medicine)s is an NSAID.", medicine=medicine.strip()))
    first_word = medicine.strip().split()[0].lower() if medicine.strip() else ""
    if not found and len(first_word) > 3 and first_word in allergies.lower():
        found.append(_("An allergy to %(medicine)s is recorded.", medicine=first_word))
    return found


async def _history(patient_id: int, clinic_id: int) -> dict | None:
    """The newest history version (read as part of prescribing; the caller audits)."""
    return await MedicalHistory.select(MedicalHistory.allergies, MedicalHistory.medications).where(
        (MedicalHistory.patient == patient_id) & (MedicalHistory.clinic == clinic_id)).order_by(
        MedicalHistory.version, ascending=False).first()


async def check(actor: Actor, patient_id: int, medicine: str) -> list[str]:
    """The warnings for a medicine for this patient (shown before signing)."""
    require(actor, Permission.READ_CLINICAL)
    await ensure_in_clinic(actor, patient_id)
    async with transaction():
        history = await _history(patient_id, actor.clinic_id)
        await audit.record(actor, "medical_history.checked", patient_id=patient_id, object_type="patient",
                           object_id=patient_id, detail={"for": "prescription"})
    return warnings_for(medicine, history)


async def registration_of(actor: Actor) -> str:
    """The signer's registration ("BIG 12345"); refused for staff without a registration number."""
    row = await Staff.select(Staff.registration_body, Staff.registration_number).where(Staff.id == actor.id).first()
    if not row or not row["registration_number"].strip():
        raise ValidationFailed({"form": _("Only a prescriber with a registration number may sign a prescription; "
                                          "add it on the staff page.")})
    return " ".join(p for p in (row["registration_body"].strip(), row["registration_number"].strip()) if p)


def _blocks(content: dict, patient: dict, signed_at: datetime, digest: str) -> list:
    return [
        pdf.Facts([(_("Patient"), f'{patient["given_name"]} {patient["family_name"]}'),
                   (_("Date of birth"), display.format_day(patient["date_of_birth"])),
                   (_("Date"), display.format_day(signed_at.date()))]),
        pdf.Table((_("Medicine"), _("Strength"), _("Dose"), _("Quantity"), _("Repeats")),
                  [(content["medicine"], content["strength"], content["dose"], content["quantity"],
                    str(content["repeats"]))], widths=(0.3, 0.15, 0.25, 0.15, 0.15)),
        *([pdf.Heading(_("Instructions")), pdf.Text(content["instructions"])] if content["instructions"] else []),
        pdf.Heading(_("Signature")),
        pdf.Text(_("Signed electronically by %(name)s, registration %(registration)s, on %(when)s.",
                   name=content["prescriber_name"], registration=content["registration"],
                   when=display.format_instant(signed_at, "UTC"))),
        pdf.Text(_("SHA-256 of the signed content: %(digest)s", digest=digest), small=True),
    ]


async def sign_prescription(actor: Actor, patient_id: int, form: PrescriptionForm) -> int:
    """Check, sign and keep the prescription; warnings must be acknowledged by the prescriber first."""
    require(actor, Permission.WRITE_CLINICAL)
    await ensure_in_clinic(actor, patient_id)
    repeats = whole_number(form.repeats or "0")
    errors = collect(medicine=required(form.medicine, _("Medicine")) or too_long(form.medicine, 200),
                     strength=too_long(form.strength, 100), dose=required(form.dose, _("Dose")) or too_long(
                         form.dose, 200), quantity=required(form.quantity, _("Quantity")) or too_long(
                         form.quantity, 100), instructions=too_long(form.instructions, 1000),
                     repeats=None if repeats is not None and repeats <= 12 else _("Repeats: a number from 0 to 12."))
    if errors:
        raise ValidationFailed(errors)
    registration = await registration_of(actor)
    warnings = warnings_for(form.medicine, await _history(patient_id, actor.clinic_id))
    if warnings and not form.acknowledged:
        raise ValidationFailed({"acknowledged": _("Weigh the warnings above and confirm to sign anyway.")})
    signed_at = datetime.now(timezone.utc).replace(microsecond=0)
    content = {"medicine": form.medicine.strip(), "strength": form.strength.strip(), "dose": form.dose.strip(),
               "quantity": form.quantity.strip(), "instructions": form.instructions.strip(), "repeats": repeats,
               "prescriber_name": actor.name, "registration": registration, "patient": patient_id,
               "signed_at": signed_at.isoformat()}
    digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
    patient = await Patient.select(Patient.given_name, Patient.family_name, Patient.date_of_birth).where(
        Patient.id == patient_id).first()
    document = pdf.render(await letterhead.for_clinic(actor.clinic_id), _("Prescription"),
                          _blocks(content, patient, signed_at, digest))
    async with transaction():
        rows = await Prescription.insert(Prescription(
            clinic=actor.clinic_id, patient=patient_id, medicine=content["medicine"], strength=content["strength"],
            dose=content["dose"], quantity=content["quantity"], instructions=content["instructions"],
            repeats=repeats, warnings=warnings, prescriber=actor.id, prescriber_name=actor.name,
            registration=registration, content_hash=digest, pdf=document, signed_at=signed_at))
        await audit.record(actor, "prescription.signed", patient_id=patient_id, object_type="prescription",
                           object_id=rows[0]["id"], detail={"warnings": len(warnings)})
    return rows[0]["id"]


async def list_prescriptions(actor: Actor, patient_id: int) -> list[dict]:
    require(actor, Permission.READ_CLINICAL)
    await ensure_in_clinic(actor, patient_id)
    async with transaction():
        rows = await Prescription.select(*Prescription.all_columns(exclude=[Prescription.pdf])).where(
            (Prescription.patient == patient_id) & (Prescription.clinic == actor.clinic_id)).order_by(
            Prescription.signed_at, ascending=False)
        await audit.record(actor, "prescription.listed", patient_id=patient_id, object_type="patient",
                           object_id=patient_id)
    for row in rows:
        row["warnings"] = json.loads(row["warnings"]) if isinstance(row["warnings"], str) else row["warnings"]
    return rows


async def _owned(actor: Actor, patient_id: int, prescription_id: int) -> dict:
    await ensure_in_clinic(actor, patient_id)
    row = await Prescription.select().where(
        (Prescription.id == prescription_id) & (Prescription.patient == patient_id)
        & (Prescription.clinic == actor.clinic_id)).first()
    if row is None:
        raise NotFound()
    return row


async def signed_pdf(actor: Actor, patient_id: int, prescription_id: int) -> bytes:
    """The PDF as signed (reading it is audited)."""
    require(actor, Permission.READ_CLINICAL)
    async with transaction():
        row = await _owned(actor, patient_id, prescription_id)
        await audit.record(actor, "prescription.viewed", patient_id=patient_id, object_type="prescription",
                           object_id=prescription_id)
    return bytes(row["pdf"])


async def patient_email(actor: Actor, patient_id: int) -> str:
    require(actor, Permission.READ_DEMOGRAPHICS)
    row = await Patient.select(Patient.email).where(
        (Patient.id == patient_id) & (Patient.clinic == actor.clinic_id)).first()
    return row["email"] if row else ""


async def mail_prescription(actor: Actor, patient_id: int, prescription_id: int, form: MailForm) -> None:
    """Mail the signed PDF (to the patient, or a pharmacy: then recorded as a recipient of the patient's data)."""
    require(actor, Permission.WRITE_CLINICAL)
    errors = collect(to=email_problem(form.to))
    if errors:
        raise ValidationFailed(errors)
    to = form.to.strip().lower()
    async with transaction():
        row = await _owned(actor, patient_id, prescription_id)
        own = to == (await patient_email(actor, patient_id)).strip().lower()
        await outbox.enqueue(outbox.Email(
            to=to, subject=_("Prescription from %(clinic)s", clinic=actor.clinic_name),
            text=_("Please find the signed prescription for %(medicine)s attached.", medicine=row["medicine"]),
            attachments=(outbox.Attachment(f"prescription-{prescription_id}.pdf", "application/pdf",
                                           bytes(row["pdf"])),)),
            key=f"prescription-{prescription_id}-to-{to}", clinic_id=actor.clinic_id,
            patient_id=patient_id if own else None)
        await record_disclosure(actor, patient_id, kind="patient" if own else "pharmacy", name=to, address=to,
                                data=["prescription"], subject_type="prescription", subject_id=prescription_id)
        await audit.record(actor, "prescription.mailed", patient_id=patient_id, object_type="prescription",
                           object_id=prescription_id, detail={"to": to})
