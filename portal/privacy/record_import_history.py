"""The parts of an imported record that stay the previous clinic's: signed perio exams (as their author signed them,
append-only by the perio trigger), and forms, lab cases, invoices and account entries kept as read-only history.

Billing is deliberately not booked: the previous clinic's invoices and entries are its revenue and its claims, so
they become `imported_record` rows (with the invoice PDFs), never ledger entries or invoices of this clinic, which
would count in its reports, balances, reminders and gapless numbering. What the patient still owed there is derived
from those entries and shown as the opening statement; collecting it is the previous clinic's business.
"""

import json
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from portal import audit
from portal.charts.perio_classification import SITES
from portal.db import transaction
from portal.errors import NotFound
from portal.patients import ensure_in_clinic
from portal.permissions import Actor, Permission, can, require
from portal.tables import ImportedRecord, PatientImport, PerioExam, PerioTooth

# Export category -> where its files lie in the ZIP (categories without files bring none).
HISTORY = ("forms", "lab_cases", "invoices", "account_ledger")
FILES = {"forms": "files/forms/", "invoices": "files/invoices/"}


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


async def import_perio(actor: Actor, patient_id: int, document: dict) -> int:
    """Each signed exam as signed: its teeth first (a draft takes them), then the signature, after which the database
    refuses any change. Drafts are not imported: an unsigned chart is not a finished record of the other clinic."""
    sites = defaultdict(list)
    for row in document["categories"]["perio_charts"]["records"]:
        if row["signed_at"]:
            sites[row["exam_id"]].append(row)
    for rows in sites.values():
        first = rows[0]
        present = [int(t) for t in (first.get("teeth_present") or "").split()] or sorted({r["tooth"] for r in rows})
        [exam] = await PerioExam.insert(PerioExam(
            clinic=actor.clinic_id, patient=patient_id, teeth=present, created_by=None, created_by_name="",
            created_at=_when(first["exam_started"])))
        teeth: dict[int, dict] = {}
        for row in rows:
            tooth = teeth.setdefault(row["tooth"], {
                "depths": [None] * 6, "margins": [None] * 6, "bleeding": [False] * 6, "suppuration": [False] * 6,
                "plaque": [False] * 6, "calculus": [False] * 6, "mobility": row["mobility"] or 0,
                "furcation": row["furcation"] or 0})
            i = SITES.index(row["site"])
            tooth["depths"][i], tooth["margins"][i] = row["depth"], row["margin"]
            for flag in ("bleeding", "suppuration", "plaque", "calculus"):
                tooth[flag][i] = bool(row[flag])
        for number, tooth in sorted(teeth.items()):
            await PerioTooth.insert(PerioTooth(clinic=actor.clinic_id, exam=exam["id"], tooth=number,
                                               recorded_by=None, recorded_at=_when(first["exam_started"]), **tooth))
        await PerioExam.update({
            PerioExam.signed_at: _when(first["signed_at"]), PerioExam.signed_by: None,
            PerioExam.signed_by_name: (first["signed_by_name"] or "")[:200],
            PerioExam.signed_by_role: (first.get("signed_by_role") or "")[:20],
            PerioExam.signed_by_credentials: (first.get("signed_by_credentials") or "")[:200],
            PerioExam.content_hash: first.get("content_hash") or "imported", PerioExam.stage: first["stage"] or "",
            PerioExam.grade: first["grade"] or ""}).where(PerioExam.id == exam["id"])
    return len(sites)


async def import_history(actor: Actor, patient_id: int, import_id: int, document: dict,
                         files: dict[str, bytes]) -> dict[str, int]:
    """Forms (with their signed PDFs), lab cases, invoices (with their PDFs) and account entries, as exported."""
    counts = {}
    for category in HISTORY:
        records = document["categories"][category]["records"]
        for record in records:
            name = record.get("file") or ""
            data = files.get(FILES[category] + name) if name and category in FILES else None
            await ImportedRecord.insert(ImportedRecord(
                clinic=actor.clinic_id, patient=patient_id, patient_import=import_id, category=category,
                source_ref=record["ref"][:80], record=json.dumps({k: v for k, v in record.items() if k != "ref"}),
                file_name=name[:200] if data is not None else "", data=data))
        counts[category] = len(records)
    return counts


def balance(entries: list[dict]) -> Decimal | None:
    """What the patient owed at the previous clinic: the sum of its account entries (positive: owed)."""
    total = Decimal(0)
    for entry in entries:
        try:
            total += Decimal(str(entry.get("amount") or 0))
        except InvalidOperation:
            return None
    return total


TIMES = ("sent_at", "submitted_at", "decided_at", "created_at", "issued_at", "at")
AMOUNTS = ("amount", "total", "vat_total")


def _readable(record: dict) -> dict:
    """Times, days and amounts as values the page's filters format (the record keeps ISO text and decimal text)."""
    shown = dict(record)
    for name in TIMES:
        if isinstance(shown.get(name), str):
            shown[name] = _when(shown[name])
    if isinstance(shown.get("due_on"), str):
        shown["due_on"] = date.fromisoformat(shown["due_on"])
    for name in AMOUNTS:
        try:
            shown[name] = Decimal(str(shown[name])) if shown.get(name) not in (None, "") else None
        except InvalidOperation:
            shown[name] = None
    return shown


# Who reads which part: the forms and lab work are clinical, the statement is the front desk's money business.
READ = {"forms": Permission.READ_CLINICAL, "lab_cases": Permission.READ_CLINICAL,
        "invoices": Permission.HANDLE_PAYMENTS, "account_ledger": Permission.HANDLE_PAYMENTS}


async def previous_clinic(actor: Actor, patient_id: int) -> list[dict]:
    """The patient's imported history that the actor may read, per import, with the opening balance (audited)."""
    require(actor, Permission.READ_DEMOGRAPHICS)
    await ensure_in_clinic(actor, patient_id)
    categories = [category for category in HISTORY if can(actor, READ[category])]
    async with transaction():
        imports = await PatientImport.select(
            PatientImport.id, PatientImport.source_clinic, PatientImport.imported_at).where(
            (PatientImport.clinic == actor.clinic_id) & (PatientImport.patient == patient_id)).order_by(
            PatientImport.id)
        rows = await ImportedRecord.select(ImportedRecord.id, ImportedRecord.patient_import, ImportedRecord.category,
                                           ImportedRecord.record, ImportedRecord.file_name).where(
            (ImportedRecord.clinic == actor.clinic_id) & (ImportedRecord.patient == patient_id)
            & ImportedRecord.category.is_in(categories or [""])).order_by(ImportedRecord.id)
        if imports:
            await audit.record(actor, "previous_clinic.viewed", patient_id=patient_id, object_type="patient_import",
                               object_id=imports[-1]["id"], detail={"categories": categories})
    for source in imports:
        source["records"] = {category: [] for category in categories}
        for row in rows:
            if row["patient_import"] == source["id"]:
                record = json.loads(row["record"]) if isinstance(row["record"], str) else row["record"]
                source["records"][row["category"]].append({**_readable(record), "id": row["id"],
                                                           "has_file": bool(row["file_name"])})
        if "account_ledger" in categories:
            source["balance"] = balance(source["records"]["account_ledger"])
            currencies = {i["currency"] for i in source["records"]["invoices"] if i.get("currency")}
            source["currency"] = currencies.pop() if len(currencies) == 1 else "EUR"
    return imports


async def imported_file(actor: Actor, patient_id: int, record_id: int, category: str) -> tuple[str, bytes]:
    """A form's or an invoice's PDF as the previous clinic made it (another clinic's or category's id: 404)."""
    require(actor, READ[category])
    await ensure_in_clinic(actor, patient_id)
    async with transaction():
        row = await ImportedRecord.select(ImportedRecord.file_name, ImportedRecord.data).where(
            (ImportedRecord.id == record_id) & (ImportedRecord.clinic == actor.clinic_id)
            & (ImportedRecord.patient == patient_id) & (ImportedRecord.category == category)
            & ImportedRecord.data.is_not_null()).first()
        if row is None:
            raise NotFound()
        await audit.record(actor, "previous_clinic.file_downloaded", patient_id=patient_id,
                           object_type="imported_record", object_id=record_id)
    return row["file_name"], bytes(row["data"])
