"""Importing another Chairside clinic's patient export (version 2.1): checked whole and shown to the owner, then, on
their word, the patient, chart, plans, signed notes, perio exams, images and visit history created in one
transaction with the previous clinic's forms, lab cases and account kept as history, audited.

What is checked before anything is shown: a ZIP with `export.json` in the published schema, a version this
installation reads, the signature of the clinic that made it (portal/privacy/export_signing.py), every file's
SHA-256 as the document lists it, every signed note's hash as its author signed it, and that this very export was
not imported before. A signature that fails is refused; one by a clinic of this installation is named; one by a key
we do not know is shown with its fingerprint, for the owner to compare with what the sending clinic publishes.
"""

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import jsonschema

from portal import audit, patients
from portal.charts.clinical_notes import content_hash
from portal.db import transaction
from portal.errors import ValidationFailed
from portal.i18n import gettext, lazy_gettext
from portal.imaging import images as imaging
from portal.permissions import Actor, Permission, require
from portal.privacy import export_signing, record_import_history
from portal.privacy.schema import SCHEMA_VERSION, json_schema
from portal.tables import (
    ClinicalNote,
    Guardian,
    ImportedVisit,
    ImportUpload,
    MedicalAlert,
    MedicalHistory,
    PatientImage,
    PatientImport,
    PlanItem,
    ToothFinding,
    TreatmentPlan,
)

FIELD = "archive"  # the form field the refusals stand beside
FORMAT = "chairside-patient-export"
UNPACKED_FACTOR = 4  # a ZIP may unpack to at most this many times the upload limit (no zip bombs)


UNSIGNED = lazy_gettext("This export carries no signature of the clinic that made it, so who made it cannot be "
                        "checked. Ask the previous clinic for a new export.")
STAGED_HOURS = 24  # an upload not confirmed within a day is deleted (it holds a patient's record)


@dataclass(frozen=True)
class ImportedRecord:
    patient_id: int
    counts: dict[str, int]


@dataclass(frozen=True)
class Preview:
    """What the owner confirms: who made the export (by its signature), whose record it is and what it holds."""

    upload_id: int
    verdict: export_signing.Verdict
    source_clinic: str
    generated_at: datetime
    patient: dict
    counts: dict[str, int]


def _refuse(message: str) -> ValidationFailed:
    return ValidationFailed({FIELD: str(message)})


def read_archive(data: bytes, max_bytes: int) -> tuple[dict, dict[str, bytes]]:
    """The document and the ZIP's other files, or a refusal saying what is wrong with the file."""
    not_export = gettext("This file is not a Chairside patient export (a ZIP with export.json).")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = [i for i in archive.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, ValueError):
        raise _refuse(not_export) from None
    if sum(i.file_size for i in entries) > max_bytes * UNPACKED_FACTOR:
        raise _refuse(gettext("The export unpacks to more than %(mb)s MB; it cannot be imported here.",
                              mb=max_bytes * UNPACKED_FACTOR // 2**20))
    try:
        document = json.loads(archive.read("export.json"))
        files = {i.filename: archive.read(i) for i in entries if i.filename != "export.json"}
    except (KeyError, ValueError, zipfile.BadZipFile):
        raise _refuse(not_export) from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise _refuse(not_export)
    version = str(document.get("version", ""))
    if version != SCHEMA_VERSION:
        raise _refuse(gettext("This export is version %(version)s; this clinic imports version %(ours)s. Ask the "
                              "previous clinic for a new export.", version=version[:20] or "?", ours=SCHEMA_VERSION))
    if not isinstance(document.get("signature"), dict):  # said plainly, before the schema would say "at export.json"
        raise _refuse(UNSIGNED)
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(
        json_schema(), format_checker=jsonschema.FormatChecker()).iter_errors(document))
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "export.json"
        raise _refuse(gettext("The export does not match its published schema (at %(where)s).", where=where[:200]))
    _check_integrity(document, files)
    return document, files


def _check_integrity(document: dict, files: dict[str, bytes]) -> None:
    """Every file as listed, every signed note as signed: a changed byte is refused, naming what changed."""
    listed = document["files"]
    for path in sorted(set(listed) | set(files)):
        if path not in files or path not in listed or hashlib.sha256(files[path]).hexdigest() != listed[path]:
            raise _refuse(gettext("%(path)s was changed after the export was made; it cannot be imported.",
                                  path=path[:200]))
    for note in document["categories"]["clinical_notes"]["records"]:
        if note["author_id"] is None:
            continue  # the author's account was removed at the previous clinic: nothing to recompute it with
        signed = content_hash(document["patient_id"], note["author_id"], datetime.fromisoformat(note["signed_at"]),
                              note["body"], note["amends"])
        if signed != note["content_hash"]:
            raise _refuse(gettext("The clinical note signed by %(author)s on %(day)s was changed after it was "
                                  "signed; the export cannot be imported.", author=note["author_name"][:200],
                                  day=note["signed_at"][:10]))


def _records(document: dict, name: str) -> list[dict]:
    return document["categories"][name]["records"]


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


async def _signed_by(document: dict) -> export_signing.Verdict:
    try:
        return await export_signing.verify(document)
    except export_signing.SignatureRefused as refused:
        if refused.missing:
            raise _refuse(UNSIGNED) from None
        raise _refuse(gettext("The export's signature does not match its content: it was changed after the "
                              "clinic made it, or it was not signed by the key it names. It cannot be "
                              "imported.")) from None


async def check(actor: Actor, data: bytes, max_bytes: int) -> tuple[dict, dict[str, bytes],
                                                                     export_signing.Verdict, str]:
    """The whole file checked: document, files, who signed it and the document's digest (or a refusal)."""
    require(actor, Permission.MANAGE_CLINIC)
    document, files = read_archive(data, max_bytes)
    verdict = await _signed_by(document)
    digest = hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()
    earlier = await PatientImport.select(PatientImport.id).where(
        (PatientImport.clinic == actor.clinic_id) & (PatientImport.document_sha256 == digest)).first()
    if earlier is not None:
        raise _refuse(gettext("This export was imported before; the patient is already in your list."))
    return document, files, verdict, digest


def _counts(document: dict) -> dict[str, int]:
    counts = {name: len(_records(document, name)) for name in (
        "appointments", "medical_history", "tooth_chart", "clinical_notes", "images",
        *record_import_history.HISTORY)}
    counts["treatment_plans"] = len({item["plan_id"] for item in _records(document, "treatment_plans")})
    counts["perio_charts"] = len({r["exam_id"] for r in _records(document, "perio_charts") if r["signed_at"]})
    return counts


async def stage(actor: Actor, data: bytes, max_bytes: int) -> Preview:
    """Check the upload and keep it for the owner's confirmation (older unconfirmed uploads are deleted)."""
    document, _files, verdict, _digest = await check(actor, data, max_bytes)
    now = datetime.now(timezone.utc)
    async with transaction():
        await ImportUpload.delete().where(ImportUpload.uploaded_at < now - timedelta(hours=STAGED_HOURS))
        [row] = await ImportUpload.insert(ImportUpload(clinic=actor.clinic_id, uploaded_by=actor.id,
                                                       uploaded_at=now, data=data))
        await audit.record(actor, "patient_import.checked", object_type="import_upload", object_id=row["id"],
                           detail={"source_clinic": document["controller"]["name"][:200],
                                   "signed_by": verdict.clinic, "fingerprint": verdict.fingerprint})
    [person] = _records(document, "identity")
    return Preview(row["id"], verdict, document["controller"]["name"], _when(document["generated_at"]),
                   {"given_name": person.get("given_name"), "family_name": person.get("family_name"),
                    "date_of_birth": date.fromisoformat(person["date_of_birth"]) if person.get("date_of_birth")
                    else None}, _counts(document))


async def import_staged(actor: Actor, upload_id: int, max_bytes: int) -> ImportedRecord:
    """The upload the owner saw and confirmed, checked again and imported; the staged copy is then deleted."""
    require(actor, Permission.MANAGE_CLINIC)
    row = await ImportUpload.select(ImportUpload.data).where(
        (ImportUpload.id == upload_id) & (ImportUpload.clinic == actor.clinic_id)).first()
    if row is None:
        raise _refuse(gettext("That upload is no longer waiting (it was imported, or a day passed). Choose the "
                              "file again."))
    imported = await import_record(actor, bytes(row["data"]), max_bytes)
    await ImportUpload.delete().where(ImportUpload.id == upload_id)
    return imported


async def import_record(actor: Actor, data: bytes, max_bytes: int) -> ImportedRecord:
    """Create the exported patient in the actor's clinic, with everything the clinical record held."""
    document, files, verdict, digest = await check(actor, data, max_bytes)
    [person] = _records(document, "identity")
    [contact] = _records(document, "contact") or [{}]
    form = patients.PatientForm(**{k: str(v or "") for k, v in {**person, **contact}.items()
                                   if k in patients.PatientForm.__dataclass_fields__})
    now = datetime.now(timezone.utc)
    async with transaction():
        try:
            patient_id = await patients.create_patient(actor, form)
        except ValidationFailed as exc:
            field, message = next(iter(exc.errors.items()))
            raise _refuse(gettext("The patient's details in the export are not valid here (%(field)s: "
                                  "%(message)s).", field=field, message=message)) from None
        source = PatientImport(clinic=actor.clinic_id, patient=patient_id,
                               source_clinic=document["controller"]["name"][:200],
                               source_country=str(document["controller"].get("country", ""))[:2],
                               source_patient_id=document["patient_id"], generated_at=_when(document["generated_at"]),
                               document_sha256=digest, imported_by=actor.id, imported_at=now)
        await source.save()
        for guardian in _records(document, "guardians"):
            await Guardian.insert(Guardian(clinic=actor.clinic_id, patient=patient_id, name=guardian["name"],
                                           relationship=guardian["relationship"] or "", created_at=now))
        visits = await _visits(actor, patient_id, source.id, document)
        counts = {"appointments": len(visits)}
        counts["medical_history"] = await _history(actor, patient_id, document)
        counts["tooth_chart"], counts["treatment_plans"] = await _chart(actor, patient_id, document)
        counts["clinical_notes"] = await _notes(actor, patient_id, document, visits)
        counts["images"] = await _images(actor, patient_id, document, files, visits, max_bytes)
        counts["perio_charts"] = await record_import_history.import_perio(actor, patient_id, document)
        counts.update(await record_import_history.import_history(actor, patient_id, source.id, document, files))
        await PatientImport.update({PatientImport.counts: json.dumps(counts)}).where(PatientImport.id == source.id)
        await audit.record(actor, "patient.imported", patient_id=patient_id, object_type="patient_import",
                           object_id=source.id, detail={"source_clinic": document["controller"]["name"][:200],
                                                        "generated_at": document["generated_at"],
                                                        "signed_by": verdict.clinic,
                                                        "fingerprint": verdict.fingerprint, **counts})
    return ImportedRecord(patient_id, counts)


async def _visits(actor: Actor, patient_id: int, import_id: int, document: dict) -> dict[str, int]:
    visits = {}
    for visit in _records(document, "appointments"):
        [row] = await ImportedVisit.insert(ImportedVisit(
            clinic=actor.clinic_id, patient=patient_id, patient_import=import_id, source_ref=visit["ref"],
            starts_at=_when(visit["starts_at"]), ends_at=_when(visit["ends_at"]), status=visit["status"],
            type=(visit["type"] or "")[:200], provider=(visit["provider"] or "")[:200],
            notes=(visit["notes"] or "")[:1000], cancel_reason=(visit["cancel_reason"] or "")[:300]))
        visits[visit["ref"]] = row["id"]
    return visits


async def _history(actor: Actor, patient_id: int, document: dict) -> int:
    versions = _records(document, "medical_history")
    for version in versions:
        await MedicalHistory.insert(MedicalHistory(
            clinic=actor.clinic_id, patient=patient_id, version=version["version"],
            conditions=version["conditions"] or "", medications=version["medications"] or "",
            allergies=version["allergies"] or "", pregnant=version["pregnant"], smoking=version["smoking"],
            notes=version["notes"] or "", recorded_by_name=version["recorded_by_name"] or "",
            recorded_at=_when(version["recorded_at"])))
    for alert in _records(document, "medical_alerts"):
        await MedicalAlert.insert(MedicalAlert(
            clinic=actor.clinic_id, patient=patient_id, label=alert["label"], severity=alert["severity"],
            source=alert["source"], created_at=_when(alert["created_at"]), resolved_at=_when(alert["resolved_at"])))
    return len(versions)


async def _chart(actor: Actor, patient_id: int, document: dict) -> tuple[int, int]:
    """Plans and their items first (with the plan they belong to), then findings pointing at the new items."""
    plans, items = {}, {}
    for item in _records(document, "treatment_plans"):
        if item["plan_id"] not in plans:
            [plan] = await TreatmentPlan.insert(TreatmentPlan(
                clinic=actor.clinic_id, patient=patient_id, title=item["plan_title"], status=item["plan_status"],
                currency=item["currency"], created_by=actor.id, created_at=datetime.now(timezone.utc),
                updated_at=datetime.now(timezone.utc)))
            plans[item["plan_id"]] = plan["id"]
        [row] = await PlanItem.insert(PlanItem(
            clinic=actor.clinic_id, plan=plans[item["plan_id"]], phase=item["phase"], code=item["code"],
            description=item["description"], fee=item["fee"], tooth=item["tooth"], surfaces=item["surfaces"],
            status=item["status"], completed_at=_when(item["completed_at"])))
        items[item["ref"]] = row["id"]
    findings = _records(document, "tooth_chart")
    for finding in findings:
        await ToothFinding.insert(ToothFinding(
            clinic=actor.clinic_id, patient=patient_id, tooth=finding["tooth"], surfaces=finding["surfaces"],
            kind=finding["kind"], material=finding["material"] or "", state=finding["state"],
            note=finding["note"] or "", plan_item=items.get(finding["plan_item"]),
            recorded_by_name=finding["recorded_by_name"] or "", recorded_at=_when(finding["recorded_at"])))
    return len(findings), len(plans)


async def _notes(actor: Actor, patient_id: int, document: dict, visits: dict[str, int]) -> int:
    """Each note as its author signed it (name, role, registration, time, hash); amendments point at the new ids."""
    ids: dict[int, int] = {}
    notes = sorted(_records(document, "clinical_notes"), key=lambda n: (n["amends"] is not None, n["id"]))
    for note in notes:
        [row] = await ClinicalNote.insert(ClinicalNote(
            clinic=actor.clinic_id, patient=patient_id, template=note["template"], body=note["body"],
            amends=ids.get(note["amends"]), amendment_reason=note["amendment_reason"] or "", author=None,
            author_name=note["author_name"], author_role=note["author_role"],
            author_credentials=note["author_credentials"] or "", content_hash=note["content_hash"],
            signed_at=_when(note["signed_at"]), imported_visit=visits.get(note["appointment"])))
        ids[note["id"]] = row["id"]
    return len(notes)


async def _images(actor: Actor, patient_id: int, document: dict, files: dict[str, bytes], visits: dict[str, int],
                  max_bytes: int) -> int:
    """Images still on the chart, stored through imaging (checked, rendered, EXIF-free) with their labels."""
    count = 0
    for image in _records(document, "images"):
        data = files.get(f"files/images/{image['file']}")
        if image["withdrawn_at"] or data is None:
            continue
        form = imaging.UploadForm(kind=image["kind"], taken_on=image["taken_on"], teeth=image["teeth"] or "",
                                  caption=image["caption"] or "")
        try:
            [image_id] = await imaging.upload_images(actor, patient_id, form,
                                                     [imaging.UploadedFile(image["file"], data)], max_bytes)
        except ValidationFailed as exc:
            raise _refuse(" ".join(str(m) for m in exc.errors.values())) from None
        if image.get("visit") in visits:
            await PatientImage.update({PatientImage.imported_visit: visits[image["visit"]]}).where(
                PatientImage.id == image_id)
        count += 1
    return count
