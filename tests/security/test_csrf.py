"""Every unsafe route refuses a request without the CSRF token, and nothing changes."""

from datetime import date, timedelta

from portal.tables import AuditEntry, Patient
from tests import factories
from tests.factories import sign_in_as
from tests.security.routes import UNSAFE, WEBHOOKS, fill, routes

# Posted by mail clients, Meta and Twilio, never by our pages; each authenticates itself instead (signed token,
# HMAC signature: tests/test_marketing.py, tests/test_whatsapp.py, tests/test_sms_inbound.py,
# tests/test_mail_routing.py).
CSRF_EXEMPT = {"/unsubscribe/{token:str}"} | WEBHOOKS


async def test_every_unsafe_route_needs_the_token(app, client, clinic):
    patient_id = await factories.make_patient(clinic)
    cal = await factories.make_calendar(clinic)
    appointment_id = await factories.book(clinic, cal, patient_id, (date.today() + timedelta(days=7)).isoformat(),
                                          "10:00")
    ids = {"patient_id": patient_id, "guardian_id": 1, "staff_id": clinic.id, "appointment_id": appointment_id,
           "chair_id": cal["chairs"][0], "tooth": 36, "alert_id": 1, "plan_id": 1, "item_id": 1, "note_id": 1,
           "exam_id": 1,
           "code_id": 1, "version": 1, "kind": 1, "request_id": 1, "processor_id": 1, "export_id": 1,
           "lab_id": 1, "case_id": 1, "prescription_id": 1, "referral_id": 1,
           "invoice_id": 1, "image_id": 1, "breach_id": 1, "form_id": 1, "series_id": 1, "member_id": 1}
    ids |= {"job_id": await factories.make_failed_job(), "message_id": await factories.make_dead_letter(clinic),
            "lead_id": await factories.make_lead(clinic), "token": "not-a-real-token", "change_id": 1}
    ids |= {"clinic_id": clinic.clinic_id, "ref": "not-a-real-ref"}  # the public booking page and its code step
    ids |= {"payer_id": 1, "claim_id": 1, "coverage_id": 1}
    await sign_in_as(client, clinic)
    before = await AuditEntry.count()
    unsafe = [(m, p) for m, p, _ in routes(app) if m in UNSAFE and p not in CSRF_EXEMPT]
    assert len(unsafe) >= 8
    for method, path in unsafe:
        response = await client.request(method, fill(path, ids), data={"given_name": "Changed", "name": "x"})
        assert response.status_code == 403, f"{method} {path} answered {response.status_code}"
        forged = await client.request(method, fill(path, ids), data={"_csrf_token": "forged", "name": "x"},
                                      headers={"X-CSRFToken": "forged"})
        assert forged.status_code == 403, f"{method} {path} accepted a forged token"
    assert (await Patient.select(Patient.given_name).first())["given_name"] == "Anna"
    assert await AuditEntry.count() == before


async def test_htmx_header_token_is_accepted(client, clinic):
    await sign_in_as(client, clinic)
    token = await factories.csrf_token(client)
    response = await client.post("/logout", headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert response.status_code == 303
