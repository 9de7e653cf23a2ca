"""The calendar grid on a busy day (8 chairs, 120 appointments): compact markup, one handler, every slot reachable."""

import re
from datetime import date, timedelta

import pytest

from portal.calendar import practice_setup
from portal.permissions import Role
from tests import factories
from tests.factories import book, sign_in_as

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
