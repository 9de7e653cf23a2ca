"""Exports signed by the clinic that made them: a rewritten document (even with every hash recomputed) is refused, a
clinic of this installation is named, an unknown key is shown with its fingerprint, and every clinic publishes its
keys signed out."""

import base64
import hashlib
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from portal.messaging.credentials import fernet
from portal.privacy import export_signing
from portal.settings import Settings
from portal.tables import ExportSigningKey, ImportUpload, Patient, PatientImport
from tests import factories
from tests.factories import csrf_token, sign_in_as
from tests.test_privacy_export_v2 import charted_patient, export_zip
from tests.test_record_import import _upload, _zip, check_upload


def _recompute(document: dict, files: dict[str, bytes]) -> None:
    document["files"] = {path: hashlib.sha256(data).hexdigest() for path, data in files.items()}


def _rewritten(archive, change, key: Ed25519PrivateKey | None = None, keep_signature: bool = True) -> bytes:
    """The export rewritten by a forger who recomputes every file's SHA-256 (and re-signs with `key` if given)."""
    files = {name: archive.read(name) for name in archive.namelist() if name != "export.json"}

    def forge(document):
        change(document)
        _recompute(document, files)
        if key is not None:
            public = key.public_key().public_bytes_raw()
            document["signature"] = {"algorithm": "Ed25519", "key_id": "forged",
                                     "public_key": base64.b64encode(public).decode(),
                                     "value": base64.b64encode(key.sign(export_signing.canonical(document))).decode()}
        elif not keep_signature:
            del document["signature"]
    return _zip(archive, document_change=forge)


def _new_alert(document):
    document["categories"]["medical_alerts"]["records"][0]["label"] = "No known allergies"


def _bad_value(document):
    signature = document["signature"]["value"]
    document["signature"]["value"] = ("A" if signature[0] != "A" else "B") + signature[1:]


def _someone_elses_key(document):
    document["signature"]["public_key"] = base64.b64encode(
        Ed25519PrivateKey.generate().public_key().public_bytes_raw()).decode()


@pytest.mark.parametrize("case, expected", [
    ("rewritten", "signature does not match its content"),
    ("bad_value", "signature does not match its content"),
    ("other_key", "signature does not match its content"),
    ("unsigned", "carries no signature"),
])
async def test_a_rewritten_or_unsigned_export_is_refused_even_with_every_hash_recomputed(client, clinic, cal, case,
                                                                                        expected):
    patient_id, _, _ = await charted_patient(clinic, cal)
    archive = await export_zip(clinic, patient_id)
    data = {"rewritten": lambda: _rewritten(archive, _new_alert),
            "bad_value": lambda: _zip(archive, document_change=_bad_value),
            "other_key": lambda: _zip(archive, document_change=_someone_elses_key),
            "unsigned": lambda: _rewritten(archive, lambda d: None, keep_signature=False)}[case]()
    other = await factories.make_clinic("Harbour Dental")
    await sign_in_as(client, other)
    response = await check_upload(client, data)
    assert response.status_code == 422
    assert 'id="e-archive"' in response.text and expected in response.text
    assert await Patient.count().where(Patient.clinic == other.clinic_id) == 0
    assert await ImportUpload.count() == 0 and await PatientImport.count() == 0


async def test_an_export_of_a_clinic_here_is_verified_by_name_and_imported_on_confirmation(client, clinic, cal):
    patient_id, _, _ = await charted_patient(clinic, cal)
    archive = await export_zip(clinic, patient_id)
    document = json.loads(archive.read("export.json"))
    other = await factories.make_clinic("Harbour Dental")
    await sign_in_as(client, other)
    checked = await check_upload(client, _zip(archive))
    assert checked.status_code == 200
    assert "Verified: made by Canal Dental" in checked.text and "does not know" not in checked.text
    assert "Charted Export" in checked.text and "Signed perio exams" in checked.text
    assert await Patient.count().where(Patient.clinic == other.clinic_id) == 0  # nothing until the owner confirms
    # the key is the clinic's, sealed: the database holds no usable private key
    row = await ExportSigningKey.select().where(ExportSigningKey.clinic == clinic.clinic_id).first()
    assert base64.b64decode(document["signature"]["public_key"]) == bytes(row["public_key"])
    assert len(fernet(Settings.from_env()).decrypt(row["private_key_sealed"].encode())) == 32
    assert row["private_key_sealed"].startswith("gAAAAA")
    # another clinic cannot confirm this clinic's upload
    upload_id = (await ImportUpload.select(ImportUpload.id).first())["id"]
    third = await factories.make_clinic("Dune Dental")
    await sign_in_as(client, third)
    stolen = await client.post("/patients/import/confirm", data={"_csrf_token": await csrf_token(client),
                                                                  "upload": str(upload_id)})
    assert stolen.status_code == 422 and "no longer waiting" in stolen.text
    assert await Patient.count().where(Patient.clinic == third.clinic_id) == 0
    await sign_in_as(client, other)
    confirmed = await client.post("/patients/import/confirm", data={"_csrf_token": await csrf_token(client),
                                                                     "upload": str(upload_id)})
    assert confirmed.status_code == 303
    assert await Patient.count().where(Patient.clinic == other.clinic_id) == 1
    assert await ImportUpload.count() == 0  # the staged copy goes once imported


async def test_an_export_signed_by_an_unknown_key_is_shown_with_its_fingerprint(client, clinic, cal):
    patient_id, _, _ = await charted_patient(clinic, cal)
    archive = await export_zip(clinic, patient_id)
    elsewhere = Ed25519PrivateKey.generate()  # a clinic on another installation (or someone posing as one)
    data = _rewritten(archive, lambda d: None, key=elsewhere)
    other = await factories.make_clinic("Harbour Dental")
    await sign_in_as(client, other)
    checked = await check_upload(client, data)
    assert checked.status_code == 200
    digest = hashlib.sha256(elsewhere.public_key().public_bytes_raw()).hexdigest()
    shown = " ".join(digest[i:i + 4] for i in range(0, 64, 4))
    assert shown in checked.text and "does not know" in checked.text and "Verified" not in checked.text
    assert "The file says it was made by Canal Dental" in checked.text
    response = await _upload(client, data)  # the owner compared the fingerprint and imports
    assert response.status_code == 303
    audit = (await PatientImport.select(PatientImport.source_clinic).first())
    assert audit["source_clinic"] == "Canal Dental"


async def test_each_clinic_publishes_its_export_keys_signed_out(client, clinic, cal):
    assert "has not made an export yet" in (await client.get(f"/export-keys/{clinic.clinic_id}")).text
    patient_id, _, _ = await charted_patient(clinic, cal)
    document = json.loads((await export_zip(clinic, patient_id)).read("export.json"))
    public = base64.b64decode(document["signature"]["public_key"])
    page = await client.get(f"/export-keys/{clinic.clinic_id}")
    assert page.status_code == 200 and export_signing.fingerprint(public) in page.text
    published = (await client.get(f"/export-keys/{clinic.clinic_id}/keys.json")).json()
    assert published["url"] == f"http://testserver/export-keys/{clinic.clinic_id}"  # PUBLIC_URL, not the Host
    assert document["controller"]["export_keys_url"] == published["url"]
    [key] = published["keys"]
    assert key["public_key"] == document["signature"]["public_key"] and key["key_id"] == document["signature"][
        "key_id"]
    # a second export is signed with the same key
    again = json.loads((await export_zip(clinic, patient_id)).read("export.json"))
    assert again["signature"]["public_key"] == document["signature"]["public_key"]
    assert (await client.get("/export-keys/999999")).status_code == 404
