"""Reminders and confirmations: queued with the change or at their moment, stopped by consent, restriction,
cancellation and moves, delivered over real SMTP in the patient's language."""

from datetime import date, datetime, timedelta, timezone

from portal import consents
from portal.calendar import appointment_mail, scheduling
from portal.consents import ConsentChange, ConsentKind
from portal.messaging import outbox
from portal.tables import Appointment, OutboxMessage, Patient
from tests import factories
from tests.mail_sink import body_text


def _in_days(n: int) -> str:
    return (date.today() + timedelta(days=n)).isoformat()


async def _patient_with_consent(clinic, **fields) -> int:
    patient_id = await factories.make_patient(clinic, **fields)
    await consents.record_change(clinic, clinic.clinic_id, patient_id,
                                 ConsentChange(ConsentKind.REMINDER_EMAIL, True, "front_desk"))
    return patient_id


async def _reminder_moment(appointment_id: int, hours: int = 48) -> datetime:
    row = await Appointment.select(Appointment.starts_at).where(Appointment.id == appointment_id).first()
    return row["starts_at"] - timedelta(hours=hours) + timedelta(minutes=1)


def _reminders(mailbox, address: str) -> list:
    return [m for m in mailbox.to(address) if m["X-Chairside-Key"].startswith("reminder:")]


async def test_booking_moving_and_cancelling_each_send_a_confirmation_with_an_ics(clinic, cal, settings, mailbox):
    patient_id = await factories.make_patient(clinic, email="bob@example.org")
    appointment_id = await factories.book(clinic, cal, patient_id, _in_days(5), "10:00")
    await scheduling.move_appointment(clinic, appointment_id, scheduling.MoveForm(date=_in_days(6), time="11:00"))
    await scheduling.set_status(clinic, appointment_id, "cancelled", reason="Patient is ill")
    assert await outbox.deliver_due(settings) == 3
    booked, moved, cancelled = mailbox.to("bob@example.org")
    assert booked["Subject"].startswith("Your appointment is booked")
    assert "11:00" in moved["Subject"] and cancelled["Subject"].startswith("Your appointment is cancelled")
    [ics] = [p for p in cancelled.iter_attachments()]
    content = ics.get_content()
    content = content if isinstance(content, str) else content.decode()
    assert ics.get_filename() == "appointment.ics" and "METHOD:CANCEL" in content and "SEQUENCE:2" in content
    assert f"UID:appointment-{appointment_id}@{clinic.clinic_id}.chairside" in content  # the feed's UID


async def test_a_failed_booking_queues_no_mail(clinic, cal):
    patient_id = await factories.make_patient(clinic)
    await factories.book(clinic, cal, patient_id, _in_days(5), "10:00")
    try:
        await factories.book(clinic, cal, patient_id, _in_days(5), "10:00")
    except Exception:
        pass
    assert await OutboxMessage.count() == 1


async def test_a_due_reminder_is_sent_once_in_the_patients_language(clinic, cal, settings, mailbox):
    patient_id = await _patient_with_consent(clinic, email="els@example.org", preferred_language="nl")
    appointment_id = await factories.book(clinic, cal, patient_id, _in_days(4), "09:30")
    moment = await _reminder_moment(appointment_id)
    assert await appointment_mail.plan_reminders(moment - timedelta(hours=1)) == 0  # not yet
    assert await appointment_mail.plan_reminders(moment) == 1
    assert await appointment_mail.plan_reminders(moment) == 0  # a second run queues nothing
    await outbox.deliver_due(settings)
    [reminder] = _reminders(mailbox, "els@example.org")
    assert reminder["Subject"].startswith("Herinnering") and "09:30" in body_text(reminder)
    assert reminder.get_body(preferencelist=("html",)) is not None
    # At the 2-hour moment the second reminder goes out.
    assert await appointment_mail.plan_reminders(await _reminder_moment(appointment_id, 2)) == 1


async def test_no_reminder_without_consent(clinic, cal):
    patient_id = await factories.make_patient(clinic)
    appointment_id = await factories.book(clinic, cal, patient_id, _in_days(4), "09:30")
    assert await appointment_mail.plan_reminders(await _reminder_moment(appointment_id)) == 0


async def _queued_reminder(clinic, cal, address: str) -> tuple[int, int]:
    patient_id = await _patient_with_consent(clinic, email=address)
    appointment_id = await factories.book(clinic, cal, patient_id, _in_days(4), "09:30")
    assert await appointment_mail.plan_reminders(await _reminder_moment(appointment_id)) == 1
    return patient_id, appointment_id


async def _assert_withdrawn(settings, mailbox, address: str) -> None:
    await outbox.deliver_due(settings)
    assert _reminders(mailbox, address) == []
    row = await OutboxMessage.select().where(OutboxMessage.idempotency_key.like("reminder:%")).first()
    assert row["status"] == "withdrawn"


async def test_withdrawn_consent_stops_a_queued_reminder(clinic, cal, settings, mailbox):
    patient_id, _ = await _queued_reminder(clinic, cal, "w@example.org")
    await consents.record_change(clinic, clinic.clinic_id, patient_id,
                                 ConsentChange(ConsentKind.REMINDER_EMAIL, False, "phone"))
    await _assert_withdrawn(settings, mailbox, "w@example.org")


async def test_cancellation_stops_a_queued_reminder(clinic, cal, settings, mailbox):
    _, appointment_id = await _queued_reminder(clinic, cal, "c@example.org")
    await scheduling.set_status(clinic, appointment_id, "cancelled", reason="Moved abroad")
    await _assert_withdrawn(settings, mailbox, "c@example.org")


async def test_restriction_stops_a_queued_reminder(clinic, cal, settings, mailbox):
    patient_id, _ = await _queued_reminder(clinic, cal, "r@example.org")
    await Patient.update({Patient.restricted_at: datetime.now(timezone.utc)}).where(Patient.id == patient_id)
    await _assert_withdrawn(settings, mailbox, "r@example.org")


async def test_a_move_stops_the_queued_reminder_for_the_old_time(clinic, cal, settings, mailbox):
    _, appointment_id = await _queued_reminder(clinic, cal, "m@example.org")
    await scheduling.move_appointment(clinic, appointment_id, scheduling.MoveForm(date=_in_days(4), time="11:00"))
    await _assert_withdrawn(settings, mailbox, "m@example.org")


async def test_the_owner_sets_the_reminder_hours_on_the_settings_page(client, clinic, cal):
    from tests.factories import csrf_token, sign_in_as

    await sign_in_as(client, clinic)
    page = await client.get("/settings")
    assert 'value="48, 2"' in page.text
    token = await csrf_token(client)
    bad = await client.post("/settings/reminders", data={"_csrf_token": token, "reminder_hours": "soon"})
    assert bad.status_code == 422 and "whole numbers of hours" in bad.text
    good = await client.post("/settings/reminders", data={"_csrf_token": token, "reminder_hours": "24"})
    assert good.status_code == 303
    assert await appointment_mail.reminder_hours(clinic) == [24]
    patient_id = await _patient_with_consent(clinic)
    appointment_id = await factories.book(clinic, cal, patient_id, _in_days(4), "09:30")
    assert await appointment_mail.plan_reminders(await _reminder_moment(appointment_id, 48)) == 0
    assert await appointment_mail.plan_reminders(await _reminder_moment(appointment_id, 24)) == 1
