"""The WhatsApp webhook: Meta's handshake, signature-checked POSTs, replies that confirm or cancel the next
appointment, unknown numbers as leads the front desk turns into patients, and the conversation on record."""

import hashlib
import hmac
import json
from dataclasses import replace
from datetime import date, timedelta

import httpx
import pytest

from portal.app import create_app
from portal.tables import (
    Appointment,
    AppointmentChange,
    AuditEntry,
    Clinic,
    ConversationMessage,
    Lead,
    OutboxMessage,
    Patient,
)
from tests import factories
from tests.factories import csrf_token, sign_in_as

SECRET, VERIFY, NUMBER_ID = "app-secret", "verify-me", "109876543210"


@pytest.fixture(scope="module")
def wa_app(settings):
    return create_app(replace(settings, whatsapp_app_secret=SECRET, whatsapp_verify_token=VERIFY), manage_pool=False)


@pytest.fixture
async def wa(wa_app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=wa_app, client=("10.0.0.9", 5000)),
                                 base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def our_number(clinic):
    await Clinic.update({Clinic.whatsapp_phone_number_id: NUMBER_ID}).where(Clinic.id == clinic.clinic_id)


def _payload(sender: str, text: str, message_id: str, name: str = "Anna") -> bytes:
    return json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp", "metadata": {"display_phone_number": "3197010000000",
                                                          "phone_number_id": NUMBER_ID},
            "contacts": [{"profile": {"name": name}, "wa_id": sender}],
            "messages": [{"from": sender, "id": message_id, "timestamp": "1795000000", "type": "text",
                          "text": {"body": text}}]}}]}]}).encode()


def _signed(body: bytes, secret: str = SECRET) -> dict:
    return {"X-Hub-Signature-256": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
            "Content-Type": "application/json"}


async def test_the_handshake_answers_only_the_right_verify_token(wa):
    ok = await wa.get("/webhooks/whatsapp", params={"hub.mode": "subscribe", "hub.verify_token": VERIFY,
                                                    "hub.challenge": "1158201444"})
    assert ok.status_code == 200 and ok.text == "1158201444"
    wrong = await wa.get("/webhooks/whatsapp", params={"hub.mode": "subscribe", "hub.verify_token": "guess",
                                                       "hub.challenge": "1"})
    assert wrong.status_code == 403


async def test_unsigned_or_wrongly_signed_posts_are_refused(wa, clinic, our_number):
    body = _payload("31687654321", "hello", "wamid.A")
    assert (await wa.post("/webhooks/whatsapp", content=body)).status_code == 403
    assert (await wa.post("/webhooks/whatsapp", content=body, headers=_signed(body, "other"))).status_code == 403
    tampered = body.replace(b"hello", b"HELLO")
    assert (await wa.post("/webhooks/whatsapp", content=tampered, headers=_signed(body))).status_code == 403
    assert await ConversationMessage.count() == 0 and await Lead.count() == 0


async def test_the_default_app_without_a_secret_refuses_every_post(client, clinic, our_number):
    body = _payload("31687654321", "hello", "wamid.B")
    assert (await client.post("/webhooks/whatsapp", content=body, headers=_signed(body))).status_code == 403


async def _patient_with_appointment(clinic, cal) -> tuple[int, int]:
    patient_id = await factories.make_patient(clinic, phone_mobile="+31611122233", preferred_language="nl")
    day = (date.today() + timedelta(days=3)).isoformat()
    return patient_id, await factories.book(clinic, cal, patient_id, day, "14:00")


async def test_a_yes_confirms_the_next_appointment_once_and_replies(wa, clinic, cal, our_number):
    patient_id, appointment_id = await _patient_with_appointment(clinic, cal)
    body = _payload("31611122233", "Ja", "wamid.C")
    assert (await wa.post("/webhooks/whatsapp", content=body, headers=_signed(body))).status_code == 200
    assert (await wa.post("/webhooks/whatsapp", content=body, headers=_signed(body))).status_code == 200  # retried
    row = await Appointment.select(Appointment.status).where(Appointment.id == appointment_id).first()
    assert row["status"] == "confirmed"
    [reply] = await OutboxMessage.select().where(OutboxMessage.channel == "whatsapp")
    assert reply["recipient"] == "+31611122233" and "bevestigd" in reply["text_body"]
    messages = await ConversationMessage.select().where(ConversationMessage.patient == patient_id).order_by(
        ConversationMessage.id)
    assert [(m["direction"], m["outcome"]) for m in messages] == [("in", "confirmed"), ("out", "")]


async def test_a_no_cancels_the_next_appointment_and_mails_the_cancellation(wa, clinic, cal, our_number):
    patient_id, appointment_id = await _patient_with_appointment(clinic, cal)
    body = _payload("31611122233", "NEE", "wamid.D")
    await wa.post("/webhooks/whatsapp", content=body, headers=_signed(body))
    row = await Appointment.select(Appointment.status, Appointment.cancel_reason).where(
        Appointment.id == appointment_id).first()
    assert row["status"] == "cancelled" and "WhatsApp" in row["cancel_reason"]
    assert await OutboxMessage.exists().where(
        OutboxMessage.idempotency_key.like(f"appointment:{appointment_id}:cancelled:1"))  # SEQUENCE bumped
    [change] = await AppointmentChange.select().where((AppointmentChange.appointment == appointment_id)
                                                      & (AppointmentChange.kind != "booked"))
    assert (change["kind"], change["from_status"], change["actor_name"]) == ("cancelled", "booked",
                                                                            "Patient (WhatsApp)")
    [audited] = await AuditEntry.select().where(AuditEntry.action == "appointment.cancelled")
    assert (audited["actor_kind"], audited["patient_id"]) == ("patient", patient_id)  # the patient did it


async def test_an_unknown_number_becomes_a_lead_the_front_desk_registers(wa, client, clinic, our_number):
    body = _payload("31687654321", "Do you take new patients?", "wamid.E", name="Sam de Vries")
    await wa.post("/webhooks/whatsapp", content=body, headers=_signed(body))
    [lead] = await Lead.select()
    assert lead["phone"] == "+31687654321" and lead["name"] == "Sam de Vries"
    desk = await factories.make_staff(clinic, factories.Role.RECEPTIONIST)
    await sign_in_as(client, desk)
    page = await client.get("/leads")
    assert "Do you take new patients?" in page.text
    token = await csrf_token(client)
    bad = await client.post(f"/leads/{lead['id']}/convert", data={"_csrf_token": token, "given_name": "Sam"})
    assert bad.status_code == 422 and await Patient.count() == 0
    response = await client.post(f"/leads/{lead['id']}/convert", data={
        "_csrf_token": token, "given_name": "Sam", "family_name": "de Vries", "date_of_birth": "1990-01-02"})
    assert response.status_code == 303
    patient = await Patient.select().first()
    assert patient["phone_mobile"] == "+31687654321"
    page = await client.get(f"/patients/{patient['id']}/messages")
    assert page.status_code == 200 and "Do you take new patients?" in page.text
    assert "No open leads." in (await client.get("/leads")).text


async def test_a_message_to_a_number_no_clinic_owns_is_ignored(wa, clinic):
    body = _payload("31687654321", "hello", "wamid.F")
    assert (await wa.post("/webhooks/whatsapp", content=body, headers=_signed(body))).status_code == 200
    assert await ConversationMessage.count() == 0


async def test_the_owner_sets_the_clinics_whatsapp_number(client, clinic, other_clinic):
    await Clinic.update({Clinic.whatsapp_phone_number_id: "555"}).where(Clinic.id == other_clinic.clinic_id)
    await sign_in_as(client, clinic)
    token = await csrf_token(client)
    taken = await client.post("/settings/whatsapp", data={"_csrf_token": token, "whatsapp_phone_number_id": "555"})
    assert taken.status_code == 422 and "Another clinic" in taken.text
    ok = await client.post("/settings/whatsapp", data={"_csrf_token": token, "whatsapp_phone_number_id": NUMBER_ID})
    assert ok.status_code == 303
    assert (await Clinic.select(Clinic.whatsapp_phone_number_id).where(Clinic.id == clinic.clinic_id).first())[
        "whatsapp_phone_number_id"] == NUMBER_ID


async def test_staff_reply_within_the_24_hour_window_only(wa, client, clinic, cal, our_number):
    patient_id, _ = await _patient_with_appointment(clinic, cal)
    await sign_in_as(client, clinic)
    token = await csrf_token(client)
    early = await client.post(f"/patients/{patient_id}/messages", data={"_csrf_token": token, "body": "Hello"})
    assert early.status_code == 422 and "within 24 hours" in early.text
    body = _payload("31611122233", "Can I bring my son?", "wamid.G")
    await wa.post("/webhooks/whatsapp", content=body, headers=_signed(body))
    sent = await client.post(f"/patients/{patient_id}/messages", data={"_csrf_token": token, "body": "Yes, of course"})
    assert sent.status_code == 303
    page = await client.get(f"/patients/{patient_id}/messages")
    assert "Can I bring my son?" in page.text and "Yes, of course" in page.text
    [out] = await OutboxMessage.select().where(OutboxMessage.channel == "whatsapp")
    assert out["recipient"] == "+31611122233" and out["text_body"] == "Yes, of course"
