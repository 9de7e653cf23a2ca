"""Export version 2: a strict schema with stable ids and references, a stable `$id`, and a document that matches it."""

import io
import json
import re
import zipfile
from datetime import datetime, timedelta, timezone

import jsonschema

from portal.privacy import export
from portal.privacy.schema import SCHEMA_ID, json_schema
from portal.settings import PROJECT_ROOT
from portal.tables import DataExport
from tests import factories, image_samples


async def export_zip(clinic, patient_id: int) -> zipfile.ZipFile:
    """The patient's export ZIP as the worker builds it."""
    now = datetime.now(timezone.utc)
    row = DataExport(clinic=clinic.clinic_id, patient_id=patient_id, status="queued", done=0, total=1,
                     created_at=now, expires_at=now + timedelta(days=1))
    await row.save()
    await export.build_export(row.id, cooling_days=0)
    stored = await DataExport.select(DataExport.status, DataExport.archive).where(DataExport.id == row.id).first()
    assert stored["status"] == "ready"
    return zipfile.ZipFile(io.BytesIO(bytes(stored["archive"])))


async def charted_patient(clinic, cal) -> int:
    """A patient with a past visit, a note on that visit, a finding, a plan with an item, and an image taken that
    day."""
    from portal.charts import clinical_notes

    patient_id = await factories.make_patient(clinic, given_name="Charted", family_name="Export",
                                              date_of_birth="1980-05-06")
    ids = await factories.make_chart_records(clinic, cal["dentist"], patient_id)
    day = datetime.now().date() + timedelta(days=2)
    visit = await factories.book(clinic, cal, patient_id, day.isoformat(), "10:00")
    await clinical_notes.write_note(cal["dentist"], patient_id, clinical_notes.NoteForm(
        body="Linked to a visit", appointment_id=str(visit)))
    from zoneinfo import ZoneInfo

    from portal.tables import Appointment, PatientImage

    # the visit took place five days ago (booked ahead, then moved back: no one books the past), the X-ray that day
    await Appointment.raw("UPDATE appointment SET starts_at = starts_at - interval '7 days', ends_at = ends_at - "
                          "interval '7 days', status = 'completed' WHERE id = {}", visit)
    starts = (await Appointment.select(Appointment.starts_at).where(Appointment.id == visit).first())["starts_at"]
    image_id = await image_samples.stored(clinic, patient_id)
    await PatientImage.update({PatientImage.taken_on: starts.astimezone(ZoneInfo(clinic.time_zone)).date()}).where(
        PatientImage.id == image_id)
    return patient_id, visit, ids


async def test_the_export_is_strict_and_its_records_refer_to_each_other(client, clinic, cal):
    patient_id, visit, ids = await charted_patient(clinic, cal)
    archive = await export_zip(clinic, patient_id)
    document = json.loads(archive.read("export.json"))
    schema = (await client.get("/privacy/schema")).json()
    assert schema["$id"] == SCHEMA_ID == "urn:chairside:schema:patient-export:2" and document["version"] == "2.1"
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(document, schema, cls=jsonschema.Draft202012Validator,
                        format_checker=jsonschema.FormatChecker())
    categories = document["categories"]
    every = [r for c in categories.values() for r in c["records"]]
    assert every and all(r["ref"].startswith(name + "/") for name, c in categories.items() for r in c["records"])
    assert len({r["ref"] for r in every}) == len(every)  # stable ids are unique
    refs = {r["ref"] for r in every}
    [linked] = [n for n in categories["clinical_notes"]["records"] if n["appointment"]]
    assert linked["appointment"] == f"appointments/{visit}" and linked["appointment"] in refs
    [item] = categories["treatment_plans"]["records"]
    assert item["plan_id"] == ids["plan_id"] and item["ref"] == f"treatment_plans/{ids['item_id']}"
    [image] = categories["images"]["records"]
    assert image["visit"] == f"appointments/{visit}"
    assert document["files"][f"files/images/{image['file']}"] == image["sha256"]
    # the enums are real: a made-up finding kind, material or plan status fails the schema
    for category, field, value in (("tooth_chart", "kind", "chipped"), ("tooth_chart", "material", "wood"),
                                   ("tooth_chart", "state", "maybe"), ("treatment_plans", "plan_status", "open"),
                                   ("appointments", "status", "gone"), ("clinical_notes", "appointment", "visit 3")):
        broken = json.loads(json.dumps(document))
        broken["categories"][category]["records"][0][field] = value
        assert not jsonschema.Draft202012Validator(schema).is_valid(broken), (category, field)


async def test_the_schema_id_is_one_urn_whatever_installation_serves_it(client):
    schema = (await client.get("/privacy/schema")).json()
    assert schema["$id"] == SCHEMA_ID and "http" not in schema["$id"] and schema == json_schema()


def test_the_documentation_lists_exactly_the_schema_categories():
    doc = (PROJECT_ROOT / "docs" / "privacy-export.md").read_text()
    section = doc.split("## Categories", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.M)
    schema = json_schema()
    assert listed == schema["properties"]["categories"]["required"]
    assert f'"version": "{schema["properties"]["version"]["const"]}"' in doc and SCHEMA_ID in doc


async def test_the_fhir_bundle_beside_it_is_valid_r4_and_carries_the_record(clinic, cal):
    from fhir.resources.R4B import get_fhir_model_class
    from fhir.resources.R4B.bundle import Bundle

    from portal.charts import treatment_plans
    from portal.tables import PlanItem

    patient_id, visit, ids = await charted_patient(clinic, cal)
    await treatment_plans.accept(cal["dentist"], patient_id, ids["plan_id"],
                                 treatment_plans.AcceptanceForm(accepted_by="Charted", method="written"))
    await PlanItem.update({PlanItem.status: "completed", PlanItem.completed_at: datetime.now(timezone.utc)}).where(
        PlanItem.id == ids["item_id"])
    from portal import consents

    await consents.record_change(clinic, clinic.clinic_id, patient_id, consents.ConsentChange(
        consents.ConsentKind.MARKETING_EMAIL, True, "front_desk"))
    archive = await export_zip(clinic, patient_id)
    document = json.loads(archive.read("export.json"))
    data = archive.read("fhir/bundle.json")
    assert document["files"]["fhir/bundle.json"] == __import__("hashlib").sha256(data).hexdigest()
    bundle = json.loads(data)
    Bundle.model_validate(bundle)
    for entry in bundle["entry"]:  # each resource against its own R4 model, not only as a bundle entry
        get_fhir_model_class(entry["resource"]["resourceType"]).model_validate(entry["resource"])
    by_type: dict[str, list[dict]] = {}
    for entry in bundle["entry"]:
        by_type.setdefault(entry["resource"]["resourceType"], []).append(entry["resource"])
    assert by_type["Consent"][-1]["status"] == "active"
    assert {"Patient", "Appointment", "Observation", "CarePlan", "Procedure", "DocumentReference", "Provenance",
            "AllergyIntolerance", "AuditEvent", "Media", "Binary"} <= set(by_type)
    # fhir.resources checks structure, not bound codes: the required bindings are checked here (R4 value sets)
    required = {"Appointment": {"proposed", "pending", "booked", "arrived", "fulfilled", "cancelled", "noshow",
                                "entered-in-error", "checked-in", "waitlist"},
                "CarePlan": {"draft", "active", "on-hold", "revoked", "completed", "entered-in-error", "unknown"},
                "Procedure": {"preparation", "in-progress", "not-done", "on-hold", "stopped", "completed",
                              "entered-in-error", "unknown"},
                "DocumentReference": {"current", "superseded", "entered-in-error"},
                "Observation": {"registered", "preliminary", "final", "amended"},
                "Consent": {"draft", "proposed", "active", "rejected", "inactive", "entered-in-error"}}
    for kind, codes in required.items():
        assert {r["status"] for r in by_type[kind]} <= codes, kind
    [person] = by_type["Patient"]
    assert person["name"][0]["family"] == "Export" and person["birthDate"] == "1980-05-06"
    crown = [o for o in by_type["Observation"] if o.get("code", {}).get("text") == "crown"][0]
    assert crown["bodySite"]["coding"][0] == {"system": "http://terminology.hl7.org/CodeSystem/ex-tooth", "code": "36"}
    assert any(o["code"]["text"] == "Periodontal probing" and o["subject"]["reference"] == "Patient/patient"
               for o in by_type["Observation"])  # the perio chart's Observations, reused
    [procedure] = by_type["Procedure"]
    assert procedure["code"]["coding"][0]["code"] == "EX01"  # the clinic's own code
    assert procedure["code"]["coding"][0]["system"] == "urn:chairside:procedure-code"
    linked = [d for d in by_type["DocumentReference"] if "context" in d][0]
    assert linked["context"]["related"][0]["reference"] == f"Appointment/appointments-{visit}"
    provenance = [p for p in by_type["Provenance"] if p["target"][0]["reference"].endswith(linked["id"])][0]
    assert provenance["signature"][0]["who"]["display"].startswith(cal["dentist"].name)
    [allergy] = by_type["AllergyIntolerance"]
    assert allergy["code"]["text"] == "latex"
    [binary] = by_type["Binary"]
    [image] = document["categories"]["images"]["records"]
    assert __import__("base64").b64decode(binary["data"]) == archive.read(f"files/images/{image['file']}")
    assert by_type["Media"][0]["partOf"][0]["reference"] == f"Appointment/appointments-{visit}"
