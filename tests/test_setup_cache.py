"""The calendar's set-up lists kept per process: served from memory while the clinic's set-up version stands,
read afresh once any change (in any process) has moved it on."""

import dataclasses
from datetime import date

from portal.calendar import practice_setup, setup_cache
from portal.permissions import Role
from portal.tables import Chair, Clinic, Staff
from tests import factories
from tests.factories import sign_in_as


async def _version(clinic_id: int) -> int:
    return (await Clinic.select(Clinic.setup_version).where(Clinic.id == clinic_id).first())["setup_version"]


async def test_changes_to_set_up_move_the_version_and_other_changes_do_not(clinic, cal):
    before = await _version(clinic.clinic_id)
    await practice_setup.add_chair(clinic, "Chair 3")
    after_chair = await _version(clinic.clinic_id)
    assert after_chair > before
    staff_id = cal["dentist"].id
    await Staff.update({Staff.language: "nl"}).where(Staff.id == staff_id)  # not what the calendar shows
    assert await _version(clinic.clinic_id) == after_chair
    await Staff.update({Staff.name: "Dr. Renamed"}).where(Staff.id == staff_id)
    assert await _version(clinic.clinic_id) > after_chair


async def test_lists_are_kept_for_a_version_and_read_again_for_the_next(clinic, cal):
    setup_cache.forget()
    actor = dataclasses.replace(clinic, setup_version=await _version(clinic.clinic_id))
    first = await setup_cache.chairs(actor)
    chair_id = first[0]["id"]
    # another process renames the chair: this process still holds the old version's list ...
    await Chair.update({Chair.name: "Surgery A"}).where(Chair.id == chair_id)
    assert (await setup_cache.chairs(actor))[0]["name"] == first[0]["name"]
    # ... until a request reads the clinic's new version with its session
    newer = dataclasses.replace(clinic, setup_version=await _version(clinic.clinic_id))
    assert newer.setup_version > actor.setup_version
    assert (await setup_cache.chairs(newer))[0]["name"] == "Surgery A"
    # an Actor built outside a request (no version) always reads the table
    assert (await setup_cache.chairs(clinic))[0]["name"] == "Surgery A"


async def test_the_day_view_shows_a_chair_added_since_the_last_view(client, clinic, cal):
    receptionist = await factories.make_staff(clinic, Role.RECEPTIONIST)
    await sign_in_as(client, receptionist)
    day = date(2026, 12, 2).isoformat()
    assert "Chair 9" not in (await client.get("/calendar", params={"date": day})).text
    await practice_setup.add_chair(clinic, "Chair 9")
    assert "Chair 9" in (await client.get("/calendar", params={"date": day})).text


async def test_booking_rules_move_the_version_so_the_slot_finder_sees_a_new_absence(clinic, cal):
    from datetime import timedelta

    from portal.calendar import availability

    setup_cache.forget()
    day = date.today() + timedelta(days=7)
    query = availability.SlotQuery(minutes=30, provider_id=cal["dentist"].id, first_day=day, days=1, limit=3)
    actor = dataclasses.replace(clinic, setup_version=await _version(clinic.clinic_id))
    assert await availability.find_free_slots(actor, query)
    await practice_setup.add_absence(clinic, cal["dentist"].id, day.isoformat(), day.isoformat())
    newer = dataclasses.replace(clinic, setup_version=await _version(clinic.clinic_id))
    assert newer.setup_version > actor.setup_version
    assert await availability.find_free_slots(newer, query) == []
    before = newer.setup_version
    await practice_setup.add_closure(clinic, (day + timedelta(days=1)).isoformat(),
                                     (day + timedelta(days=1)).isoformat(), "Training")
    assert await _version(clinic.clinic_id) > before


async def test_the_day_view_shows_a_closure_added_since_the_last_view(client, clinic, cal):
    await sign_in_as(client, clinic)
    day = date(2026, 12, 3).isoformat()
    assert "The practice is closed" not in (await client.get("/calendar", params={"date": day})).text
    await practice_setup.add_closure(clinic, day, day, "Team training")
    assert "The practice is closed: Team training" in (await client.get("/calendar", params={"date": day})).text
