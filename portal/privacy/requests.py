"""Rights requests and inquiries: filing (patient, guardian or staff on their behalf), legal clocks, decisions.

Clocks (portal/privacy/deadlines.py): one calendar month for rights requests (GDPR Art. 12(3)), extendable once
by up to two more months with the reason mailed to the patient; sooner where the notice promises it (30 days for
erasure, 15 days for inquiries). Every decision is audited and mailed.
"""

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from portal import audit, display, patient_fields, patients
from portal.db import transaction
from portal.errors import NotFound, ValidationFailed
from portal.forms import collect, required, too_long, whole_number
from portal.i18n import _, gettext, lazy_gettext
from portal.permissions import Actor, Permission, can, require
from portal.privacy import authority, deadlines, erasure, erasure_window, lab_records, recipients, request_answers
from portal.privacy.centre import subject_of
from portal.privacy.registry import CATEGORIES, DataCategory, all_categories
from portal.settings import Settings
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
                 "question": lazy_gettext("Question"), "text": lazy_gettext("What was asked")}


@dataclass(frozen=True)
class CorrectionForm:
    category: str = ""
    field: str = ""
    proposed: str = ""
    reason: str = ""


@dataclass(frozen=True)
class ReasonForm:
    reason: str = ""


@dataclass(frozen=True)
class InquiryForm:
    question: str = ""


@dataclass(frozen=True)
class DecisionForm:
    decision: str = ""
    reason: str = ""
    identity_check: str = ""  # erasure: how the approver confirmed who asked (recorded with the decision)


NO_CHECK = {"", "none", "no", "n/a", "na", "-", "nothing", "not checked", "geen"}


async def erasure_approval_problems(actor: Actor, row: dict, form: DecisionForm) -> dict:
    """Erasure needs two people and evidence: the owner approves, not the person who filed it (when the clinic
    has anyone else), with a recorded identity check."""
    errors = {}
    if not can(actor, Permission.MANAGE_CLINIC):
        errors["decision"] = gettext("Only the practice owner may approve an erasure.")
    filed = await audit.filer_of(actor.clinic_id, "privacy.erasure_requested", "privacy_request", row["id"])
    if not errors and filed == ("staff", actor.id) and await Staff.count().where(
            (Staff.clinic == actor.clinic_id) & (Staff.active == True) & (Staff.id != actor.id)) > 0:  # noqa: E712
        errors["decision"] = gettext("You filed this erasure: another person must approve it.")
    if form.identity_check.strip().lower().strip(".") in NO_CHECK:
        errors["identity_check"] = gettext(
            "Say how the patient's identity was checked (e.g. passport seen at the desk).")
    return errors


@dataclass(frozen=True)
class ExtendForm:
    months: str = ""
    reason: str = ""


@dataclass(frozen=True)
class OnBehalfForm:
    kind: str = ""
    channel: str = "phone"
    identity_check: str = ""
    details: str = ""


def correctable() -> list[tuple[DataCategory, dict[str, str]]]:
    """What the correction form offers: each category's declared correctable fields, by human label."""
    return [(c, c.correctable) for c in all_categories() if c.correctable]


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


async def _file(actor: Actor, patient_id: int, kind: str, details: dict, channel: str, identity_check: str) -> int:
    now = datetime.now(timezone.utc)
    row = PrivacyRequest(clinic=actor.clinic_id, patient_id=patient_id, kind=kind, status="received",
                         channel=channel, filed_by_kind=actor.kind, filed_by_name=actor.name,
                         identity_check=identity_check, details=details, received_at=now,
                         due_at=deadlines.due_for(kind, now, actor.time_zone or "UTC"))
    await row.save()
    if kind in ("restriction", "objection"):  # takes effect at once; staff review may lift it
        column = Patient.restricted_at if kind == "restriction" else Patient.objected_at
        await Patient.update({column: now}).where((Patient.id == patient_id) & column.is_null())
    await audit.record(actor, f"privacy.{kind}_requested", patient_id=patient_id, object_type="privacy_request",
                       object_id=row.id)
    return row.id


async def file_own(actor: Actor, kind: str, details: dict) -> int:
    """A request from the privacy centre: identity checked by the single-use link to the address on file."""
    patient_id = subject_of(actor)
    check = "Signed in with a link mailed to the address on file" + (" (guardian)" if actor.kind == "guardian" else "")
    async with transaction():
        return await _file(actor, patient_id, kind, details, "privacy_centre", check)


async def ask_correction(actor: Actor, form: CorrectionForm) -> int:
    subject_of(actor)
    errors = collect(reason=too_long(form.reason, 1000))
    try:
        correction_value(form.category, form.field, form.proposed, actor.country)
    except ValidationFailed as exc:
        errors = {**exc.errors, **errors}
    if errors:
        raise ValidationFailed(errors)
    return await file_own(actor, "correction", {"category": form.category, "field": form.field,
                                                "proposed": form.proposed.strip(), "reason": form.reason.strip()})


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


def _with_clock(row: dict, now: datetime) -> dict:
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
    return [_with_clock(r, now) for r in rows]


async def own_request(actor: Actor, request_id: int) -> dict:
    """One of the patient's own requests; another patient's id is a 404 like an unknown one."""
    patient_id = subject_of(actor)
    row = await PrivacyRequest.select().where((PrivacyRequest.id == request_id)
                                              & (PrivacyRequest.patient_id == patient_id)
                                              & (PrivacyRequest.clinic == actor.clinic_id)).output(
        load_json=True).first()
    if row is None:
        raise NotFound()
    row = _with_clock(row, datetime.now(timezone.utc))
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
    rows = [_with_clock(r, now) for r in rows]
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


async def _owned(actor: Actor, request_id: int) -> dict:
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


async def _isolated(patient_id: int | None) -> bool:
    return patient_id is not None and await Patient.exists().where(
        (Patient.id == patient_id) & Patient.isolated_at.is_not_null())


async def get_request(actor: Actor, request_id: int) -> dict:
    """One request; that of an isolated record only for those who may open such records (else a 404)."""
    require(actor, Permission.HANDLE_PRIVACY_REQUESTS)
    async with transaction():
        row = _with_clock(await _owned(actor, request_id), datetime.now(timezone.utc))
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
    row = await _owned(actor, request_id)
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


async def extend(actor: Actor, request_id: int, form: ExtendForm) -> None:
    """Once, by one or two months, with the reason mailed to the patient (Art. 12(3))."""
    require(actor, Permission.HANDLE_PRIVACY_REQUESTS)
    row = await _owned(actor, request_id)
    months = whole_number(form.months)
    errors = collect(months=None if months in (1, 2) else gettext("Extend by one or two months."),
                     reason=required(form.reason, gettext("The reason")) or too_long(form.reason, 1000))
    if not errors and not _with_clock(dict(row), datetime.now(timezone.utc))["extendable"]:
        errors["months"] = gettext("This request cannot be extended (again).")
    if errors:
        raise ValidationFailed(errors)
    due = deadlines.extended_due(row["received_at"], months, actor.time_zone or "UTC")
    async with transaction():
        await PrivacyRequest.update({PrivacyRequest.due_at: due, PrivacyRequest.extended_reason: form.reason.strip()}
                                    ).where(PrivacyRequest.id == request_id)
        readers = await request_answers.readers(actor, row["patient_id"])
        await request_answers.mail(actor, readers, f"privacy-extend:{request_id}", lambda: (
            gettext("Your request %(id)s: we need more time", id=request_id),
            gettext("We need until %(day)s to complete your request (%(kind)s).",
                    day=display.format_instant(due, actor.time_zone, "long_date"), kind=KINDS[row["kind"]])
            + "\n\n" + gettext("Why: %(reason)s", reason=form.reason.strip())), row["patient_id"])
        await audit.record(actor, "privacy.request_extended", patient_id=row["patient_id"],
                           object_type="privacy_request", object_id=request_id,
                           detail={"months": months, "due": due.isoformat()})


async def decide(actor: Actor, request_id: int, form: DecisionForm, undo_minutes: int | None = None) -> None:
    """Approve (which applies a correction, carries out an erasure, keeps a restriction) or refuse with a
    reason (which lifts a restriction or objection flag); inquiries are answered with the reason text. An
    approved erasure waits `undo_minutes` (ERASURE_UNDO_MINUTES by default) first: portal/privacy/erasure_window."""
    require(actor, Permission.HANDLE_PRIVACY_REQUESTS)
    row = await _owned(actor, request_id)
    kind, patient_id = row["kind"], row["patient_id"]
    decision = "answered" if kind == "inquiry" else form.decision
    errors = collect(decision=None if decision in ("approved", "refused",
                                                   "answered") else gettext("Approve or refuse."),
                     reason=too_long(form.reason, 2000))
    if decision in ("refused", "answered") and not form.reason.strip():
        errors["reason"] = (gettext("Write the answer.") if decision == "answered"
                            else gettext("Give the reason for refusing."))
    if row["status"] not in OPEN:
        errors["decision"] = gettext("This request has already been decided.")
    if details_hidden(actor, row["details"]) or (await _isolated(patient_id)
                                                 and not can(actor, Permission.ACCESS_RESTRICTED_RECORDS)):
        errors["decision"] = _("Only staff who may read the chart decide this request.")
    if kind == "erasure" and decision == "approved" and not errors:
        errors = await erasure_approval_problems(actor, row, form)
    if errors:
        raise ValidationFailed(errors)
    if undo_minutes is None:
        undo_minutes = Settings.from_env().erasure_undo_minutes
    if kind == "erasure" and decision == "approved" and undo_minutes > 0:
        await erasure_window.schedule(actor, row, form.reason, form.identity_check, undo_minutes)
        return
    corrected, field = None, on_the_record(row["details"]) if kind == "correction" else None
    if field and decision == "approved":
        details = row["details"]
        try:  # the same rule as a staff edit: a phone is stored in E.164, an over-long value is refused
            corrected = correction_value(details["category"], details["field"], details["proposed"], actor.country)
        except ValidationFailed as exc:
            raise ValidationFailed({"decision": gettext("The proposed value cannot be applied: %(problem)s",
                                                        problem=next(iter(exc.errors.values())))}) from None
    async with transaction():
        to = await request_answers.readers(actor, patient_id)  # read before an erasure removes the address
        outcome = {}
        if decision == "approved" and field in patients.CONFIRMED:  # waits for its holder, like any change
            await patients.propose_addresses(actor, patient_id, {field: corrected}, "correction")
            outcome = {"applied": field, "waits_for_confirmation": True}
        elif decision == "approved" and field:
            await Patient.update({getattr(Patient, field): corrected,
                                  Patient.updated_at: datetime.now(timezone.utc)}).where(
                (Patient.id == patient_id) & (Patient.clinic == actor.clinic_id))
            outcome = {"applied": field}
        elif decision == "approved" and kind == "erasure":
            outcome = {**await erasure.carry_out(actor, patient_id), "identity_check": form.identity_check.strip()}
        if decision == "approved" and kind in ("erasure", "correction"):  # Art. 19: recipients are told
            outcome["passed_on"] = await lab_records.pass_on(actor, patient_id, kind, request_id, field)
        elif decision == "refused" and kind in ("restriction", "objection"):
            column = Patient.restricted_at if kind == "restriction" else Patient.objected_at
            await Patient.update({column: None}).where((Patient.id == patient_id) & (Patient.clinic == actor.clinic_id))
        if decision == "approved" and kind in request_answers.PASSED_ON:  # Art. 19: every recipient is told, recorded
            await recipients.pass_on(actor, row, *request_answers.passed_on(kind, row["details"], corrected))
        await PrivacyRequest.update({PrivacyRequest.status: decision,
                                     PrivacyRequest.decision_reason: form.reason.strip(),
                                     PrivacyRequest.decided_by: actor.id,
                                     PrivacyRequest.decided_at: datetime.now(timezone.utc)}).where(
            PrivacyRequest.id == request_id)
        authority_row = await authority.authority_of(actor.clinic_id) if decision == "refused" else None
        await request_answers.mail(actor, to, f"privacy-decision:{request_id}", lambda: (
            gettext("Your request %(id)s: %(status)s", id=request_id, status=str(STATUSES[decision]).lower()),
            request_answers.decision_text(kind, KINDS[kind], decision, form.reason.strip())
            + ("\n\n" + authority.remedies_text(authority_row) if decision == "refused" else "")),
            patient_id, forget=kind == "erasure" and decision == "approved")
        await audit.record(actor, f"privacy.request_{decision}", patient_id=patient_id, object_type="privacy_request",
                           object_id=request_id, detail={"kind": kind, **outcome})


async def complete_erasure(request_id: int) -> bool:
    """The worker, when the undo window has passed: the approver's decision, carried out now (False: undone)."""
    due = await erasure_window.claim_due(request_id)
    if due is None:
        return False
    actor, reason, identity_check = due
    await decide(actor, request_id, DecisionForm(decision="approved", reason=reason, identity_check=identity_check),
                 undo_minutes=0)
    return True


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

