"""Tablet check-in: staff start kiosk mode; a patient finds today's appointment, signs a pending form and arrives
through the calendar's status rule; the patient's part clears; the kiosk is refused every staff page."""

import json
import time

from portal.patient_forms import check_in, filling
from portal.tables import Appointment, AppointmentChange, ContactChange, OutboxMessage, Patient, SentForm
from tests import factories
from tests.factories import csrf_token, post_form, run_queued_jobs, sign_in_as
from tests.security.routes import WEBHOOKS, fill, is_patient_route, routes
from tests.security.test_isolation import BEARER_TOKEN_ROUTES
from tests.security.test_sign_in_required import PUBLIC


async def _kiosk(client, clinic) -> None:
    await sign_in_as(client, clinic)
    assert (await client.get("/kiosk/start")).status_code == 200
    started = await post_form(client, "/kiosk/start")
    assert started.status_code == 303 and started.headers["location"] == "/kiosk"


async def test_a_patient_checks_in_signs_a_pending_form_and_arrives(client, clinic, cal, settings):
    patient_id = await factories.make_patient(clinic, family_name="Çelik", date_of_birth="1980-02-03",
                                              email="ayse@example.org")
    appointment_id = await factories.book_today(clinic, cal, patient_id, "17:00")
    form_id = await filling.send(clinic, settings, patient_id, filling.SendForm(kind="consent", procedure="Crown 21"))
    await _kiosk(client, clinic)
    start = await client.get("/kiosk")
    assert start.status_code == 200 and "Find my appointment" in start.text
    assert start.headers["cache-control"] == "no-store"

    refused = await post_form(client, "/kiosk/find", {"family_name": "Celik", "date_of_birth": "1980-02-04"})
    assert refused.status_code == 422 and 'id="e-family_name"' in refused.text and 'value="Celik"' in refused.text
    refused = await post_form(client, "/kiosk/find", {"family_name": "", "date_of_birth": "not a date"})
    assert refused.status_code == 422 and 'id="e-date_of_birth"' in refused.text

    found = await post_form(client, "/kiosk/find", {"family_name": "celik", "date_of_birth": "1980-02-03"})
    assert found.status_code == 303
    visit = await client.get("/kiosk")
    assert "ay…@example.org" in visit.text and "ayse@example.org" not in visit.text
    assert "Consent to a procedure" in visit.text

    opened = await post_form(client, f"/kiosk/forms/{form_id}")
    assert opened.status_code == 303 and opened.headers["location"].startswith("/form/")
    signed = await post_form(client, opened.headers["location"], {
        "understood": "yes", "consent": "yes", "signer_name": "Ayşe Çelik",
        "strokes": json.dumps([[[10, 10], [100, 80]]])})
    assert signed.status_code == 200 and 'href="/kiosk"' in signed.text
    assert (await SentForm.select(SentForm.signature_method).where(SentForm.id == form_id).first()
            )["signature_method"] == "drawn"

    arrived = await post_form(client, "/kiosk/arrive")
    assert arrived.status_code == 200 and "You are checked in" in arrived.text
    assert (await Appointment.select(Appointment.status).where(Appointment.id == appointment_id).first()
            )["status"] == "arrived"
    change = await AppointmentChange.select().where(AppointmentChange.to_status == "arrived").first()
    assert change["actor_name"] == "Patient (kiosk)" and change["actor_id"] is None
    cleared = await client.get("/kiosk")  # the next patient starts from nothing
    assert "Find my appointment" in cleared.text and "Çelik" not in cleared.text


async def test_an_idle_check_in_is_cleared(client, clinic, cal, monkeypatch):
    patient_id = await factories.make_patient(clinic, family_name="Idle", date_of_birth="1970-01-01")
    await factories.book_today(clinic, cal, patient_id, "17:00")
    await _kiosk(client, clinic)
    await post_form(client, "/kiosk/find", {"family_name": "Idle", "date_of_birth": "1970-01-01"})
    assert "I have arrived" in (await client.get("/kiosk")).text
    later = time.time() + check_in.IDLE_SECONDS + 1
    monkeypatch.setattr(time, "time", lambda: later)
    page = await client.get("/kiosk")
    assert "Find my appointment" in page.text and "I have arrived" not in page.text


async def test_the_kiosk_is_refused_every_staff_page(app, client, clinic, cal):
    patient_id = await factories.make_patient(clinic, given_name="Secret")
    ids = {"patient_id": patient_id, "staff_id": clinic.id, "appointment_id": 1, "chair_id": 1, "tooth": 36,
           "version": 1, "plan_id": 1, "note_id": 1, "code_id": 1, "image_id": 1, "request_id": 1,
           "attachment_id": 1, "recording_id": 1, "form_id": 1, "job_id": 1, "message_id": 1, "lead_id": 1,
           "guardian_id": 1, "alert_id": 1, "item_id": 1, "processor_id": 1, "export_id": 1, "kind": 1}
    await _kiosk(client, clinic)
    token = await csrf_token(client)
    tried = 0
    for method, path, _params in routes(app):
        if (path in PUBLIC or path in BEARER_TOKEN_ROUTES or path in WEBHOOKS or is_patient_route(path)
                or path.startswith("/kiosk") or path == "/form/{token:str}"):  # not staff pages
            continue
        if path in ("/login", "/logout"):
            continue
        url = fill(path, {name: ids.get(name, 1) for name in _params})  # every id route, whatever its ids
        data = {"_csrf_token": token} if method != "GET" else None
        response = await client.request(method, url, data=data, headers={"X-CSRFToken": token})
        assert response.status_code == 403, f"{method} {url} answered {response.status_code}"
        assert "Secret" not in response.text, url
        tried += 1
    assert tried > 50
    assert (await client.get("/kiosk")).status_code == 200  # still a kiosk


async def test_a_kiosk_opens_only_its_own_patients_forms(client, clinic, other_clinic, cal, settings):
    patient_id = await factories.make_patient(clinic, family_name="Own", date_of_birth="1970-01-01")
    await factories.book_today(clinic, cal, patient_id, "17:00")
    other_patient = await factories.make_patient(clinic)
    others_form = await filling.send(clinic, settings, other_patient, filling.SendForm(kind="medical_history"))
    stranger = await factories.make_patient(other_clinic)
    foreign_form = await filling.send(other_clinic, settings, stranger, filling.SendForm(kind="medical_history"))
    await _kiosk(client, clinic)
    assert (await post_form(client, f"/kiosk/forms/{others_form}")).headers["location"] == "/kiosk"  # nobody found
    await post_form(client, "/kiosk/find", {"family_name": "Own", "date_of_birth": "1970-01-01"})
    for form_id in (others_form, foreign_form):
        assert (await post_form(client, f"/kiosk/forms/{form_id}")).status_code == 404


async def test_contact_details_changed_on_the_kiosk_only_wait_for_their_holder(client, clinic, cal):
    patient_id = await factories.make_patient(clinic, family_name="Moved", date_of_birth="1975-05-05",
                                              email="old@example.org", address="Oude Gracht 1, Utrecht")
    await factories.book_today(clinic, cal, patient_id, "17:00")
    await _kiosk(client, clinic)
    assert (await post_form(client, "/kiosk/contact", {"email": "new@example.org"})).headers["location"] == "/kiosk"
    await post_form(client, "/kiosk/find", {"family_name": "Moved", "date_of_birth": "1975-05-05"})
    visit = await client.get("/kiosk")
    assert "Update my details" in visit.text and "Oude Gracht" not in visit.text  # masked on a waiting-room tablet

    refused = await post_form(client, "/kiosk/contact", {"email": "not an address", "phone": "", "postal": ""})
    assert refused.status_code == 422 and 'id="e-email"' in refused.text and 'value="not an address"' in refused.text
    nothing = await post_form(client, "/kiosk/contact", {"email": "", "phone": "", "postal": ""})
    assert nothing.status_code == 422
    assert await ContactChange.count().where(ContactChange.origin == "kiosk") == 0

    sent = await post_form(client, "/kiosk/contact", {"email": "new@example.org", "phone": "06 12345678",
                                                      "postal": "Nieuwe Gracht 2, Utrecht"})
    assert sent.status_code == 303 and sent.headers["location"] == "/kiosk"
    assert "We sent a link or code" in (await client.get("/kiosk")).text
    patient = await Patient.select(Patient.email, Patient.phone_mobile, Patient.address).where(
        Patient.id == patient_id).first()
    assert patient["email"] == "old@example.org" and patient["phone_mobile"] != "+31612345678"
    assert patient["address"] == "Oude Gracht 1, Utrecht"
    waiting = {r["channel"]: r for r in await ContactChange.select().where(ContactChange.origin == "kiosk")}
    assert {c: (r["address"], r["status"], r["origin"], r["requested_by_kind"]) for c, r in waiting.items()} == {
        "email": ("new@example.org", "pending", "kiosk", "patient"),
        "phone": ("+31612345678", "pending", "kiosk", "patient"),
        "postal": ("Nieuwe Gracht 2, Utrecht", "pending", "kiosk", "patient")}
    await run_queued_jobs()
    assert await OutboxMessage.count().where(OutboxMessage.recipient == "Nieuwe Gracht 2, Utrecht") == 0
    postal = waiting["postal"]
    assert postal["token_hash"] is None and (await ContactChange.select(ContactChange.code_hash).where(
        ContactChange.id == postal["id"]).first())["code_hash"] is None  # nothing to send to a street

    # The desk checks the patient's passport: only then the postal address is on the record.
    await sign_in_as(client, clinic)
    confirmed = await post_form(client, f"/patients/{patient_id}/contacts/{postal['id']}/in-person",
                                {"identity_check": "passport"})
    assert confirmed.status_code == 303
    assert (await Patient.select(Patient.address).where(Patient.id == patient_id).first()
            )["address"] == "Nieuwe Gracht 2, Utrecht"
