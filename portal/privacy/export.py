"""The patient's download: a ZIP with one JSON document in the published schema (signed by the clinic), a CSV per
category, the original files, and a readable HTML summary. Built in the background; the link expires after 7 days.

`build_export(export_id)` is a plain async function: the view starts it as a task today, the jobs worker
can call it tomorrow. Progress is a row the page polls.
"""

import csv
import hashlib
import io
import json
import logging
import zipfile
from datetime import datetime, timedelta, timezone

from jinja2 import Environment, FileSystemLoader, select_autoescape

from portal import audit, display, i18n, job_queue
from portal.contacts import changes as contact_changes
from portal.db import transaction
from portal.errors import NotFound
from portal.permissions import Actor
from portal.privacy import export_signing, fhir_bundle, processors, retention
from portal.privacy.centre import readable, subject_of
from portal.privacy.registry import all_categories
from portal.privacy.schema import SCHEMA_VERSION
from portal.settings import PROJECT_ROOT, Settings
from portal.tables import Clinic, DataExport

log = logging.getLogger(__name__)
KEEP_DAYS = 7
FHIR_PATH = "fhir/bundle.json"  # the same record as a FHIR R4 Bundle (portal/privacy/fhir_bundle.py)
_summary = Environment(loader=FileSystemLoader(PROJECT_ROOT / "templates"), autoescape=select_autoescape(["html"]))
_summary.filters.update(display.FILTERS)  # the summary shows times like the pages do, in the clinic's zone
i18n.install(_summary)


async def start_export(actor: Actor) -> int:
    patient_id = subject_of(actor)
    now = datetime.now(timezone.utc)
    async with transaction():
        row = DataExport(clinic=actor.clinic_id, patient_id=patient_id, status="queued", done=0,
                         total=len(all_categories()) + 1, created_at=now, expires_at=now + timedelta(days=KEEP_DAYS))
        await row.save()
        await audit.record(actor, "privacy.export_requested", patient_id=patient_id, object_type="data_export",
                           object_id=row.id)
        # Built by the worker (jobs/privacy.py): it survives a web restart, and the row shows progress.
        await job_queue.defer("privacy.export", queue="exports", export_id=row.id, clinic_id=actor.clinic_id)
    return row.id


def with_ref(category: str, record: dict) -> dict:
    """The record with its stable `ref`: its id where it has one, else a digest of its content (the schema's REF)."""
    if isinstance(record.get("id"), int):
        return {"ref": f"{category}/{record['id']}", **record}
    digest = hashlib.sha256(json.dumps(record, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()
    return {"ref": f"{category}/sha256-{digest[:16]}", **record}


def _csv(rows: list[dict], fields: dict[str, str]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["ref", *fields], extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: display.csv_cell(v) for k, v in row.items()})
    return out.getvalue()


async def build_export(export_id: int, cooling_days: int | None = None) -> None:
    """Collect every registered category into the archive, updating progress after each one; the clinical ones
    are held back while a contact change cools off (`cooling_days`, CONTACT_COOLING_DAYS by default)."""
    row = await DataExport.select(DataExport.id, DataExport.clinic, DataExport.patient_id).where(
        DataExport.id == export_id).first()
    if row is None:
        return
    try:
        await DataExport.update({DataExport.status: "building"}).where(DataExport.id == export_id)
        clinic = await Clinic.select(Clinic.name, Clinic.country, Clinic.privacy_email, Clinic.address,
                                     Clinic.time_zone).where(
            Clinic.id == row["clinic"]).first()
        found = await processors.list_processors(row["clinic"])
        dates = await retention.erasable_dates(row["clinic"], row["patient_id"])
        generated = datetime.now(timezone.utc)
        settings = Settings.from_env()
        if cooling_days is None:
            cooling_days = settings.contact_cooling_days
        cooling = await contact_changes.cooling_until(row["clinic"], row["patient_id"], cooling_days)
        document = {"format": "chairside-patient-export", "version": SCHEMA_VERSION,
                    "generated_at": generated.isoformat(),
                    "controller": {"name": clinic["name"], "country": clinic["country"],
                                   "privacy_email": clinic["privacy_email"], "address": clinic["address"],
                                   "export_keys_url": export_signing.keys_url(settings, row["clinic"])},
                    "patient_id": row["patient_id"], "categories": {}, "files": {}}
        buffer, originals, perio = io.BytesIO(), {}, []
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            def write(path: str, data: str | bytes) -> None:
                data = data.encode() if isinstance(data, str) else data
                document["files"][path] = hashlib.sha256(data).hexdigest()
                archive.writestr(path, data)

            for done, category in enumerate(all_categories(), start=1):
                held = cooling is not None and category.clinical
                records = [] if held else [with_ref(category.name, record)
                                           for record in await category.collect(row["patient_id"])]
                erasable = dates[category.name]
                document["categories"][category.name] = {
                    "title": str(category.title), "purpose": str(category.purpose),
                    "legal_basis": str(category.legal_basis),
                    "recipients": processors.recipients_for(category.recipients, found),
                    "retention": category.retention,
                    "erasable_on": erasable["on"].isoformat() if erasable["on"] else None,
                    "erasable": erasable["text"], "records": records,
                    **({"withheld_until": cooling.isoformat()} if held else {})}
                write(f"csv/{category.name}.csv", _csv(records, category.fields))
                if category.files is not None and not held:
                    for item in await category.files(row["patient_id"]):
                        write(f"files/{category.name}/{item.name}", item.data)
                        originals[f"files/{category.name}/{item.name}"] = (item.content_type, item.data)
                        if item.content_type == "application/fhir+json":  # perio Observations join the bundle
                            perio += json.loads(item.data).get("entry", [])
                await DataExport.update({DataExport.done: done}).where(DataExport.id == export_id)
            write(FHIR_PATH, json.dumps(fhir_bundle.bundle(document, originals, perio), ensure_ascii=False))
            write("summary.html", _summary.get_template("privacy_centre/export_summary.html").render(
                document=document, generated=generated, time_zone=clinic["time_zone"], readable=readable))
            # last: it lists the rest, and its signature covers them through their hashes
            document["signature"] = await export_signing.sign(settings, row["clinic"], document)
            archive.writestr("export.json", json.dumps(document, ensure_ascii=False, indent=1))
        await DataExport.update({DataExport.archive: buffer.getvalue(), DataExport.status: "ready",
                                 DataExport.done: len(all_categories()) + 1,
                                 DataExport.finished_at: datetime.now(timezone.utc)}).where(DataExport.id == export_id)
    except Exception as exc:  # the page shows "failed" and offers another try; the trace goes to the log
        log.exception("export %s failed", export_id)
        await DataExport.update({DataExport.status: "failed", DataExport.error: type(exc).__name__}).where(
            DataExport.id == export_id)


async def export_status(actor: Actor, export_id: int) -> dict:
    """An export of this patient's (another patient's id is a 404); expired ones say so."""
    patient_id = subject_of(actor)
    row = await DataExport.select(DataExport.id, DataExport.status, DataExport.done, DataExport.total,
                                  DataExport.created_at, DataExport.expires_at).where(
        (DataExport.id == export_id) & (DataExport.patient_id == patient_id)
        & (DataExport.clinic == actor.clinic_id)).first()
    if row is None:
        raise NotFound()
    row["expired"] = row["expires_at"] < datetime.now(timezone.utc)
    row["percent"] = int(100 * row["done"] / max(row["total"], 1))
    return row


async def latest_exports(actor: Actor) -> list[dict]:
    patient_id = subject_of(actor)
    rows = await DataExport.select(DataExport.id, DataExport.status, DataExport.created_at,
                                   DataExport.expires_at).where(
        (DataExport.patient_id == patient_id) & (DataExport.clinic == actor.clinic_id)).order_by(
        DataExport.id, ascending=False).limit(5)
    now = datetime.now(timezone.utc)
    for row in rows:
        row["expired"] = row["expires_at"] < now
    return rows


async def download(actor: Actor, export_id: int) -> tuple[str, bytes]:
    status = await export_status(actor, export_id)
    if status["expired"] or status["status"] != "ready":
        raise NotFound()
    async with transaction():
        row = await DataExport.select(DataExport.archive).where(DataExport.id == export_id).first()
        await audit.record(actor, "privacy.export_downloaded", patient_id=actor.patient_id, object_type="data_export",
                           object_id=export_id)
    return f"my-data-{status['created_at'].date().isoformat()}.zip", bytes(row["archive"])


async def purge_expired() -> int:
    """Expired archives are deleted (the daily retention run may call this)."""
    rows = await DataExport.delete().where(DataExport.expires_at < datetime.now(timezone.utc)).returning(DataExport.id)
    return len(rows)
