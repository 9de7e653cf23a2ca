"""The chart's data categories (history, alerts, tooth chart, plans, notes, images) and text conversations,
registered once each.

The chart's are clinical records: isolated when an erasure is approved and erased by the retention engine on the date
the clinic's confirmed rule gives. Each `erase` runs before identity's (lower order), inside the engine's
transaction, which has allowed deleting the append-only rows. Conversations are administrative: erased
at once when an erasure is approved.
"""

from dataclasses import replace

from portal.charts.clinical_notes import TEMPLATE_NAMES
from portal.charts.odontogram import KINDS, MATERIALS, STATES
from portal.charts.treatment_plans import STATUSES
from portal.i18n import lazy_gettext
from portal.imaging import formats as image_formats
from portal.imaging import images as imaging
from portal.permissions import Role
from portal.privacy.categories import CARE, allow_erasure
from portal.privacy.registry import (
    DAY,
    ID,
    MAYBE_WHEN,
    SURFACES,
    TEXT,
    TOOTH,
    WHEN,
    DataCategory,
    ExportFile,
    one_of,
    plain_rows,
    reference,
    register,
)
from portal.tables import (
    ClinicalNote,
    ConversationMessage,
    MedicalAlert,
    MedicalHistory,
    PatientImage,
    PatientImageBlob,
    PlanAcceptance,
    PlanItem,
    ToothFinding,
    TreatmentPlan,
)

HISTORY_FIELDS = {"version": lazy_gettext("Version number (1 is the first)"),
                  "recorded_at": lazy_gettext("When this version was recorded"),
                  "recorded_by_name": lazy_gettext("Who recorded it"), "conditions": lazy_gettext("Conditions"),
                  "medications": lazy_gettext("Medications"),
                  "allergies": lazy_gettext("Allergies"), "pregnant": lazy_gettext("Pregnant (true, false or empty)"),
                  "smoking": lazy_gettext("Smoking: unknown, never, former or current"),
                  "notes": lazy_gettext("Other notes")}
ALERT_FIELDS = {"label": lazy_gettext("The alert"), "severity": lazy_gettext("high or medium"),
                "source": lazy_gettext("history (derived) or manual"),
                "created_at": lazy_gettext("When it was raised"),
                "resolved_at": lazy_gettext("When it stopped applying (empty: active)")}
FINDING_FIELDS = {"id": lazy_gettext("Finding id"), "tooth": lazy_gettext("Tooth, FDI numbering (ISO 3950)"),
                  "surfaces": lazy_gettext("Surfaces: M, O (occlusal/incisal), D, "
                  "B (buccal/facial), L (lingual/palatal)"), "kind": lazy_gettext("Finding"),
                  "material": lazy_gettext("Material"),
                  "state": lazy_gettext("existing, planned or completed"), "note": lazy_gettext("Note"),
                  "recorded_at": lazy_gettext("When recorded"),
                  "recorded_by_name": lazy_gettext("Who recorded it"),
                  "plan_item": lazy_gettext("The planned procedure it belongs to (treatment_plans/<id>)")}
PLAN_FIELDS = {"id": lazy_gettext("Procedure id"), "plan_id": lazy_gettext("Plan id (items of one plan share it)"),
               "plan_title": lazy_gettext("Treatment plan"), "plan_status": lazy_gettext("Plan status"),
               "phase": lazy_gettext("Phase"), "code": lazy_gettext("Procedure code"),
               "description": lazy_gettext("Procedure"), "fee": lazy_gettext("Fee as planned"),
               "currency": lazy_gettext("Currency (ISO 4217)"),
               "tooth": lazy_gettext("Tooth (FDI)"), "surfaces": lazy_gettext("Surfaces"),
               "status": lazy_gettext("planned, completed or declined"),
               "completed_at": lazy_gettext("When completed"),
               "accepted": lazy_gettext("Acceptances: who, when, version and total")}
NOTE_FIELDS = {"appointment": lazy_gettext("The visit it records (appointments/<id>)"),
               "author_id": lazy_gettext("The author's staff number at the clinic that signed it"),
               "signed_at": lazy_gettext("When signed"), "template": lazy_gettext("Kind of note"),
               "body": lazy_gettext("The note"),
               "author_name": lazy_gettext("Author"), "author_role": lazy_gettext("Author's role"),
               "author_credentials": lazy_gettext("Author's registration"),
               "amends": lazy_gettext("Id of the note this amends (empty for an original)"),
               "id": lazy_gettext("Note id"),
               "amendment_reason": lazy_gettext("Why it was amended"),
               "content_hash": lazy_gettext("SHA-256 of what was signed")}
IMAGE_FIELDS = {"id": lazy_gettext("Image id"), "kind": lazy_gettext("xray, photo or scan"),
                "format": lazy_gettext("png, jpeg, dicom or stl"),
                "taken_on": lazy_gettext("Date taken"), "teeth": lazy_gettext("Teeth shown (FDI)"),
                "caption": lazy_gettext("Caption"),
                "original_name": lazy_gettext("File name when uploaded"),
                "file": lazy_gettext("File name in this export's files/ folder"),
                "withdrawn_at": lazy_gettext("Withdrawn as wrongly filed on (kept, no longer on the chart)"),
                "withdrawn_reason": lazy_gettext("Why it was withdrawn"),
                "visit": lazy_gettext("The visit on the day it was taken (appointments/<id>)"),
                "sha256": lazy_gettext("SHA-256 of the file")}
HISTORY_TYPES = {"version": ID, "recorded_at": WHEN, "pregnant": {"type": ["boolean", "null"]},
                 "smoking": one_of(("unknown", "never", "former", "current"))}
ALERT_TYPES = {"severity": one_of(("high", "medium")), "source": one_of(("history", "manual")), "created_at": WHEN,
               "resolved_at": MAYBE_WHEN}
FINDING_TYPES = {"id": ID, "tooth": TOOTH, "surfaces": SURFACES, "kind": one_of(KINDS), "material": one_of(MATERIALS),
                 "state": one_of(STATES), "note": TEXT, "recorded_at": WHEN, "recorded_by_name": TEXT,
                 "plan_item": reference("treatment_plans")}
PLAN_TYPES = {"id": ID, "plan_id": ID, "plan_title": TEXT, "plan_status": one_of(STATUSES),
              "phase": {"type": "integer", "minimum": 1}, "code": TEXT, "description": TEXT,
              "fee": {"type": "string", "pattern": "^-?[0-9]+([.][0-9]+)?$"},
              "currency": {"type": "string", "pattern": "^[A-Z]{3}$"}, "tooth": {**TOOTH, "type": ["integer", "null"]},
              "surfaces": SURFACES, "status": one_of(("planned", "completed", "declined")), "completed_at": MAYBE_WHEN}
NOTE_TYPES = {"id": ID, "appointment": reference("appointments"), "author_id": {"type": ["integer", "null"]},
              "signed_at": WHEN, "template": one_of(TEMPLATE_NAMES), "body": TEXT, "author_name": TEXT,
              "author_role": one_of(Role), "amends": {"type": ["integer", "null"]},
              "content_hash": {"type": "string", "pattern": "^[0-9a-f]{64}$"}}
IMAGE_TYPES = {"id": ID, "kind": one_of(imaging.KINDS), "format": one_of(image_formats.LABELS), "taken_on": DAY,
               "withdrawn_at": MAYBE_WHEN, "visit": reference("appointments"),
               "sha256": {"type": ["string", "null"], "pattern": "^[0-9a-f]{64}$"}}


async def _history(patient_id: int) -> list[dict]:
    rows = await MedicalHistory.select().where(MedicalHistory.patient == patient_id).order_by(MedicalHistory.version)
    return plain_rows(rows, HISTORY_FIELDS)


async def _erase_history(patient_id: int) -> int:
    await allow_erasure()
    return len(await MedicalHistory.delete().where(MedicalHistory.patient == patient_id).returning(MedicalHistory.id))


async def _alerts(patient_id: int) -> list[dict]:
    rows = await MedicalAlert.select().where(MedicalAlert.patient == patient_id).order_by(MedicalAlert.id)
    return plain_rows(rows, ALERT_FIELDS)


async def _erase_alerts(patient_id: int) -> int:
    return len(await MedicalAlert.delete().where(MedicalAlert.patient == patient_id).returning(MedicalAlert.id))


def _ref(category: str, record_id: int | None) -> str | None:
    return None if record_id is None else f"{category}/{record_id}"


async def _findings(patient_id: int) -> list[dict]:
    rows = await ToothFinding.select().where(ToothFinding.patient == patient_id).order_by(ToothFinding.id)
    for row in rows:
        row["plan_item"] = _ref("treatment_plans", row["plan_item"])
    return plain_rows(rows, FINDING_FIELDS)


async def _erase_findings(patient_id: int) -> int:
    return len(await ToothFinding.delete().where(ToothFinding.patient == patient_id).returning(ToothFinding.id))


async def _plans(patient_id: int) -> list[dict]:
    plans = {p["id"]: p for p in await TreatmentPlan.select().where(TreatmentPlan.patient == patient_id)}
    if not plans:
        return []
    accepted: dict[int, list[str]] = {}
    for a in await PlanAcceptance.select().where(PlanAcceptance.plan.is_in(list(plans))).order_by(PlanAcceptance.id):
        accepted.setdefault(a["plan"], []).append(
            f"{a['accepted_by']} on {a['at'].date().isoformat()}, version {a['plan_version']}, "
            f"{a['total']} {a['currency']}")
    rows = []
    for item in await PlanItem.select().where(PlanItem.plan.is_in(list(plans))).order_by(PlanItem.plan, PlanItem.id):
        plan = plans[item["plan"]]
        rows.append({**item, "plan_id": plan["id"], "plan_title": plan["title"], "plan_status": plan["status"],
                     "currency": plan["currency"],
                     "accepted": "; ".join(accepted.get(plan["id"], []))})
    return plain_rows(rows, PLAN_FIELDS)


async def _erase_plans(patient_id: int) -> int:
    await allow_erasure()  # acceptances are append-only; they go with their plan
    return len(await TreatmentPlan.delete().where(TreatmentPlan.patient == patient_id).returning(TreatmentPlan.id))


async def _notes(patient_id: int) -> list[dict]:
    rows = await ClinicalNote.select().where(ClinicalNote.patient == patient_id).order_by(ClinicalNote.id)
    for row in rows:
        row["appointment"], row["author_id"] = _ref("appointments", row["appointment"]), row["author"]
    return plain_rows(rows, NOTE_FIELDS)


async def _erase_notes(patient_id: int) -> int:
    await allow_erasure()
    await ClinicalNote.delete().where((ClinicalNote.patient == patient_id) & ClinicalNote.amends.is_not_null())
    return len(await ClinicalNote.delete().where(ClinicalNote.patient == patient_id).returning(ClinicalNote.id))


async def _image_rows(patient_id: int) -> list[dict]:
    """Each image with its file name and the visit of its day (derived: the patient's one appointment that day)."""
    rows = await PatientImage.raw(
        "SELECT i.*, (SELECT min(a.id) FROM appointment a WHERE a.patient = i.patient AND a.status <> 'cancelled' "
        "AND (a.starts_at AT TIME ZONE c.time_zone)::date = i.taken_on) AS visit_id, "
        "encode(sha256(b.data), 'hex') AS sha256 FROM patient_image i JOIN clinic c ON c.id = i.clinic "
        "LEFT JOIN patient_image_blob b ON b.image = i.id AND b.rendition = 'original' "
        "WHERE i.patient = {} ORDER BY i.id", patient_id)
    for row in rows:
        row["file"], row["visit"] = imaging.download_name(row), _ref("appointments", row["visit_id"])
    return rows


async def _images(patient_id: int) -> list[dict]:
    return plain_rows(await _image_rows(patient_id), IMAGE_FIELDS)


async def _image_files(patient_id: int) -> list[ExportFile]:
    files = []
    for row in await _image_rows(patient_id):
        blob = await PatientImageBlob.select(PatientImageBlob.content_type, PatientImageBlob.data).where(
            (PatientImageBlob.image == row["id"]) & (PatientImageBlob.rendition == "original")).first()
        if blob is not None:
            files.append(ExportFile(row["file"], blob["content_type"], bytes(blob["data"])))
    return files


for category in (
    DataCategory(name="medical_history", title=lazy_gettext("Medical history"), order=30, retention="clinical",
                 basis="end_of_treatment",
                 purpose=lazy_gettext("For safe treatment: conditions, medicines and allergies."),
                 legal_basis=CARE, recipients=("hosting",), fields=HISTORY_FIELDS,
                 types=HISTORY_TYPES, collect=_history,
                 erase=_erase_history,
                 correctable={"conditions": lazy_gettext("Conditions"), "medications": lazy_gettext("Medications"),
                              "allergies": lazy_gettext("Allergies")}),
    DataCategory(name="medical_alerts", title=lazy_gettext("Medical alerts"), order=31, retention="clinical",
                 basis="end_of_treatment",
                 purpose=lazy_gettext("Warnings every member of the team must see before any treatment."),
                 legal_basis=CARE, recipients=("hosting",), fields=ALERT_FIELDS,
                 types=ALERT_TYPES, collect=_alerts, erase=_erase_alerts),
    DataCategory(name="tooth_chart", title=lazy_gettext("Tooth chart"), order=40, retention="clinical",
                 basis="end_of_treatment",
                 purpose=lazy_gettext("The state of each tooth and surface, found and treated."), legal_basis=CARE,
                 recipients=("hosting", "lab"), fields=FINDING_FIELDS,
                 types=FINDING_TYPES, collect=_findings, erase=_erase_findings),
    DataCategory(name="treatment_plans", title=lazy_gettext("Treatment plans"), order=45, retention="clinical",
                 basis="end_of_treatment",
                 purpose=lazy_gettext("The treatment proposed, its cost, and what was agreed to."),
                 legal_basis=CARE, recipients=("hosting",), fields=PLAN_FIELDS,
                 types=PLAN_TYPES, collect=_plans, erase=_erase_plans),
    DataCategory(name="clinical_notes", title=lazy_gettext("Clinical notes"), order=50, retention="clinical",
                 basis="end_of_treatment",
                 purpose=lazy_gettext("The record of each examination and treatment, signed by its author."),
                 legal_basis=CARE, recipients=("hosting",), fields=NOTE_FIELDS,
                 types=NOTE_TYPES, collect=_notes, erase=_erase_notes),
    DataCategory(name="images", title=lazy_gettext("X-rays, photos and scans"), order=55, retention="clinical",
                 basis="end_of_treatment", purpose=lazy_gettext("Diagnosis and the record of the treatment."),
                 legal_basis=CARE,
                 recipients=("hosting", "lab"), fields=IMAGE_FIELDS, types=IMAGE_TYPES, collect=_images,
                 erase=imaging.erase_patient_images, files=_image_files),
):
    register(replace(category, clinical=True))  # the health record (portal/contacts: the cooling-off)


CONVERSATION_FIELDS = {"at": lazy_gettext("When"), "channel": lazy_gettext("whatsapp, sms or email"),
                       "direction": lazy_gettext("in (from you) or out (from us)"),
                       "email": lazy_gettext("The address written from or to (email)"),
                       "subject": lazy_gettext("The subject (email)"),
                       "body": lazy_gettext("The message"),
                       "outcome": lazy_gettext("What it did (e.g. confirmed, cancelled)")}


async def _conversations(patient_id: int) -> list[dict]:
    rows = await ConversationMessage.select().where(ConversationMessage.patient == patient_id).order_by(
        ConversationMessage.at)
    return plain_rows(rows, CONVERSATION_FIELDS)


async def _conversation_files(patient_id: int) -> list[ExportFile]:
    """The attachments you sent us by email that we kept (refused ones were never stored)."""
    rows = await ConversationMessage.raw(
        "SELECT a.id, a.filename, a.content_type, a.data FROM conversation_attachment a JOIN conversation_message m "
        "ON m.id = a.message WHERE m.patient = {} AND a.data IS NOT NULL ORDER BY a.id", patient_id)
    return [ExportFile(name=f"conversations/{row['id']}-{row['filename']}", content_type=row["content_type"],
                       data=bytes(row["data"])) for row in rows]


async def _erase_conversations(patient_id: int) -> int:
    return len(await ConversationMessage.delete().where(ConversationMessage.patient == patient_id).returning(
        ConversationMessage.id))


register(DataCategory(
    read_permission="read_demographics",
    name="conversations", title=lazy_gettext("Conversations (WhatsApp, SMS, email)"), order=76,
    retention="administrative", basis="on_request",
    purpose=lazy_gettext("Messages to us (appointment replies, questions, attachments) and our answers."),
    legal_basis=lazy_gettext("GDPR Art. 6(1)(b) (the treatment agreement)"),
    recipients=("hosting", "whatsapp", "sms", "mail"),
    fields=CONVERSATION_FIELDS, collect=_conversations, erase=_erase_conversations, files=_conversation_files))
