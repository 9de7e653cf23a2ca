"""Practice set-up in the browser's terms: the owner edits hours, chairs, types, closures, provider weeks."""

from datetime import date, timedelta

from portal.permissions import Role
from portal.tables import AppointmentType, Chair, Closure, OpeningHours, ProviderAbsence, ProviderHours
from tests import factories
from tests.factories import post_form, sign_in_as


async def test_owner_sets_up_the_calendar(client, clinic):
    dentist = await factories.make_staff(clinic, Role.DENTIST, name="Dr. Dekker")
    await sign_in_as(client, clinic)
    assert (await client.get("/settings")).status_code == 200
    hours = {f"opens_{d}": "08:00" for d in range(5)} | {f"closes_{d}": "17:30" for d in range(5)}
    assert (await post_form(client, "/settings/hours", hours)).status_code == 303
    assert await OpeningHours.count() == 5
    assert (await post_form(client, "/settings/chairs", {"name": "Chair A"})).status_code == 303
    chair = (await Chair.select().first())["id"]
    response = await client.post("/settings/types", data={
        "_csrf_token": await factories.csrf_token(client), "name": "Implant", "minutes": "90", "colour": "#c0392b",
        "roles": ["dentist", "hygienist"]})
    assert response.status_code == 303
    assert (await AppointmentType.select().first())["provider_roles"] == "dentist,hygienist"
    day = (date.today() + timedelta(days=30)).isoformat()
    assert (await post_form(client, "/settings/closures", {"first_day": day, "reason": "Holiday"})).status_code == 303
    assert await Closure.count() == 1
    week = {"opens_0": "09:00", "closes_0": "13:00", "chair_0": str(chair)}
    assert (await post_form(client, f"/settings/providers/{dentist.id}/hours", week)).status_code == 303
    assert (await ProviderHours.select().first())["chair"] == chair
    assert (await post_form(client, f"/settings/providers/{dentist.id}/absences",
                            {"first_day": day, "reason": "Course"})).status_code == 303
    assert await ProviderAbsence.count() == 1
    assert (await post_form(client, f"/settings/chairs/{chair}/retire")).status_code == 303
    assert (await Chair.select().first())["retired"] is True


async def test_bad_set_up_input_is_shown_beside_the_fields(client, clinic):
    await sign_in_as(client, clinic)
    bad_hours = await post_form(client, "/settings/hours", {"opens_2": "17:00", "closes_2": "09:00"})
    assert bad_hours.status_code == 422 and "Wednesday: enter a start and a later end" in bad_hours.text
    bad_type = await post_form(client, "/settings/types", {"name": "", "minutes": "7", "colour": "#000000"})
    assert bad_type.status_code == 422 and "5-minute steps" in bad_type.text
    assert await OpeningHours.count() == 0 and await AppointmentType.count() == 0


async def test_only_the_owner_sets_up(client, clinic):
    await sign_in_as(client, await factories.make_staff(clinic, Role.RECEPTIONIST))
    assert (await client.get("/settings")).status_code == 403


async def test_chair_and_type_names_are_unique_per_clinic_ignoring_case(client, clinic, other_clinic):
    from portal.calendar import practice_setup

    await sign_in_as(client, clinic)
    assert (await post_form(client, "/settings/chairs", {"name": "Chair 1"})).status_code == 303
    twin = await post_form(client, "/settings/chairs", {"name": "chair 1 "})
    assert twin.status_code == 422 and "A chair with this name already exists." in twin.text
    await practice_setup.add_chair(other_clinic, "Chair 1")  # another clinic's chairs are its own
    kind = {"name": "Check-up", "minutes": "30", "colour": "#2f7d6d", "roles": ["dentist"]}
    assert (await post_form(client, "/settings/types", kind)).status_code == 303
    again = await post_form(client, "/settings/types", kind | {"name": "CHECK-UP"})
    assert again.status_code == 422 and "An appointment type with this name already exists." in again.text
    assert await Chair.count().where(Chair.clinic == clinic.clinic_id) == 1
    assert await AppointmentType.count() == 1
    # The database refuses a twin too, whatever code path tries it.
    import asyncpg
    import pytest

    with pytest.raises(asyncpg.UniqueViolationError):
        await Chair.insert(Chair(clinic=clinic.clinic_id, name="CHAIR 1", position=9))


async def test_provider_hours_need_an_open_day_and_a_real_chair(client, clinic, other_clinic):
    from portal.calendar import practice_setup

    dentist = await factories.make_staff(clinic, Role.DENTIST)
    foreign_chair = await practice_setup.add_chair(other_clinic, "Theirs")
    await sign_in_as(client, clinic)
    await post_form(client, "/settings/hours", {"opens_0": "08:00", "closes_0": "17:00"})  # Mondays only
    sunday = await post_form(client, f"/settings/providers/{dentist.id}/hours",
                             {"opens_6": "09:00", "closes_6": "12:00"})
    assert sunday.status_code == 422 and "Sunday: the clinic is closed that day." in sunday.text
    foreign = await post_form(client, f"/settings/providers/{dentist.id}/hours",
                              {"opens_0": "09:00", "closes_0": "12:00", "chair_0": str(foreign_chair)})
    assert foreign.status_code == 422 and "Monday: choose a chair of this clinic." in foreign.text
    assert await ProviderHours.count() == 0


async def test_a_closure_lists_the_appointments_on_its_days_and_a_refusal_keeps_what_was_typed(client, clinic, cal):
    patient = await factories.make_patient(clinic, given_name="Mira", family_name="Hout")
    day = (date.today() + timedelta(days=20)).isoformat()
    await factories.book(clinic, cal, patient, day, "10:00")
    await sign_in_as(client, clinic)
    too_long = await post_form(client, "/settings/closures", {"first_day": day, "reason": "x" * 10_000})
    assert too_long.status_code == 422
    assert f'value="{day}"' in too_long.text and 'id="e-reason"' in too_long.text
    assert 'aria-invalid="true"' in too_long.text
    added = await post_form(client, "/settings/closures", {"first_day": day, "reason": "Renovation"})
    assert added.status_code == 303 and "?closure=" in added.headers["location"]
    page = await client.get(added.headers["location"])
    assert "1 booked appointment falls on the closed days." in page.text and "Mira Hout" in page.text
