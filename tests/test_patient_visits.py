"""The patient page lists the patient's appointments (coming up and earlier) and offers to book the next one."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from portal import clock
from portal.calendar import scheduling
from portal.tables import AuditEntry, Patient
from tests import factories
from tests.factories import sign_in_as


async def test_the_patient_page_lists_coming_and_earlier_appointments(client, clinic, cal, monkeypatch):
    patient = await factories.make_patient(clinic, given_name="Zoë")
    other = await factories.make_patient(clinic)
    tomorrow = (datetime.now(ZoneInfo("Europe/Amsterdam")) + timedelta(days=1)).date().isoformat()
    soon = await factories.book(clinic, cal, patient, tomorrow, "09:00")
    later = await factories.book(clinic, cal, patient, tomorrow, "11:00")
    await scheduling.set_status(clinic, later, "cancelled", reason="Patient is ill")
    await factories.book(clinic, cal, other, tomorrow, "10:00")
    # Stand a day later: the 09:00 visit is now in the past.
    moment = datetime.now(ZoneInfo("Europe/Amsterdam")).replace(hour=12) + timedelta(days=1)
    monkeypatch.setattr(clock, "now", lambda: moment)
    await sign_in_as(client, clinic)
    page = await client.get(f"/patients/{patient}")
    assert f'hx-get="/patients/{patient}/appointments"' in page.text
    fragment = await client.get(f"/patients/{patient}/appointments", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and fragment.text.startswith('<article id="appointments"')
    coming, earlier = fragment.text.split("<h3>Earlier</h3>")
    assert "Nothing booked." in coming
    assert "Cancelled" in earlier and "Patient is ill" in earlier and "Booked" in earlier
    assert earlier.index("11:00") < earlier.index("09:00")  # newest first
    assert f"/calendar/book?patient={patient}&amp;date={moment.date().isoformat()}" in fragment.text
    assert fragment.text.count("<tr>") == 3  # a header row and two of this patient's, not the other's
    assert soon and await AuditEntry.exists().where(
        (AuditEntry.action == "patient.appointments_viewed") & (AuditEntry.patient_id == patient))


async def test_another_clinics_patient_and_an_isolated_one_are_unknown_and_nothing_is_logged(
        client, clinic, other_clinic, cal):
    stranger = await factories.make_patient(other_clinic)
    isolated = await factories.make_patient(clinic)
    await factories.book(clinic, cal, isolated, (clock.now() + timedelta(days=2)).date().isoformat(), "09:00")
    await Patient.raw("UPDATE patient SET isolated_at = now() WHERE id = {}", isolated)
    await sign_in_as(client, clinic)
    for unknown in (stranger, isolated):
        response = await client.get(f"/patients/{unknown}/appointments")
        assert response.status_code == 404 and "09:00" not in response.text
    assert not await AuditEntry.exists().where(AuditEntry.action == "patient.appointments_viewed")


async def test_upcoming_come_soonest_first_and_only_the_twenty_latest_past_ones(clinic, cal, monkeypatch):
    from portal.calendar import patient_visits

    patient = await factories.make_patient(clinic)
    start = datetime.now(ZoneInfo("Europe/Amsterdam")).date() + timedelta(days=1)
    days = [start + timedelta(days=n) for n in range(25)]
    for day in reversed(days):  # booked latest first: the order shown is the list's, not the booking's
        await factories.book(clinic, cal, patient, day.isoformat(), "09:00")
    # Stand at noon on the 23rd day: 23 visits are past, 2 to come.
    moment = datetime.combine(days[22], datetime.min.time(), ZoneInfo("Europe/Amsterdam")).replace(hour=12)
    monkeypatch.setattr(clock, "now", lambda: moment)
    visits = await patient_visits.for_patient(clinic, patient)
    assert [v["starts_at"].astimezone(moment.tzinfo).date() for v in visits.upcoming] == days[23:]
    assert [v["starts_at"].astimezone(moment.tzinfo).date() for v in visits.past] == days[22:2:-1]
    assert visits.more_past and len(visits.past) == patient_visits.PAST_SHOWN
