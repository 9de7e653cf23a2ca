"""Booking rules: PostgreSQL refuses double bookings; statuses, moves, closures and clock changes."""

import asyncio
from datetime import date, datetime, timedelta, timezone

import pytest

from portal import clock
from portal.calendar import availability, practice_setup, scheduling
from portal.errors import SlotTaken, ValidationFailed
from portal.permissions import Role
from portal.tables import Appointment, AppointmentChange, AuditEntry
from tests import factories
from tests.factories import book

DAY = (date.today() + timedelta(days=7)).isoformat()


def _on_day(day: str, at: str) -> datetime:
    """The UTC instant of `at` on `day` in the test clinic's zone (Amsterdam)."""
    return clock.to_utc(date.fromisoformat(day), datetime.strptime(at, "%H:%M").time(), "Europe/Amsterdam")


@pytest.fixture
async def patient(clinic):
    return await factories.make_patient(clinic)


async def test_booking_stores_utc_and_is_audited(clinic, cal, patient):
    appointment_id = await book(clinic, cal, patient, "2027-03-26", "09:00")
    row = await Appointment.select().where(Appointment.id == appointment_id).first()
    assert row["starts_at"] == datetime(2027, 3, 26, 8, 0, tzinfo=timezone.utc)  # CET
    assert row["ends_at"] - row["starts_at"] == timedelta(minutes=30)
    assert await AuditEntry.exists().where((AuditEntry.action == "appointment.booked")
                                           & (AuditEntry.patient_id == patient))


async def test_wall_clock_time_survives_the_spring_change(clinic, cal, patient):
    after = await book(clinic, cal, patient, "2027-03-29", "09:00")
    row = await Appointment.select().where(Appointment.id == after).first()
    assert row["starts_at"] == datetime(2027, 3, 29, 7, 0, tzinfo=timezone.utc)  # CEST


@pytest.mark.parametrize("day, message", [("2027-03-28", "does not exist"), ("2027-10-31", "happens twice")])
async def test_impossible_and_ambiguous_local_times_are_refused(clinic, cal, patient, day, message):
    for weekday in range(7):
        await practice_setup.set_opening_hours(clinic, weekday, [(datetime.min.time(), datetime.max.time()
                                                                  .replace(microsecond=0))])
    with pytest.raises(ValidationFailed) as refused:
        await book(clinic, cal, patient, day, "02:30")
    assert message in refused.value.errors["time"]
    assert await Appointment.count() == 0


async def test_same_chair_same_time_is_refused_with_alternatives(clinic, cal, patient):
    await book(clinic, cal, patient, DAY, "10:00")
    other = await factories.make_patient(clinic)
    with pytest.raises(SlotTaken) as refused:
        await book(clinic, cal, other, DAY, "10:15", provider_id=str(cal["hygienist"].id),
                   appointment_type_id=str(cal["cleaning"]))
    assert "chair_id" in refused.value.errors
    alternatives = refused.value.alternatives
    assert len(alternatives) == 5 and all(s.provider_name == "Hanna Hygienist" for s in alternatives)
    assert not any(s.chair_name == "Chair 1" and "09:30" <= s.local_start.strftime("%H:%M") < "10:30"
                   for s in alternatives)
    assert await Appointment.count() == 1 and await AppointmentChange.count() == 1
    nearest = alternatives[0]
    await book(clinic, cal, other, DAY, nearest.local_start.strftime("%H:%M"), chair_id=str(nearest.chair_id),
               provider_id=str(nearest.provider_id), appointment_type_id=str(cal["cleaning"]))


async def test_same_provider_in_another_chair_is_refused(clinic, cal, patient):
    await book(clinic, cal, patient, DAY, "10:00")
    with pytest.raises(SlotTaken) as refused:
        await book(clinic, cal, await factories.make_patient(clinic), DAY, "10:20",
                   chair_id=str(cal["chairs"][1]))
    assert "provider_id" in refused.value.errors


async def test_back_to_back_is_fine_and_cancelled_frees_the_slot(clinic, cal, patient):
    first = await book(clinic, cal, patient, DAY, "10:00")
    await book(clinic, cal, patient, DAY, "10:30")
    await scheduling.set_status(clinic, first, "cancelled", "patient is ill")
    await book(clinic, cal, await factories.make_patient(clinic), DAY, "10:00")
    assert await Appointment.count().where(Appointment.status == "booked") == 2


async def test_fifty_simultaneous_bookings_give_exactly_one(clinic, cal, patient):
    async def attempt():
        try:
            await book(clinic, cal, patient, DAY, "11:00")
            return "booked"
        except SlotTaken:
            return "conflict"

    results = await asyncio.gather(*[attempt() for _ in range(50)])
    assert results.count("booked") == 1 and results.count("conflict") == 49
    assert await Appointment.count() == 1


async def test_outside_opening_hours_and_closures_are_refused(clinic, cal, patient):
    with pytest.raises(ValidationFailed) as early:
        await book(clinic, cal, patient, DAY, "07:30")
    assert "not working at that time" in early.value.errors["time"]
    await practice_setup.add_closure(clinic, DAY, DAY, "King's Day")
    with pytest.raises(ValidationFailed) as closed:
        await book(clinic, cal, patient, DAY, "10:00")
    assert closed.value.errors["date"] == "The practice is closed that day."


async def test_type_decides_who_may_provide_it(clinic, cal, patient):
    with pytest.raises(ValidationFailed) as refused:
        await book(clinic, cal, patient, DAY, "10:00", appointment_type_id=str(cal["cleaning"]))
    assert "does not provide Cleaning" in refused.value.errors["provider_id"]


async def test_length_can_change_in_five_minute_steps(clinic, cal, patient):
    appointment_id = await book(clinic, cal, patient, DAY, "10:00", minutes="50")
    row = await Appointment.select().where(Appointment.id == appointment_id).first()
    assert row["ends_at"] - row["starts_at"] == timedelta(minutes=50)
    with pytest.raises(ValidationFailed):
        await book(clinic, cal, patient, DAY, "12:00", minutes="47")


async def test_moving_keeps_history_and_bumps_the_sequence(clinic, cal, patient):
    appointment_id = await book(clinic, cal, patient, DAY, "10:00")
    await scheduling.move_appointment(clinic, appointment_id, scheduling.MoveForm(date=DAY, time="14:00",
                                                                                  chair_id=str(cal["chairs"][1])))
    card = await scheduling.get_appointment(clinic, appointment_id)
    assert card["local_start"].strftime("%H:%M") == "14:00" and card["chair.name"] == "Chair 2"
    assert card["sequence"] == 1
    moved = [h for h in card["history"] if h["kind"] == "moved"][0]
    assert moved["from_starts_at"].strftime("%H:%M") == "10:00" and moved["to_starts_at"].strftime("%H:%M") == "14:00"


async def test_moving_into_a_taken_slot_is_refused_and_changes_nothing(clinic, cal, patient):
    await book(clinic, cal, patient, DAY, "10:00")
    second = await book(clinic, cal, patient, DAY, "11:00")
    with pytest.raises(SlotTaken):
        await scheduling.move_appointment(clinic, second, scheduling.MoveForm(date=DAY, time="10:00"))
    row = await Appointment.select().where(Appointment.id == second).first()
    assert row["sequence"] == 0


async def test_status_follows_the_visit(clinic, cal, patient, monkeypatch):
    appointment_id = await book(clinic, cal, patient, DAY, "10:00")
    monkeypatch.setattr(clock, "now", lambda: _on_day(DAY, "09:50"))
    for status in ("confirmed", "arrived", "in_chair", "completed"):
        await scheduling.set_status(clinic, appointment_id, status)
    with pytest.raises(ValidationFailed):
        await scheduling.set_status(clinic, appointment_id, "cancelled", "too late")
    with pytest.raises(ValidationFailed) as no_reason:
        await scheduling.set_status(clinic, await book(clinic, cal, patient, DAY, "12:00"), "cancelled")
    assert "Say why" in no_reason.value.errors["reason"]


async def test_slot_finder_respects_hours_absences_and_bookings(clinic, cal, patient):
    await book(clinic, cal, patient, DAY, "08:00", provider_id=str(cal["hygienist"].id),
               appointment_type_id=str(cal["cleaning"]))  # chair 1 busy 08:00-08:45
    query = availability.SlotQuery(minutes=30, provider_id=cal["dentist"].id, first_day=date.fromisoformat(DAY),
                                   days=1, limit=3)
    slots = await availability.find_free_slots(clinic, query)
    assert [s.local_start.strftime("%H:%M") for s in slots] == ["08:00", "08:15", "08:30"]
    assert [s.chair_name for s in slots] == ["Chair 2"] * 3
    await practice_setup.add_absence(clinic, cal["dentist"].id, DAY, DAY)
    assert await availability.find_free_slots(clinic, query) == []


async def test_slot_finder_part_of_day_and_provider_hours(clinic, cal, patient):
    weekday = date.fromisoformat(DAY).weekday()
    await practice_setup.set_provider_hours(clinic, cal["hygienist"].id, weekday,
                                            [(datetime.strptime("13:00", "%H:%M").time(),
                                              datetime.strptime("15:00", "%H:%M").time(), cal["chairs"][1])])
    query = availability.SlotQuery(minutes=45, roles=("hygienist",), first_day=date.fromisoformat(DAY), days=1,
                                   part_of_day="afternoon", limit=10)
    slots = await availability.find_free_slots(clinic, query)
    assert slots[0].local_start.strftime("%H:%M") == "13:00"
    assert slots[-1].local_start.strftime("%H:%M") == "14:15"
    assert {s.chair_name for s in slots} == {"Chair 2"}


async def test_another_clinics_appointment_is_not_found(clinic, other_clinic, cal, patient):
    from portal.errors import NotFound

    appointment_id = await book(clinic, cal, patient, DAY, "10:00")
    with pytest.raises(NotFound):
        await scheduling.get_appointment(other_clinic, appointment_id)
    with pytest.raises(NotFound):
        await scheduling.set_status(other_clinic, appointment_id, "confirmed")


async def test_receptionist_books_but_a_booking_needs_the_calendar_permission(clinic, cal, patient):
    receptionist = await factories.make_staff(clinic, Role.RECEPTIONIST)
    assert await book(receptionist, cal, patient, DAY, "10:00")


async def test_fifty_simultaneous_moves_into_one_slot_give_exactly_one(clinic, cal):
    patient = await factories.make_patient(clinic)
    later = (date.fromisoformat(DAY) + timedelta(days=1)).isoformat()
    appointments = []
    for i in range(50):  # spread over two chairs and both providers' free time on the next days
        day = (date.fromisoformat(later) + timedelta(days=i // 16)).isoformat()
        at = f"{8 + (i % 16) // 2:02d}:{30 * (i % 2):02d}"
        appointments.append(await book(clinic, cal, patient, day, at))

    async def attempt(appointment_id):
        try:
            await scheduling.move_appointment(clinic, appointment_id, scheduling.MoveForm(date=DAY, time="16:00"))
            return "moved"
        except SlotTaken:
            return "conflict"

    results = await asyncio.gather(*[attempt(a) for a in appointments])
    assert results.count("moved") == 1 and results.count("conflict") == 49
    target = clock.to_utc(date.fromisoformat(DAY), datetime.strptime("16:00", "%H:%M").time(), clinic.time_zone)
    assert await Appointment.count().where(Appointment.starts_at == target) == 1


async def test_a_no_show_frees_the_slot(clinic, cal, patient, monkeypatch):
    first = await book(clinic, cal, patient, DAY, "10:00")
    monkeypatch.setattr(clock, "now", lambda: _on_day(DAY, "10:10"))
    await scheduling.set_status(clinic, first, "no_show")
    assert await book(clinic, cal, await factories.make_patient(clinic), DAY, "10:00")


async def test_the_database_refuses_an_appointment_longer_than_eight_hours(clinic, cal, patient):
    from asyncpg.exceptions import CheckViolationError

    appointment_id = await book(clinic, cal, patient, DAY, "08:00")
    with pytest.raises(CheckViolationError):
        await Appointment.update({Appointment.ends_at: Appointment.starts_at + timedelta(hours=9)}).where(
            Appointment.id == appointment_id)


# --- One home for appointment statuses (issue 12) ---

STATUS_NAME = r"""["'](?:booked|confirmed|arrived|in_chair|completed|no_show|cancelled)["']"""


def test_no_template_module_or_sql_spells_a_status_list_again():
    """Two status names inside one bracket are a list of statuses: only calendar/statuses.py keeps those.

    The FHIR bundle maps each of ours to FHIR's codes (a different vocabulary that shares words). Old migrations
    keep what they created (the CHECK and exclusion constraints of 2026-11-24T19); mail
    templates name change kinds (booked, moved, cancelled), not statuses.
    """
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    listed = re.compile(rf"[(\[{{][^)\]}}]*{STATUS_NAME}[^)\]}}]*{STATUS_NAME}")
    offenders = []
    for folder in ("portal", "jobs", "templates"):
        for path in (root / folder).rglob("*"):
            if path.suffix not in (".py", ".html", ".txt", ".sql") or "migrations" in path.parts:
                continue
            if (path.name == "statuses.py" and path.parent.name == "calendar") or path.name == "fhir_bundle.py":
                continue  # the rule's home, and the map of ours to FHIR's own status codes
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if listed.search(line) and "moved" not in line:
                    offenders.append(f"{path.relative_to(root)}:{number}")
    assert offenders == []


async def test_an_erasure_cancels_future_visits_like_any_cancellation(clinic, cal, patient):
    from portal.db import transaction
    from portal.privacy import erasure

    past = await book(clinic, cal, patient, (date.today() - timedelta(days=3)).isoformat(), "10:00",
                      past_reason="Entered after the visit")
    future = await book(clinic, cal, patient, DAY, "10:00")
    async with transaction():
        await erasure.carry_out(clinic, patient)
    rows = {r["id"]: r for r in await Appointment.select(Appointment.id, Appointment.status, Appointment.sequence,
                                                         Appointment.cancel_reason)}
    assert (rows[past]["status"], rows[past]["sequence"]) == ("booked", 0)
    assert (rows[future]["status"], rows[future]["sequence"]) == ("cancelled", 1)
    [change] = await AppointmentChange.select().where((AppointmentChange.appointment == future)
                                                      & (AppointmentChange.kind == "cancelled"))
    assert (change["from_status"], change["to_status"], change["reason"]) == ("booked", "cancelled",
                                                                             "Erasure requested")
    assert change["actor_name"].startswith("Erasure request") and change["actor_id"] == clinic.id
    assert await AuditEntry.exists().where((AuditEntry.action == "appointment.cancelled")
                                           & (AuditEntry.object_id == str(future)))


async def test_a_patient_answers_only_for_their_own_visit_and_only_confirms_or_cancels(clinic, cal, patient):
    from portal.errors import Forbidden
    from portal.permissions import Actor

    mine = await book(clinic, cal, patient, DAY, "10:00")
    theirs = await book(clinic, cal, await factories.make_patient(clinic), DAY, "11:00")
    me = Actor(kind="patient", id=patient, clinic_id=clinic.clinic_id, name="Patient", patient_id=patient)
    with pytest.raises(Forbidden):
        await scheduling.set_status(me, theirs, "cancelled", "not mine", by=scheduling.WHATSAPP_REPLY)
    with pytest.raises(Forbidden):
        await scheduling.set_status(me, mine, "arrived", by=scheduling.WHATSAPP_REPLY)
    with pytest.raises(Forbidden):  # a patient is never the calendar, whatever they ask
        await scheduling.set_status(me, mine, "confirmed")
    with pytest.raises(Forbidden):  # an erasure only cancels
        await scheduling.set_status(clinic, mine, "confirmed", by=scheduling.ERASURE)
    await scheduling.set_status(me, mine, "confirmed", by=scheduling.WHATSAPP_REPLY)
    [change] = await AppointmentChange.select().where((AppointmentChange.appointment == mine)
                                                      & (AppointmentChange.kind == "status"))
    assert (change["actor_id"], change["actor_name"], change["to_status"]) == (None, "Patient (WhatsApp)",
                                                                              "confirmed")
    assert (await Appointment.select(Appointment.sequence).where(Appointment.id == mine).first())["sequence"] == 1


def test_status_labels_are_registered_for_templates():
    from portal import display
    from portal.calendar import statuses

    assert display.label("no_show", "appointment_status") == "No-show"
    assert {s.value for s in statuses.Status} == set(statuses.ACTIVE) | set(statuses.FREED)
    assert set(statuses.FINAL) == {"completed", "no_show", "cancelled"}


async def test_a_booking_in_the_past_is_refused_unless_recorded_as_a_past_visit(clinic, cal, patient):
    from portal.tables import OutboxMessage

    gone = (date.today() - timedelta(days=6)).isoformat()
    with pytest.raises(ValidationFailed) as refused:
        await book(clinic, cal, patient, gone, "10:00")
    assert "passed" in refused.value.errors["past_reason"]
    assert await Appointment.count() == 0
    recorded = await book(clinic, cal, patient, gone, "10:00", past_reason="Entered from the paper diary")
    change = await AppointmentChange.select().where(AppointmentChange.appointment == recorded).first()
    assert change["reason"] == "Entered from the paper diary"
    assert await OutboxMessage.count() == 0  # no confirmation mail for a date six days gone


async def test_a_walk_in_fits_the_slot_that_just_began_but_a_move_into_the_past_is_refused(clinic, cal, patient,
                                                                                          monkeypatch):
    later = await book(clinic, cal, patient, DAY, "14:00")
    monkeypatch.setattr(clock, "now", lambda: _on_day(DAY, "10:07"))
    assert await book(clinic, cal, await factories.make_patient(clinic), DAY, "10:00")
    with pytest.raises(ValidationFailed) as refused:
        await scheduling.move_appointment(clinic, later, scheduling.MoveForm(date=DAY, time="09:00"))
    assert "past" in refused.value.errors["date"]
    row = await Appointment.select(Appointment.starts_at).where(Appointment.id == later).first()
    assert row["starts_at"] == _on_day(DAY, "14:00")


@pytest.mark.parametrize("status, at", [("arrived", "the day before"), ("no_show", "09:55")])
async def test_statuses_that_cannot_apply_yet_are_refused(clinic, cal, patient, monkeypatch, status, at):
    appointment_id = await book(clinic, cal, patient, DAY, "10:00")
    before = date.fromisoformat(DAY) - timedelta(days=1)
    moment = _on_day(before.isoformat(), "17:00") if at == "the day before" else _on_day(DAY, at)
    monkeypatch.setattr(clock, "now", lambda: moment)
    card = await scheduling.get_appointment(clinic, appointment_id)
    assert status not in card["next_statuses"]
    with pytest.raises(ValidationFailed) as refused:
        await scheduling.set_status(clinic, appointment_id, status)
    assert "yet" in refused.value.errors["status"]
    row = await Appointment.select(Appointment.status).where(Appointment.id == appointment_id).first()
    assert row["status"] == "booked"


async def test_next_free_spreads_its_offers_over_days_parts_of_day_and_providers(clinic, cal, patient):
    chosen, slots = await availability.free_for_type(clinic, str(cal["checkup"]), day=DAY)
    assert chosen["id"] == cal["checkup"] and len(slots) == 8
    parts = [(s.local_start.date(), 0 if s.local_start.hour < 12 else 1 if s.local_start.hour < 17 else 2)
             for s in slots]
    assert len(set(parts)) == 8  # never two offers in one part of one day
    assert len({day for day, _ in parts}) == 3 and parts[0] == (date.fromisoformat(DAY), 0)
    assert {s.provider_name for s in slots} == {"Dr. Dekker", "Hanna Hygienist"}
    assert slots == sorted(slots, key=lambda s: s.starts_at)


def test_next_free_reads_only_the_days_its_spread_can_reach():
    """The pool stops after `limit` filled (day, part of day) groups, and the spread it gives is the fortnight's."""
    import random

    zone = clock.ZoneInfo("Europe/Amsterdam")
    rng = random.Random(7)
    for _ in range(200):
        days = []
        for offset in range(14):
            day = date(2027, 3, 1) + timedelta(days=offset)
            starts = sorted(rng.sample(range(8 * 4, 20 * 4), rng.choice([0, 0, 1, 2, 5, 20])))
            days.append([availability.FreeSlot(clock.to_utc(day, datetime.min.time(), zone.key)
                                               + timedelta(minutes=15 * q),
                                               datetime.combine(day, datetime.min.time(), zone)
                                               + timedelta(minutes=15 * q), pid, f"P{pid}", 1, "Chair 1")
                         for q in starts for pid in rng.sample([1, 2, 3], rng.choice([1, 2, 3]))])
        everything = [slot for day in days for slot in day]
        pool = availability.spread_pool(iter(days), 8)
        assert availability.spread(pool, 8) == availability.spread(everything, 8)
        assert len(pool) < len(everything) or pool == everything
    busy_fortnight = [[availability.FreeSlot(clock.to_utc(day, datetime.min.time(), zone.key) + timedelta(hours=h),
                                             datetime.combine(day, datetime.min.time(), zone) + timedelta(hours=h),
                                             1, "P1", 1, "Chair 1") for h in (9, 13, 18)]
                      for day in (date(2027, 3, 1) + timedelta(days=n) for n in range(14))]
    read = []
    availability.spread_pool((read.append(day) or day for day in busy_fortnight), 8)
    assert len(read) == 3  # three parts of day each: 3 days fill 8 groups
