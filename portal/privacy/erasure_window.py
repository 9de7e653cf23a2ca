"""The undo window of an approved erasure: what it will erase and keep, the wait, the undo, and the worker's turn.

Approving an erasure (portal/privacy/requests.py) only schedules it: nothing is destroyed until
ERASURE_UNDO_MINUTES have passed, and until the worker carries it out anyone handling privacy requests may undo
it. The worker then decides it again as the approving owner, through the same rules (owner, not the filer, an
identity check), so a waiting erasure can never do more than an immediate one would.
"""

from datetime import datetime, timedelta, timezone

from portal import audit, auth, job_queue
from portal.db import transaction
from portal.errors import NotFound, ValidationFailed
from portal.i18n import _
from portal.permissions import Actor, Permission, require
from portal.privacy.registry import all_categories
from portal.privacy.retention import erasable_dates
from portal.tables import PrivacyRequest

OPEN = ("received", "in_progress")


async def preview(clinic_id: int, patient_id: int) -> dict:
    """What approving would do, by category with its count of records: erased at once, or kept (isolated) until
    the date its retention rule gives. The caller audits the read (it is part of viewing the request)."""
    dates = await erasable_dates(clinic_id, patient_id)
    erased, kept = [], []
    for category in all_categories():
        count = len(await category.collect(patient_id))
        if category.retention == "administrative":
            erased.append({"title": category.title, "count": count})
        else:
            kept.append({"title": category.title, "count": count, "until": dates[category.name]["text"]})
    return {"erased": erased, "kept": kept}


async def schedule(actor: Actor, row: dict, reason: str, identity_check: str, minutes: int) -> datetime:
    """Called by `request_decisions.decide` once every approval rule passed: the erasure waits `minutes`."""
    due = datetime.now(timezone.utc) + timedelta(minutes=minutes)
    async with transaction():
        await PrivacyRequest.update({PrivacyRequest.status: "in_progress", PrivacyRequest.erasure_due_at: due,
                                     PrivacyRequest.erasure_approved_by: actor.id,
                                     PrivacyRequest.erasure_identity_check: identity_check.strip(),
                                     PrivacyRequest.decision_reason: reason.strip()}).where(
            PrivacyRequest.id == row["id"])
        await job_queue.defer("privacy.erase", schedule_at=due, request_id=row["id"], clinic_id=actor.clinic_id)
        await audit.record(actor, "privacy.erasure_scheduled", patient_id=row["patient_id"],
                           object_type="privacy_request", object_id=row["id"],
                           detail={"due": due.isoformat(), "identity_check": identity_check.strip()})
    return due


async def undo(actor: Actor, request_id: int) -> None:
    """Stop a scheduled erasure before the worker carries it out; the request stays open."""
    require(actor, Permission.HANDLE_PRIVACY_REQUESTS)
    async with transaction():
        rows = await PrivacyRequest.raw(
            "UPDATE privacy_request SET erasure_due_at = NULL, erasure_approved_by = NULL, "
            "erasure_identity_check = '' WHERE id = {} AND clinic = {} AND erasure_due_at IS NOT NULL "
            "AND status IN ('received', 'in_progress') RETURNING id, patient_id", request_id, actor.clinic_id)
        if not rows:
            if not await PrivacyRequest.exists().where((PrivacyRequest.id == request_id)
                                                       & (PrivacyRequest.clinic == actor.clinic_id)):
                raise NotFound()
            raise ValidationFailed({"decision": _("This erasure is no longer waiting: it was undone or carried "
                                                  "out already.")})
        await audit.record(actor, "privacy.erasure_undone", patient_id=rows[0]["patient_id"],
                           object_type="privacy_request", object_id=request_id)


async def claim_due(request_id: int) -> tuple[Actor, str, str] | None:
    """The worker's turn: (the approver, reason, identity check) of a due erasure, taken so it runs once; None
    when it was undone, is not due yet, or its approver is gone (then it waits for a new approval)."""
    rows = await PrivacyRequest.raw(
        "UPDATE privacy_request SET erasure_due_at = NULL WHERE id = {} AND erasure_due_at <= now() "
        "AND status IN ('received', 'in_progress') RETURNING erasure_approved_by, decision_reason, "
        "erasure_identity_check", request_id)
    if not rows or rows[0]["erasure_approved_by"] is None:
        return None
    actor = await auth.load_staff_actor(rows[0]["erasure_approved_by"])
    if actor is None:
        return None
    return actor, rows[0]["decision_reason"], rows[0]["erasure_identity_check"]
