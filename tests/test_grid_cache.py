"""The day and week grids are drawn once per calendar version: a reload that nothing changed is served from the
process's copy (still audited), and every change a grid shows moves the version at its commit."""

import json
import re
from datetime import date, timedelta

import pytest

from portal import db
from portal.calendar import grid_cache
from portal.charts import medical_history
from portal.tables import AuditEntry, CalendarVersion, Patient, Staff
from tests import factories
from tests.factories import book, sign_in_as

DAY = (date.today() + timedelta(days=7)).isoformat()


@pytest.fixture
def appointment_reads(monkeypatch):
    return factories.statements_sent(monkeypatch, lambda sql: "FROM appointment a LEFT JOIN patient" in sql)


async def _version(clinic) -> int:
    return (await CalendarVersion.select(CalendarVersion.version).where(
        CalendarVersion.clinic == clinic.clinic_id).first())["version"]


async def _day(client) -> str:
    page = await client.get("/calendar", params={"date": DAY})
    assert page.status_code == 200
    return page.text


@pytest.fixture
async def booked(client, clinic, cal):
    patient = await factories.make_patient(clinic, given_name="Ada", family_name="Lovelace")
    await book(clinic, cal, patient, DAY, "09:00")
    await sign_in_as(client, clinic)
    return patient


async def test_a_reload_nothing_changed_is_drawn_from_the_copy_and_still_audited(client, clinic, booked,
                                                                                  appointment_reads):
    first, second = await _day(client), await _day(client)
    cards = [re.findall(r'<a class="cal-appt .*?</a>', page, re.S) for page in (first, second)]
    assert cards[0] == cards[1] and len(cards[0]) == 1 and "Ada" in cards[0][0]
    assert len(appointment_reads) == 1
    listed = await AuditEntry.select(AuditEntry.detail).where((AuditEntry.action == "calendar.day_viewed")
                                                              & (AuditEntry.object_type == "patient_list"))
    assert [json.loads(row["detail"]) for row in listed] == [{"patients": [booked]}] * 2  # every showing has its row
    own = await AuditEntry.count().where((AuditEntry.action == "calendar.day_viewed")
                                         & (AuditEntry.patient_id == booked))
    assert own == 1  # the patient's own row, once a day


async def test_a_reload_checks_its_copy_and_writes_its_audit_row_in_one_statement(client, clinic, booked,
                                                                                  monkeypatch):
    await _day(client)  # the copy, and the patient's own row of the day
    sent = factories.statements_sent(monkeypatch, lambda sql: "calendar_version" in sql or "audit_entry" in sql)
    await _day(client)
    assert len(sent) == 1 and "FROM calendar_version" in sent[0] and "INSERT INTO audit_entry" in sent[0]
    await Patient.update({Patient.given_name: "Augusta"}).where(Patient.id == booked)
    sent.clear()
    assert "Augusta" in await _day(client)  # the version moved: the one statement wrote nothing, the rows are read
    assert len(sent) == 2 and "INSERT INTO audit_entry" in sent[1]
    listed = await AuditEntry.count().where((AuditEntry.action == "calendar.day_viewed")
                                            & (AuditEntry.object_type == "patient_list"))
    assert listed == 3  # one row per showing: never none, never two


async def test_a_new_booking_shows_at_the_next_look(client, clinic, cal, booked, appointment_reads):
    assert "Grace" not in await _day(client)
    other = await factories.make_patient(clinic, given_name="Grace", family_name="Hopper")
    await book(clinic, cal, other, DAY, "11:00")
    assert "Grace" in await _day(client)
    assert len(appointment_reads) == 2


async def test_an_alert_a_rename_and_an_erasure_show_at_the_next_look(client, clinic, booked):
    assert "appt-alert" not in await _day(client)
    await medical_history.add_alert(clinic, booked, medical_history.AlertForm(label="Penicillin allergy"))
    assert "Penicillin allergy" in await _day(client)
    await Patient.update({Patient.given_name: "Augusta"}).where(Patient.id == booked)
    page = await _day(client)
    assert "Augusta" in page and "Ada " not in page
    await Patient.raw("UPDATE patient SET isolated_at = now() WHERE id = {}", booked)
    page = await _day(client)
    assert "Restricted record</b>" in page and "Augusta" not in page


async def test_a_providers_new_name_shows_on_the_week_grid(client, clinic, cal, booked):
    week = await client.get("/calendar/week", params={"date": DAY, "chair": cal["chairs"][0]})
    old_name = cal["dentist"].name
    assert old_name in week.text
    await Staff.update({Staff.name: "Dr. Renamed"}).where(Staff.id == cal["dentist"].id)
    week = await client.get("/calendar/week", params={"date": DAY, "chair": cal["chairs"][0]})
    assert "Dr. Renamed" in week.text


async def test_the_version_moves_once_per_transaction_at_commit_and_not_for_a_rollback(clinic, cal):
    patients = [await factories.make_patient(clinic) for _ in range(3)]
    before = await _version(clinic)
    async with db.transaction():
        for n, patient in enumerate(patients):
            await book(clinic, cal, patient, DAY, f"{9 + n:02d}:00")
    assert await _version(clinic) == before + 1
    with pytest.raises(RuntimeError):
        async with db.transaction():
            await Patient.update({Patient.given_name: "Never"}).where(Patient.id == patients[0])
            raise RuntimeError("rolled back")
    assert await _version(clinic) == before + 1
    await Patient.update({Patient.email: "new@example.test"}).where(Patient.id == patients[0])
    assert await _version(clinic) == before + 1  # nothing a grid shows


def test_a_copy_is_dropped_when_its_version_moves_or_it_grows_old(monkeypatch):
    grid_cache.forget()
    kept = grid_cache.put(("k",), 5, [{"patient.given_name": "Ada"}], [1])
    assert grid_cache.get(("k",), 5) is kept
    assert grid_cache.get(("k",), 6) is None and grid_cache.get(("k",), None) is None
    later = grid_cache.time.monotonic() + grid_cache.KEEP_SECONDS + 1
    monkeypatch.setattr(grid_cache.time, "monotonic", lambda: later)
    assert grid_cache.get(("k",), 5) is None


async def test_copies_older_than_their_time_leave_memory_at_the_next_read(clinic, monkeypatch):
    """A copy holds patients' names: the calendar's next read drops every copy that old, whatever its day."""
    grid_cache.forget()
    grid_cache.put(("an old day",), 1, [{"patient.given_name": "Ada"}], [1])
    later = grid_cache.time.monotonic() + grid_cache.KEEP_SECONDS + 1
    monkeypatch.setattr(grid_cache.time, "monotonic", lambda: later)

    async def read():
        return [], []

    await grid_cache.shown(clinic, ("another day",), read, "calendar.day_viewed")
    assert ("an old day",) not in grid_cache._kept and ("another day",) in grid_cache._kept

