"""The owner's practice reports read from the calendar: no-show and cancellation rates, chair utilisation per week,
new patients per month (chart, table, CSV, range), and the owner's headline numbers on the dashboard."""

import csv
import io
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from portal.billing import payments
from portal.permissions import Role
from portal.tables import Appointment, Patient
from tests import factories
from tests.factories import sign_in_as
from tests.test_billing_ledger import completed_filling

AMS = ZoneInfo("Europe/Amsterdam")


async def _visit(clinic, cal, patient: int, day: str, hour: int, status: str, minutes: int = 60) -> None:
    starts = datetime.fromisoformat(f"{day}T{hour:02d}:00").replace(tzinfo=AMS).astimezone(timezone.utc)
    await Appointment.insert(Appointment(
        clinic=clinic.clinic_id, patient=patient, provider=cal["dentist"].id, chair=cal["chairs"][0],
        appointment_type=cal["checkup"], starts_at=starts, ends_at=starts + timedelta(minutes=minutes), status=status))


async def _october_week(clinic, cal) -> None:
    """Week 41 of 2026 (Mon 5 - Sun 11 October): four hours kept, one no-show, one cancellation."""
    patient = await factories.make_patient(clinic)
    for hour in (8, 9, 10, 11):
        await _visit(clinic, cal, patient, "2026-10-06", hour, "completed")
    await _visit(clinic, cal, patient, "2026-10-07", 9, "no_show")
    await _visit(clinic, cal, patient, "2026-10-07", 10, "cancelled")


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.text)))


async def test_no_show_and_cancellation_rates_by_month_from_the_calendar(client, clinic, cal):
    await _october_week(clinic, cal)
    await sign_in_as(client, clinic)
    query = "report=no_shows_month&start=2026-10-01&end=2026-10-31"
    page = await client.get(f"/reports/money?{query}")
    assert page.status_code == 200 and "report-bar-second" in page.text and "20,0 %" in page.text
    rows = _csv(await client.get(f"/reports/money/export.csv?{query}"))
    assert rows == [["label", "amount", "cancel_rate", "count", "no_shows", "cancellations"],
                    ["2026-10", "20.0", "16.7", "6", "1", "1"]]  # 1 of 5 kept visits missed; 1 of 6 cancelled
    # Outside the range nothing counts.
    assert _csv(await client.get("/reports/money/export.csv?report=no_shows_month&start=2026-11-01"
                                 "&end=2026-11-20"))[1:] == []


async def test_chair_utilisation_per_week_counts_booked_against_open_chair_time(client, clinic, cal):
    await _october_week(clinic, cal)
    await sign_in_as(client, clinic)
    rows = _csv(await client.get("/reports/money/export.csv?report=utilisation_week&start=2026-10-05&end=2026-10-11"))
    # Open 08-18 every day with two chairs: 7 x 10 h x 2 = 140 chair hours; 4 hours kept (no-show, cancelled: not).
    assert rows == [["label", "amount", "booked_hours", "open_hours", "count"],
                    ["2026-W41", "2.9", "4.0", "140.0", "4"]]
    page = await client.get("/reports/money?report=utilisation_week&start=2026-10-05&end=2026-10-11")
    assert page.status_code == 200 and "2026-W41" in page.text and "<rect" in page.text


async def test_new_patients_per_month(client, clinic):
    for month, count in (("2026-08-15", 2), ("2026-09-10", 3)):
        for _ in range(count):
            patient = await factories.make_patient(clinic)
            await Patient.update({Patient.created_at: datetime.fromisoformat(f"{month}T12:00+00:00")}).where(
                Patient.id == patient)
    await sign_in_as(client, clinic)
    rows = _csv(await client.get("/reports/money/export.csv?report=new_patients_month&start=2026-08-01"
                                 "&end=2026-09-30"))
    assert rows == [["label", "amount"], ["2026-08", "2"], ["2026-09", "3"]]
    page = await client.get("/reports/money?report=new_patients_month&start=2026-08-01&end=2026-09-30")
    assert "Total 5" in page.text


async def test_the_owner_alone_sees_the_headline_numbers_on_the_dashboard(client, clinic, cal):
    patient = await factories.make_patient(clinic)
    await completed_filling(clinic, cal["dentist"], patient)  # 105.00
    await payments.take_payment(clinic, patient, payments.PaymentForm(amount="40.00", method="cash"))
    await sign_in_as(client, clinic)
    page = (await client.get("/dashboard/figures")).text
    figures = page.split('id="owner-figures"', 1)[1].split("</section>", 1)[0]
    assert "105,00" in figures and "40,00" in figures and "65,00" in figures
    desk = await factories.make_staff(clinic, Role.RECEPTIONIST)
    await sign_in_as(client, desk)
    assert 'id="owner-figures"' not in (await client.get("/dashboard/figures")).text
