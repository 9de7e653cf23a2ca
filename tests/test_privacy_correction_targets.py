"""A correction names the record it concerns (this appointment, this tooth, this note or entry, or a personal detail):
only the patient's own records, shown in words to the patient and to staff who may read them, and an approved
correction of a medical-history entry is a new version (the history is append-only)."""

import re
from datetime import date, timedelta

from portal.permissions import Role
from portal.privacy.registry import CATEGORIES
from portal.tables import AuditEntry, MedicalAlert, MedicalHistory, PrivacyRequest
from tests import factories
from tests.factories import post_form, sign_in_as
from tests.privacy_helpers import sign_in_patient


async def _patient_with_records(client, clinic, mailbox) -> tuple[int, dict]:
    patient_id = await factories.make_patient(clinic, given_name="Eva", family_name="Jansen",
                                              email="eva@example.org", date_of_birth="1980-02-03")
    cal = await factories.make_calendar(clinic)
    day = (date.today() + timedelta(days=3)).isoformat()
    appointment_id = await factories.book(clinic, cal, patient_id, day, "10:00")
    records = await factories.make_chart_records(clinic, cal["dentist"], patient_id)
    await sign_in_patient(client, mailbox, "eva@example.org", "1980-02-03")
    return patient_id, {**records, "appointment_id": appointment_id, "dentist": cal["dentist"]}


def _options(html: str) -> dict[str, list[tuple[str, str]]]:
    """The correction select's options by their group."""
    groups = {}
    for label, body in re.findall(r'<optgroup label="([^"]+)">(.*?)</optgroup>', html, re.S):
        groups[label] = re.findall(r'<option value="([^"]+)"[^>]*>([^<]+)</option>', body)
    return groups


async def test_the_form_offers_the_patients_own_records_grouped_by_kind(client, clinic, mailbox):
    patient_id, records = await _patient_with_records(client, clinic, mailbox)
    page = await client.get("/privacy/me/correction")
    assert page.status_code == 200
    groups = _options(page.text)
    assert list(groups) == ["Personal details", "Medical history", "Appointments", "Teeth", "Clinical notes"]
    assert ("contact.phone_mobile", "Mobile phone") in groups["Personal details"]
    version_id = (await MedicalHistory.select(MedicalHistory.id).first())["id"]
    assert groups["Medical history"][0][0] == f"allergies:{version_id}"
    assert "Allergies as recorded on" in groups["Medical history"][0][1] and "latex" in groups["Medical history"][0][1]
    [(value, words)] = groups["Appointments"]
    assert value == f"appointment:{records['appointment_id']}" and "Check-up" in words
    assert ("tooth:36", "Tooth 36") in groups["Teeth"]
    [(value, words)] = groups["Clinical notes"]
    assert value == f"note:{records['note_id']}" and "Dr. Dekker" in words
    assert await AuditEntry.exists().where((AuditEntry.action == "privacy.correction_form_viewed")
                                           & (AuditEntry.patient_id == patient_id))


async def test_a_correction_of_an_appointment_stores_it_and_both_sides_read_it_in_words(client, other_client,
                                                                                        clinic, mailbox):
    patient_id, records = await _patient_with_records(client, clinic, mailbox)
    filed = await post_form(client, "/privacy/me/correction", {
        "target": f"appointment:{records['appointment_id']}", "proposed": "I was not there: it was my sister"})
    assert filed.status_code == 303
    row = await PrivacyRequest.select().first()
    assert (row["target_kind"], row["target_id"]) == ("appointment", records["appointment_id"])
    [exported] = await CATEGORIES["requests"].collect(patient_id)  # Art. 15: the export names the record too
    assert exported["target"] == f"appointment/{records['appointment_id']}"
    mine = await client.get(filed.headers["location"])
    assert "Which record" in mine.text and "Appointment of" in mine.text and "Check-up" in mine.text
    receptionist = await factories.make_staff(clinic, Role.RECEPTIONIST)
    await sign_in_as(other_client, receptionist)  # appointments are the front desk's to read
    staff = await other_client.get(f"/privacy-requests/{row['id']}")
    assert "Appointment of" in staff.text and f"/patients/{patient_id}/appointments" in staff.text


async def test_a_tooth_is_shown_to_who_reads_the_chart_and_only_as_clinical_to_the_front_desk(client, other_client,
                                                                                            clinic, mailbox):
    patient_id, _ = await _patient_with_records(client, clinic, mailbox)
    filed = await post_form(client, "/privacy/me/correction", {"target": "tooth:36",
                                                               "proposed": "That crown is on 46, not 36"})
    assert filed.status_code == 303
    request_id = (await PrivacyRequest.select(PrivacyRequest.id).first())["id"]
    receptionist = await factories.make_staff(clinic, Role.RECEPTIONIST)
    await sign_in_as(other_client, receptionist)
    shown = await other_client.get(f"/privacy-requests/{request_id}")
    assert shown.status_code == 200 and "A clinical record" in shown.text
    assert "Tooth 36" not in shown.text and "46, not 36" not in shown.text and "/chart/teeth/" not in shown.text
    await sign_in_as(other_client, clinic)  # the owner reads the chart: the tooth, and a way to open it
    shown = await other_client.get(f"/privacy-requests/{request_id}")
    assert "Tooth 36" in shown.text and f"/patients/{patient_id}/chart/teeth/36" in shown.text
    assert (await post_form(other_client, f"/privacy-requests/{request_id}/decide",
                            {"decision": "approved"})).status_code == 303


async def test_another_patients_record_is_refused_beside_the_field_logged_and_nothing_filed(client, clinic, mailbox):
    await _patient_with_records(client, clinic, mailbox)
    other = await factories.make_patient(clinic, given_name="Olga")
    dentist = await factories.make_staff(clinic, Role.DENTIST)
    from portal.charts import clinical_notes, medical_history, odontogram

    foreign_note = await clinical_notes.write_note(dentist, other, clinical_notes.NoteForm(body="Olga's visit"))
    await odontogram.record_finding(dentist, other, 11, odontogram.FindingForm(kind="crown"))
    await medical_history.save_history(dentist, other, medical_history.HistoryForm(allergies="Olga's allergy"))
    foreign_history = (await MedicalHistory.select(MedicalHistory.id).where(MedicalHistory.patient == other)
                       .first())["id"]
    for target in (f"note:{foreign_note}", "tooth:11", "appointment:999999", f"allergies:{foreign_history}"):
        refused = await post_form(client, "/privacy/me/correction", {"target": target, "proposed": "Wrong"})
        assert refused.status_code == 422, target
        assert 'id="e-target"' in refused.text and "Choose one of the records listed." in refused.text
        assert "Olga" not in refused.text and 'value="Wrong"' in refused.text
    assert await PrivacyRequest.count() == 0
    logged = await AuditEntry.select(AuditEntry.object_type, AuditEntry.object_id).where(
        AuditEntry.action == "privacy.correction_target_refused").order_by(AuditEntry.id)
    assert [(r["object_type"], str(r["object_id"])) for r in logged] == [
        ("note", str(foreign_note)), ("tooth", "11"), ("appointment", "999999"), ("allergies", str(foreign_history))]


async def test_an_approved_allergy_correction_is_a_new_history_version(client, other_client, clinic, mailbox):
    patient_id, records = await _patient_with_records(client, clinic, mailbox)
    version_id = (await MedicalHistory.select(MedicalHistory.id).first())["id"]
    filed = await post_form(client, "/privacy/me/correction", {"target": f"allergies:{version_id}",
                                                               "proposed": "Penicillin, not latex"})
    assert filed.status_code == 303
    request_id = (await PrivacyRequest.select(PrivacyRequest.id).first())["id"]
    receptionist = await factories.make_staff(clinic, Role.RECEPTIONIST)
    await sign_in_as(other_client, receptionist)
    refused = await post_form(other_client, f"/privacy-requests/{request_id}/decide", {"decision": "approved"})
    assert refused.status_code == 422 and await MedicalHistory.count() == 1
    await sign_in_as(other_client, clinic)  # the owner handles requests and writes the chart
    shown = await other_client.get(f"/privacy-requests/{request_id}")
    assert "Allergies as recorded on" in shown.text and f"/patients/{patient_id}/history" in shown.text
    assert (await post_form(other_client, f"/privacy-requests/{request_id}/decide",
                            {"decision": "approved"})).status_code == 303
    versions = await MedicalHistory.select(MedicalHistory.version, MedicalHistory.allergies,
                                           MedicalHistory.recorded_by_name).order_by(MedicalHistory.version)
    assert [(v["version"], v["allergies"]) for v in versions] == [(1, "latex"), (2, "Penicillin, not latex")]
    assert versions[1]["recorded_by_name"] == clinic.name
    active = await MedicalAlert.select(MedicalAlert.label).where(
        (MedicalAlert.source == "history") & MedicalAlert.resolved_at.is_null())
    assert [a["label"] for a in active] == ["Penicillin allergy", "Latex allergy"]  # the words still name latex
    assert (await PrivacyRequest.select(PrivacyRequest.status).first())["status"] == "approved"
