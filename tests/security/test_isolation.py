"""Tenant isolation: every route that takes an id answers 404 to staff of another clinic."""

from datetime import date, timedelta

from portal import patients
from portal.contacts import changes as contact_changes
from portal.families import households
from portal.lab import aligners
from portal.tables import AuditEntry, Family, FamilyMember, Guardian, Patient, PatientImage, Staff
from tests import factories, image_samples
from tests.factories import csrf_token, sign_in_as
from tests.security.routes import fill, is_patient_route, routes

# Routes whose parameter is a secret rather than an id; test_ical.py covers unknown and revoked tokens.
BEARER_TOKEN_ROUTES = {"/ical/{feed:str}", "/privacy/link/{token:str}"}
BEARER_TOKEN_ROUTES |= {"/unsubscribe/{token:str}"}  # signed token: tests/test_marketing.py
BEARER_TOKEN_ROUTES |= {"/form/{token:str}"}  # expiring link: tests/test_patient_forms.py
# Reached only from a kiosk session, which holds its own clinic: tests/test_kiosk.py tries a foreign form there.
BEARER_TOKEN_ROUTES |= {"/kiosk/forms/{form_id:int}"}
BEARER_TOKEN_ROUTES |= {"/lab-download/{token:str}"}  # signed, expiring link: tests/test_lab_downloads.py
BEARER_TOKEN_ROUTES |= {"/password/{token:str}"}  # single-use token: tests/test_staff_tokens.py
BEARER_TOKEN_ROUTES |= {"/contact/confirm/{token:str}", "/contact/report/{token:str}"}  # tests/test_contacts.py
# Online booking's signed links: tests/test_online_booking.py and tests/test_booking_pages.py.
BEARER_TOKEN_ROUTES |= {"/book/{token:str}", "/book/{token:str}/hold", "/book/{token:str}/confirm",
                        "/my-appointment/{token:str}", "/my-appointment/{token:str}/cancel",
                        "/my-appointment/{token:str}/hold", "/my-appointment/{token:str}/confirm",
                        "/offer/{token:str}", "/offer/{token:str}/accept", "/offer/{token:str}/decline"}
# The clinic's public booking page (no patient data until a code is right): tests/test_booking_codes.py.
BEARER_TOKEN_ROUTES |= {"/online-booking/{clinic_id:int}", "/online-booking/{clinic_id:int}/new",
                        "/online-booking/{clinic_id:int}/code/{ref:str}"}
BEARER_TOKEN_ROUTES |= {"/social/deletion/{code:str}"}  # Meta's confirmation code: tests/test_social.py
BEARER_TOKEN_ROUTES |= {"/staff-email/{token:str}"}  # email-change links: tests/security/test_staff_email_change.py
# A clinic's published export keys: public by design, no patient data (tests/test_export_signing.py).
BEARER_TOKEN_ROUTES |= {"/export-keys/{clinic_id:int}", "/export-keys/{clinic_id:int}/keys.json"}


async def _foreign_ids(clinic) -> dict[str, int]:
    patient_id = await factories.make_patient(clinic, given_name="Foreign")
    guardian_id = await patients.add_guardian(clinic, patient_id, patients.GuardianForm(name="Foreign Parent"))
    await households.create_family(clinic, patient_id, households.FamilyForm(household_name="Foreign"))
    member_id = (await FamilyMember.select(FamilyMember.id).where(FamilyMember.patient == patient_id).first())["id"]
    cal = await factories.make_calendar(clinic)
    day = (date.today() + timedelta(days=7)).isoformat()
    appointment_id = await factories.book(clinic, cal, patient_id, day, "10:00")
    chart_ids = await factories.make_chart_records(clinic, cal["dentist"], patient_id)
    from portal.privacy import processors, requests

    request_id = await requests.file_on_behalf(clinic, patient_id, requests.OnBehalfForm(
        kind="access", channel="letter", identity_check="ID copy enclosed", details="Foreign request"))
    processor_id = await processors.add_processor(clinic, processors.ProcessorForm(name="Foreign Host"))
    return {"patient_id": patient_id, "guardian_id": guardian_id, "member_id": member_id, "staff_id": cal["dentist"].id,
            "appointment_id": appointment_id, "chair_id": cal["chairs"][0], **chart_ids,
            "image_id": await image_samples.stored(clinic, patient_id), "request_id": request_id,
            "processor_id": processor_id,
            # A system job is the operator's (the first clinic's) alone; a dead letter is its clinic's.
            "job_id": await factories.make_failed_job(), "message_id": await factories.make_dead_letter(clinic),
            "lead_id": await factories.make_lead(clinic),
            "attachment_id": await factories.make_mail_attachment(clinic, patient_id),
            "recording_id": await factories.make_call_recording(clinic, patient_id),
            **await factories.make_lab_records(clinic, cal["dentist"], patient_id),
            "change_id": await contact_changes.propose(clinic, clinic.clinic_id, contact_changes.Holder(patient_id),
                                                       "email", "foreign@example.org", "staff_form"),
            "invoice_id": await factories.make_invoice(clinic, patient_id),
            "breach_id": await factories.make_breach(clinic),
            "form_id": await factories.make_signed_form(clinic, patient_id, allergies="Foreign latex"),
            "series_id": await aligners.start_series(cal["dentist"], patient_id, aligners.SeriesForm(stages="10")),
            **await factories.make_payer_claim(clinic, cal["dentist"], patient_id, name="Foreign Fund"),
            **await factories.make_imported_records(clinic, patient_id)}



async def test_every_id_route_hides_another_clinics_records(app, client, clinic, other_clinic):
    foreign = await _foreign_ids(clinic)
    await sign_in_as(client, other_clinic)  # an owner: every permission, so only tenancy can refuse
    token = await csrf_token(client)
    checked = []
    for method, path, params in routes(app):
        if not params or path in BEARER_TOKEN_ROUTES or is_patient_route(path):  # patients: test_privacy_routes
            continue
        missing = set(params) - foreign.keys()
        assert not missing, f"{path}: add a foreign record for {missing} to this test"
        url = fill(path, foreign)
        response = await client.request(method, url, data={"_csrf_token": token} if method != "GET" else None)
        assert response.status_code == 404, f"{method} {url} answered {response.status_code}"
        assert "Foreign" not in response.text
        checked.append(path)
    assert len(checked) >= 6
    assert await Guardian.count() == 1
    assert await FamilyMember.count() == 1 and (await Family.select(Family.name).first())["name"] == "Foreign"
    assert await PatientImage.count() == 1
    assert (await Patient.select(Patient.given_name).first())["given_name"] == "Foreign"
    assert await Staff.count().where(Staff.clinic == clinic.clinic_id) == 3


async def test_lists_and_audit_show_only_the_own_clinic(client, clinic, other_clinic):
    await factories.make_patient(clinic, given_name="Foreign")
    await sign_in_as(client, other_clinic)
    for url in ("/patients", "/patients/search?q=foreign", "/staff", "/audit", "/audit/export.csv"):
        response = await client.get(url)
        assert response.status_code == 200
        assert "Foreign" not in response.text and "canal-dental" not in response.text, url
    assert not await AuditEntry.exists().where((AuditEntry.clinic_id == other_clinic.clinic_id)
                                               & (AuditEntry.patient_id.is_not_null()))
