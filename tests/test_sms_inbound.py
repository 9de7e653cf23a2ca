"""SMS both ways: Twilio-style inbound texts checked by signature (good, bad, missing, another host's, replayed),
kept in the patient's conversation, YES answered by SMS from the clinic's own number, STOP and START through the
consent ledger, unknown numbers as leads, and the clinic's number set on the settings page."""

import base64
import hashlib
import hmac
from dataclasses import replace
from datetime import date, timedelta

import httpx
import pytest

from portal import consents
from portal.app import create_app
from portal.consents import ConsentChange, ConsentKind
from portal.messaging import channels
from portal.tables import Appointment, AuditEntry, Clinic, ConsentEvent, ConversationMessage, Lead, OutboxMessage
from tests import factories
from tests.factories import csrf_token, sign_in_as
from tests.provider_stub import CLINIC_SMS_NUMBER, SID, SMS_FROM, TOKEN, ProviderStub

URL = "http://testserver/webhooks/sms"
PATIENT_PHONE = "+31611122233"


def _twilio_signature(token: str, url: str, fields: dict) -> str:
    """Twilio's documented algorithm, written out independently of portal/messaging/sms_inbound.py."""
    payload = url + "".join(f"{key}{fields[key]}" for key in sorted(fields))
    return base64.b64encode(hmac.new(token.encode(), payload.encode(), hashlib.sha1).digest()).decode()


def _fields(body: str, sid_number: int = 1, sender: str = PATIENT_PHONE, to: str = CLINIC_SMS_NUMBER) -> dict:
    return {"MessageSid": f"SM{sid_number:032x}", "AccountSid": SID, "From": sender, "To": to, "Body": body,
            "NumMedia": "0", "FromCountry": "NL"}


@pytest.fixture(scope="module")
def sms_app(settings):
    return create_app(replace(settings, sms_auth_token=TOKEN, sms_account_sid=SID, sms_from=SMS_FROM),
                      manage_pool=False)


@pytest.fixture
async def twilio(sms_app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sms_app, client=("10.0.0.9", 5000)),
                                 base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def our_number(clinic):
    await Clinic.update({Clinic.sms_number: CLINIC_SMS_NUMBER}).where(Clinic.id == clinic.clinic_id)


async def _post(client, fields: dict, signature: str | None = "compute"):
    headers = {}
    if signature == "compute":
        signature = _twilio_signature(TOKEN, URL, fields)
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    return await client.post("/webhooks/sms", data=fields, headers=headers)


async def _patient(clinic) -> int:
    return await factories.make_patient(clinic, phone_mobile=PATIENT_PHONE)


async def test_a_signed_text_lands_in_the_patients_conversation_once(twilio, clinic, our_number):
    patient_id = await _patient(clinic)
    answer = await _post(twilio, _fields("Can I come at 9 instead?"))
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/xml")
    assert "<Response></Response>" in answer.text
    again = await _post(twilio, _fields("Can I come at 9 instead?"))  # Twilio retries
    assert again.status_code == 200
    [message] = await ConversationMessage.select().where(ConversationMessage.patient == patient_id)
    assert (message["channel"], message["direction"], message["body"]) == ("sms", "in", "Can I come at 9 instead?")
    assert await AuditEntry.exists().where((AuditEntry.action == "sms.received")
                                           & (AuditEntry.patient_id == patient_id))


@pytest.mark.parametrize("signature", [None, "", "bm90IGEgc2lnbmF0dXJl", "other-host", "wrong-token"])
async def test_a_text_without_twilios_signature_is_refused_and_nothing_is_kept(twilio, clinic, our_number,
                                                                                signature):
    await _patient(clinic)
    fields = _fields("STOP")
    if signature == "other-host":  # signed for the URL a forged Host header would name
        signature = _twilio_signature(TOKEN, "http://evil.example/webhooks/sms", fields)
    elif signature == "wrong-token":
        signature = _twilio_signature("not-our-token", URL, fields)
    answer = await _post(twilio, fields, signature)
    assert answer.status_code == 403
    assert await ConversationMessage.count() == 0 and await ConsentEvent.count() == 0


async def test_a_signed_but_malformed_text_answers_400(twilio, clinic, our_number):
    answer = await _post(twilio, _fields("hi", sender="0611122233"))
    assert answer.status_code == 400 and await ConversationMessage.count() == 0
    answer = await _post(twilio, {**_fields("hi"), "MessageSid": "not-a-sid"})
    assert answer.status_code == 400


async def test_a_text_to_a_number_no_clinic_owns_is_dropped(twilio, clinic, our_number):
    await _patient(clinic)
    answer = await _post(twilio, _fields("hello", to="+3197010009999"))
    assert answer.status_code == 200 and await ConversationMessage.count() == 0


async def test_stop_withdraws_and_start_gives_sms_consent_in_the_ledger(twilio, clinic, our_number):
    patient_id = await _patient(clinic)
    await consents.record_change(None, clinic.clinic_id, patient_id, ConsentChange(
        kind=ConsentKind.REMINDER_SMS, granted=True, source="front_desk"), actor_kind="staff")
    await _post(twilio, _fields("Stop", 1))
    assert (await consents.current(patient_id))[ConsentKind.REMINDER_SMS] is False
    event = await ConsentEvent.select().order_by(ConsentEvent.id, ascending=False).first()
    assert (event["source"], event["actor_kind"], event["granted"]) == ("sms_keyword", "patient", False)
    stopped = await ConversationMessage.select(ConversationMessage.outcome).where(
        ConversationMessage.body == "Stop").first()
    assert stopped["outcome"] == "sms_stopped"  # what the clinic sees beside the message
    assert await OutboxMessage.count() == 0  # no text back to a number that said STOP
    await _post(twilio, _fields("START", 2))
    assert (await consents.current(patient_id))[ConsentKind.REMINDER_SMS] is True


async def test_cancel_is_not_an_opt_out_but_cancels_the_appointment(twilio, clinic, our_number, cal, settings):
    patient_id = await _patient(clinic)
    appointment_id = await factories.book(clinic, cal, patient_id, (date.today() + timedelta(days=3)).isoformat(),
                                          "10:00")
    await _post(twilio, _fields("cancel"))
    status = (await Appointment.select(Appointment.status).where(Appointment.id == appointment_id).first())["status"]
    assert status == "cancelled"
    assert (await consents.current(patient_id))[ConsentKind.REMINDER_SMS] is False  # never given, not withdrawn
    assert await ConsentEvent.count() == 0


async def test_yes_confirms_and_the_answer_goes_by_sms_from_the_clinics_own_number(twilio, clinic, our_number, cal,
                                                                                    settings):
    patient_id = await _patient(clinic)
    appointment_id = await factories.book(clinic, cal, patient_id, (date.today() + timedelta(days=3)).isoformat(),
                                          "10:00")
    await _post(twilio, _fields("YES"))
    status = (await Appointment.select(Appointment.status).where(Appointment.id == appointment_id).first())["status"]
    assert status == "confirmed"
    stub = ProviderStub().start()
    try:
        texting = replace(settings, sms_api_url=stub.url, sms_account_sid=SID, sms_auth_token=TOKEN,
                          sms_from=SMS_FROM)
        assert await channels.deliver_due_texts(texting) == 1
        [sms] = stub.sms
        assert sms["From"] == CLINIC_SMS_NUMBER and sms["To"] == PATIENT_PHONE and "confirmed" in sms["Body"]
    finally:
        stub.stop()
    out = await ConversationMessage.select().where(ConversationMessage.direction == "out").first()
    assert out["channel"] == "sms" and out["patient"] == patient_id


async def test_an_unknown_number_becomes_a_lead(twilio, clinic, our_number):
    await _post(twilio, _fields("Do you take new patients?", sender="+31622233344"))
    lead = await Lead.select().first()
    assert lead["phone"] == "+31622233344" and lead["clinic"] == clinic.clinic_id


async def test_the_owner_sets_the_clinics_sms_number_and_bad_input_is_kept_beside_the_field(client, clinic):
    await sign_in_as(client, clinic)
    token = await csrf_token(client)
    refused = await client.post("/settings/sms", data={"_csrf_token": token, "sms_number": "call me"})
    assert refused.status_code == 422 and "not a phone number" in refused.text and 'value="call me"' in refused.text
    assert (await Clinic.select(Clinic.sms_number).where(Clinic.id == clinic.clinic_id).first())["sms_number"] == ""
    saved = await client.post("/settings/sms", data={"_csrf_token": token, "sms_number": "+31 97 010000001"})
    assert saved.status_code in {200, 303}
    assert (await Clinic.select(Clinic.sms_number).where(Clinic.id == clinic.clinic_id).first())[
        "sms_number"] == CLINIC_SMS_NUMBER
