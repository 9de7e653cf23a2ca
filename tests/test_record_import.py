"""Importing another Chairside clinic's export: the round trip keeps the record, a bad file is refused beside the
field with nothing written, and only the owner of the importing clinic can do it, in that clinic only."""

import hashlib
import io
import json
import re
import zipfile

import jsonschema
import pytest

from portal.permissions import Role
from portal.privacy.schema import json_schema
from portal.tables import AuditEntry, ClinicalNote, ImportedVisit, Patient, PatientImage
from tests import factories
from tests.factories import csrf_token, sign_in_as
from tests.test_privacy_export_v2 import charted_patient, export_zip


def _zip(archive: zipfile.ZipFile, change=None, document_change=None) -> bytes:
    """The archive again, with `change(path, data) -> data` applied to files and `document_change(doc)` to the
    document (the manifest kept as it was, as a forger who forgot it would)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as copy:
        for name in archive.namelist():
            data = archive.read(name)
            if name == "export.json" and document_change is not None:
                document = json.loads(data)
                document_change(document)
                data = json.dumps(document).encode()
            elif change is not None:
                data = change(name, data)
            copy.writestr(name, data)
    return out.getvalue()


async def check_upload(client, data: bytes, name: str = "my-data.zip"):
    """The first step: the file checked and shown (who signed it, what it holds); nothing imported yet."""
    return await client.post("/patients/import/", data={"_csrf_token": await csrf_token(client)},
                             files={"archive": (name, data, "application/zip")})


async def _upload(client, data: bytes, name: str = "my-data.zip"):
    """Both steps: check, then confirm what was shown (the check's refusal when it refuses)."""
    checked = await check_upload(client, data, name)
    if checked.status_code != 200:
        return checked
    upload_id = re.search(r'name="upload" value="(\d+)"', checked.text).group(1)
    return await client.post("/patients/import/confirm",
                             data={"_csrf_token": await csrf_token(client), "upload": upload_id})


def _rows(document: dict, category: str, fields: tuple[str, ...]) -> list[tuple]:
    return sorted(tuple(r[f] for f in fields) for r in document["categories"][category]["records"])


async def test_a_record_exported_by_one_clinic_is_imported_whole_by_another(client, clinic, cal):
    patient_id, visit, ids = await charted_patient(clinic, cal)
    source = json.loads((archive := await export_zip(clinic, patient_id)).read("export.json"))
    other = await factories.make_clinic("Harbour Dental")
    await sign_in_as(client, other)
    assert "Import a patient record" in (await client.get("/patients/import/")).text
    response = await _upload(client, _zip(archive))
    assert response.status_code == 303, response.text
    imported_id = int(response.headers["location"].rsplit("/", 1)[1])
    assert (await Patient.select(Patient.clinic).where(Patient.id == imported_id).first())["clinic"] == other.clinic_id
    copy = json.loads((await export_zip(other, imported_id)).read("export.json"))
    jsonschema.validate(copy, json_schema(), cls=jsonschema.Draft202012Validator)
    for category, fields in (
            ("identity", ("given_name", "family_name", "date_of_birth", "gender", "national_id")),
            ("tooth_chart", ("tooth", "surfaces", "kind", "material", "state", "note", "recorded_by_name",
                             "recorded_at")),
            ("treatment_plans", ("plan_title", "plan_status", "phase", "code", "description", "fee", "currency",
                                 "tooth", "surfaces", "status", "completed_at")),
            ("clinical_notes", ("template", "body", "author_name", "author_role", "author_credentials", "signed_at",
                                "content_hash", "amendment_reason")),
            ("medical_history", ("version", "conditions", "medications", "allergies", "smoking", "recorded_by_name",
                                 "recorded_at")),
            ("medical_alerts", ("label", "severity", "source", "created_at", "resolved_at")),
            ("images", ("kind", "format", "taken_on", "teeth", "caption"))):
        assert _rows(copy, category, fields) == _rows(source, category, fields), category
    fields = ("starts_at", "ends_at", "status", "type", "provider", "notes", "cancel_reason")
    assert _rows(copy, "imported_visits", fields) == _rows(source, "appointments", fields)
    assert {v["source_clinic"] for v in copy["categories"]["imported_visits"]["records"]} == {"Canal Dental"}
    # the links survive: the note and the image belong to the same visit, the finding to the same planned item
    [visit_row] = await ImportedVisit.select().where(ImportedVisit.source_ref == f"appointments/{visit}")
    linked = await ClinicalNote.select(ClinicalNote.body).where(ClinicalNote.imported_visit == visit_row["id"])
    assert [n["body"] for n in linked] == ["Linked to a visit"]
    assert await PatientImage.count().where(PatientImage.imported_visit == visit_row["id"]) == 1
    items = {r["ref"]: r["code"] for r in copy["categories"]["treatment_plans"]["records"]}
    source_items = {r["ref"]: r["code"] for r in source["categories"]["treatment_plans"]["records"]}
    assert ([items[f["plan_item"]] for f in copy["categories"]["tooth_chart"]["records"] if f["plan_item"]]
            == [source_items[f["plan_item"]] for f in source["categories"]["tooth_chart"]["records"]
                if f["plan_item"]])
    # notes are marked as signed by their original author, not by the importing owner
    assert {n["author_name"] for n in copy["categories"]["clinical_notes"]["records"]} == {cal["dentist"].name}
    assert all(n["author_id"] is None for n in copy["categories"]["clinical_notes"]["records"])
    image_copy = copy["categories"]["images"]["records"][0]
    assert image_copy["sha256"] == source["categories"]["images"]["records"][0]["sha256"]
    notes_page = (await client.get(f"/patients/{imported_id}/notes")).text
    assert "Linked to a visit" in notes_page and cal["dentist"].name in notes_page
    for page in ("chart", "plans", "images", "history"):
        assert (await client.get(f"/patients/{imported_id}/{page}")).status_code == 200, page
    history = (await client.get(f"/patients/{imported_id}/appointments/")).text
    assert "At the previous clinic (imported)" in history and "Canal Dental" in history and "Dr. Dekker" in history
    audit = await AuditEntry.select().where(AuditEntry.action == "patient.imported").first()
    assert audit["clinic_id"] == other.clinic_id and audit["patient_id"] == imported_id
    again = await _upload(client, _zip(archive))  # the same file twice is refused
    assert again.status_code == 422 and "imported before" in again.text


def _bump_version(document):
    document["version"] = "1.0"


def _made_up_kind(document):
    document["categories"]["tooth_chart"]["records"][0]["kind"] = "chipped"


def _rewritten_note(document):
    document["categories"]["clinical_notes"]["records"][0]["body"] = "Nothing found"


def _swapped_image(name: str, data: bytes) -> bytes:
    return data + b"\0" if name.startswith("files/images/") else data


@pytest.mark.parametrize("case, expected", [
    ("not_zip", "not a Chairside patient export"),
    ("no_document", "not a Chairside patient export"),
    ("old_version", "version 1.0"),
    ("schema", "does not match its published schema"),
    ("forged_note", "was changed after it was signed"),
    ("forged_image", "was changed after the export was made"),
    ("no_file", "Choose the export"),
])
async def test_a_wrong_forged_or_unsupported_file_is_refused_beside_the_field(client, clinic, cal, case, expected):
    patient_id, _, _ = await charted_patient(clinic, cal)
    archive = await export_zip(clinic, patient_id)
    other = await factories.make_clinic("Harbour Dental")
    await sign_in_as(client, other)
    before = await Patient.count().where(Patient.clinic == other.clinic_id)
    if case == "no_file":
        response = await client.post("/patients/import/", data={"_csrf_token": await csrf_token(client)},
                                     files={"archive": ("", b"", "application/octet-stream")})
    else:
        data = {"not_zip": lambda: b"%PDF-1.4 not a zip",
                "no_document": lambda: _zip(archive, change=None).replace(b"export.json", b"exbort.json"),
                "old_version": lambda: _zip(archive, document_change=_bump_version),
                "schema": lambda: _zip(archive, document_change=_made_up_kind),
                "forged_note": lambda: _zip(archive, document_change=_rewritten_note),
                "forged_image": lambda: _zip(archive, change=_swapped_image)}[case]()
        response = await _upload(client, data)
    assert response.status_code == 422
    assert 'id="e-archive"' in response.text and expected in response.text
    assert await Patient.count().where(Patient.clinic == other.clinic_id) == before
    assert await ImportedVisit.count() == 0


async def test_only_the_owner_imports_and_only_into_their_own_clinic(client, other_client, clinic, cal):
    patient_id, _, _ = await charted_patient(clinic, cal)
    data = _zip(await export_zip(clinic, patient_id))
    other = await factories.make_clinic("Harbour Dental")
    for role in (Role.DENTIST, Role.RECEPTIONIST, Role.HYGIENIST):
        staff = await factories.make_staff(other, role)
        await sign_in_as(other_client, staff)
        assert (await other_client.get("/patients/import/")).status_code == 403
        assert (await _upload(other_client, data)).status_code == 403
        other_client.cookies.clear()
    assert (await _upload(other_client, data)).status_code in (302, 303, 401, 403)
    assert await Patient.count().where(Patient.clinic == other.clinic_id) == 0
    await sign_in_as(client, other)
    imported_id = int((await _upload(client, data)).headers["location"].rsplit("/", 1)[1])
    # every row the import wrote belongs to the importing clinic; the exporting clinic cannot open the copy
    for table in (ClinicalNote, ImportedVisit, PatientImage):
        assert {r["clinic"] for r in await table.select(table.clinic).where(table.patient == imported_id)} == {
            other.clinic_id}
    await sign_in_as(other_client, clinic)
    assert (await other_client.get(f"/patients/{imported_id}")).status_code == 404
    assert hashlib.sha256(data).hexdigest()  # the file itself is untouched by the import


async def test_the_upload_limit_follows_the_image_limit(settings, clinic):
    import dataclasses

    import httpx

    from portal.app import create_app

    app = create_app(dataclasses.replace(settings, image_max_bytes=64 * 1024), manage_pool=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        await sign_in_as(client, clinic)
        too_big = await _upload(client, b"PK" + b"\0" * (2 * 2**20))  # over 4 images of 64 KB plus 1 MB of form
        assert too_big.status_code == 413
        bomb = io.BytesIO()
        with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("export.json", b" " * (1024 * 1024))  # a few KB packed, 1 MB unpacked
        refused = await _upload(client, bomb.getvalue())
        assert refused.status_code == 422 and "unpacks to more than" in refused.text
    assert await Patient.count().where(Patient.clinic == clinic.clinic_id) == 0


def _same(copy: dict, copy_category: str, source: dict, source_category: str, skip=("id",)) -> None:
    def rows(document, category):
        return sorted(json.dumps({k: v for k, v in r.items() if k not in (*skip, "ref", "source_clinic", "source_ref")},
                                 sort_keys=True) for r in document["categories"][category]["records"])
    assert rows(copy, copy_category) == rows(source, source_category), copy_category
    assert rows(source, source_category), f"the source had no {source_category} to compare"


async def test_perio_forms_lab_and_the_account_travel_too_as_history(client, clinic, cal):
    from portal.charts import perio
    from portal.db import transaction
    from portal.tables import ImportedRecord, Invoice, LabCase, LedgerEntry, PerioExam, SentForm

    patient_id, _, ids = await charted_patient(clinic, cal)
    await perio.sign_exam(cal["dentist"], patient_id, ids["exam_id"], perio.SignForm(stage="II", grade="B"))
    await factories.make_signed_form(clinic, patient_id)
    await factories.make_lab_records(clinic, cal["dentist"], patient_id)
    await factories.make_invoice(clinic, patient_id)
    source_archive = await export_zip(clinic, patient_id)
    source = json.loads(source_archive.read("export.json"))
    other = await factories.make_clinic("Harbour Dental")
    await sign_in_as(client, other)
    response = await _upload(client, _zip(source_archive))
    assert response.status_code == 303, response.text
    imported_id = int(response.headers["location"].rsplit("/", 1)[1])
    copy_archive = await export_zip(other, imported_id)
    copy = json.loads(copy_archive.read("export.json"))
    jsonschema.validate(copy, json_schema(), cls=jsonschema.Draft202012Validator)
    # perio: the signed exam as its author signed it (name, role, registration, time, hash), every site
    _same(copy, "perio_charts", source, "perio_charts", skip=("exam_id",))
    assert {r["signed_by_name"] for r in copy["categories"]["perio_charts"]["records"]} == {cal["dentist"].name}
    # forms, lab cases, invoices and the account: the previous clinic's, as it exported them, with their PDFs
    for source_category, copy_category in (("forms", "imported_forms"), ("lab_cases", "imported_lab_cases"),
                                           ("invoices", "imported_invoices"),
                                           ("account_ledger", "imported_account_ledger")):
        _same(copy, copy_category, source, source_category)
        assert {r["source_clinic"] for r in copy["categories"][copy_category]["records"]} == {"Canal Dental"}
    for source_category, copy_category in (("forms", "imported_forms"), ("invoices", "imported_invoices")):
        for record in source["categories"][source_category]["records"]:
            if record["file"]:
                assert (copy_archive.read(f"files/{copy_category}/{record['file']}")
                        == source_archive.read(f"files/{source_category}/{record['file']}"))
    # history, not this clinic's work: no order to a lab, no form to fill, no revenue, no invoice number used
    for table in (LedgerEntry, Invoice, LabCase, SentForm):
        assert await table.count().where(table.clinic == other.clinic_id) == 0, table._meta.tablename
    assert copy["categories"]["account_ledger"]["records"] == [] and copy["categories"]["invoices"]["records"] == []
    # and kept as made: the database refuses changes to the signed exam and to the imported history
    [exam] = await PerioExam.select(PerioExam.id, PerioExam.signed_by).where(PerioExam.patient == imported_id)
    assert exam["signed_by"] is None
    for table, column, value, row_id in (
            (PerioExam, PerioExam.stage, "IV", exam["id"]),
            (ImportedRecord, ImportedRecord.source_ref, "forms/1",
             (await ImportedRecord.select(ImportedRecord.id).where(ImportedRecord.patient == imported_id).first())[
                 "id"])):
        with pytest.raises(Exception, match="append-only|kept as"):
            async with transaction():
                await table.update({column: value}).where(table.id == row_id)
    assert (await client.get(f"/patients/{imported_id}/perio")).status_code == 200
    # the owner reads it all: the signed form's PDF and the opening statement with the balance owed there
    page = (await client.get(f"/patients/{imported_id}/previous-clinic/")).text
    assert re.search(r"Balance at the previous clinic: €\s55,00", page)
    assert "Medical history" in page and "Crown" in page
    [form] = await ImportedRecord.select(ImportedRecord.id, ImportedRecord.data).where(
        (ImportedRecord.patient == imported_id) & (ImportedRecord.category == "forms"))
    pdf = await client.get(f"/patients/{imported_id}/previous-clinic/forms/{form['id']}")
    assert pdf.status_code == 200 and pdf.content == bytes(form["data"]) and pdf.content.startswith(b"%PDF")
    panel = await client.get(f"/patients/{imported_id}/previous-clinic/", headers={"HX-Request": "true"})
    assert "Imported from Canal Dental" in panel.text and "<html" not in panel.text
    # the front desk sees the statement, not the clinical documents
    desk = await factories.make_staff(other, Role.RECEPTIONIST)
    await sign_in_as(client, desk)
    page = (await client.get(f"/patients/{imported_id}/previous-clinic/")).text
    assert "Opening statement" in page and "Medical history" not in page
    assert (await client.get(f"/patients/{imported_id}/previous-clinic/forms/{form['id']}")).status_code == 403
