"""Online booking from a signed link: settings, the slots offered, holds, confirm, cancel and move by link."""

import asyncio
import base64
import json
from datetime import datetime, timedelta, timezone

import pytest

from portal import clock
from portal.calendar import scheduling
from portal.errors import Forbidden, NotFound, ValidationFailed
from portal.recall import booking, tokens
from portal.tables import Appointment, AppointmentChange, BookingHold, OutboxMessage
from tests import factories


async def _enable(clinic, cal, **overrides):
    values = {"enabled": True, "appointment_types": f"{cal['checkup']}", "lead_hours": "0", **overrides}
    await booking.save_settings(clinic, booking.SettingsForm(**values))


def _token(settings, clinic, patient_id: int) -> str:
    return booking.recall_link(settings, clinic.clinic_id, patient_id).rsplit("/", 1)[1]


async def _visit(settings, clinic, patient_id: int) -> booking.Visit:
    return await booking.open_recall_link(settings.secret_key, _token(settings, clinic, patient_id))


def test_links_refuse_forgery_expiry_and_the_other_kind():
    now = datetime.now(timezone.utc)
    token = tokens.make("secret", "recall", 1, 7, now + timedelta(days=1))
    assert tokens.read("secret", token, "recall").subject_id == 7
    payload, signature = token.split(".")
    forged = base64.urlsafe_b64encode(b"recall:1:8:" + str(int((now + timedelta(days=1)).timestamp())).encode())
    for bad in (token + "x", forged.decode().rstrip("=") + "." + signature, "nonsense", ""):
        with pytest.raises(NotFound):
            tokens.read("secret", bad, "recall")
    with pytest.raises(NotFound):
        tokens.read("other secret", token, "recall")
    with pytest.raises(NotFound):
        tokens.read("secret", token, "appointment")
    with pytest.raises(NotFound):
        tokens.read("secret", token, "recall", now=now + timedelta(days=2))


async def test_a_link_leads_nowhere_until_the_owner_enables_online_booking(settings, clinic, cal):
    patient = await factories.make_patient(clinic)
    with pytest.raises(NotFound):
        await _visit(settings, clinic, patient)
    await _enable(clinic, cal)
    assert (await _visit(settings, clinic, patient)).actor.patient_id == patient


async def test_settings_are_checked(clinic, other_clinic, cal):
    foreign = await factories.make_calendar(other_clinic)
    with pytest.raises(ValidationFailed) as refused:
        await booking.save_settings(clinic, booking.SettingsForm(
            appointment_types=str(foreign["checkup"]), days_ahead="0", reminder_days="soon"))
    assert set(refused.value.errors) == {"appointment_types", "days_ahead", "reminder_days"}
    await booking.save_settings(clinic, booking.SettingsForm(enabled=True, appointment_types=str(cal["cleaning"]),
                                                             reminder_days="7, -7"))
    saved = await booking.booking_settings(clinic.clinic_id)
    assert (saved["enabled"], saved["appointment_types"], saved["reminder_days"]) == (True, [cal["cleaning"]], [-7, 7])


async def test_only_enabled_types_within_the_lead_time_and_horizon_are_offered(settings, clinic, cal):
    await _enable(clinic, cal, lead_hours="48", days_ahead="5")
    visit = await _visit(settings, clinic, await factories.make_patient(clinic))
    offer = await booking.offered_slots(visit)
    assert [t["name"] for t in offer["types"]] == ["Check-up"]
    assert len(offer["slots"]) == booking.SLOTS_SHOWN
    assert offer["slots"][0].starts_at >= datetime.now(timezone.utc) + timedelta(hours=48)
    assert offer["slots"][-1].local_start.date() <= clock.today(clinic.time_zone) + timedelta(days=4)
    # a type not enabled is not offered, even when asked for by id
    other = await booking.offered_slots(visit, type_id=str(cal["cleaning"]))
    assert other["chosen"]["id"] == cal["checkup"]


async def test_hold_confirm_books_through_the_calendar_with_mail_and_ics(settings, clinic, cal):
    await _enable(clinic, cal)
    patient = await factories.make_patient(clinic)
    visit = await _visit(settings, clinic, patient)
    slot = (await booking.offered_slots(visit))["slots"][0]
    hold_id = await booking.hold_slot(visit, str(cal["checkup"]), booking.slot_value(slot))
    # another patient no longer sees the held time
    other = await _visit(settings, clinic, await factories.make_patient(clinic, given_name="Bert"))
    offered = (await booking.offered_slots(other))["slots"]
    assert booking.slot_value(slot) not in [booking.slot_value(s) for s in offered]
    with pytest.raises(ValidationFailed):
        await booking.hold_slot(other, str(cal["checkup"]), booking.slot_value(slot))
    appointment_id = await booking.confirm(visit, str(hold_id), settings)
    row = await Appointment.select().where(Appointment.id == appointment_id).first()
    assert (row["patient"], row["starts_at"], row["status"], row["created_by"]) == (
        patient, slot.starts_at, "booked", None)
    change = await AppointmentChange.select().where(AppointmentChange.appointment == appointment_id).first()
    assert change["actor_name"] == "Patient (online)" and change["actor_id"] is None
    assert await BookingHold.count() == 0
    mail = await OutboxMessage.select().where(OutboxMessage.patient_id == patient).first()
    assert "/my-appointment/" in mail["text_body"]
    attachments = mail["attachments"]
    attachments = json.loads(attachments) if isinstance(attachments, str) else attachments
    assert [a["filename"] for a in attachments] == ["appointment.ics"]


async def test_an_expired_hold_cannot_be_confirmed_and_frees_the_slot(settings, clinic, cal):
    await _enable(clinic, cal)
    visit = await _visit(settings, clinic, await factories.make_patient(clinic))
    slot = (await booking.offered_slots(visit))["slots"][0]
    hold_id = await booking.hold_slot(visit, str(cal["checkup"]), booking.slot_value(slot))
    await BookingHold.update({BookingHold.expires_at: datetime.now(timezone.utc) - timedelta(seconds=1)}).where(
        BookingHold.id == hold_id)
    with pytest.raises(ValidationFailed) as refused:
        await booking.confirm(visit, str(hold_id), settings)
    assert "expired" in refused.value.errors["slot"]
    other = await _visit(settings, clinic, await factories.make_patient(clinic, given_name="Bert"))
    assert await booking.hold_slot(other, str(cal["checkup"]), booking.slot_value(slot))
    assert await BookingHold.count() == 1  # the expired one was cleared on the way


async def test_fifty_patients_booking_one_slot_at_once_give_exactly_one(settings, clinic, cal):
    await _enable(clinic, cal)
    visits = [await _visit(settings, clinic, await factories.make_patient(clinic, given_name=f"P{i}"))
              for i in range(50)]
    slot = (await booking.offered_slots(visits[0]))["slots"][0]

    async def attempt(visit):
        try:
            hold = await booking.hold_slot(visit, str(cal["checkup"]), booking.slot_value(slot))
            await booking.confirm(visit, str(hold), settings)
            return "booked"
        except ValidationFailed:
            return "taken"

    results = await asyncio.gather(*[attempt(v) for v in visits])
    assert results.count("booked") == 1 and results.count("taken") == 49
    assert await Appointment.count() == 1


async def test_a_staff_booking_wins_over_a_hold_and_the_patient_is_told(settings, clinic, cal):
    await _enable(clinic, cal)
    patient = await factories.make_patient(clinic)
    visit = await _visit(settings, clinic, patient)
    slot = (await booking.offered_slots(visit))["slots"][0]
    hold = await booking.hold_slot(visit, str(cal["checkup"]), booking.slot_value(slot))
    local = clock.local(slot.starts_at, clinic.time_zone)
    await factories.book(clinic, cal, await factories.make_patient(clinic, given_name="Walk-in"),
                         local.date().isoformat(), f"{local:%H:%M}", provider_id=str(slot.provider_id),
                         chair_id=str(slot.chair_id))
    with pytest.raises(ValidationFailed) as refused:
        await booking.confirm(visit, str(hold), settings)
    assert "taken" in refused.value.errors["slot"]
    assert await Appointment.count().where(Appointment.patient == patient) == 0


async def test_a_patient_books_only_for_themself(settings, clinic, cal):
    await _enable(clinic, cal)
    visit = await _visit(settings, clinic, await factories.make_patient(clinic))
    other = await factories.make_patient(clinic, given_name="Bert")
    day = (clock.today(clinic.time_zone) + timedelta(days=3)).isoformat()
    with pytest.raises(Forbidden):
        await scheduling.book_appointment(visit.actor, scheduling.BookingForm(
            patient_id=str(other), appointment_type_id=str(cal["checkup"]), provider_id=str(cal["dentist"].id),
            chair_id=str(cal["chairs"][0]), date=day, time="10:00"), by=scheduling.ONLINE)
    with pytest.raises(Forbidden):  # and without ONLINE a patient is no staff member
        await scheduling.book_appointment(visit.actor, scheduling.BookingForm(patient_id=str(visit.actor.patient_id)))


async def _booked(settings, clinic, cal, patient: int, days: int = 5):
    await _enable(clinic, cal)
    day = (clock.today(clinic.time_zone) + timedelta(days=days)).isoformat()
    appointment_id = await factories.book(clinic, cal, patient, day, "10:00")
    starts = (await Appointment.select().where(Appointment.id == appointment_id).first())["starts_at"]
    link = booking.manage_link(settings, clinic.clinic_id, appointment_id, starts)
    return appointment_id, link.rsplit("/", 1)[1]


async def test_cancel_by_link_up_to_the_cutoff(settings, clinic, cal):
    patient = await factories.make_patient(clinic)
    appointment_id, token = await _booked(settings, clinic, cal, patient)
    visit = await booking.open_manage_link(settings.secret_key, token)
    assert booking.may_change(visit)
    await booking.cancel(visit)
    assert (await Appointment.select().where(Appointment.id == appointment_id).first())["status"] == "cancelled"
    soon_id, soon_token = await _booked(settings, clinic, cal, patient, days=1)  # then moved to 3 hours ahead
    await Appointment.update({Appointment.starts_at: datetime.now(timezone.utc) + timedelta(hours=3),
                              Appointment.ends_at: datetime.now(timezone.utc) + timedelta(hours=3, minutes=30)}).where(
        Appointment.id == soon_id)
    soon = await booking.open_manage_link(settings.secret_key, soon_token)
    assert not booking.may_change(soon)
    with pytest.raises(ValidationFailed) as refused:
        await booking.cancel(soon)
    assert "too close" in refused.value.errors["cutoff"]


async def test_reschedule_by_link_moves_the_appointment(settings, clinic, cal):
    patient = await factories.make_patient(clinic)
    appointment_id, token = await _booked(settings, clinic, cal, patient)
    visit = await booking.open_manage_link(settings.secret_key, token)
    offer = await booking.offered_slots(visit)
    target = offer["slots"][3]
    hold = await booking.hold_slot(visit, "", booking.slot_value(target))
    assert await booking.confirm(visit, str(hold), settings) == appointment_id
    row = await Appointment.select().where(Appointment.id == appointment_id).first()
    assert (row["starts_at"], row["status"], row["sequence"]) == (target.starts_at, "booked", 1)


async def test_the_list_looks_past_a_closed_fortnight_week_by_week(settings, clinic, cal):
    from portal.calendar import practice_setup

    await _enable(clinic, cal)
    today = clock.today(clinic.time_zone)
    await practice_setup.add_closure(clinic, today.isoformat(), (today + timedelta(days=15)).isoformat(), "Holiday")
    visit = await _visit(settings, clinic, await factories.make_patient(clinic))
    offer = await booking.offered_slots(visit)
    assert len(offer["slots"]) == booking.SLOTS_SHOWN
    assert offer["slots"][0].local_start.date() == today + timedelta(days=16)


async def test_patients_book_online_only_with_the_chosen_providers_and_around_the_buffer(settings, clinic, cal):
    """By whom and with what buffer (issue 18): a provider not chosen is never offered; a buffer keeps minutes free
    before and after each appointment for online bookings, while staff booking keeps the plain rules."""
    from portal.permissions import Role

    day = clock.today(clinic.time_zone) + timedelta(days=2)
    await factories.book(clinic, cal, await factories.make_patient(clinic), day.isoformat(), "09:00")
    patient_id = await factories.make_patient(clinic)

    async def starts(**overrides) -> set[tuple[str, int]]:
        await _enable(clinic, cal, **overrides)
        offer = await booking.offered_slots(await _visit(settings, clinic, patient_id), from_day=day.isoformat())
        return {(f"{s.local_start:%H:%M}", s.provider_id) for s in offer["slots"] if s.local_start.date() == day}

    dentist = cal["dentist"].id
    plain = await starts()
    assert ("08:30", dentist) in plain and ("09:30", dentist) in plain and ("09:00", dentist) not in plain
    padded = await starts(buffer_minutes="15")
    assert ("08:30", dentist) not in padded and ("09:30", dentist) not in padded and ("08:00", dentist) in padded
    second = await factories.make_staff(clinic, Role.DENTIST, name="Dr. Zee")
    only_second = await starts(providers=str(second.id))
    assert only_second and {provider for _, provider in only_second} == {second.id}
    assert ("09:00", second.id) in only_second
    with pytest.raises(ValidationFailed) as refused:
        await _enable(clinic, cal, providers=str(cal["hygienist"].id + 1000), buffer_minutes="200")
    assert set(refused.value.errors) == {"providers", "buffer_minutes"}
    saved = await booking.booking_settings(clinic.clinic_id)
    assert (saved["providers"], saved["buffer_minutes"]) == ([second.id], 0)
