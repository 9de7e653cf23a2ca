"""Imported visit history in the privacy registry: visits at a previous clinic, brought by an imported export."""

from portal.calendar.statuses import Status
from portal.i18n import lazy_gettext
from portal.privacy.categories import CARE, allow_erasure
from portal.privacy.registry import ID, TEXT, WHEN, DataCategory, one_of, plain_rows, register
from portal.tables import ImportedVisit

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
    name="imported_visits", title=lazy_gettext("Visits at your previous clinic"), order=57, retention="clinical",
    basis="end_of_treatment", clinical=True,
    purpose=lazy_gettext("Your visit history, as your previous clinic recorded it, imported with your record."),
    legal_basis=CARE, recipients=("hosting",), fields=VISIT_FIELDS, collect=_visits, erase=_erase_visits,
    types={"id": ID, "source_clinic": TEXT, "starts_at": WHEN, "ends_at": WHEN, "status": one_of(Status)}))
