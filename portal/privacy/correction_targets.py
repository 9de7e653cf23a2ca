"""The record a correction concerns (GDPR Art. 16): the choices a patient is offered (their personal details, an
appointment, a tooth, a clinical note, an allergy, medication or condition entry), that a chosen record is the
patient's own, and the record in words for the patient and for staff (derived when read, never copied)."""

import logging
from dataclasses import dataclass, replace

from portal import audit, display
from portal.charts import medical_history, teeth
from portal.charts.clinical_notes import TEMPLATE_NAMES
from portal.errors import ValidationFailed
from portal.i18n import gettext, lazy_gettext
from portal.permissions import Actor
from portal.privacy.registry import CATEGORIES
from portal.tables import Appointment, Clinic, ClinicalNote, MedicalHistory, PlanItem, ToothFinding, TreatmentPlan

log = logging.getLogger(__name__)

HISTORY = ("allergies", "medications", "conditions")  # entries of the medical history, by its field
RECORDS = ("appointment", "tooth", "note", *HISTORY)
CATEGORY_OF = {"appointment": "appointments", "tooth": "tooth_chart", "note": "clinical_notes",
               **{field: "medical_history" for field in HISTORY}}
PERSONAL = ("identity", "contact")  # the categories whose correctable details are the patient record itself
GROUPS = {"personal": lazy_gettext("Personal details"), "medical_history": lazy_gettext("Medical history"),
          "appointment": lazy_gettext("Appointments"), "tooth": lazy_gettext("Teeth"),
          "note": lazy_gettext("Clinical notes")}
LISTED = 60  # newest appointments and notes offered; older ones by the patient's own words


@dataclass(frozen=True)
class Target:
    """What a correction is about: kind ("personal" or one of RECORDS), the record's id (a tooth: its FDI number;
    an entry of the medical history: the version's row id; none for personal details), and the category/field
    the existing rules (permissions, recipients, applying) work with."""

    kind: str
    id: int | None
    category: str
    field: str


def parse(value: str) -> tuple[str, int | None] | tuple[str, str]:
    """`kind:id` for a record, `category.field` for a detail (the form's older shape, still accepted)."""
    kind, colon, raw = value.partition(":")
    if colon:
        return kind, int(raw) if raw.isdigit() and len(raw) < 10 else -1
    category, _, field = value.partition(".")
    return category, field


async def _zone_and_numbering(clinic_id: int) -> tuple[str, str]:
    row = await Clinic.select(Clinic.time_zone, Clinic.tooth_numbering).where(Clinic.id == clinic_id).first()
    return row["time_zone"], row["tooth_numbering"]


def tooth_words(fdi: int, numbering: str) -> str:
    if numbering == "universal":
        return gettext("Tooth %(tooth)s (FDI %(fdi)s)", tooth=teeth.label(fdi, numbering), fdi=fdi)
    return gettext("Tooth %(tooth)s", tooth=fdi)


def _appointment_words(row: dict, zone: str) -> str:
    return gettext("Appointment of %(when)s (%(type)s)", when=display.format_instant(row["starts_at"], zone, "long"),
                   type=row["type"])


def _note_words(row: dict, zone: str) -> str:
    return gettext("Clinical note of %(day)s (%(kind)s, %(author)s)",
                   day=display.format_instant(row["signed_at"], zone, "long_date"),
                   kind=TEMPLATE_NAMES.get(row["template"], row["template"]), author=row["author_name"])


def _entry_words(field: str, row: dict | None, zone: str) -> str:
    label = CATEGORIES["medical_history"].correctable[field]
    if row is None:
        return gettext("%(entry)s (nothing recorded yet)", entry=label)
    return gettext("%(entry)s as recorded on %(day)s: %(text)s", entry=label,
                   day=display.format_instant(row["recorded_at"], zone, "long_date"),
                   text=_short(row[field]) or "—")


def _short(text: str, limit: int = 60) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


async def _appointments(patient_id: int, ids: list[int] | None = None) -> list[dict]:
    where = "a.patient = {}" + (" AND a.id = ANY({}::int[])" if ids is not None else "")
    args = (patient_id, ids) if ids is not None else (patient_id,)
    return await Appointment.raw(
        "SELECT a.id, a.starts_at, t.name AS type FROM appointment a JOIN appointment_type t "
        f"ON t.id = a.appointment_type WHERE {where} ORDER BY a.starts_at DESC LIMIT {LISTED}", *args)


async def _teeth(patient_id: int) -> list[int]:
    """Teeth with a finding or a planned procedure on the patient's chart."""
    rows = await ToothFinding.raw(
        "SELECT tooth FROM tooth_finding WHERE patient = {} UNION SELECT i.tooth FROM plan_item i "
        "JOIN treatment_plan p ON p.id = i.plan WHERE p.patient = {} AND i.tooth IS NOT NULL ORDER BY 1",
        patient_id, patient_id)
    return [row["tooth"] for row in rows]


async def _notes(patient_id: int, ids: list[int] | None = None) -> list[dict]:
    query = ClinicalNote.select(ClinicalNote.id, ClinicalNote.signed_at, ClinicalNote.template,
                                ClinicalNote.author_name).where(ClinicalNote.patient == patient_id)
    if ids is not None:
        query = query.where(ClinicalNote.id.is_in(ids))
    return await query.order_by(ClinicalNote.signed_at, ascending=False).limit(LISTED)


async def _latest_history(patient_id: int) -> dict | None:
    return await MedicalHistory.select().where(MedicalHistory.patient == patient_id).order_by(
        MedicalHistory.version, ascending=False).first()


async def choices(clinic_id: int, patient_id: int, clinical: bool = True) -> list[tuple[str, list[tuple[str, str]]]]:
    """The form's select, grouped by kind: (group label, [(value, label)]); without `clinical` (a contact change
    is cooling off) the chart's records are left out, as on the data page."""
    zone, numbering = await _zone_and_numbering(clinic_id)
    personal = [(f"{name}.{field}", label) for name in PERSONAL
                for field, label in CATEGORIES[name].correctable.items()]
    groups = [(str(GROUPS["personal"]), personal)]
    if clinical:
        latest = await _latest_history(patient_id)
        groups.append((str(GROUPS["medical_history"]),
                       [(f"{field}:{latest['id']}" if latest else f"medical_history.{field}",
                         _entry_words(field, latest, zone)) for field in HISTORY]))
    appointments = await _appointments(patient_id)
    if appointments:
        groups.append((str(GROUPS["appointment"]), [(f"appointment:{row['id']}", _appointment_words(row, zone))
                                                    for row in appointments]))
    if clinical:
        if found := await _teeth(patient_id):
            groups.append((str(GROUPS["tooth"]), [(f"tooth:{fdi}", tooth_words(fdi, numbering)) for fdi in found]))
        if notes := await _notes(patient_id):
            groups.append((str(GROUPS["note"]), [(f"note:{row['id']}", _note_words(row, zone)) for row in notes]))
    return groups


async def _belongs(patient_id: int, kind: str, record_id: int) -> bool:
    if kind == "appointment":
        return await Appointment.exists().where((Appointment.id == record_id) & (Appointment.patient == patient_id))
    if kind == "note":
        return await ClinicalNote.exists().where((ClinicalNote.id == record_id) & (ClinicalNote.patient == patient_id))
    if kind == "tooth":
        return record_id in teeth.ALL_TEETH and (
            await ToothFinding.exists().where((ToothFinding.patient == patient_id) & (ToothFinding.tooth == record_id))
            or await PlanItem.exists().where((PlanItem.tooth == record_id) & PlanItem.plan.is_in(
                TreatmentPlan.select(TreatmentPlan.id).where(TreatmentPlan.patient == patient_id))))
    # an entry: the form offers the newest version's; an older one of the same patient (a version recorded while
    # the form was open) is still theirs, and approving appends to the newest anyway
    return await MedicalHistory.exists().where((MedicalHistory.id == record_id)
                                               & (MedicalHistory.patient == patient_id))


async def resolve(actor: Actor, patient_id: int, value: str) -> Target:
    """The chosen target, checked to be this patient's own record; another patient's (or an unknown) id is
    refused beside the field, logged and audited, and nothing is filed."""
    first, second = parse(value)
    if isinstance(second, str):  # category.field: a personal detail, or an entry named without its version
        category = CATEGORIES.get(first)
        if category is None or second not in category.correctable:
            raise ValidationFailed({"target": gettext("Choose what to correct.")})
        if first in PERSONAL:
            return Target("personal", patient_id, first, second)
        if first == "medical_history" and second in HISTORY:
            latest = await _latest_history(patient_id)
            return Target(second, latest["id"] if latest else None, first, second)
        return Target("personal", patient_id, first, second)
    kind, record_id = first, second
    if kind not in RECORDS or record_id < 0:
        raise ValidationFailed({"target": gettext("Choose what to correct.")})
    if not await _belongs(patient_id, kind, record_id):
        log.warning("correction target refused: %s %s is not a record of patient %s (clinic %s)", kind, record_id,
                    patient_id, actor.clinic_id)
        await audit.record(actor, "privacy.correction_target_refused", patient_id=patient_id,
                           object_type=kind, object_id=record_id)
        raise ValidationFailed({"target": gettext("Choose one of the records listed.")})
    return Target(kind, record_id, CATEGORY_OF[kind], kind if kind in HISTORY else "")


async def describe(clinic_id: int, patient_id: int, kind: str | None, record_id: int | None) -> str | None:
    """The target in words, in the reader's language (None: personal details or no record named, which the
    request's other details already say); a record no longer held says so."""
    if kind is None or kind == "personal":
        return None
    zone, numbering = await _zone_and_numbering(clinic_id)
    if kind == "tooth" and record_id is not None:
        return tooth_words(record_id, numbering)
    if kind == "appointment":
        rows = await _appointments(patient_id, [record_id or 0])
        return _appointment_words(rows[0], zone) if rows else gettext("An appointment no longer held")
    if kind == "note":
        rows = await _notes(patient_id, [record_id or 0])
        return _note_words(rows[0], zone) if rows else gettext("A clinical note no longer held")
    if kind in HISTORY:
        row = None if record_id is None else await MedicalHistory.select().where(
            (MedicalHistory.id == record_id) & (MedicalHistory.patient == patient_id)).first()
        return _entry_words(kind, row, zone)
    return None


async def append_entry(actor: Actor, patient_id: int, field: str, text: str) -> int:
    """An approved correction of a medical-history entry: a new version with the entry as proposed, the rest as
    the newest version has it (the history is versioned, never overwritten; its alerts follow the new version)."""
    latest = await medical_history.get_version(actor, patient_id)
    form = replace(medical_history.form_from_version(latest), **{field: text})
    return await medical_history.save_history(actor, patient_id, form)
