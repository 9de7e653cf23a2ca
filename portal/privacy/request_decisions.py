"""Deciding rights requests: extending a clock (once, with the reason mailed), approving or refusing (a
correction applied by the field's one rule, an erasure after two people and an identity check, then its undo
window), each decision audited and mailed; filing and reading stay in portal/privacy/requests.py."""

from dataclasses import dataclass
from datetime import datetime, timezone

from portal import audit, display, patients
from portal.db import transaction
from portal.errors import ValidationFailed
from portal.forms import collect, required, too_long, whole_number
from portal.i18n import _, gettext
from portal.permissions import Actor, Permission, can, require
from portal.privacy import (
    authority,
    correction_targets,
    deadlines,
    erasure,
    erasure_window,
    lab_records,
    recipients,
    request_answers,
    requests,
)
from portal.settings import Settings
from portal.tables import Patient, PrivacyRequest, Staff


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


async def extend(actor: Actor, request_id: int, form: ExtendForm) -> None:
    """Once, by one or two months, with the reason mailed to the patient (Art. 12(3))."""
    require(actor, Permission.HANDLE_PRIVACY_REQUESTS)
    row = await requests.owned(actor, request_id)
    months = whole_number(form.months)
    errors = collect(months=None if months in (1, 2) else gettext("Extend by one or two months."),
                     reason=required(form.reason, gettext("The reason")) or too_long(form.reason, 1000))
    if not errors and not requests.with_clock(dict(row), datetime.now(timezone.utc))["extendable"]:
        errors["months"] = gettext("This request cannot be extended (again).")
    if errors:
        raise ValidationFailed(errors)
    due = deadlines.extended_due(row["received_at"], months, actor.time_zone or "UTC")
    async with transaction():
        await PrivacyRequest.update({PrivacyRequest.due_at: due, PrivacyRequest.extended_reason: form.reason.strip()}
                                    ).where(PrivacyRequest.id == request_id)
        readers = await request_answers.readers(actor, row["patient_id"])
        await request_answers.mail(actor, readers, f"privacy-extend:{request_id}", lambda child: (
            gettext("Your request %(id)s about %(name)s: we need more time", id=request_id, name=child) if child
            else gettext("Your request %(id)s: we need more time", id=request_id),
            gettext("We need until %(day)s to complete your request (%(kind)s).",
                    day=display.format_instant(due, actor.time_zone, "long_date"), kind=requests.KINDS[row["kind"]])
            + "\n\n" + gettext("Why: %(reason)s", reason=form.reason.strip())), row["patient_id"])
        await audit.record(actor, "privacy.request_extended", patient_id=row["patient_id"],
                           object_type="privacy_request", object_id=request_id,
                           detail={"months": months, "due": due.isoformat()})


async def decide(actor: Actor, request_id: int, form: DecisionForm, undo_minutes: int | None = None) -> None:
    """Approve (which applies a correction, carries out an erasure, keeps a restriction) or refuse with a
    reason (which lifts a restriction or objection flag); inquiries are answered with the reason text. An
    approved erasure waits `undo_minutes` (ERASURE_UNDO_MINUTES by default) first: portal/privacy/erasure_window."""
    require(actor, Permission.HANDLE_PRIVACY_REQUESTS)
    row = await requests.owned(actor, request_id)
    kind, patient_id = row["kind"], row["patient_id"]
    decision = "answered" if kind == "inquiry" else form.decision
    errors = collect(decision=None if decision in ("approved", "refused",
                                                   "answered") else gettext("Approve or refuse."),
                     reason=too_long(form.reason, 2000))
    if decision in ("refused", "answered") and not form.reason.strip():
        errors["reason"] = (gettext("Write the answer.") if decision == "answered"
                            else gettext("Give the reason for refusing."))
    if row["status"] not in requests.OPEN:
        errors["decision"] = gettext("This request has already been decided.")
    if requests.details_hidden(actor, row["details"]) or (await requests.isolated(patient_id)
                                                 and not can(actor, Permission.ACCESS_RESTRICTED_RECORDS)):
        errors["decision"] = _("Only staff who may read the chart decide this request.")
    if kind == "erasure" and decision == "approved" and not errors:
        errors = await erasure_approval_problems(actor, row, form)
    # a correction of a medical-history entry becomes a new version, written by whoever approves it
    entry = row.get("target_kind") if kind == "correction" and row.get("target_kind") in correction_targets.HISTORY \
        else None
    if entry and decision == "approved" and not errors and not can(actor, Permission.WRITE_CLINICAL):
        errors["decision"] = _("Only staff who may write the chart apply this correction.")
    if errors:
        raise ValidationFailed(errors)
    if undo_minutes is None:
        undo_minutes = Settings.from_env().erasure_undo_minutes
    if kind == "erasure" and decision == "approved" and undo_minutes > 0:
        await erasure_window.schedule(actor, row, form.reason, form.identity_check, undo_minutes)
        return
    corrected, field = None, requests.on_the_record(row["details"]) if kind == "correction" else None
    if field and decision == "approved":
        details = row["details"]
        try:  # the same rule as a staff edit: a phone is stored in E.164, an over-long value is refused
            corrected = requests.correction_value(details["category"], details["field"], details["proposed"],
                                                  actor.country)
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
        elif decision == "approved" and entry:
            version = await correction_targets.append_entry(actor, patient_id, entry, row["details"]["proposed"])
            outcome = {"appended": "medical_history", "version": version}
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
        status = requests.STATUSES[decision]
        await request_answers.mail(actor, to, f"privacy-decision:{request_id}", lambda child: (
            gettext("Your request %(id)s about %(name)s: %(status)s", id=request_id, name=child,
                    status=str(status).lower()) if child
            else gettext("Your request %(id)s: %(status)s", id=request_id, status=str(status).lower()),
            request_answers.decision_text(kind, requests.KINDS[kind], decision, form.reason.strip(), child)
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
