"""Referral letters: out to a specialist from a template that pulls the relevant history, findings and images,
signed as a PDF and mailed (the specialist recorded as a recipient); in from other practices; and their statuses
(sent, seen, report received), each change dated and by whom."""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone

from portal import audit, display
from portal.charts import medical_history, odontogram
from portal.db import transaction
from portal.documents import letterhead, pdf
from portal.documents.prescriptions import registration_of
from portal.errors import NotFound, ValidationFailed
from portal.forms import collect, email_problem, required, too_long, whole_number
from portal.i18n import gettext as _
from portal.i18n import lazy_gettext
from portal.imaging import images
from portal.messaging import outbox
from portal.patients import ensure_in_clinic
from portal.permissions import Actor, Permission, require
from portal.privacy.lab_records import record_disclosure
from portal.tables import Patient, PatientImage, Referral, ReferralEvent

SPECIALTIES = {"orthodontist": lazy_gettext("Orthodontist"), "oral_surgeon": lazy_gettext("Oral surgeon"),
               "periodontist": lazy_gettext("Periodontist"), "endodontist": lazy_gettext("Endodontist"),
               "other": lazy_gettext("Other specialist")}
STATUSES = {"signed": lazy_gettext("Signed"), "sent": lazy_gettext("Sent"), "seen": lazy_gettext("Seen"),
            "report_received": lazy_gettext("Report received"), "received": lazy_gettext("Received")}
display.register_labels("referral_specialty", SPECIALTIES)
display.register_labels("referral_status", STATUSES)
# "sent" only by mailing the letter; an incoming referral starts as received.
NEXT = {"signed": ("sent",), "sent": ("seen", "report_received"), "seen": ("report_received",),
        "received": ("seen",), "report_received": ()}


@dataclass(frozen=True)
class ReferralForm:
    specialty: str = "orthodontist"
    other_party: str = ""
    other_email: str = ""
    reason: str = ""
    body: str = ""
    image_ids: str = ""  # comma separated (checkboxes)


@dataclass(frozen=True)
class StatusForm:
    status: str = ""
    note: str = ""


def _ids(text: str) -> list[int] | None:
    ids = [whole_number(p) for p in text.replace(" ", "").split(",") if p]
    return None if any(i is None for i in ids) else list(dict.fromkeys(ids))


async def draft_letter(actor: Actor, patient_id: int, specialty: str) -> str:
    """The letter's body from the chart: medical history, alerts and the tooth chart's findings (reads audited)."""
    require(actor, Permission.READ_CLINICAL)
    await ensure_in_clinic(actor, patient_id)
    history = await medical_history.get_version(actor, patient_id)
    alerts = await medical_history.active_alerts(actor, patient_id)
    chart = await odontogram.chart_findings(actor, patient_id, patient_checked=True)
    findings = []
    for tooth, state in sorted(chart.items()):
        kinds = {**state["whole"], **{kind: st for kind, st in state["surfaces"].values()}}
        findings.append(f"{tooth}: " + ", ".join(f"{kind} ({st})" for kind, st in kinds.items()))
    lines = [_("Dear colleague,"), "", _("I refer this patient to you as %(specialty)s.",
                                          specialty=str(SPECIALTIES.get(specialty, specialty)).lower()), ""]
    if history:
        lines += [_("Medical history"), f'- {_("Conditions")}: {history["conditions"] or "-"}',
                  f'- {_("Medications")}: {history["medications"] or "-"}',
                  f'- {_("Allergies")}: {history["allergies"] or "-"}', ""]
    if alerts:
        lines += [_("Alerts: %(alerts)s", alerts=", ".join(a["label"] for a in alerts)), ""]
    if findings:
        lines += [_("Findings (FDI)"), *(f"- {line}" for line in findings), ""]
    lines += [_("Kind regards,"), actor.name]
    return "\n".join(lines)


async def _owned_images(actor: Actor, patient_id: int, image_ids: list[int]) -> bool:
    if not image_ids:
        return True
    found = await PatientImage.count().where(PatientImage.id.is_in(image_ids) & (PatientImage.patient == patient_id)
                                             & (PatientImage.clinic == actor.clinic_id))
    return found == len(image_ids)


async def _event(actor: Actor, referral_id: int, status: str, note: str, at: datetime) -> None:
    await ReferralEvent.insert(ReferralEvent(clinic=actor.clinic_id, referral=referral_id, status=status, note=note,
                                             by_staff=actor.id, by_name=actor.name, at=at))


def _checked(form: ReferralForm, outgoing: bool) -> list[int]:
    image_ids = _ids(form.image_ids)
    errors = collect(specialty=None if form.specialty in SPECIALTIES else _("Choose a specialty."),
                     other_party=required(form.other_party, _("Specialist") if outgoing else _("Referred by"))
                     or too_long(form.other_party, 200),
                     other_email=email_problem(form.other_email, optional=not outgoing),
                     reason=required(form.reason, _("Reason")) or too_long(form.reason, 500),
                     body=too_long(form.body, 20000),
                     image_ids=None if image_ids is not None else _("Choose images of this patient."))
    if errors:
        raise ValidationFailed(errors)
    return image_ids


async def refer(actor: Actor, patient_id: int, form: ReferralForm) -> int:
    """Sign an outgoing letter (kept as signed) as a PDF; mailing it is the next step."""
    require(actor, Permission.WRITE_CLINICAL)
    await ensure_in_clinic(actor, patient_id)
    image_ids = _checked(form, outgoing=True)
    if not await _owned_images(actor, patient_id, image_ids):
        raise ValidationFailed({"image_ids": _("Choose images of this patient.")})
    registration = await registration_of(actor)
    signed_at = datetime.now(timezone.utc).replace(microsecond=0)
    content = {"specialty": form.specialty, "to": form.other_party.strip(), "reason": form.reason.strip(),
               "body": form.body.strip(), "images": image_ids, "patient": patient_id, "signed_by": actor.name,
               "registration": registration, "signed_at": signed_at.isoformat()}
    digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
    patient = await Patient.select(Patient.given_name, Patient.family_name, Patient.date_of_birth).where(
        Patient.id == patient_id).first()
    blocks = [
        pdf.Facts([(_("To"), f'{content["to"]} ({display.label(form.specialty, "referral_specialty")})'),
                   (_("Patient"), f'{patient["given_name"]} {patient["family_name"]}'),
                   (_("Date of birth"), display.format_day(patient["date_of_birth"])),
                   (_("Date"), display.format_day(signed_at.date()))]),
        pdf.Heading(_("Reason")), pdf.Text(content["reason"]), pdf.Text(content["body"]),
        *([pdf.Text(_("Images enclosed: %(count)s", count=len(image_ids)))] if image_ids else []),
        pdf.Heading(_("Signature")),
        pdf.Text(_("Signed electronically by %(name)s, registration %(registration)s, on %(when)s.",
                   name=actor.name, registration=registration, when=display.format_instant(signed_at, "UTC"))),
        pdf.Text(_("SHA-256 of the signed content: %(digest)s", digest=digest), small=True)]
    document = pdf.render(await letterhead.for_clinic(actor.clinic_id), _("Referral letter"), blocks)
    async with transaction():
        rows = await Referral.insert(Referral(
            clinic=actor.clinic_id, patient=patient_id, direction="out", specialty=form.specialty,
            other_party=content["to"], other_email=form.other_email.strip().lower(), reason=content["reason"],
            body=content["body"], image_ids=image_ids, status="signed", signed_by=actor.id,
            signed_by_name=actor.name, registration=registration, content_hash=digest, pdf=document,
            created_at=signed_at))
        await _event(actor, rows[0]["id"], "signed", "", signed_at)
        await audit.record(actor, "referral.signed", patient_id=patient_id, object_type="referral",
                           object_id=rows[0]["id"])
    return rows[0]["id"]


async def record_incoming(actor: Actor, patient_id: int, form: ReferralForm) -> int:
    """A referral another practice sent us."""
    require(actor, Permission.WRITE_CLINICAL)
    await ensure_in_clinic(actor, patient_id)
    _checked(form, outgoing=False)
    now = datetime.now(timezone.utc)
    async with transaction():
        rows = await Referral.insert(Referral(
            clinic=actor.clinic_id, patient=patient_id, direction="in", specialty=form.specialty,
            other_party=form.other_party.strip(), other_email=form.other_email.strip().lower(),
            reason=form.reason.strip(), body=form.body.strip(), status="received", created_at=now))
        await _event(actor, rows[0]["id"], "received", "", now)
        await audit.record(actor, "referral.received", patient_id=patient_id, object_type="referral",
                           object_id=rows[0]["id"])
    return rows[0]["id"]


async def _owned(actor: Actor, patient_id: int, referral_id: int) -> dict:
    await ensure_in_clinic(actor, patient_id)
    row = await Referral.select().where((Referral.id == referral_id) & (Referral.patient == patient_id)
                                        & (Referral.clinic == actor.clinic_id)).first()
    if row is None:
        raise NotFound()
    return row


async def _step(actor: Actor, patient_id: int, referral_id: int, status: str, note: str = "") -> None:
    async with transaction():
        rows = await Referral.raw("SELECT status FROM referral WHERE id = {} AND patient = {} AND clinic = {} "
                                  "FOR UPDATE", referral_id, patient_id, actor.clinic_id)
        if not rows:
            raise NotFound()
        if status not in NEXT[rows[0]["status"]]:
            raise ValidationFailed({"status": _("Choose one of the offered steps.")})
        changes = {Referral.status: status}
        if status == "report_received":
            changes[Referral.report] = note
        await Referral.update(changes).where(Referral.id == referral_id)
        await _event(actor, referral_id, status, note, datetime.now(timezone.utc))
        await audit.record(actor, f"referral.{status}", patient_id=patient_id, object_type="referral",
                           object_id=referral_id)


async def change_status(actor: Actor, patient_id: int, referral_id: int, form: StatusForm) -> None:
    """Seen, or the specialist's report received (its summary as the note)."""
    require(actor, Permission.WRITE_CLINICAL)
    if form.status not in ("seen", "report_received"):
        raise ValidationFailed({"status": _("Choose one of the offered steps.")})
    errors = collect(note=too_long(form.note, 8000))
    if errors:
        raise ValidationFailed(errors)
    await _step(actor, patient_id, referral_id, form.status, form.note.strip())


async def mail_referral(actor: Actor, patient_id: int, referral_id: int) -> None:
    """Mail the signed letter and its images to the specialist; record the disclosure; mark it sent."""
    require(actor, Permission.WRITE_CLINICAL)
    async with transaction():
        row = await _owned(actor, patient_id, referral_id)
        if row["direction"] != "out" or row["status"] != "signed":
            raise ValidationFailed({"status": _("This letter has already been sent.")})
        if not row["other_email"]:
            raise ValidationFailed({"status": _("The letter has no address to mail to.")})
        files = [await images.read_image(actor, patient_id, image_id, "original") for image_id in row["image_ids"]]
        await outbox.enqueue(outbox.Email(
            to=row["other_email"], subject=_("Referral from %(clinic)s", clinic=actor.clinic_name),
            text=_("Please find the signed referral letter attached."),
            attachments=(outbox.Attachment(f"referral-{referral_id}.pdf", "application/pdf", bytes(row["pdf"])),
                         *(outbox.Attachment(f.filename, f.content_type, f.data) for f in files))),
            key=f"referral-{referral_id}-sent", clinic_id=actor.clinic_id)
        await record_disclosure(actor, patient_id, kind="specialist", name=row["other_party"],
                                address=row["other_email"], data=["referral letter", "medical history",
                                                                  "findings", *(f"image {i}" for i in
                                                                                row["image_ids"])],
                                subject_type="referral", subject_id=referral_id)
        await _step(actor, patient_id, referral_id, "sent")


async def list_referrals(actor: Actor, patient_id: int) -> list[dict]:
    require(actor, Permission.READ_CLINICAL)
    await ensure_in_clinic(actor, patient_id)
    async with transaction():
        rows = await Referral.select(*Referral.all_columns(exclude=[Referral.pdf])).where(
            (Referral.patient == patient_id) & (Referral.clinic == actor.clinic_id)).order_by(
            Referral.created_at, ascending=False)
        await audit.record(actor, "referral.listed", patient_id=patient_id, object_type="patient",
                           object_id=patient_id)
    for row in rows:
        row["history"] = await ReferralEvent.select().where(ReferralEvent.referral == row["id"]).order_by(
            ReferralEvent.at)
        row["steps"] = [s for s in NEXT[row["status"]] if s != "sent"]
    return rows


async def letter_pdf(actor: Actor, patient_id: int, referral_id: int) -> bytes:
    require(actor, Permission.READ_CLINICAL)
    async with transaction():
        row = await _owned(actor, patient_id, referral_id)
        if not row["pdf"]:
            raise NotFound()
        await audit.record(actor, "referral.viewed", patient_id=patient_id, object_type="referral",
                           object_id=referral_id)
    return bytes(row["pdf"])
