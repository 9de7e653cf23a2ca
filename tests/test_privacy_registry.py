"""A new kind of patient data joins the access page, the export (with its files), the schema, the Art. 30
record and erasure by one registration."""

import io
import json
import zipfile

import jsonschema
import pytest

from portal.privacy import daily, export
from portal.privacy.registry import CATEGORIES, DataCategory, ExportFile, register
from portal.tables import DataExport, PatientSignInLink
from tests import factories
from tests.factories import post_form, sign_in_as
from tests.privacy_helpers import sign_in_patient

XRAYS: dict[int, list[dict]] = {}


async def _collect(patient_id: int) -> list[dict]:
    return [{"taken_on": x["taken_on"], "label": x["label"]} for x in XRAYS.get(patient_id, [])]


async def _erase(patient_id: int) -> int:
    return len(XRAYS.pop(patient_id, []))


async def _files(patient_id: int) -> list[ExportFile]:
    return [ExportFile(f'{x["label"]}.png', "image/png", x["data"]) for x in XRAYS.get(patient_id, [])]


@pytest.fixture
def xrays():
    category = register(DataCategory(
        name="xrays", title="X-rays", order=55, purpose="Diagnosis.", legal_basis="GDPR Art. 9(2)(h)",
        recipients=("hosting", "imaging"), retention="administrative", basis="on_request",
        fields={"taken_on": "Day taken", "label": "Which teeth"}, collect=_collect, erase=_erase, files=_files))
    yield category
    CATEGORIES.pop("xrays")
    XRAYS.clear()


async def test_one_registration_reaches_page_export_schema_record_and_erasure(xrays, client, other_client, clinic,
                                                                             mailbox):
    patient_id = await factories.make_patient(clinic, email="x@example.org", date_of_birth="1990-01-01")
    XRAYS[patient_id] = [{"taken_on": "2026-01-05", "label": "bitewing-left", "data": b"\x89PNG fake"}]
    await sign_in_patient(client, mailbox, "x@example.org", "1990-01-01")
    assert ("X-rays" in (await client.get("/privacy/me")).text
            and "bitewing-left" in (await client.get("/privacy/me")).text)
    export_id = (await post_form(client, "/privacy/me/export")).headers["location"].rsplit("/", 1)[1]
    await export.build_export(int(export_id))
    archive = zipfile.ZipFile(io.BytesIO((await client.get(f"/privacy/me/exports/{export_id}/download")).content))
    assert archive.read("files/xrays/bitewing-left.png") == b"\x89PNG fake"
    assert "bitewing-left" in archive.read("csv/xrays.csv").decode()
    schema = (await client.get("/privacy/schema")).json()
    assert "xrays" in schema["$defs"]
    jsonschema.validate(json.loads(archive.read("export.json")), schema, cls=jsonschema.Draft202012Validator)
    await sign_in_as(other_client, clinic)
    assert "X-rays" in (await other_client.get("/privacy-settings/record")).text
    await post_form(client, "/privacy/me/ask/erasure", {})
    from portal.tables import PrivacyRequest

    request_id = (await PrivacyRequest.select(PrivacyRequest.id).first())["id"]
    await post_form(other_client, f"/privacy-requests/{request_id}/decide",
                    {"decision": "approved", "identity_check": "Passport seen at the desk"})
    assert patient_id not in XRAYS


async def test_the_daily_run_purges_expired_downloads_and_links(clinic, mailbox, client):
    from datetime import datetime, timedelta, timezone

    await factories.make_patient(clinic, email="d@example.org", date_of_birth="1990-01-01")
    await sign_in_patient(client, mailbox, "d@example.org", "1990-01-01")
    await post_form(client, "/privacy/me/export")
    past = datetime.now(timezone.utc) - timedelta(days=1)
    await DataExport.update({DataExport.expires_at: past}, force=True)
    await PatientSignInLink.update({PatientSignInLink.expires_at: past}, force=True)
    result = await daily.run_daily()
    assert (result["exports_purged"], result["links_purged"]) == (1, 1)
    assert await DataExport.count() == 0
