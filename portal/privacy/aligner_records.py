"""Aligner series and lab download links in the privacy registry: the plan and each refinement, the batches handed
over, the reminders; each case offered to a lab as a download (each fetch is also a disclosure, lab_records)."""

from portal.i18n import lazy_gettext
from portal.privacy.categories import CARE, allow_erasure
from portal.privacy.registry import DataCategory, plain_rows, register
from portal.tables import AlignerBatch, AlignerRound, AlignerSeries, LabCase, LabDownload

SERIES_FIELDS = {
    "created_at": lazy_gettext("When the series was started"), "created_by_name": lazy_gettext("Who started it"),
    "days_per_aligner": lazy_gettext("Days each aligner is worn"),
    "reminders": lazy_gettext("Whether you asked for a mail on each change day"),
    "rounds": lazy_gettext("The first plan and each refinement: aligners, scan, lab case, note and their batches "
                           "(aligners handed over and the day the first went in)")}


async def _series(patient_id: int) -> list[dict]:
    rows = await AlignerSeries.select().where(AlignerSeries.patient == patient_id).order_by(AlignerSeries.id)
    for row in rows:
        rounds = await AlignerRound.select(AlignerRound.id, AlignerRound.number, AlignerRound.stages,
                                           AlignerRound.scan_image, AlignerRound.lab_case, AlignerRound.note,
                                           AlignerRound.created_at).where(
            AlignerRound.series == row["id"]).order_by(AlignerRound.number)
        for r in rounds:
            batches = await AlignerBatch.select(AlignerBatch.first_stage, AlignerBatch.last_stage,
                                                AlignerBatch.wear_from, AlignerBatch.delivered_by_name).where(
                AlignerBatch.round == r.pop("id")).order_by(AlignerBatch.wear_from)
            r["created_at"] = r["created_at"].isoformat()
            r["batches"] = [{**b, "wear_from": b["wear_from"].isoformat()} for b in batches]
        row["rounds"] = rounds
    return plain_rows(rows, SERIES_FIELDS)


async def _erase_series(patient_id: int) -> int:
    await allow_erasure()  # rounds and batches are append-only; an approved erasure may delete them
    return len(await AlignerSeries.delete().where(AlignerSeries.patient == patient_id).returning(AlignerSeries.id))


register(DataCategory(
    name="aligners", title=lazy_gettext("Aligner treatment"), order=69,
    purpose=lazy_gettext("The aligner plan and refinements, the aligners handed over, which one is worn now, and the "
                         "change reminders asked for."),
    legal_basis=CARE, recipients=("hosting", "lab", "mail"), retention="clinical", basis="end_of_treatment",
    fields=SERIES_FIELDS, collect=_series, erase=_erase_series))


DOWNLOAD_FIELDS = {
    "created_at": lazy_gettext("When the case was offered to the lab"), "lab_name": lazy_gettext("The lab"),
    "lab_case": lazy_gettext("Case number"), "data": lazy_gettext("Which data the download holds"),
    "expires_at": lazy_gettext("Until when the link works"), "fetches": lazy_gettext("How often the lab fetched it"),
    "last_fetched_at": lazy_gettext("When it was last fetched"),
    "zip_sha256": lazy_gettext("SHA-256 of the file offered")}


async def _downloads(patient_id: int) -> list[dict]:
    rows = await LabDownload.select(*[getattr(LabDownload, f) for f in DOWNLOAD_FIELDS]).where(
        LabDownload.lab_case.is_in(LabCase.select(LabCase.id).where(LabCase.patient == patient_id))).order_by(
        LabDownload.id)
    return plain_rows(rows, DOWNLOAD_FIELDS)


async def _erase_downloads(patient_id: int) -> int:
    return len(await LabDownload.delete().where(LabDownload.lab_case.is_in(
        LabCase.select(LabCase.id).where(LabCase.patient == patient_id))).returning(LabDownload.id))


register(DataCategory(
    name="lab_downloads", title=lazy_gettext("Lab work offered for download"), order=70,
    purpose=lazy_gettext("Cases offered to a dental laboratory as a time-limited download instead of by mail, and "
                         "how often the lab fetched them."),
    legal_basis=CARE, recipients=("hosting", "lab"), retention="clinical", basis="end_of_treatment",
    fields=DOWNLOAD_FIELDS, collect=_downloads, erase=_erase_downloads))
