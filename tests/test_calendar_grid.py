"""The calendar grid on a busy day (8 chairs, 120 appointments): compact markup, one handler, every slot reachable."""

import re
from datetime import date, timedelta

import pytest

from portal.calendar import practice_setup, scheduling
from portal.permissions import Role
from portal.tables import Appointment
from tests import factories
from tests.factories import book, post_form, sign_in_as

DAY = (date.today() + timedelta(days=7)).isoformat()
CHAIRS, PER_CHAIR = 8, 15


async def seed_busy_day(clinic, cal) -> list[int]:
    """8 chairs, each with its own dentist and 15 check-ups of 30 minutes every 40 minutes from 08:00 (120)."""
    chairs = cal["chairs"] + [await practice_setup.add_chair(clinic, f"Chair {n}") for n in range(3, CHAIRS + 1)]
    booked = []
    for c, chair in enumerate(chairs):
        dentist = await factories.make_staff(clinic, Role.DENTIST, name=f"Dr. Number {c + 1}")
        for k in range(PER_CHAIR):
            patient = await factories.make_patient(clinic, given_name=f"Given{c}x{k}", family_name="Familyname")
            minutes = 8 * 60 + 40 * k
            booked.append(await book(clinic, cal, patient, DAY, f"{minutes // 60:02d}:{minutes % 60:02d}",
                                     chair_id=str(chair), provider_id=str(dentist.id)))
    return booked


@pytest.fixture
async def busy(client, clinic, cal):
    booked = await seed_busy_day(clinic, cal)
    await sign_in_as(client, clinic)
    return booked


async def test_a_busy_day_stays_under_40_kb_and_shows_every_appointment(client, busy):
    page = await client.get("/calendar", params={"date": DAY})
    assert page.status_code == 200
    assert len(page.content) < 40_000, len(page.content)
    assert len(re.findall(r'class="cal-appt ', page.text)) == CHAIRS * PER_CHAIR


async def test_free_slots_carry_a_name_and_a_place_and_the_grid_one_booking_url(client, busy):
    page = (await client.get("/calendar", params={"date": DAY})).text
    grid = page.split('class="cal-grid')[1]
    assert grid.count("/calendar/book?") == 1 and "hx-get" not in grid  # one base URL, on the grid
    slots = re.findall(r'<button class="cal-slot rs-(\d+) cs-(\d+)" aria-label="Book Chair (\d) at (\d\d:\d\d)">', grid)
    # 15 check-ups of 30 minutes every 40 minutes leave 10 of the 40 quarter-hour rows free in each chair
    assert len(slots) == CHAIRS * 10 and len(set(slots)) == len(slots)
    rows = dict(re.findall(r'<div class="cal-time rs-(\d+)" data-t="(\d\d:\d\d)">', grid))
    assert all(rows[row] == at and int(column) == int(chair) + 1 for row, column, chair, at in slots)
    assert ("6", "2", "1", "09:00") in slots and not any(s[3] == "08:00" for s in slots)  # under a card: left out


async def test_the_week_grid_names_its_days_and_moves_by_two_taps(client, clinic, cal, busy):
    week = (await client.get("/calendar/week", params={"date": DAY, "chair": cal["chairs"][0]})).text
    first = busy[0]
    assert f'data-date="{DAY}"' in week and 'data-t="08:00"' in week
    assert f'href="/calendar/appointments/{first}" data-provider=' in week
    assert f'data-chair="{cal["chairs"][0]}"' in week
    picked = (await client.get("/calendar/week", params={"date": DAY, "chair": cal["chairs"][0],
                                                         "moving": first})).text
    assert f'action="/calendar/appointments/{first}/move"' in picked and "Moving Given0x0 Familyname" in picked
    later = (date.fromisoformat(DAY) + timedelta(days=1)).isoformat()
    row = await Appointment.select(Appointment.provider).where(Appointment.id == first).first()
    assert f'value="{later}|09:30|{cal["chairs"][0]}|{row["provider"]}"' in picked
    moved = await post_form(client, f"/calendar/appointments/{first}/move",
                            {"pick": f'{later}|09:30|{cal["chairs"][0]}|{row["provider"]}'})
    assert moved.status_code == 303
    await scheduling.set_status(clinic, first, "cancelled", "ill")
    stale = (await client.get("/calendar/week", params={"date": DAY, "moving": first})).text
    assert "Move here" not in stale  # a cancelled appointment cannot be picked up


async def test_a_card_names_its_alerts_and_escapes_what_staff_typed(client, clinic, cal):
    from portal.charts import medical_history

    patient = await factories.make_patient(clinic, given_name="<b>Mia</b>", family_name="O'Neil & Co")
    dentist = await factories.make_staff(clinic, Role.DENTIST)
    await medical_history.add_alert(dentist, patient, medical_history.AlertForm(label="Latex <allergy>"))
    appointment = await book(clinic, cal, patient, DAY, "09:00")
    await scheduling.set_status(clinic, appointment, "confirmed")
    await sign_in_as(client, clinic)
    for path, params in (("/calendar", {"date": DAY}), ("/calendar/week", {"date": DAY, "chair": cal["chairs"][0]})):
        page = (await client.get(path, params=params)).text
        [card] = re.findall(r'<a class="cal-appt[^"]*"[^>]*>.*?</a>', page)
        assert '&lt;b&gt;Mia&lt;/b&gt; O&#39;Neil &amp; Co</b>' in card and "<b>Mia" not in card
        assert ('<span class="appt-alert" title="Latex &lt;allergy&gt;" '
                'aria-label="Alerts: Latex &lt;allergy&gt;">⚠</span>') in card
        assert "status-confirmed" in card and '<span class="badge">confirmed</span>' in card
        assert f'href="/calendar/appointments/{appointment}"' in card
        assert ("data-chair=" in card) == (path == "/calendar/week")
