"""SMS and WhatsApp adapters over real HTTP against a local stand-in that checks requests as the providers
document them (tests/provider_stub.py); text reminders end to end; a channel without credentials is off."""

from dataclasses import replace
from datetime import date, timedelta

import pytest

from portal import consents
from portal.calendar import appointment_mail
from portal.consents import ConsentChange, ConsentKind
from portal.messaging import channels, outbox
from portal.tables import Appointment, OutboxMessage
from tests import factories
from tests.provider_stub import SID, SMS_FROM, TOKEN, WA_NUMBER_ID, WA_TOKEN, WA_VERSION


@pytest.fixture
def texting(settings, provider):
    """Settings with both channels configured against the stand-in."""
    return replace(settings, sms_api_url=provider.url, sms_account_sid=SID, sms_auth_token=TOKEN, sms_from=SMS_FROM,
                   whatsapp_api_url=provider.url, whatsapp_api_version=WA_VERSION, whatsapp_token=WA_TOKEN,
                   whatsapp_phone_number_id=WA_NUMBER_ID)


async def test_sms_is_posted_form_encoded_with_basic_auth(texting, provider):
    sid = await channels.SmsChannel(texting).send(channels.TextMessage(to="+31612345678", body="See you at 10:00"))
    assert sid.startswith("SM")
    assert provider.sms == [{"To": "+31612345678", "From": SMS_FROM, "Body": "See you at 10:00"}]


async def test_a_wrong_sms_token_is_refused_and_reported(texting, provider):
    with pytest.raises(channels.SendFailed, match="401"):
        await channels.SmsChannel(replace(texting, sms_auth_token="wrong")).send(
            channels.TextMessage(to="+31612345678", body="x"))
    assert provider.refused == ["authenticate"]


async def test_whatsapp_sends_templates_and_text_with_a_bearer_token(texting, provider):
    adapter = channels.WhatsAppChannel(texting)
    message_id = await adapter.send(channels.TextMessage(to="+31612345678", body="", template="appointment_reminder",
                                                         language="nl", parameters=("Els", "12-12-2026")))
    assert message_id == "wamid.1"
    await adapter.send(channels.TextMessage(to="+31612345678", body="Thank you"))
    template, text = provider.whatsapp
    assert template["to"] == "31612345678" and template["template"]["name"] == "appointment_reminder"
    assert template["template"]["language"] == {"code": "nl"}
    assert [p["text"] for p in template["template"]["components"][0]["parameters"]] == ["Els", "12-12-2026"]
    assert text["type"] == "text" and text["text"]["body"] == "Thank you"


async def test_channels_without_credentials_are_off_and_say_so(settings):
    status = {c["name"]: c for c in channels.status(settings)}
    assert not status["SMS"]["on"] and "no credentials" in status["SMS"]["detail"]
    assert not status["WhatsApp"]["on"] and "no credentials" in status["WhatsApp"]["detail"]
    with pytest.raises(channels.ChannelOff):
        await channels.SmsChannel(settings).send(channels.TextMessage(to="+31612345678", body="x"))


async def _due_text_reminder(clinic, cal, kind: ConsentKind) -> tuple[int, int]:
    patient_id = await factories.make_patient(clinic, phone_mobile="+31611122233", email="")
    await consents.record_change(clinic, clinic.clinic_id, patient_id, ConsentChange(kind, True, "front_desk"))
    day = (date.today() + timedelta(days=4)).isoformat()
    appointment_id = await factories.book(clinic, cal, patient_id, day, "09:30")
    starts = (await Appointment.select(Appointment.starts_at).where(Appointment.id == appointment_id).first())
    return patient_id, starts["starts_at"] - timedelta(hours=47)


async def test_sms_reminders_go_only_with_sms_consent(clinic, cal, texting, provider):
    patient_id, moment = await _due_text_reminder(clinic, cal, ConsentKind.REMINDER_SMS)
    assert await appointment_mail.plan_reminders(moment, settings=texting) == 1  # SMS only: no WhatsApp consent
    assert await channels.deliver_due_texts(texting) == 1
    [sms] = provider.sms
    assert sms["To"] == "+31611122233" and "09:30" in sms["Body"] and "YES" in sms["Body"]


async def test_whatsapp_reminders_use_the_approved_template(clinic, cal, texting, provider):
    await _due_text_reminder(clinic, cal, ConsentKind.REMINDER_WHATSAPP)
    assert await appointment_mail.plan_reminders((await Appointment.select(Appointment.starts_at).first())[
        "starts_at"] - timedelta(hours=47), settings=texting) == 1
    assert await channels.deliver_due_texts(texting) == 1
    [message] = provider.whatsapp
    assert message["type"] == "template" and message["template"]["name"] == texting.whatsapp_reminder_template
    assert "09:30" in [p["text"] for p in message["template"]["components"][0]["parameters"]]


async def test_a_withdrawn_sms_consent_stops_the_queued_text(clinic, cal, texting, provider):
    patient_id, moment = await _due_text_reminder(clinic, cal, ConsentKind.REMINDER_SMS)
    await appointment_mail.plan_reminders(moment, settings=texting)
    await consents.record_change(clinic, clinic.clinic_id, patient_id,
                                 ConsentChange(ConsentKind.REMINDER_SMS, False, "phone"))
    assert await channels.deliver_due_texts(texting) == 0
    assert provider.sms == []
    assert (await OutboxMessage.select(OutboxMessage.status).where(OutboxMessage.channel == "sms").first())[
        "status"] == "withdrawn"


async def test_texts_wait_while_their_channel_is_off(clinic, settings):
    await outbox.enqueue(outbox.Email(to="+31611122233", subject="", text="Hi"), key="t1", clinic_id=clinic.clinic_id,
                         channel="sms")
    assert await channels.deliver_due_texts(settings) == 0
    assert (await OutboxMessage.select(OutboxMessage.status).first())["status"] == "queued"
