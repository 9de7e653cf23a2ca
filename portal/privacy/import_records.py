"""Imported history in the privacy registry: visits, forms, lab cases, invoices and account entries at a previous
clinic, brought by an imported export."""

import json
from collections.abc import Awaitable, Callable

from portal.calendar.statuses import Status
from portal.i18n import lazy_gettext
from portal.privacy import billing_records, form_records, lab_records  # noqa: F401  (registered first)
from portal.privacy.categories import CARE, allow_erasure
from portal.privacy.registry import CATEGORIES, ID, TEXT, WHEN, DataCategory, ExportFile, one_of, plain_rows, register
from portal.tables import ImportedRecord, ImportedVisit

VISIT_FIELDS = {"id": lazy_gettext("Imported visit id"), "source_clinic": lazy_gettext("The previous clinic"),
                "starts_at": lazy_gettext("Start (UTC, ISO 8601)"), "ends_at": lazy_gettext("End (UTC, ISO 8601)"),
                "status": lazy_gettext("Status"), "type": lazy_gettext("Kind of appointment"),
                "provider": lazy_gettext("Dentist or hygienist"), "notes": lazy_gettext("Booking notes"),
                "cancel_reason": lazy_gettext("Why it was cancelled")}


async def _visits(patient_id: int) -> list[dict]:
    rows = await ImportedVisit.raw(
        "SELECT v.*, i.source_clinic FROM imported_visit v JOIN patient_import i ON i.id = v.patient_import "
        "WHERE v.patient = {} ORDER BY v.starts_at", patient_id)
    return plain_rows(rows, VISIT_FIELDS)


async def _erase_visits(patient_id: int) -> int:
    """After notes and images (lower order), which may point at a visit; before identity."""
    await allow_erasure()
    return len(await ImportedVisit.delete().where(ImportedVisit.patient == patient_id).returning(ImportedVisit.id))


register(DataCategory(
    name="imported_visits", title=lazy_gettext("Visits at the previous clinic"), order=57, retention="clinical",
    basis="end_of_treatment", clinical=True,
    purpose=lazy_gettext("The visit history, as the previous clinic recorded it, imported with the record."),
    legal_basis=CARE, recipients=("hosting",), fields=VISIT_FIELDS, collect=_visits, erase=_erase_visits,
    types={"id": ID, "source_clinic": TEXT, "starts_at": WHEN, "ends_at": WHEN, "status": one_of(Status)}))


# The previous clinic's forms, lab cases, invoices and account entries: kept as it exported them (history, read only;
# never this clinic's orders, invoices or revenue). Each is the source category's fields, with where it came from.
IMPORTED_FROM = {"forms": "imported_forms", "lab_cases": "imported_lab_cases", "invoices": "imported_invoices",
                 "account_ledger": "imported_account_ledger"}
ORIGIN_FIELDS = {"id": lazy_gettext("Imported record id"), "source_clinic": lazy_gettext("The previous clinic"),
                 "source_ref": lazy_gettext("Its id at the previous clinic")}


def _imported_rows(source: str, fields: dict) -> Callable[[int], Awaitable[list[dict]]]:
    async def collect(patient_id: int) -> list[dict]:
        rows = await ImportedRecord.raw(
            "SELECT r.id, r.source_ref, r.record, i.source_clinic FROM imported_record r "
            "JOIN patient_import i ON i.id = r.patient_import WHERE r.patient = {} AND r.category = {} ORDER BY r.id",
            patient_id, source)
        for row in rows:
            record = json.loads(row["record"]) if isinstance(row["record"], str) else row["record"]
            row.update({name: value for name, value in record.items() if name not in ORIGIN_FIELDS})
        return plain_rows(rows, fields)
    return collect


def _imported_files(source: str) -> Callable[[int], Awaitable[list[ExportFile]]]:
    async def files(patient_id: int) -> list[ExportFile]:
        rows = await ImportedRecord.select(ImportedRecord.file_name, ImportedRecord.data).where(
            (ImportedRecord.patient == patient_id) & (ImportedRecord.category == source)
            & ImportedRecord.data.is_not_null()).order_by(ImportedRecord.id)
        return [ExportFile(row["file_name"], "application/pdf", bytes(row["data"])) for row in rows]
    return files


def _imported_erase(source: str) -> Callable[[int], Awaitable[int]]:
    async def erase(patient_id: int) -> int:
        await allow_erasure()
        return len(await ImportedRecord.delete().where(
            (ImportedRecord.patient == patient_id) & (ImportedRecord.category == source)).returning(ImportedRecord.id))
    return erase


TITLES = {"forms": lazy_gettext("Forms signed at the previous clinic"),
          "lab_cases": lazy_gettext("Lab work at the previous clinic"),
          "invoices": lazy_gettext("Invoices of the previous clinic"),
          "account_ledger": lazy_gettext("Account at the previous clinic")}


def register_imported(source: DataCategory) -> None:
    """The imported copy of a source category (called once every module has registered its categories)."""
    fields = {**ORIGIN_FIELDS, **{k: v for k, v in source.fields.items() if k != "id"}}
    register(DataCategory(
        name=IMPORTED_FROM[source.name], title=TITLES[source.name], order=source.order,
        retention=source.retention, basis=source.basis, clinical=source.clinical,
        purpose=lazy_gettext("Records at the previous clinic, as that clinic exported them and imported with the "
                             "record; kept as history, never changed."),
        legal_basis=source.legal_basis, recipients=("hosting",), fields=fields, collect=_imported_rows(
            source.name, fields), erase=_imported_erase(source.name),
        files=_imported_files(source.name) if source.files is not None else None,
        types={**{k: v for k, v in source.types.items() if k != "id"}, "id": ID, "source_clinic": TEXT,
               "source_ref": {"type": "string", "pattern": f"^{source.name}/([0-9]+|sha256-[0-9a-f]{{16}})$"}}))


for _name in IMPORTED_FROM:
    register_imported(CATEGORIES[_name])
