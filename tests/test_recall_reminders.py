"""Recall reminders: by the first consented channel at the clinic's offsets, with the booking link, once each,
up to the daily cap, never for a booked recall or a patient who declined."""

from dataclasses import replace
from datetime import timedelta
from urllib.parse import urlsplit

from portal import clock, consents
from portal.consents import ConsentChange, ConsentKind
from portal.messaging import outbox
from portal.recall import booking, due, recall_types, reminders
from portal.tables import OutboxMessage, RecallContact
from tests import factories
from tests.mail_sink import body_text


async def _settings(clinic, cal, **overrides):
    values = {"enabled": True, "appointment_types": str(cal["checkup"]), "reminder_days": "-14, 0, 21",
              "lead_hours": "0", **overrides}
    await booking.save_settings(clinic, booking.SettingsForm(**values))


async def _due_patient(clinic, days_from_today: int, consent=ConsentKind.REMINDER_EMAIL, **fields) -> int:
    patient = await factories.make_patient(clinic, **fields)
    if consent:
        await consents.record_change(clinic, clinic.clinic_id, patient, ConsentChange(consent, True, "front_desk"))
    checkup = [t for t in await recall_types.list_types(clinic) if t["name"] == "Check-up"][0]
    when = (clock.today(clinic.time_zone) + timedelta(days=days_from_today)).isoformat()
    await due.set_recall(clinic, patient, due.RecallForm(str(checkup["id"]), when))
    return patient


async def test_a_due_recall_mails_the_booking_link_once(client, clinic, cal, settings, mailbox):
    await _settings(clinic, cal)
    patient = await _due_patient(clinic, 0, email="due@example.org", given_name="Fenna")
    assert await reminders.plan_recall_reminders(settings) == 1
    assert await reminders.plan_recall_reminders(settings) == 0  # the outbox key: once
    await outbox.deliver_due(settings)
    [message] = mailbox.to("due@example.org")
    text = body_text(message)
    assert "Hello Fenna" in text and "/book/" in text
    link = urlsplit(next(w for w in text.split() if "/book/" in w)).path
    page = await client.get(link)
    assert page.status_code == 200 and "Hello Fenna" in page.text
    contact = await RecallContact.select().where(RecallContact.patient == patient).first()
    assert (contact["kind"], contact["note"]) == ("reminded", "email (+0 d)")


async def test_offsets_before_and_after_the_due_date_and_only_the_latest_reached(clinic, cal, settings):
    await _settings(clinic, cal)
    await _due_patient(clinic, 14, email="early@example.org")  # -14 reached today
    await _due_patient(clinic, 15, email="notyet@example.org")  # -14 reached tomorrow
    await _due_patient(clinic, -22, email="late@example.org")  # 0 and 21 passed: only 21 goes out
    await _due_patient(clinic, -60, email="long@example.org")  # past the late window of every offset
    assert await reminders.plan_recall_reminders(settings) == 2
    keys = sorted((r["recipient"], r["idempotency_key"].rsplit(":", 1)[1]) for r in await OutboxMessage.select())
    assert keys == [("early@example.org", "-14"), ("late@example.org", "21")]


async def test_no_consent_no_reminder_and_sms_when_only_sms_is_consented(clinic, cal, settings):
    await _settings(clinic, cal)
    await _due_patient(clinic, 0, consent=None, email="silent@example.org")
    await _due_patient(clinic, 0, consent=ConsentKind.REMINDER_SMS, email="sms@example.org",
                       phone_mobile="+31611122233")
    assert await reminders.plan_recall_reminders(settings) == 0  # SMS is not configured
    texting = replace(settings, sms_api_url="http://127.0.0.1:9", sms_account_sid="AC1", sms_auth_token="t",
                      sms_from="+3197010000000")
    assert await reminders.plan_recall_reminders(texting) == 1
    row = await OutboxMessage.select().first()
    assert (row["channel"], row["recipient"], row["guard_consent"]) == ("sms", "+31611122233", "reminder_sms")
    assert "/book/" in row["text_body"]


async def test_the_daily_cap_holds_per_clinic(clinic, cal, settings):
    await _settings(clinic, cal, daily_cap="2")
    for n in range(3):
        await _due_patient(clinic, 0, email=f"p{n}@example.org")
    assert await reminders.plan_recall_reminders(settings) == 2
    assert await reminders.plan_recall_reminders(settings) == 0  # the cap is per day
    later = clock.now() + timedelta(days=1)
    assert await reminders.plan_recall_reminders(settings, now=later) == 1


async def test_booked_declined_or_unconfigured_get_nothing(clinic, other_clinic, cal, settings):
    booked = await _due_patient(clinic, 0, email="booked@example.org")
    declined = await _due_patient(clinic, 0, email="declined@example.org")
    await factories.book(clinic, cal, booked, (clock.today(clinic.time_zone) + timedelta(days=3)).isoformat(), "10:00")
    await due.log_contact(clinic, declined, due.ContactForm(kind="declined"))
    assert await reminders.plan_recall_reminders(settings) == 0  # no settings saved: the owner has not chosen yet
    await _settings(clinic, cal)
    assert await reminders.plan_recall_reminders(settings) == 0
    assert not await OutboxMessage.exists().where(OutboxMessage.idempotency_key.like("recall:%"))


async def test_without_online_booking_the_reminder_asks_to_call(clinic, cal, settings, mailbox):
    await _settings(clinic, cal, enabled=False)
    await _due_patient(clinic, 0, email="call@example.org")
    assert await reminders.plan_recall_reminders(settings) == 1
    row = await OutboxMessage.select().first()
    assert "/book/" not in row["text_body"] and "contact us" in row["text_body"]
