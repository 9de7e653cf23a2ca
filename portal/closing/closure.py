"""A clinic that leaves: the owner starts the closure, the worker builds the whole-clinic export (every patient
through the privacy centre's own export, staff, settings, audit trail) with progress, the owner records where the
clinical records still under retention went, and the worker deletes the clinic 30 days after the request. Until
then the owner may cancel; the countdown is on every page an owner sees (the signed-in floor reads it)."""

import csv
import io
import json
import logging
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import asyncpg

from portal import audit, display, job_queue
from portal.db import engine, transaction
from portal.errors import NotFound, ValidationFailed
from portal.forms import required, too_long
from portal.i18n import gettext as _
from portal.permissions import Actor, Permission, require
from portal.privacy import export
from portal.privacy.categories import allow_erasure
from portal.tables import AuditEntry, Clinic, ClinicClosure, DataExport, Patient, Staff

log = logging.getLogger(__name__)
WAIT_DAYS = 30
OPEN = ClinicClosure.cancelled_at.is_null() & ClinicClosure.deleted_at.is_null()
KEPT_TABLES = {"clinic_closure"}  # the proof that the deletion ran outlives the clinic
CLINIC_SETTINGS = ("name", "address", "country", "time_zone", "contact_email", "privacy_email", "locale",
                   "currency", "tooth_numbering", "digital_consent_age", "reminder_hours", "tax_id",
                   "payment_terms_days", "supervisory_authority", "supervisory_authority_url", "created_at")


@dataclass(frozen=True)
class StartForm:
    confirm_name: str = ""  # the owner types the clinic's name, so a slip of the mouse closes nothing


@dataclass(frozen=True)
class HandoverForm:
    handover_to: str = ""


async def current(actor: Actor) -> dict | None:
    """The closure under way for the actor's clinic (without the archive), with its countdown."""
    require(actor, Permission.MANAGE_CLINIC)
    row = await ClinicClosure.select(*[c for c in ClinicClosure.all_columns() if c._meta.name != "export_archive"]
                                     ).where((ClinicClosure.clinic == actor.clinic_id) & OPEN).first()
    return _with_countdown(row) if row else None


def _with_countdown(row: dict, now: datetime | None = None) -> dict:
    left = row["delete_after"] - (now or datetime.now(timezone.utc))
    row["days_left"] = max(0, left.days + (1 if left.seconds else 0)) if left.total_seconds() > 0 else 0
    row["percent"] = int(100 * row["export_done"] / max(row["export_total"], 1))
    row["waiting_for_handover"] = row["handover_confirmed_at"] is None
    return row


async def start(actor: Actor, form: StartForm) -> int:
    """Begin the 30 days: queue the export now, the deletion at the end (it checks the row when it runs)."""
    require(actor, Permission.MANAGE_CLINIC)
    if form.confirm_name.strip().casefold() != actor.clinic_name.strip().casefold():
        raise ValidationFailed({"confirm_name": _("Type the clinic's name exactly as shown to confirm.")})
    now = datetime.now(timezone.utc)
    async with transaction():
        if await ClinicClosure.exists().where((ClinicClosure.clinic == actor.clinic_id) & OPEN):
            raise ValidationFailed({"confirm_name": _("This clinic is already being closed.")})
        total = await Patient.count().where(Patient.clinic == actor.clinic_id) + 3
        row = ClinicClosure(clinic=actor.clinic_id, clinic_name=actor.clinic_name, requested_by=actor.id,
                            requested_by_name=actor.name, requested_at=now,
                            delete_after=now + timedelta(days=WAIT_DAYS), export_total=total)
        await row.save()
        await audit.record(actor, "clinic.closure_started", object_type="clinic_closure", object_id=row.id,
                           detail={"delete_after": row.delete_after.isoformat()})
        await job_queue.defer("closing.export", queue="exports", closure_id=row.id, clinic_id=actor.clinic_id)
        await job_queue.defer("closing.delete", schedule_at=row.delete_after, closure_id=row.id,
                              clinic_id=actor.clinic_id)
    return row.id


async def cancel(actor: Actor) -> None:
    """Stop the countdown; the clinic stays as it is, and the export built so far is dropped."""
    require(actor, Permission.MANAGE_CLINIC)
    async with transaction():
        rows = await ClinicClosure.update({ClinicClosure.cancelled_at: datetime.now(timezone.utc),
                                           ClinicClosure.cancelled_by_name: actor.name,
                                           ClinicClosure.export_archive: None}).where(
            (ClinicClosure.clinic == actor.clinic_id) & OPEN).returning(ClinicClosure.id)
        if not rows:
            raise NotFound()
        await audit.record(actor, "clinic.closure_cancelled", object_type="clinic_closure", object_id=rows[0]["id"])


async def confirm_handover(actor: Actor, form: HandoverForm) -> None:
    """The owner says where the clinical records still under retention went (a successor practice, an archive)."""
    require(actor, Permission.MANAGE_CLINIC)
    text = form.handover_to.strip()
    problem = required(text, _("Where the records went")) or too_long(text, 1000)
    if problem:
        raise ValidationFailed({"handover_to": problem})
    async with transaction():
        rows = await ClinicClosure.update({ClinicClosure.handover_to: text,
                                           ClinicClosure.handover_confirmed_at: datetime.now(timezone.utc),
                                           ClinicClosure.handover_by_name: actor.name}).where(
            (ClinicClosure.clinic == actor.clinic_id) & OPEN).returning(ClinicClosure.id)
        if not rows:
            raise NotFound()
        await audit.record(actor, "clinic.handover_confirmed", object_type="clinic_closure", object_id=rows[0]["id"],
                           detail={"handover_to": text})


async def download(actor: Actor) -> tuple[str, bytes]:
    require(actor, Permission.MANAGE_CLINIC)
    async with transaction():
        row = await ClinicClosure.select(ClinicClosure.id, ClinicClosure.export_archive,
                                         ClinicClosure.export_finished_at).where(
            (ClinicClosure.clinic == actor.clinic_id) & OPEN & (ClinicClosure.export_status == "ready")).first()
        if row is None or row["export_archive"] is None:
            raise NotFound()
        await audit.record(actor, "clinic.export_downloaded", object_type="clinic_closure", object_id=row["id"])
    return f"clinic-export-{row['export_finished_at'].date().isoformat()}.zip", bytes(row["export_archive"])


async def patients_under_retention(actor: Actor) -> int:
    """Patients whose records the export hands over (every patient: the retention rules keep clinical records
    for years after the last visit, so none of them may simply vanish with the clinic)."""
    require(actor, Permission.MANAGE_CLINIC)
    return await Patient.count().where(Patient.clinic == actor.clinic_id)


def _csv(rows: list[dict]) -> str:
    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: display.csv_cell(json.dumps(v) if isinstance(v, (dict, list)) else v)
                             for k, v in row.items()})
    return out.getvalue()


async def build_export(closure_id: int) -> None:
    """The whole-clinic ZIP: one patient export per patient (the privacy centre's own, so the format is the one a
    patient gets), the staff, the clinic's settings and the audit trail; progress after each patient."""
    row = await ClinicClosure.select(ClinicClosure.clinic).where((ClinicClosure.id == closure_id) & OPEN).first()
    if row is None:
        return
    clinic_id = row["clinic"]
    try:
        await ClinicClosure.update({ClinicClosure.export_status: "building", ClinicClosure.export_done: 0}).where(
            ClinicClosure.id == closure_id)
        buffer = io.BytesIO()
        patient_ids = [r["id"] for r in await Patient.select(Patient.id).where(Patient.clinic == clinic_id)
                       .order_by(Patient.id)]
        await ClinicClosure.update({ClinicClosure.export_total: len(patient_ids) + 3}).where(
            ClinicClosure.id == closure_id)
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for done, patient_id in enumerate(patient_ids, start=1):
                archive.writestr(f"patients/patient-{patient_id}.zip", await _patient_zip(clinic_id, patient_id))
                await ClinicClosure.update({ClinicClosure.export_done: done}).where(ClinicClosure.id == closure_id)
            staff = await Staff.select(Staff.id, Staff.name, Staff.email, Staff.role, Staff.registration_body,
                                       Staff.registration_number, Staff.active, Staff.created_at).where(
                Staff.clinic == clinic_id).order_by(Staff.id)
            archive.writestr("staff.json", json.dumps(staff, default=str, ensure_ascii=False, indent=1))
            clinic = await Clinic.select(*[getattr(Clinic, c) for c in CLINIC_SETTINGS]).where(
                Clinic.id == clinic_id).first()
            archive.writestr("settings.json", json.dumps(clinic, default=str, ensure_ascii=False, indent=1))
            trail = await AuditEntry.select(AuditEntry.at, AuditEntry.actor_kind, AuditEntry.actor_name,
                                            AuditEntry.action, AuditEntry.patient_id, AuditEntry.object_type,
                                            AuditEntry.object_id, AuditEntry.detail).where(
                AuditEntry.clinic_id == clinic_id).order_by(AuditEntry.id)
            archive.writestr("audit.csv", _csv(trail))
        await ClinicClosure.update({ClinicClosure.export_archive: buffer.getvalue(),
                                    ClinicClosure.export_status: "ready",
                                    ClinicClosure.export_done: len(patient_ids) + 3,
                                    ClinicClosure.export_finished_at: datetime.now(timezone.utc)}).where(
            ClinicClosure.id == closure_id)
    except Exception:  # the page says "failed" and the owner can start over; the trace goes to the log
        log.exception("clinic export %s failed", closure_id)
        await ClinicClosure.update({ClinicClosure.export_status: "failed"}).where(ClinicClosure.id == closure_id)


async def _patient_zip(clinic_id: int, patient_id: int) -> bytes:
    """One patient's archive, built by the privacy centre's export on a row used only for this (then removed,
    so it never shows among the patient's own downloads); nothing is held back for a contact cooling-off."""
    now = datetime.now(timezone.utc)
    row = DataExport(clinic=clinic_id, patient_id=patient_id, status="queued", done=0, total=1, created_at=now,
                     expires_at=now + timedelta(hours=1))
    await row.save()
    try:
        await export.build_export(row.id, 0)
        built = await DataExport.select(DataExport.status, DataExport.archive).where(DataExport.id == row.id).first()
        if built["status"] != "ready":
            raise RuntimeError(f"the export of patient {patient_id} failed")
        return bytes(built["archive"])
    finally:
        await DataExport.delete().where(DataExport.id == row.id)


async def delete_if_due(closure_id: int, now: datetime | None = None) -> str:
    """The worker's deletion: only a closure still open, due, with its export ready and the handover confirmed;
    one that is due but waiting is tried again the next day. Returns what happened."""
    now = now or datetime.now(timezone.utc)
    row = await ClinicClosure.select(ClinicClosure.id, ClinicClosure.clinic, ClinicClosure.delete_after,
                                     ClinicClosure.export_status, ClinicClosure.handover_confirmed_at).where(
        (ClinicClosure.id == closure_id) & OPEN).first()
    if row is None:
        return "cancelled"
    if row["delete_after"] > now:
        return "not due"
    if row["export_status"] != "ready" or row["handover_confirmed_at"] is None:
        await job_queue.defer("closing.delete", schedule_at=now + timedelta(days=1), closure_id=closure_id,
                              clinic_id=row["clinic"])
        return "waiting"
    async with transaction():
        await allow_erasure("clinic_closure")
        counts = await _delete_clinic(row["clinic"])
        await ClinicClosure.update({ClinicClosure.deleted_at: now, ClinicClosure.deleted: counts,
                                    ClinicClosure.export_archive: None}).where(ClinicClosure.id == closure_id)
    return "deleted"


async def _delete_clinic(clinic_id: int) -> dict[str, int]:
    """Every row of the clinic in every table (found in the catalogue, so a new table is covered), children before
    parents: a delete a foreign key refuses is tried again after the others, each in its own savepoint."""
    connection = engine().current_transaction.get().connection
    pending = [(r["table_name"], r["column_name"]) for r in await connection.fetch(
        "SELECT c.table_name, c.column_name FROM information_schema.columns c JOIN information_schema.tables t "
        "ON t.table_schema = c.table_schema AND t.table_name = c.table_name AND t.table_type = 'BASE TABLE' "
        "WHERE c.table_schema = 'public' AND c.column_name IN ('clinic', 'clinic_id') "
        "AND c.data_type IN ('integer', 'bigint') ORDER BY c.table_name")
        if r["table_name"] not in KEPT_TABLES] + [("clinic", "id")]
    counts: dict[str, int] = {}
    while pending:
        refused = []
        for table, column in pending:
            try:
                async with connection.transaction():  # a savepoint
                    status = await connection.execute(f'DELETE FROM "{table}" WHERE "{column}" = $1', clinic_id)
                counts[table] = counts.get(table, 0) + int(status.split()[-1])
            except (asyncpg.ForeignKeyViolationError, asyncpg.RestrictViolationError):
                refused.append((table, column))
        if len(refused) == len(pending):
            raise RuntimeError(f"clinic {clinic_id}: rows still referenced in {refused}")
        pending = refused
    return {table: n for table, n in counts.items() if n}
