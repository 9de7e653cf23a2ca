"""Sending a case to its lab: the lab slip (only the data the lab needs), the chosen scans and photos, one mail
through the outbox, the disclosure recorded and the case marked sent, all in one transaction."""

import hashlib
from datetime import date

from portal import audit, display
from portal.charts import medical_history
from portal.db import transaction
from portal.documents import letterhead, pdf
from portal.errors import ValidationFailed
from portal.i18n import gettext as _
from portal.imaging import images
from portal.lab import cases
from portal.messaging import outbox
from portal.patients import age_on
from portal.permissions import Actor, Permission, require
from portal.privacy.lab_records import record_disclosure
from portal.tables import LabCase, Patient


def slip_blocks(case: dict, lab: dict, patient: dict, history: dict | None, attachments: list[str],
                due: date) -> list:
    """What the slip says: case number, first name and age (no date of birth, no address), the work."""
    facts = [(_("Case"), str(case["id"])), (_("Patient"), f'{patient["given_name"]} {patient["family_name"][:1]}.'),
             (_("Age"), str(age_on(patient["date_of_birth"], date.today()))),
             (_("Prescribing dentist"), case["dentist_name"]), (_("Due back"), display.format_day(due))]
    work = [(_("Work"), ", ".join(display.label(i, "lab_item") for i in case["items"])), (_("Teeth (FDI)"),
            case["teeth"]), (_("Shade"), case["shade"]), (_("Material"), case["material"])]
    blocks = [pdf.Facts(facts), pdf.Heading(_("The work")), pdf.Facts(work)]
    if case["instructions"]:
        blocks += [pdf.Heading(_("Instructions")), pdf.Text(case["instructions"])]
    if history is not None:
        blocks += [pdf.Heading(_("Medical history")), pdf.Facts([
            (_("Conditions"), history["conditions"]), (_("Medications"), history["medications"]),
            (_("Allergies"), history["allergies"])])]
    if attachments:
        blocks += [pdf.Heading(_("Attachments")), pdf.Text("\n".join(attachments))]
    blocks.append(pdf.Text(_("Sent to %(lab)s.", lab=lab["name"]), small=True))
    return blocks


async def package(actor: Actor, patient_id: int, case: dict) -> tuple[bytes, list, list[str], date]:
    """What goes to the lab (by mail or as a download): the slip PDF, the attached images' originals, the names
    of the data items disclosed and the due date (as if sent now)."""
    lab = case["lab_row"]
    patient = await Patient.select(Patient.given_name, Patient.family_name, Patient.date_of_birth).where(
        Patient.id == patient_id).first()
    history = await medical_history.get_version(actor, patient_id) if lab["shares_history"] else None
    files = [await images.read_image(actor, patient_id, image_id, "original") for image_id in case["image_ids"]]
    data = ["case number", "first name and initial", "age", "work", "teeth", "shade", "material",
            "instructions", *(f"image {i}" for i in case["image_ids"])]
    if history is not None:
        data.append("medical history")
    due = cases.due_on({**case, "sent_at": None}, actor.time_zone)
    slip = pdf.render(await letterhead.for_clinic(actor.clinic_id), _("Lab slip, case %(id)s", id=case["id"]),
                      slip_blocks(case, lab, patient, history, [f.filename for f in files], due))
    return slip, files, data, due


async def send_case(actor: Actor, patient_id: int, case_id: int) -> None:
    """Mail the slip and the attachments to the lab, record what went to whom, and mark the case sent."""
    require(actor, Permission.WRITE_CLINICAL)
    async with transaction():
        case = await cases.get_case(actor, patient_id, case_id)
        lab = case["lab_row"]
        if case["status"] != "draft":
            raise ValidationFailed({"status": _("This case has already been sent.")})
        if not lab["email"]:
            raise ValidationFailed({"status": _("Add the lab's email address in the lab directory first.")})
        slip, files, data, due = await package(actor, patient_id, case)
        attachments = (outbox.Attachment(f"lab-slip-{case_id}.pdf", "application/pdf", slip),
                       *(outbox.Attachment(f.filename, f.content_type, f.data) for f in files))
        await outbox.enqueue(outbox.Email(
            to=lab["email"], subject=_("Lab case %(id)s from %(clinic)s", id=case_id, clinic=actor.clinic_name),
            text=_("Please find the lab slip and %(count)s attachment(s) for case %(id)s, due back %(due)s.",
                   count=len(files), id=case_id, due=display.format_day(due)),
            attachments=attachments), key=f"lab-case-{case_id}-sent", clinic_id=actor.clinic_id)
        await record_disclosure(actor, patient_id, kind="lab", name=lab["name"], address=lab["email"], data=data,
                                subject_type="lab_case", subject_id=case_id)
        await LabCase.update({LabCase.slip_sha256: hashlib.sha256(slip).hexdigest()}).where(LabCase.id == case_id)
        await cases.change_status(actor, patient_id, case_id, cases.StatusForm(status="sent"), _sending=True)
        await audit.record(actor, "lab_case.mailed", patient_id=patient_id, object_type="lab_case",
                           object_id=case_id, detail={"to": lab["email"], "attachments": len(files)})


async def slip_pdf(actor: Actor, patient_id: int, case_id: int) -> bytes:
    """The slip as it would go now (a preview for the dentist; what went is in the mail and its hash)."""
    require(actor, Permission.READ_CLINICAL)
    case = await cases.get_case(actor, patient_id, case_id)
    patient = await Patient.select(Patient.given_name, Patient.family_name, Patient.date_of_birth).where(
        Patient.id == patient_id).first()
    history = (await medical_history.get_version(actor, patient_id) if case["lab_row"]["shares_history"] else None)
    return pdf.render(await letterhead.for_clinic(actor.clinic_id), _("Lab slip, case %(id)s", id=case_id),
                      slip_blocks(case, case["lab_row"], patient, history, [f"image {i}" for i in case["image_ids"]],
                                  cases.due_on(case, actor.time_zone)))

