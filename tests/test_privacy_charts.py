"""The chart's categories in the privacy registry: shown, exported with files, isolated on erasure, erased on
their retention date."""

import json
from datetime import datetime, timedelta, timezone

from portal import db
from portal.privacy import erasure, retention
from portal.privacy.registry import CATEGORIES
from portal.privacy.retention import RuleForm, run_retention
from portal.tables import (
    Appointment,
    ClinicalNote,
    MedicalHistory,
    Patient,
    PatientImage,
    PerioExam,
    PerioTooth,
    PlanAcceptance,
    ToothFinding,
    TreatmentPlan,
)
from tests import factories, image_samples
from tests.factories import sign_in_as

CHART = ("medical_history", "medical_alerts", "tooth_chart", "treatment_plans", "clinical_notes", "images",
         "perio_charts")


async def _charted_patient(clinic, cal) -> int:
    from portal.charts import treatment_plans

    patient_id = await factories.make_patient(clinic, given_name="Charted")
    ids = await factories.make_chart_records(clinic, cal["dentist"], patient_id)
    await treatment_plans.accept(cal["dentist"], patient_id, ids["plan_id"],
                                 treatment_plans.AcceptanceForm(accepted_by="Charted", method="written"))
    visit = await factories.book(clinic, cal, patient_id, (datetime.now().date() + timedelta(days=3)).isoformat(),
                                 "10:00")
    from portal.charts import clinical_notes

    await clinical_notes.write_note(cal["dentist"], patient_id, clinical_notes.NoteForm(
        body="Linked to a visit", appointment_id=str(visit)))
    await image_samples.stored(clinic, patient_id)
    return patient_id


async def test_chart_categories_collect_and_export_files(clinic, cal):
    patient_id = await _charted_patient(clinic, cal)
    assert set(CHART) <= set(CATEGORIES)
    notes = await CATEGORIES["clinical_notes"].collect(patient_id)
    assert [n["body"] for n in notes][:1] == ["Seen for check-up"]
    plans = await CATEGORIES["treatment_plans"].collect(patient_id)
    assert plans[0]["code"] == "EX01" and "Charted on" in plans[0]["accepted"]
    assert (await CATEGORIES["tooth_chart"].collect(patient_id))[0]["tooth"] == 36
    perio_rows = await CATEGORIES["perio_charts"].collect(patient_id)
    assert [(r["tooth"], r["site"], r["depth"], r["attachment"], r["bleeding"]) for r in perio_rows] == [
        (36, "DB", 4, 4, False), (36, "B", 3, 3, False), (36, "MB", 5, 5, True)]
    [fhir] = await CATEGORIES["perio_charts"].files(patient_id)
    bundle = json.loads(fhir.data)
    sites = [e["resource"] for e in bundle["entry"] if e["resource"]["code"]["text"] == "Periodontal probing"]
    assert bundle["resourceType"] == "Bundle" and len(sites) == 3
    assert sites[2]["bodySite"]["coding"][0]["code"] == "36" and "mesiobuccal" in sites[2]["bodySite"]["text"]
    assert sites[2]["status"] == "preliminary"  # a draft exam
    assert {c["code"]["text"]: c.get("valueQuantity", {}).get("value", c.get("valueBoolean"))
            for c in sites[2]["component"]}["Bleeding on probing"] is True
    [image_file] = await CATEGORIES["images"].files(patient_id)
    assert image_file.name.endswith((".png", ".jpg")) and image_file.data


async def test_erasure_isolates_the_chart_and_retention_erases_it(client, clinic, cal):
    patient_id = await _charted_patient(clinic, cal)
    async with db.transaction():
        result = await erasure.carry_out(clinic, patient_id)
    assert set(CHART) <= set(result["isolated"])
    assert await ClinicalNote.count().where(ClinicalNote.patient == patient_id) == 2  # kept, isolated
    await sign_in_as(client, cal["dentist"])
    for path in ("chart", "notes", "history", "plans", "images", "chart/teeth/36", "perio", "perio/compare"):
        assert (await client.get(f"/patients/{patient_id}/{path}")).status_code == 404, path

    await retention.confirm_rule(clinic, RuleForm("clinical", "20", "end_of_treatment", "WGBO art. 7:454"))
    long_ago = datetime.now(timezone.utc) - timedelta(days=365 * 21)
    await Appointment.update({Appointment.starts_at: long_ago, Appointment.ends_at: long_ago + timedelta(minutes=30)},
                             force=True)
    await Patient.update({Patient.created_at: long_ago}, force=True)
    await factories.age_clinical_entries(21)  # every clinical entry is as old: they count too
    assert (await run_retention())["patients"] == 1
    for table in (ClinicalNote, MedicalHistory, ToothFinding, TreatmentPlan, PlanAcceptance, PatientImage,
                  PerioExam, PerioTooth):
        assert await table.count() == 0, table._meta.tablename
    assert not await Patient.exists().where(Patient.id == patient_id)
