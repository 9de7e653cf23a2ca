"""Perio exams: started with the teeth present, charted tooth by tooth while a draft, signed once and then immutable.

The entry order is the usual one (`entry_sequence`): buccal then lingual, quadrant by quadrant, upper arch then
lower; the keypad on the exam page follows the order the page is rendered in. A signed exam is kept by the
database (trigger); a later exam is a new one. Figures (attachment, summary, stage and grade) are computed in
portal/charts/perio_classification.py, never stored twice.
"""

import dataclasses
import hashlib
import json
from datetime import datetime, timezone

from portal import audit, display
from portal.charts import odontogram, teeth
from portal.charts.clinical_notes import MISSING_REGISTRATION, REGISTERED_ROLES
from portal.charts.perio_classification import (
    GRADES,
    SITES,
    STAGES,
    Suggestion,
    Summary,
    attachment,
    multi_rooted,
    suggest,
)
from portal.charts.perio_classification import summarise as summarise_rows
from portal.db import transaction
from portal.errors import NotFound, ValidationFailed
from portal.i18n import _, lazy_gettext
from portal.patients import ensure_in_clinic
from portal.permissions import Actor, Permission, require
from portal.tables import MedicalHistory, PerioExam, PerioTooth, Staff

MAX_DEPTH = 15
MOBILITY = (0, 1, 2, 3)
FURCATION = (0, 1, 2, 3)
FLAGS = ("bleeding", "suppuration", "plaque", "calculus")
FLAG_KEYS = {"bleeding": "b", "suppuration": "s", "plaque": "p", "calculus": "c"}
EXAM_COLUMNS = (PerioExam.id, PerioExam.patient, PerioExam.teeth, PerioExam.created_at, PerioExam.created_by_name,
                PerioExam.signed_at, PerioExam.signed_by_name, PerioExam.signed_by_role,
                PerioExam.signed_by_credentials, PerioExam.content_hash, PerioExam.stage, PerioExam.grade)
TOOTH_COLUMNS = (PerioTooth.tooth, PerioTooth.depths, PerioTooth.margins, PerioTooth.bleeding,
                 PerioTooth.suppuration, PerioTooth.plaque, PerioTooth.calculus, PerioTooth.mobility,
                 PerioTooth.furcation)

# One posted tooth: d0..d5 depths, g0..g5 margins, b/s/p/c0..5 flags, mobility, furcation (sites in SITES order).
ToothForm = dataclasses.make_dataclass("ToothForm", [
    *((f"{kind}{i}", str, dataclasses.field(default="")) for kind in "dg" for i in range(6)),
    *((f"{key}{i}", bool, dataclasses.field(default=False)) for key in FLAG_KEYS.values() for i in range(6)),
    ("mobility", str, dataclasses.field(default="0")), ("furcation", str, dataclasses.field(default="0"))],
    frozen=True)


display.register_labels("perio_flag", {"bleeding": lazy_gettext("Bleeding"), "suppuration": lazy_gettext("Suppuration"),
                                       "plaque": lazy_gettext("Plaque"), "calculus": lazy_gettext("Calculus")})


@dataclasses.dataclass(frozen=True)
class SignForm:
    stage: str = ""
    grade: str = ""


# The probing runs: (teeth in the order the probe travels, sites of each tooth in that order). Travelling towards
# the midline the probe meets distal first, away from it mesial first; every run starts where the last ended.
RUNS = (
    (teeth.UPPER_RIGHT, (0, 1, 2)), (teeth.UPPER_LEFT, (2, 1, 0)),  # upper buccal 18 → 28
    (teeth.UPPER_LEFT[::-1], (3, 4, 5)), (teeth.UPPER_RIGHT[::-1], (5, 4, 3)),  # upper palatal 28 → 18
    (teeth.LOWER_RIGHT, (0, 1, 2)), (teeth.LOWER_LEFT, (2, 1, 0)),  # lower buccal 48 → 38
    (teeth.LOWER_LEFT[::-1], (3, 4, 5)), (teeth.LOWER_RIGHT[::-1], (5, 4, 3)),  # lower lingual 38 → 48
)


def entry_sequence(present: list[int]) -> list[tuple[int, int]]:
    """(tooth, site index) in the order a clinician probes: buccal then lingual, quadrant by quadrant, upper arch
    then lower; missing teeth are skipped."""
    return [(tooth, site) for run, sites in RUNS for tooth in run if tooth in present for site in sites]


def blank_tooth(tooth: int) -> dict:
    return {"tooth": tooth, "depths": [None] * 6, "margins": [0] * 6, **{flag: [False] * 6 for flag in FLAGS},
            "mobility": 0, "furcation": 0}


def form_of(row: dict):
    """The form as the stored tooth fills it (what the page shows before anything is typed)."""
    values = {**{f"d{i}": "" if d is None else str(d) for i, d in enumerate(row["depths"])},
              **{f"g{i}": str(m) for i, m in enumerate(row["margins"])},
              **{f"{key}{i}": bool(row[flag][i]) for flag, key in FLAG_KEYS.items() for i in range(6)},
              "mobility": str(row["mobility"]), "furcation": str(row["furcation"])}
    return ToothForm(**values)


def _number(text: str, low: int, high: int) -> int | None:
    text = text.strip().replace("\u2212", "-")
    body = text[1:] if text[:1] in "+-" else text
    if not (body.isascii() and body.isdigit() and len(body) <= 2):
        raise ValueError(text)
    value = int(text)
    if not low <= value <= high:
        raise ValueError(text)
    return value


def typed_attachment(form, site: int) -> int | None:
    """The attachment level of what is in the form (as typed, before saving), or None."""
    try:
        depth, margin = getattr(form, f"d{site}"), getattr(form, f"g{site}")
        return attachment(_number(depth, 0, MAX_DEPTH), _number(margin, -MAX_DEPTH, MAX_DEPTH) if margin.strip()
                          else 0) if depth.strip() else None
    except ValueError:
        return None


def read_tooth(tooth: int, form) -> dict:
    """A posted tooth as a row; ValidationFailed with a message per field (d0, g3, furcation ...)."""
    errors: dict[str, str] = {}
    row = blank_tooth(tooth)
    for i, site in enumerate(SITES):
        depth, margin = getattr(form, f"d{i}"), getattr(form, f"g{i}")
        try:
            row["depths"][i] = _number(depth, 0, MAX_DEPTH) if depth.strip() else None
        except ValueError:
            errors[f"d{i}"] = _("%(site)s: probing depth is a whole number from 0 to %(max)s mm.", site=site,
                                max=MAX_DEPTH)
        try:
            row["margins"][i] = _number(margin, -MAX_DEPTH, MAX_DEPTH) if margin.strip() else 0
        except ValueError:
            errors[f"g{i}"] = _("%(site)s: gingival margin is a whole number from -%(max)s to %(max)s mm "
                                "(recession negative).", site=site, max=MAX_DEPTH)
        if f"d{i}" not in errors and f"g{i}" not in errors and row["depths"][i] is not None \
                and row["depths"][i] - row["margins"][i] < 0:
            errors[f"g{i}"] = _("%(site)s: the margin cannot lie further above the enamel junction than the pocket "
                                "is deep.", site=site)
        for flag, key in FLAG_KEYS.items():
            row[flag][i] = bool(getattr(form, f"{key}{i}"))
    for name, allowed in (("mobility", MOBILITY), ("furcation", FURCATION)):
        value = getattr(form, name).strip()
        if value.isdigit() and int(value) in allowed:
            row[name] = int(value)
        else:
            errors[name] = _("Choose a value from the list.")
    if row["furcation"] and not multi_rooted(tooth) and "furcation" not in errors:
        errors["furcation"] = _("Tooth %(tooth)s has a single root: no furcation.", tooth=tooth)
    if errors:
        raise ValidationFailed(errors)
    return row


async def present_teeth(actor: Actor, patient_id: int) -> list[int]:
    """The permanent teeth not charted as missing (a planned extraction is still there)."""
    chart = await odontogram.chart_findings(actor, patient_id)
    return [t for t in teeth.PERMANENT
            if chart.get(t, {}).get("whole", {}).get("missing") not in ("existing", "completed")]


async def start_exam(actor: Actor, patient_id: int) -> int:
    """A draft exam with the teeth present today; an unsigned draft already open is returned instead."""
    require(actor, Permission.WRITE_CLINICAL)
    await ensure_in_clinic(actor, patient_id)
    async with transaction():
        draft = await PerioExam.select(PerioExam.id).where(
            (PerioExam.clinic == actor.clinic_id) & (PerioExam.patient == patient_id)
            & PerioExam.signed_at.is_null()).first()
        if draft:
            return draft["id"]
        present = await present_teeth(actor, patient_id)
        exam_id = (await PerioExam.insert(PerioExam(
            clinic=actor.clinic_id, patient=patient_id, teeth=present, created_by=actor.id,
            created_by_name=actor.name, created_at=datetime.now(timezone.utc))))[0]["id"]
        await audit.record(actor, "perio_exam.started", patient_id=patient_id, object_type="perio_exam",
                           object_id=exam_id, detail={"teeth": len(present)})
    return exam_id


async def _exam(actor: Actor, patient_id: int, exam_id: int) -> dict:
    exam = await PerioExam.select(*EXAM_COLUMNS).where(
        (PerioExam.id == exam_id) & (PerioExam.patient == patient_id) & (PerioExam.clinic == actor.clinic_id)).first()
    if exam is None:
        raise NotFound()
    return exam


async def _rows(clinic_id: int, exam_ids: list[int]) -> dict[int, dict[int, dict]]:
    found: dict[int, dict[int, dict]] = {exam_id: {} for exam_id in exam_ids}
    if exam_ids:
        for row in await PerioTooth.select(PerioTooth.exam, *TOOTH_COLUMNS).where(
                PerioTooth.exam.is_in(exam_ids) & (PerioTooth.clinic == clinic_id)).order_by(PerioTooth.id):
            found[row.pop("exam")][row["tooth"]] = row
    return found


async def save_tooth(actor: Actor, patient_id: int, exam_id: int, tooth: int, form) -> dict:
    """Store one tooth of a draft exam (again and again until signed); returns the row as stored."""
    require(actor, Permission.WRITE_CLINICAL)
    await ensure_in_clinic(actor, patient_id)
    exam = await _exam(actor, patient_id, exam_id)
    if tooth not in exam["teeth"]:
        raise NotFound()
    if exam["signed_at"] is not None:
        raise ValidationFailed({"form": _("This exam is signed and cannot change: start a new exam.")})
    row = read_tooth(tooth, form)
    values = {key: row[key] for key in ("depths", "margins", *FLAGS, "mobility", "furcation")}
    async with transaction():
        await PerioTooth.raw(
            "INSERT INTO perio_tooth (clinic, exam, tooth, depths, margins, bleeding, suppuration, plaque, calculus, "
            "mobility, furcation, recorded_by, recorded_at) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, "
            "now()) ON CONFLICT (exam, tooth) DO UPDATE SET depths = EXCLUDED.depths, margins = EXCLUDED.margins, "
            "bleeding = EXCLUDED.bleeding, suppuration = EXCLUDED.suppuration, plaque = EXCLUDED.plaque, "
            "calculus = EXCLUDED.calculus, mobility = EXCLUDED.mobility, furcation = EXCLUDED.furcation, "
            "recorded_by = EXCLUDED.recorded_by, recorded_at = EXCLUDED.recorded_at",
            actor.clinic_id, exam_id, tooth, *values.values(), actor.id)
        await audit.record(actor, "perio_tooth.saved", patient_id=patient_id, object_type="perio_exam",
                           object_id=exam_id, detail={"tooth": tooth})
    return row


async def _risk(clinic_id: int, patient_id: int) -> tuple[bool, bool]:
    """Smoking and diabetes from the latest medical history (the grade modifiers the record knows)."""
    history = await MedicalHistory.select(MedicalHistory.smoking, MedicalHistory.conditions).where(
        (MedicalHistory.clinic == clinic_id) & (MedicalHistory.patient == patient_id)
    ).order_by(MedicalHistory.version, ascending=False).first()
    if history is None:
        return False, False
    return history["smoking"] == "current", "diabet" in history["conditions"].lower()


async def _earlier(actor: Actor, exam: dict) -> dict | None:
    """The newest signed exam before this one, for progression."""
    return await PerioExam.select(*EXAM_COLUMNS).where(
        (PerioExam.clinic == actor.clinic_id) & (PerioExam.patient == exam["patient"])
        & PerioExam.signed_at.is_not_null() & (PerioExam.id != exam["id"])
        & (PerioExam.created_at < exam["created_at"])).order_by(PerioExam.created_at, ascending=False).first()


async def _suggestion(actor: Actor, exam: dict, rows: dict[int, dict]) -> tuple[Suggestion, dict | None]:
    earlier = await _earlier(actor, exam)
    earlier_rows = (await _rows(actor.clinic_id, [earlier["id"]]))[earlier["id"]] if earlier else None
    years = (exam["created_at"] - earlier["created_at"]).days / 365.25 if earlier else 0.0
    smoker, diabetic = await _risk(actor.clinic_id, exam["patient"])
    return suggest(rows, len(exam["teeth"]), earlier_rows, years, smoker, diabetic), earlier


async def exam_page(actor: Actor, patient_id: int, exam_id: int) -> dict:
    """An exam with its teeth in entry order, summary and suggested classification; the read is audited."""
    require(actor, Permission.READ_CLINICAL)
    await ensure_in_clinic(actor, patient_id)
    async with transaction():
        exam = await _exam(actor, patient_id, exam_id)
        rows = (await _rows(actor.clinic_id, [exam_id]))[exam_id]
        suggestion, earlier = await _suggestion(actor, exam, rows)
        await audit.record(actor, "perio_exam.viewed", patient_id=patient_id, object_type="perio_exam",
                           object_id=exam_id)
    present = exam["teeth"]
    sequence = entry_sequence(present)
    order = {}
    for tooth, _site in sequence:
        order.setdefault(tooth, len(order))
    return {"exam": exam, "teeth": [rows.get(t) or blank_tooth(t) for t in sorted(present, key=order.get)],
            "sequence": {(t, i): n for n, (t, i) in enumerate(sequence)}, "summary": summarise_rows(rows),
            "suggestion": suggestion, "earlier": earlier}


async def summary(actor: Actor, patient_id: int, exam_id: int) -> tuple[dict, Summary, Suggestion]:
    require(actor, Permission.READ_CLINICAL)
    await ensure_in_clinic(actor, patient_id)
    exam = await _exam(actor, patient_id, exam_id)
    rows = (await _rows(actor.clinic_id, [exam_id]))[exam_id]
    suggestion, _earlier_exam = await _suggestion(actor, exam, rows)
    await audit.record(actor, "perio_summary.viewed", patient_id=patient_id, object_type="perio_exam",
                       object_id=exam_id)
    return exam, summarise_rows(rows), suggestion


def content_hash(exam: dict, rows: dict[int, dict], signer_id: int, signed_at: datetime, stage: str,
                 grade: str) -> str:
    """What was signed, recomputable by a later reader."""
    payload = {"exam": exam["id"], "patient": exam["patient"], "signer": signer_id, "at": signed_at.isoformat(),
               "stage": stage, "grade": grade, "teeth": [rows[t] for t in sorted(rows)]}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def may_sign(actor: Actor) -> bool:
    """Dentists and hygienists sign (a registered profession); the owner and the front desk do not."""
    return actor.role in REGISTERED_ROLES


async def sign_exam(actor: Actor, patient_id: int, exam_id: int, form: SignForm) -> None:
    """The clinician confirms (or changes) the suggested stage and grade and signs; nothing changes afterwards."""
    require(actor, Permission.WRITE_CLINICAL)
    await ensure_in_clinic(actor, patient_id)
    errors: dict[str, str] = {}
    if not may_sign(actor):
        raise ValidationFailed({"form": _("Only a dentist or hygienist signs a perio exam.")})
    staff = await Staff.select(Staff.registration_body, Staff.registration_number).where(Staff.id == actor.id).first()
    if not staff["registration_number"].strip():
        raise ValidationFailed({"form": _(MISSING_REGISTRATION)})
    if form.stage not in STAGES:
        errors["stage"] = _("Choose a stage from the list.")
    if form.stage != "none" and form.grade not in GRADES:
        errors["grade"] = _("Choose a grade from the list.")
    async with transaction():
        exam = await _exam(actor, patient_id, exam_id)
        if exam["signed_at"] is not None:
            raise ValidationFailed({"form": _("This exam is signed and cannot change: start a new exam.")})
        rows = (await _rows(actor.clinic_id, [exam_id]))[exam_id]
        if not any(d is not None for row in rows.values() for d in row["depths"]):
            errors["form"] = _("Chart at least one tooth before signing.")
        if errors:
            raise ValidationFailed(errors)
        grade = "" if form.stage == "none" else form.grade
        signed_at = datetime.now(timezone.utc)
        await PerioExam.update({
            PerioExam.signed_at: signed_at, PerioExam.signed_by: actor.id, PerioExam.signed_by_name: actor.name,
            PerioExam.signed_by_role: actor.role.value,
            PerioExam.signed_by_credentials: " ".join(p for p in staff.values() if p),
            PerioExam.content_hash: content_hash(exam, rows, actor.id, signed_at, form.stage, grade),
            PerioExam.stage: form.stage, PerioExam.grade: grade}).where(PerioExam.id == exam_id)
        await audit.record(actor, "perio_exam.signed", patient_id=patient_id, object_type="perio_exam",
                           object_id=exam_id, detail={"stage": form.stage, "grade": grade})


async def list_exams(actor: Actor, patient_id: int) -> list[dict]:
    """The patient's exams newest first, each with its summary (the read is audited)."""
    require(actor, Permission.READ_CLINICAL)
    await ensure_in_clinic(actor, patient_id)
    async with transaction():
        exams = await PerioExam.select(*EXAM_COLUMNS).where(
            (PerioExam.clinic == actor.clinic_id) & (PerioExam.patient == patient_id)
        ).order_by(PerioExam.created_at, ascending=False)
        rows = await _rows(actor.clinic_id, [e["id"] for e in exams])
        await audit.record(actor, "perio_exams.viewed", patient_id=patient_id, object_type="perio_exam",
                           detail={"exams": [e["id"] for e in exams]})
    return [{**e, "summary": summarise_rows(rows[e["id"]])} for e in exams]


async def compared_exams(actor: Actor, patient_id: int, exam_ids: list[int]) -> list[dict]:
    """Two or more of the patient's exams, oldest first, each with its teeth; none chosen: the newest two (or what
    there is). NotFound for an id that is not this patient's."""
    require(actor, Permission.READ_CLINICAL)
    await ensure_in_clinic(actor, patient_id)
    exam_ids = sorted(set(exam_ids))
    if len(exam_ids) == 1:
        raise ValidationFailed({"exam": _("Choose two or more exams to compare.")})
    async with transaction():
        query = PerioExam.select(*EXAM_COLUMNS).where(
            (PerioExam.clinic == actor.clinic_id) & (PerioExam.patient == patient_id))
        if exam_ids:
            exams = await query.where(PerioExam.id.is_in(exam_ids)).order_by(PerioExam.created_at)
            if len(exams) != len(exam_ids):
                raise NotFound()
        else:
            exams = (await query.order_by(PerioExam.created_at, ascending=False).limit(2))[::-1]
        rows = await _rows(actor.clinic_id, [e["id"] for e in exams])
        await audit.record(actor, "perio_exams.compared", patient_id=patient_id, object_type="perio_exam",
                           detail={"exams": [e["id"] for e in exams]})
    return [{**e, "rows": rows[e["id"]], "summary": summarise_rows(rows[e["id"]])} for e in exams]
