"""Closing a clinic account: the owner starts it, the worker exports every patient, staff, settings and audit with
progress; the countdown shows on every page the owner opens; cancel stops it; the deletion runs when the clock has
passed the 30 days (and the handover is recorded), and removes every row of that clinic only."""

import io
import json
import zipfile
from datetime import datetime, timedelta, timezone

from portal.permissions import Role
from portal.tables import Appointment, ClinicClosure, Patient, Staff
from tests import factories
from tests.factories import post_form, sign_in_as


async def _start(client, clinic) -> None:
    await sign_in_as(client, clinic)
    refused = await post_form(client, "/closing", {"confirm_name": "not the name"})
    assert refused.status_code == 422 and "Type the clinic" in refused.text and 'value="not the name"' in refused.text
    assert not await ClinicClosure.exists()
    started = await post_form(client, "/closing", {"confirm_name": clinic.clinic_name})
    assert started.status_code == 303


async def test_the_countdown_shows_everywhere_the_owner_looks_and_cancel_stops_it(client, other_client, clinic,
                                                                                  cal):
    await _start(client, clinic)
    for path in ("/", "/settings", "/patients", "/closing"):
        page = await client.get(path)
        assert 'id="closing-countdown"' in page.text and "deleted in 30 days" in page.text, path
    desk = await factories.make_staff(clinic, Role.RECEPTIONIST)
    await sign_in_as(other_client, desk)
    assert 'id="closing-countdown"' not in (await other_client.get("/")).text  # the owner's business
    assert (await other_client.get("/closing")).status_code == 403

    assert (await post_form(client, "/closing/cancel")).status_code == 303
    assert 'id="closing-countdown"' not in (await client.get("/")).text
    row = await ClinicClosure.select().first()
    assert row["cancelled_at"] is not None and row["cancelled_by_name"] == clinic.name
    # the deletion job still fires at its time, and does nothing
    from portal.closing import closure
    assert await closure.delete_if_due(row["id"], datetime.now(timezone.utc) + timedelta(days=31)) == "cancelled"
    assert await Staff.exists().where(Staff.clinic == clinic.clinic_id)


async def test_the_export_holds_every_patient_staff_settings_and_audit(client, clinic, cal):
    first = await factories.make_patient(clinic, given_name="Ilse", family_name="Export")
    await factories.make_chart_records(clinic, cal["dentist"], first)
    await factories.make_patient(clinic, given_name="Joost", family_name="Export")
    await _start(client, clinic)
    progress = await client.get("/closing")
    assert "Export: 0 of 5 parts" in progress.text and 'hx-trigger="every 2s"' in progress.text
    await factories.run_queued_jobs("exports")
    ready = await client.get("/closing")
    assert "Download the whole-clinic export" in ready.text
    download = await post_form(client, "/closing/export")
    assert download.status_code == 200 and download.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(download.content))
    names = set(archive.namelist())
    assert {"staff.json", "settings.json", "audit.csv"} <= names
    patients = sorted(n for n in names if n.startswith("patients/"))
    assert len(patients) == 2
    inner = zipfile.ZipFile(io.BytesIO(archive.read(f"patients/patient-{first}.zip")))
    document = json.loads(inner.read("export.json"))
    assert document["categories"]["identity"]["records"][0]["given_name"] == "Ilse"
    assert document["categories"]["clinical_notes"]["records"]  # nothing held back in the handover
    assert clinic.name in archive.read("staff.json").decode()
    assert json.loads(archive.read("settings.json"))["name"] == clinic.clinic_name
    assert "clinic.closure_started" in archive.read("audit.csv").decode()
    from portal.tables import DataExport
    assert not await DataExport.exists()  # the per-patient rows were only the means


async def test_the_worker_deletes_the_clinic_after_30_days_and_the_handover(client, clinic, other_clinic, cal):
    patient = await factories.make_patient(clinic, given_name="Gone", family_name="Soon")
    await factories.make_chart_records(clinic, cal["dentist"], patient)
    await factories.make_invoice(clinic, patient)
    await factories.book(clinic, cal, patient, (datetime.now(timezone.utc) + timedelta(days=3)).date().isoformat(),
                         "10:00")
    kept = await factories.make_patient(other_clinic, given_name="Stays")
    await _start(client, clinic)
    await factories.run_queued_jobs("exports")
    closure_row = await ClinicClosure.select().first()
    await factories.run_queued_jobs()  # the deletion is scheduled 30 days ahead: nothing happens now
    assert await Patient.exists().where(Patient.id == patient)

    # the clock moves past the 30 days (the scheduled job and the row's date with it)
    past = datetime.now(timezone.utc) - timedelta(minutes=1)
    await ClinicClosure.update({ClinicClosure.delete_after: past}).where(ClinicClosure.id == closure_row["id"])
    await Patient.raw("UPDATE procrastinate_jobs SET scheduled_at = {} WHERE task_name = 'closing.delete'", past)
    await factories.run_queued_jobs()
    assert await Patient.exists().where(Patient.id == patient)  # waiting for the handover
    page = await client.get("/closing")
    assert "The deletion waits" in page.text

    refused = await post_form(client, "/closing/handover", {"handover_to": "  "})
    assert refused.status_code == 422 and 'id="e-handover_to"' in refused.text
    where = "Tandartsen Zuid, Utrecht: the export handed over on a USB stick, 2 Dec"
    assert (await post_form(client, "/closing/handover", {"handover_to": where})).status_code == 303
    assert where in (await client.get("/closing")).text
    await Patient.raw("UPDATE procrastinate_jobs SET scheduled_at = {} WHERE task_name = 'closing.delete' "
                      "AND status = 'todo'", past)
    await factories.run_queued_jobs()

    done = await ClinicClosure.select().where(ClinicClosure.id == closure_row["id"]).first()
    assert done["deleted_at"] is not None and done["clinic"] is None and done["export_archive"] is None
    assert done["handover_to"] == where
    assert not await Patient.exists().where(Patient.id == patient)
    assert not await Appointment.exists().where(Appointment.patient == patient)
    leftovers = await Patient.raw(
        "SELECT c.table_name, c.column_name FROM information_schema.columns c JOIN information_schema.tables t "
        "ON t.table_name = c.table_name AND t.table_schema = c.table_schema AND t.table_type = 'BASE TABLE' "
        "WHERE c.table_schema = 'public' AND c.column_name IN ('clinic', 'clinic_id') "
        "AND c.data_type IN ('integer', 'bigint')")
    for column in leftovers:
        rows = await Patient.raw(f'SELECT count(*) AS n FROM "{column["table_name"]}" '
                                 f'WHERE "{column["column_name"]}" = {{}}', clinic.clinic_id)
        assert rows[0]["n"] == 0, column
    assert await Patient.exists().where(Patient.id == kept)  # another clinic is untouched
    assert (await client.get("/")).status_code in (302, 303, 401)  # the owner's account went with the clinic
