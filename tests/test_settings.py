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
