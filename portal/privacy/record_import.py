"""Importing another Chairside clinic's patient export (version 2): checked whole, then the patient, chart, plans,
signed notes, images and visit history created in one transaction, audited.

What is checked before anything is written: a ZIP with `export.json` in the published schema, a version this
installation reads, every file's SHA-256 as the document lists it, every signed note's hash as its author signed
it, and that this very export was not imported before. These catch a damaged or altered file; they cannot prove
which clinic made it (the export carries no signature of its maker).
"""

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone

import jsonschema

from portal import audit, patients
from portal.charts.clinical_notes import content_hash
from portal.db import transaction
from portal.errors import ValidationFailed
from portal.i18n import gettext
from portal.imaging import images as imaging
from portal.permissions import Actor, Permission, require
from portal.privacy.schema import SCHEMA_VERSION, json_schema
from portal.tables import (
    ClinicalNote,
    Guardian,
    ImportedVisit,
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


@dataclass(frozen=True)
class ImportedRecord:
    patient_id: int
    counts: dict[str, int]


def _refuse(message: str) -> ValidationFailed:
    return ValidationFailed({FIELD: message})


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
    if version.split(".")[0] != SCHEMA_VERSION.split(".")[0]:
        raise _refuse(gettext("This export is version %(version)s; this clinic imports version %(ours)s. Ask the "
                              "previous clinic for a new export.", version=version[:20] or "?", ours=SCHEMA_VERSION))
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


async def import_record(actor: Actor, data: bytes, max_bytes: int) -> ImportedRecord:
    """Create the exported patient in the actor's clinic, with everything the clinical record held."""
    require(actor, Permission.MANAGE_CLINIC)
    document, files = read_archive(data, max_bytes)
    digest = hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()
    earlier = await PatientImport.select(PatientImport.id).where(
        (PatientImport.clinic == actor.clinic_id) & (PatientImport.document_sha256 == digest)).first()
    if earlier is not None:
        raise _refuse(gettext("This export was imported before; the patient is already in your list."))
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
        await PatientImport.update({PatientImport.counts: json.dumps(counts)}).where(PatientImport.id == source.id)
        await audit.record(actor, "patient.imported", patient_id=patient_id, object_type="patient_import",
                           object_id=source.id, detail={"source_clinic": document["controller"]["name"][:200],
                                                        "generated_at": document["generated_at"], **counts})
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
