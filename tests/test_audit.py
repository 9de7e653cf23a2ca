"""The audit trail: append-only, filterable by person, patient and date, exportable as CSV."""

from datetime import datetime, timezone

import pytest
from asyncpg.exceptions import InsufficientPrivilegeError

from portal import db
from portal.permissions import Role
from portal.tables import AuditEntry, Patient
from tests import factories
from tests.factories import sign_in_as


async def test_owner_filters_the_trail_by_patient_and_person(client, clinic):
    dentist = await factories.make_staff(clinic, Role.DENTIST, name="Dr. Dora")
    first = await factories.make_patient(clinic, given_name="Fenna")
    second = await factories.make_patient(clinic, given_name="Gijs")
    await sign_in_as(client, dentist)
    await client.get(f"/patients/{first}")
    await sign_in_as(client, clinic)
    await client.get(f"/patients/{second}")
    page = await client.get("/audit", params={"patient_id": first})
    assert page.status_code == 200
    assert "Fenna" in page.text and "Gijs" not in page.text and "patient.viewed" in page.text
    by_person = await client.get("/audit", params={"staff_id": dentist.id}, headers={"HX-Request": "true"})
    assert "Dr. Dora" in by_person.text and "Owner of" not in by_person.text and "<html" not in by_person.text


async def test_filtering_by_patient_finds_every_list_that_showed_them(client, clinic):
    from portal import audit

    shown, other = await factories.make_patient(clinic, given_name="Fenna"), await factories.make_patient(clinic)
    for _ in range(2):
        await audit.record_patients_shown(clinic, "calendar.day_viewed", [shown, other])
    await audit.record_patients_shown(clinic, "calendar.week_viewed", [other])
    await sign_in_as(client, clinic)
    page = (await client.get("/audit", params={"patient_id": shown})).text
    # two showings of the day (list rows) and the patient's own row of the day; the week never named them
    assert page.count("calendar.day_viewed") == 3 and "calendar.week_viewed" not in page


async def test_a_patients_own_row_is_written_once_a_day_and_a_rolled_back_showing_is_not_remembered(clinic):
    from portal import audit

    async def own_rows(pid):
        return await AuditEntry.count().where((AuditEntry.patient_id == pid) & (AuditEntry.object_type == "patient")
                                              & (AuditEntry.action == "calendar.day_viewed"))

    first, second = await factories.make_patient(clinic), await factories.make_patient(clinic)
    with pytest.raises(RuntimeError):
        async with db.transaction():
            await audit.record_patients_shown(clinic, "calendar.day_viewed", [first])
            raise RuntimeError("the page failed after its audit row")
    assert await own_rows(first) == 0
    for _ in range(3):
        await audit.record_patients_shown(clinic, "calendar.day_viewed", [first, second])
    assert await own_rows(first) == 1 and await own_rows(second) == 1
    lists = await AuditEntry.count().where(AuditEntry.object_type == "patient_list")
    assert lists == 3  # every showing keeps its own row, remembered patients or not
    audit.forget_seen()  # another process, or this one after a restart, asks the database
    await audit.record_patients_shown(clinic, "calendar.day_viewed", [first])
    assert await own_rows(first) == 1


async def test_date_filter_uses_the_clinic_day(client, clinic):
    late = datetime(2026, 6, 1, 22, 30, tzinfo=timezone.utc)  # 00:30 on 2 June in Amsterdam
    await AuditEntry.insert(AuditEntry(clinic_id=clinic.clinic_id, actor_kind="staff", actor_id=clinic.id,
                                       action="patient.viewed", object_type="marker", at=late))
    await sign_in_as(client, clinic)
    june_1 = await client.get("/audit", params={"date_from": "2026-06-01", "date_to": "2026-06-01"})
    june_2 = await client.get("/audit", params={"date_from": "2026-06-02", "date_to": "2026-06-02"})
    assert "marker" not in june_1.text and "Nothing recorded for these filters." in june_1.text
    assert "marker" in june_2.text


async def test_csv_export_has_one_line_per_entry_and_is_itself_audited(client, clinic):
    await factories.make_patient(clinic, given_name="=HYPERLINK")
    await sign_in_as(client, clinic)
    response = await client.get("/audit/export.csv")
    assert response.status_code == 200 and response.headers["content-type"] == "text/csv; charset=utf-8"  # once
    lines = response.text.strip().splitlines()
    assert lines[0].startswith("at,actor_kind,actor_id")
    assert any("patient.created" in line for line in lines)
    assert "'=HYPERLINK" in response.text  # formulas neutralised
    assert await AuditEntry.exists().where(AuditEntry.action == "audit.exported")


async def test_only_the_owner_reads_the_trail(client, clinic):
    await sign_in_as(client, await factories.make_staff(clinic, Role.DENTIST))
    assert (await client.get("/audit")).status_code == 403
    assert (await client.get("/audit/export.csv")).status_code == 403


@pytest.mark.parametrize("statement", ["UPDATE audit_entry SET action = 'tampered'", "DELETE FROM audit_entry"])
async def test_trail_cannot_be_changed_or_deleted(clinic, statement):
    with pytest.raises(InsufficientPrivilegeError):
        await db.run_sql(statement)
    assert not await AuditEntry.exists().where(AuditEntry.action == "tampered")
    assert await AuditEntry.count() >= 1


async def test_a_change_and_its_audit_row_commit_together(clinic, monkeypatch):
    """If the audit row cannot be written, the change it describes is rolled back too."""
    from portal import audit, patients

    async def broken_record(*args, **kwargs):
        raise RuntimeError("audit storage unavailable")

    monkeypatch.setattr(audit, "record", broken_record)
    with pytest.raises(RuntimeError):
        await patients.create_patient(clinic, patients.PatientForm(given_name="Ada", family_name="Lovelace",
                                                                   date_of_birth="1990-12-10"))
    assert await Patient.count() == 0
