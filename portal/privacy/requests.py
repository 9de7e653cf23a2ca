"""Rights requests and inquiries: filing (patient, guardian or staff on their behalf), legal clocks, reading them
(the patient's own, the staff inbox); deciding is portal/privacy/request_decisions.py, answering request_answers.py.

Clocks (portal/privacy/deadlines.py): one calendar month for rights requests (GDPR Art. 12(3)), extendable once
by up to two more months with the reason mailed to the patient; sooner where the notice promises it (30 days for
erasure, 15 days for inquiries). Every decision is audited and mailed.
"""

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from portal import audit, display, patient_fields
from portal.contacts import changes as contact_changes
from portal.db import transaction
from portal.errors import NotFound, ValidationFailed
from portal.forms import collect, required, too_long
from portal.i18n import _, gettext, lazy_gettext
from portal.permissions import Actor, Permission, can, require
from portal.privacy import authority, correction_targets, deadlines, erasure_window, recipients
from portal.privacy.centre import subject_of
from portal.privacy.registry import CATEGORIES
from portal.tables import Patient, PrivacyRequest, Staff

KINDS = {"access": lazy_gettext("Access to data"), "correction": lazy_gettext("Correction"),
         "erasure": lazy_gettext("Erasure"),
         "restriction": lazy_gettext("Restriction of processing"),
         "objection": lazy_gettext("Objection to processing"), "inquiry": lazy_gettext("Question")}
OPEN = ("received", "in_progress")
STATUSES = {"received": lazy_gettext("Received"), "in_progress": lazy_gettext("In progress"),
            "approved": lazy_gettext("Approved"), "refused": lazy_gettext("Refused"),
            "answered": lazy_gettext("Answered")}
CHANNELS = {"privacy_centre": lazy_gettext("Privacy centre"), "phone": lazy_gettext("Phone"),
            "letter": lazy_gettext("Letter"), "front_desk": lazy_gettext("At the desk"),
            "email": lazy_gettext("Email")}
display.register_labels("privacy_request_kind", KINDS)
display.register_labels("privacy_request_status", STATUSES)
display.register_labels("privacy_request_channel", CHANNELS)
DETAIL_LABELS = {"category": lazy_gettext("About"), "field": lazy_gettext("Which detail"),
                 "proposed": lazy_gettext("Proposed value"), "reason": lazy_gettext("Reason"),
                 "question": lazy_gettext("Question"), "text": lazy_gettext("What was asked"),
                 "target": lazy_gettext("Which record")}


@dataclass(frozen=True)
class CorrectionForm:
    target: str = ""  # the record or detail (portal/privacy/correction_targets.py): "note:12", "contact.email"
    proposed: str = ""
    reason: str = ""


@dataclass(frozen=True)
class ReasonForm:
    reason: str = ""


@dataclass(frozen=True)
class InquiryForm:
    question: str = ""


@dataclass(frozen=True)
class OnBehalfForm:
    kind: str = ""
    channel: str = "phone"
    identity_check: str = ""
    details: str = ""


async def correction_choices(actor: Actor, cooling_days: int) -> list[tuple[str, list[tuple[str, str]]]]:
    """What the correction form offers, grouped by kind: the personal details and the patient's own records
    (the chart's left out while a contact change cools off, as on the data page); the read is audited."""
    patient_id = subject_of(actor)
    async with transaction():
        cooling = await contact_changes.cooling_until(actor.clinic_id, patient_id, cooling_days)
        offered = await correction_targets.choices(actor.clinic_id, patient_id, clinical=cooling is None)
        await audit.record(actor, "privacy.correction_form_viewed", patient_id=patient_id, object_type="patient",
                           object_id=patient_id, detail={"clinical_withheld": cooling is not None})
    return offered


def correction_value(category: str, field: str, proposed: str, country: str):
    """The value a correction would store, cleaned by the field's one rule (patient_fields for the patient
    record, plain bounded text for details kept elsewhere); ValidationFailed says what is wrong, beside the field."""
    cat = CATEGORIES.get(category)
    if cat is None or field not in cat.correctable:
        raise ValidationFailed({"field": gettext("Choose the detail to correct.")})
    if field in patient_fields.FIELDS and patient_fields.FIELDS[field].category == category:
        try:
            return patient_fields.clean_one(field, proposed, country)
        except patient_fields.FieldProblem as problem:
            raise ValidationFailed({"proposed": problem.message}) from None
    errors = collect(proposed=required(proposed, gettext("The correct value")) or too_long(proposed.strip(), 1000))
    if errors:
        raise ValidationFailed(errors)
    return proposed.strip()


def on_the_record(details: dict) -> str | None:
    """The patient-record field a correction request is about, or None (a detail kept elsewhere, or a request
    staff wrote down in their own words): only such a field is written when the correction is approved."""
    spec = patient_fields.FIELDS.get(details.get("field", ""))
    return spec.name if spec is not None and spec.category == details.get("category") else None


async def _file(actor: Actor, patient_id: int, kind: str, details: dict, channel: str, identity_check: str,
                target: correction_targets.Target | None = None) -> int:
    now = datetime.now(timezone.utc)
    row = PrivacyRequest(clinic=actor.clinic_id, patient_id=patient_id, kind=kind, status="received",
                         channel=channel, filed_by_kind=actor.kind, filed_by_name=actor.name,
                         identity_check=identity_check, details=details, received_at=now,
                         due_at=deadlines.due_for(kind, now, actor.time_zone or "UTC"),
                         target_kind=target.kind if target else None, target_id=target.id if target else None)
    await row.save()
    if kind in ("restriction", "objection"):  # takes effect at once; staff review may lift it
        column = Patient.restricted_at if kind == "restriction" else Patient.objected_at
        await Patient.update({column: now}).where((Patient.id == patient_id) & column.is_null())
    await audit.record(actor, f"privacy.{kind}_requested", patient_id=patient_id, object_type="privacy_request",
                       object_id=row.id)
    return row.id


async def file_own(actor: Actor, kind: str, details: dict, target: correction_targets.Target | None = None) -> int:
    """A request from the privacy centre: identity checked by the single-use link to the address on file."""
    patient_id = subject_of(actor)
    check = "Signed in with a link mailed to the address on file" + (" (guardian)" if actor.kind == "guardian" else "")
    async with transaction():
        return await _file(actor, patient_id, kind, details, "privacy_centre", check, target)


async def ask_correction(actor: Actor, form: CorrectionForm) -> int:
    """File a correction of the record the patient chose (their own, else refused beside the field)."""
    patient_id = subject_of(actor)
    errors = collect(reason=too_long(form.reason, 1000))
    target = None
    try:
        target = await correction_targets.resolve(actor, patient_id, form.target)
        if target.field:
            correction_value(target.category, target.field, form.proposed, actor.country)
        else:  # a record in the patient's own words: what it should say
            problems = collect(proposed=required(form.proposed, gettext("What it should say"))
                               or too_long(form.proposed.strip(), 1000))
            if problems:
                raise ValidationFailed(problems)
    except ValidationFailed as exc:
        errors = {**exc.errors, **errors}
    if errors:
        raise ValidationFailed(errors)
    return await file_own(actor, "correction", {"category": target.category, "field": target.field,
                                                "proposed": form.proposed.strip(), "reason": form.reason.strip()},
                          target)


async def ask_with_reason(actor: Actor, kind: str, form: ReasonForm) -> int:
    subject_of(actor)
    errors = collect(reason=too_long(form.reason, 1000))
    if errors:
        raise ValidationFailed(errors)
    return await file_own(actor, kind, {"reason": form.reason.strip()})


async def ask_question(actor: Actor, form: InquiryForm) -> int:
    subject_of(actor)
    errors = collect(question=required(form.question, gettext("Your question")) or too_long(form.question, 2000))
    if errors:
        raise ValidationFailed(errors)
    return await file_own(actor, "inquiry", {"question": form.question.strip()})


def with_clock(row: dict, now: datetime) -> dict:
    if isinstance(row.get("details"), str):
        row["details"] = json.loads(row["details"])
    row["kind_label"] = KINDS.get(row["kind"], row["kind"])
    row["detail_rows"] = _detail_rows(row.get("details") or {})
    row["status_label"] = STATUSES.get(row["status"], row["status"])
    row["open"] = row["status"] in OPEN
    row["days_left"] = (row["due_at"].date() - now.date()).days
    row["overdue"] = row["open"] and row["due_at"] < now
    row["due_this_week"] = row["open"] and not row["overdue"] and row["due_at"] < now + timedelta(days=7)
    row["extendable"] = row["open"] and not row["extended_reason"] and row["kind"] != "inquiry"
    return row


async def _with_target(row: dict, shown: bool) -> None:
    """The chosen record in words among the details (first); one the reader may not see is named only as a
    clinical record, like the rest of its details."""
    if row.get("target_kind") in (None, "personal") or not row.get("patient_id"):
        return
    words = await correction_targets.describe(row["clinic"], row["patient_id"], row["target_kind"], row["target_id"])
    if not shown:
        words = _("A clinical record")
    row["target_words"] = words
    row["detail_rows"].insert(1 if row["detail_rows"] else 0, (DETAIL_LABELS["target"], words))


def _detail_rows(details: dict) -> list[tuple[str, str]]:
    """The request's details as people read them: the category and field by their labels."""
    category = CATEGORIES.get(details.get("category", ""))
    shown = []
    for key, value in details.items():
        if key == "category" and category is not None:
            value = category.title
        elif key == "field" and category is not None:
            value = category.correctable.get(value) or category.fields.get(value, value)
        if value:
            shown.append((DETAIL_LABELS.get(key, key), value))
    return shown


async def own_requests(actor: Actor) -> list[dict]:
    patient_id = subject_of(actor)
    rows = await PrivacyRequest.select().where((PrivacyRequest.patient_id == patient_id)
                                               & (PrivacyRequest.clinic == actor.clinic_id)).order_by(
        PrivacyRequest.id, ascending=False).output(load_json=True)
    now = datetime.now(timezone.utc)
    return [with_clock(r, now) for r in rows]


async def own_request(actor: Actor, request_id: int) -> dict:
    """One of the patient's own requests; another patient's id is a 404 like an unknown one."""
    patient_id = subject_of(actor)
    row = await PrivacyRequest.select().where((PrivacyRequest.id == request_id)
                                              & (PrivacyRequest.patient_id == patient_id)
                                              & (PrivacyRequest.clinic == actor.clinic_id)).output(
        load_json=True).first()
    if row is None:
        raise NotFound()
    row = with_clock(row, datetime.now(timezone.utc))
    await _with_target(row, shown=True)
    if row["status"] == "refused":
        row["remedies"] = authority.remedies_text(await authority.authority_of(actor.clinic_id))
    row["told"] = await recipients.told(actor.clinic_id, request_id)
    return row


# --- staff side -------------------------------------------------------------------------------------------

async def inbox(actor: Actor, show: str = "open") -> list[dict]:
    require(actor, Permission.HANDLE_PRIVACY_REQUESTS)
    where = "r.clinic = {}" + (" AND r.status IN ('received', 'in_progress')" if show == "open" else "")
    if not can(actor, Permission.ACCESS_RESTRICTED_RECORDS):  # an isolated record's requests stay with the owner
        where += " AND (p.id IS NULL OR p.isolated_at IS NULL)"
    rows = await PrivacyRequest.raw(
        "SELECT r.*, coalesce(CASE WHEN p.isolated_at IS NULL THEN p.given_name || ' ' || p.family_name END, "
        "'Restricted record') AS patient_name, s.name AS assignee_name FROM privacy_request r "
        "LEFT JOIN patient p ON p.id = r.patient_id LEFT JOIN staff s ON s.id = r.assignee "
        f"WHERE {where} ORDER BY (r.status IN ('received', 'in_progress')) DESC, r.due_at LIMIT 500", actor.clinic_id)
    now = datetime.now(timezone.utc)
    rows = [with_clock(r, now) for r in rows]
    await audit.record_patients_shown(actor, "privacy.inbox_viewed", sorted({r["patient_id"] for r in rows
                                                                             if r["patient_id"]}))
    return rows


async def clock_counts(actor: Actor) -> dict:
    """Overdue and due-this-week counts for the dashboard (no personal data)."""
    rows = await PrivacyRequest.raw(
        "SELECT count(*) FILTER (WHERE due_at < now()) AS overdue, count(*) FILTER (WHERE due_at >= now() AND "
        "due_at < now() + interval '7 days') AS this_week FROM privacy_request WHERE clinic = {} "
        "AND status IN ('received', 'in_progress')", actor.clinic_id)
    return rows[0]


async def owned(actor: Actor, request_id: int) -> dict:
    row = await PrivacyRequest.select().where((PrivacyRequest.id == request_id)
                                              & (PrivacyRequest.clinic == actor.clinic_id)).output(
        load_json=True).first()
    if row is None:
        raise NotFound()
    return row


def details_hidden(actor: Actor, details: dict) -> bool:
    """A request about a category the actor may not read elsewhere (a receptionist and a proposed allergy)
    shows its kind and category, not its details: the same permission as the chart."""
    category = CATEGORIES.get((details or {}).get("category", ""))
    return category is not None and not can(actor, Permission(category.read_permission))


async def isolated(patient_id: int | None) -> bool:
    return patient_id is not None and await Patient.exists().where(
        (Patient.id == patient_id) & Patient.isolated_at.is_not_null())


async def get_request(actor: Actor, request_id: int) -> dict:
    """One request; that of an isolated record only for those who may open such records (else a 404)."""
    require(actor, Permission.HANDLE_PRIVACY_REQUESTS)
    async with transaction():
        row = with_clock(await owned(actor, request_id), datetime.now(timezone.utc))
        patient = await Patient.select(Patient.id, Patient.given_name, Patient.family_name, Patient.date_of_birth,
                                       Patient.email, Patient.isolated_at, Patient.restricted_at,
                                       Patient.objected_at).where(Patient.id == row["patient_id"]).first()
        if patient and patient["isolated_at"] and not can(actor, Permission.ACCESS_RESTRICTED_RECORDS):
            raise NotFound()
        row["patient"] = patient
        if details_hidden(actor, row["details"]):
            category = CATEGORIES[row["details"]["category"]]
            row["detail_rows"] = [(DETAIL_LABELS["category"], category.title),
                                  (_("Details"), _("Only staff who may read the chart see what was asked."))]
            row["hidden"] = True
        await _with_target(row, shown=not row.get("hidden"))
        row["staff"] = await Staff.select(Staff.id, Staff.name).where((Staff.clinic == actor.clinic_id)
                                                                     & (Staff.active == True)).order_by(Staff.name)  # noqa: E712
        if row["kind"] == "erasure" and patient and not patient["isolated_at"] and row["status"] in OPEN:
            row["erasure_preview"] = await erasure_window.preview(actor.clinic_id, row["patient_id"])
        if row["kind"] == "correction" and patient and not patient["isolated_at"] and not row.get("hidden"):
            if field := on_the_record(row["details"]):
                current = await Patient.select(getattr(Patient, field)).where(Patient.id == row["patient_id"]).first()
                row["current_value"] = current[field]
        row["told"] = await recipients.told(actor.clinic_id, request_id)
        await audit.record(actor, "privacy.request_viewed", patient_id=row["patient_id"],
                           object_type="privacy_request", object_id=request_id)
    return row


async def assign(actor: Actor, request_id: int, staff_id: int | None) -> None:
    require(actor, Permission.HANDLE_PRIVACY_REQUESTS)
    row = await owned(actor, request_id)
    if staff_id is not None and not await Staff.exists().where((Staff.id == staff_id)
                                                               & (Staff.clinic == actor.clinic_id)):
        raise ValidationFailed({"assignee": gettext("Choose a member of staff.")})
    async with transaction():
        values = {PrivacyRequest.assignee: staff_id}
        if row["status"] == "received":
            values[PrivacyRequest.status] = "in_progress"
        await PrivacyRequest.update(values).where(PrivacyRequest.id == request_id)
        await audit.record(actor, "privacy.request_assigned", patient_id=row["patient_id"],
                           object_type="privacy_request", object_id=request_id, detail={"assignee": staff_id})


async def file_on_behalf(actor: Actor, patient_id: int, form: OnBehalfForm) -> int:
    """Staff file a request a patient made by phone, letter or at the desk."""
    require(actor, Permission.HANDLE_PRIVACY_REQUESTS)
    if not await Patient.exists().where((Patient.id == patient_id) & (Patient.clinic == actor.clinic_id)
                                        & Patient.isolated_at.is_null()):
        raise NotFound()
    errors = collect(kind=None if form.kind in KINDS else gettext("Choose the kind of request."),
                     channel=None if form.channel in CHANNELS and form.channel != "privacy_centre"
                     else gettext("Choose how it came in."),
                     identity_check=required(form.identity_check, gettext("How identity was checked"))
                     or too_long(form.identity_check, 200),
                     details=required(form.details, gettext("What was asked")) or too_long(form.details, 2000))
    if errors:
        raise ValidationFailed(errors)
    async with transaction():
        return await _file(actor, patient_id, form.kind, {"text": form.details.strip()}, form.channel,
                           form.identity_check.strip())


async def patient_for_form(actor: Actor, patient_id: int) -> dict:
    require(actor, Permission.HANDLE_PRIVACY_REQUESTS)
    row = await Patient.select(Patient.id, Patient.given_name, Patient.family_name).where(
        (Patient.id == patient_id) & (Patient.clinic == actor.clinic_id) & Patient.isolated_at.is_null()).first()
    if row is None:
        raise NotFound()
    return row

