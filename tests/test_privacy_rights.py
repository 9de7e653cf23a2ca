"""Each right end to end over HTTP: see, download, correct, erase, restrict, object, consents, questions."""

import asyncio
import io
import json
import zipfile
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import jsonschema

from portal import consents, patients
from portal.consents import ConsentKind
from portal.privacy import notice
from portal.privacy.deadlines import due_for
from portal.tables import (
    Appointment,
    AuditEntry,
    ConsentEvent,
    ContactChange,
    DataExport,
    Guardian,
    OutboxMessage,
    Patient,
    PrivacyRequest,
)
from tests import factories
from tests.factories import csrf_token, post_form, sign_in_as
from tests.mail_sink import body_text
from tests.privacy_helpers import sign_in_patient, wait_for_mail


async def _patient_signed_in(client, clinic, mailbox, **fields) -> int:
    values = {"given_name": "Eva", "email": "eva@example.org", "date_of_birth": "1980-02-03", **fields}
    patient_id = await factories.make_patient(clinic, **values)
    await sign_in_patient(client, mailbox, values["email"], values["date_of_birth"])
    return patient_id


async def _download(client) -> zipfile.ZipFile:
    start = await post_form(client, "/privacy/me/export")
    assert start.status_code == 303
    progress_url = start.headers["location"]
    assert 'hx-trigger="every 1s"' in (await client.get(progress_url, headers={"HX-Request": "true"})).text
    await factories.run_queued_jobs()
    for _ in range(200):
        page = await client.get(progress_url, headers={"HX-Request": "true"})
        if "Download the ZIP" in page.text:
            break
        assert 'hx-trigger="every 1s"' in page.text
        await asyncio.sleep(0.05)
    response = await client.get(progress_url + "/download")
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    return zipfile.ZipFile(io.BytesIO(response.content))


async def test_the_export_validates_against_the_published_schema(client, clinic, cal, mailbox):
    patient_id = await _patient_signed_in(client, clinic, mailbox)
    await factories.book(clinic, cal, patient_id, (date.today() + timedelta(days=3)).isoformat(), "10:00")
    await patients.get_patient(clinic, patient_id)  # a staff read, shown in the access log
    archive = await _download(client)
    names = set(archive.namelist())
    assert {"export.json", "summary.html", "csv/appointments.csv", "csv/identity.csv"} <= names
    document = json.loads(archive.read("export.json"))
    schema = (await client.get("/privacy/schema")).json()
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(document, schema, cls=jsonschema.Draft202012Validator)
    assert document["categories"]["identity"]["records"][0]["given_name"] == "Eva"
    assert len(document["categories"]["appointments"]["records"]) == 1
    assert any(r["actor_name"] == "Owner of Canal Dental" for r in document["categories"]["access_log"]["records"])
    assert "Check-up" in archive.read("csv/appointments.csv").decode()
    summary = archive.read("summary.html").decode()
    assert "Eva" in summary
    # the readable summary shows times in the clinic's zone; only the JSON and CSV keep ISO 8601 UTC
    assert document["generated_at"] not in summary and "+00:00" not in summary
    starts = datetime.fromisoformat(document["categories"]["appointments"]["records"][0]["starts_at"])
    local = starts.astimezone(ZoneInfo("Europe/Amsterdam"))
    assert f"{local.day} {local:%b %Y}, {local:%H:%M}" in summary  # CLDR en_GB: "Thu, 3 Dec 2026, 10:00"
    # another patient cannot fetch this export
    export_id = (await DataExport.select(DataExport.id).first())["id"]
    assert (await client.get("/privacy/schema/about")).status_code == 200
    await DataExport.update({DataExport.expires_at: datetime.now(timezone.utc) - timedelta(days=1)}, force=True)
    assert (await client.get(f"/privacy/me/exports/{export_id}/download")).status_code == 404
    assert "expired" in (await client.get(f"/privacy/me/exports/{export_id}")).text


async def test_an_invalid_document_fails_the_schema(client):
    schema = (await client.get("/privacy/schema")).json()
    try:
        jsonschema.validate({"format": "chairside-patient-export", "version": "1.0"}, schema,
                            cls=jsonschema.Draft202012Validator)
    except jsonschema.ValidationError:
        return
    raise AssertionError("an incomplete document passed the schema")


async def test_contact_details_change_directly_and_new_addresses_wait_for_confirmation(client, clinic, mailbox):
    patient_id = await _patient_signed_in(client, clinic, mailbox)
    bad = await post_form(client, "/privacy/me/contact", {"email": "nope", "phone_mobile": "12", "address": "",
                                                          "preferred_language": "en"})
    assert bad.status_code == 422 and 'id="e-email"' in bad.text
    ok = await post_form(client, "/privacy/me/contact", {"email": "eva@new.example", "phone_mobile": "06 1111 2222",
                                                         "phone_other": "", "address": "Kade 1",
                                                         "preferred_language": "nl"})
    assert ok.status_code == 303
    row = await Patient.select().where(Patient.id == patient_id).first()
    assert row["address"] == "Kade 1" and row["email"] != "eva@new.example" and row["phone_mobile"] != "+31611112222"
    page = await client.get("/privacy/me/contact")  # in Dutch now: the language changed at once
    assert "eva@new.example" in page.text and await ContactChange.count().where(
        (ContactChange.patient == patient_id) & (ContactChange.status == "pending")) == 2
    await factories.confirm_addresses(clinic, patient_id)
    row = await Patient.select().where(Patient.id == patient_id).first()
    assert (row["email"], row["phone_mobile"]) == ("eva@new.example", "+31611112222")


async def test_a_correction_staff_approve_is_applied_and_mailed(client, other_client, clinic, mailbox):
    patient_id = await _patient_signed_in(client, clinic, mailbox, family_name="Jansen")
    bad = await post_form(client, "/privacy/me/correction", {"target": "identity.date_of_birth", "proposed": "soon"})
    assert bad.status_code == 422 and "real date" in bad.text
    filed = await post_form(client, "/privacy/me/correction", {"target": "identity.family_name",
                                                               "proposed": "Janssen", "reason": "Spelling"})
    assert filed.status_code == 303
    request_id = (await PrivacyRequest.select(PrivacyRequest.id).first())["id"]
    assert "Received" in (await client.get(filed.headers["location"])).text
    await sign_in_as(other_client, clinic)
    detail = await other_client.get(f"/privacy-requests/{request_id}")
    assert "Janssen" in detail.text and "Jansen" in detail.text
    decided = await post_form(other_client, f"/privacy-requests/{request_id}/decide", {"decision": "approved"})
    assert decided.status_code == 303
    assert (await Patient.select(Patient.family_name).where(Patient.id == patient_id)
            .first())["family_name"] == "Janssen"
    assert (await PrivacyRequest.select(PrivacyRequest.status).first())["status"] == "approved"
    mail = await wait_for_mail(mailbox, "eva@example.org", 2)
    assert "approved" in mail[-1]["Subject"]
    assert "Approved" in (await client.get(f"/privacy/me/requests/{request_id}")).text


async def test_refusing_needs_a_reason(client, other_client, clinic, mailbox):
    await _patient_signed_in(client, clinic, mailbox)
    await post_form(client, "/privacy/me/correction", {"target": "contact.address", "proposed": "Elsewhere 2"})
    request_id = (await PrivacyRequest.select(PrivacyRequest.id).first())["id"]
    await sign_in_as(other_client, clinic)
    refused = await post_form(other_client, f"/privacy-requests/{request_id}/decide", {"decision": "refused"})
    assert refused.status_code == 422 and "reason for refusing" in refused.text
    assert (await PrivacyRequest.select(PrivacyRequest.status).first())["status"] == "received"


async def test_another_patients_request_is_not_found(client, other_client, clinic, mailbox):
    await _patient_signed_in(client, clinic, mailbox)
    await post_form(client, "/privacy/me/questions", {"question": "Who sees my X-rays?"})
    request_id = (await PrivacyRequest.select(PrivacyRequest.id).first())["id"]
    await factories.make_patient(clinic, given_name="Other", email="other@example.org", date_of_birth="1970-01-01")
    await sign_in_patient(other_client, mailbox, "other@example.org", "1970-01-01")
    response = await other_client.get(f"/privacy/me/requests/{request_id}")
    assert response.status_code == 404 and "Who sees" not in response.text


async def test_consent_toggle_appends_a_ledger_row_with_the_notice_version(client, clinic, mailbox):
    patient_id = await _patient_signed_in(client, clinic, mailbox)
    await notice.publish(clinic, notice.NoticeForm(body="Our notice"))  # version 2 (1 is the default)
    response = await client.post("/privacy/me/consents/reminder_sms", headers={"HX-Request": "true"},
                                 data={"_csrf_token": await csrf_token(client), "granted": "yes"})
    assert response.status_code == 200 and 'id="consents"' in response.text and "<html" not in response.text
    assert await consents.may_contact(patient_id, ConsentKind.REMINDER_SMS)
    row = await ConsentEvent.select().first()
    assert (row["actor_kind"], row["source"], row["notice_version"], row["granted"]) == (
        "patient", "privacy_centre", "v2", True)
    assert "v2" in response.text
    assert (await post_form(client, "/privacy/me/consents/nonsense", {"granted": "yes"})).status_code == 404


async def test_restriction_flags_the_record_and_stops_reminders(client, other_client, clinic, mailbox):
    patient_id = await _patient_signed_in(client, clinic, mailbox)
    await consents.record_change(clinic, clinic.clinic_id, patient_id,
                                 consents.ConsentChange(ConsentKind.REMINDER_EMAIL, True, "front_desk"))
    filed = await post_form(client, "/privacy/me/ask/restriction", {"reason": "Address is wrong"})
    assert filed.status_code == 303
    assert not await consents.may_contact(patient_id, ConsentKind.REMINDER_EMAIL)
    await sign_in_as(other_client, clinic)
    chart = await other_client.get(f"/patients/{patient_id}")
    assert "Processing restricted since" in chart.text
    objection = await post_form(client, "/privacy/me/ask/objection", {})
    assert objection.status_code == 303
    assert (await Patient.select(Patient.objected_at).first())["objected_at"] is not None
    request_id = (await PrivacyRequest.select(PrivacyRequest.id).where(PrivacyRequest.kind == "objection")
                  .first())["id"]
    await post_form(other_client, f"/privacy-requests/{request_id}/decide",
                    {"decision": "refused", "reason": "Compelling legitimate grounds: open treatment"})
    assert (await Patient.select(Patient.objected_at).first())["objected_at"] is None
    assert (await post_form(client, "/privacy/me/ask/everything", {})).status_code == 404


async def test_erasure_erases_administrative_data_and_isolates_the_clinical_record(client, other_client, clinic, cal,
                                                                                   mailbox):
    patient_id = await _patient_signed_in(client, clinic, mailbox, family_name="Erasmus")
    await patients.add_guardian(clinic, patient_id, patients.GuardianForm(name="Partner", email="p@example.org"))
    await consents.record_change(clinic, clinic.clinic_id, patient_id,
                                 consents.ConsentChange(ConsentKind.MARKETING_EMAIL, True, "front_desk"))
    past = await factories.book(clinic, cal, patient_id, (date.today() - timedelta(days=30)).isoformat(), "10:00",
                                past_reason="Paper diary")
    future = await factories.book(clinic, cal, patient_id, (date.today() + timedelta(days=30)).isoformat(), "10:00")
    assert (await post_form(client, "/privacy/me/ask/erasure", {"reason": "Moving abroad"})).status_code == 303
    request = await PrivacyRequest.select().first()
    assert request["due_at"] == due_for("erasure", request["received_at"], clinic.time_zone)
    await sign_in_as(other_client, clinic)
    approved = await post_form(other_client, f"/privacy-requests/{request['id']}/decide",
                               {"decision": "approved", "identity_check": "Passport seen at the desk"})
    assert approved.status_code == 303
    row = await Patient.select().where(Patient.id == patient_id).first()
    assert (row["email"], row["phone_mobile"], row["address"]) == ("", "", "")  # contact erased
    assert row["isolated_at"] is not None and row["restricted_at"] is not None
    assert row["family_name"] == "Erasmus"  # identity stays with the kept clinical record
    assert await Guardian.count() == 0 and await ConsentEvent.count() == 0
    assert not await OutboxMessage.exists().where(OutboxMessage.patient_id == patient_id)
    statuses = {r["id"]: r["status"] for r in await Appointment.select(Appointment.id, Appointment.status)}
    assert statuses[past] == "booked" and statuses[future] == "cancelled"
    # hidden from every normal staff view
    assert "Erasmus" not in (await other_client.get("/patients")).text
    assert "Erasmus" not in (await other_client.get("/patients/search?q=erasm")).text
    assert (await other_client.get(f"/patients/{patient_id}")).status_code == 404
    card = await other_client.get(f"/calendar/appointments/{past}")
    assert "Erasmus" not in card.text and "Restricted" in card.text
    # the confirmation went to the address captured before erasure
    mail = await wait_for_mail(mailbox, "eva@example.org", 2)
    assert "erased" in body_text(mail[-1])
    # the owner may open it, with a recorded reason
    empty = await post_form(other_client, f"/privacy-requests/restricted/{patient_id}", {"reason": ""})
    assert empty.status_code == 422
    opened = await post_form(other_client, f"/privacy-requests/restricted/{patient_id}",
                             {"reason": "Insurer asks about the 2026 treatment"})
    assert opened.status_code == 200 and "Erasmus" in opened.text
    entry = await AuditEntry.select().where(AuditEntry.action == "privacy.isolated_opened").output(
        load_json=True).first()
    assert entry["detail"] == {"reason": "Insurer asks about the 2026 treatment"}
    # and the patient's session has ended
    assert (await client.get("/privacy/me")).status_code == 303


async def test_a_receptionist_cannot_open_isolated_records(client, clinic):
    from portal.permissions import Role

    receptionist = await factories.make_staff(clinic, Role.RECEPTIONIST)
    await sign_in_as(client, receptionist)
    assert (await client.get("/privacy-requests")).status_code == 200
    assert (await client.get("/privacy-requests/restricted")).status_code == 403


async def test_questions_are_answered_within_fifteen_days(client, other_client, clinic, mailbox):
    await _patient_signed_in(client, clinic, mailbox)
    empty = await post_form(client, "/privacy/me/questions", {"question": " "})
    assert empty.status_code == 422
    await post_form(client, "/privacy/me/questions", {"question": "Do you use my photos?"})
    row = await PrivacyRequest.select().first()
    assert row["kind"] == "inquiry" and row["due_at"] == due_for("inquiry", row["received_at"], clinic.time_zone)
    await sign_in_as(other_client, clinic)
    await post_form(other_client, f"/privacy-requests/{row['id']}/decide", {"reason": "Only with your consent."})
    assert (await PrivacyRequest.select(PrivacyRequest.status).first())["status"] == "answered"
    page = await client.get(f"/privacy/me/requests/{row['id']}")
    assert "Only with your consent." in page.text


async def test_the_patient_sees_which_staff_member_saw_their_appointment(client, clinic, cal, mailbox):
    from portal.calendar import agenda

    patient_id = await _patient_signed_in(client, clinic, mailbox)
    day = date.today() + timedelta(days=4)
    await factories.book(clinic, cal, patient_id, day.isoformat(), "11:00")
    await agenda.day_view(cal["dentist"], day)
    page = await client.get("/privacy/me")
    assert "Saw your appointment (day view)" in page.text
    assert "Dr. Dekker" in page.text and "dentist" in page.text
