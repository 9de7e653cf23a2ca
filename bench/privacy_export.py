"""Bench: build the privacy export (ZIP with JSON, CSVs, summary) for a patient with ten years of history.

`python -m bench.privacy_export` uses its own database (`chairside_privacy_bench`) on the embedded server in
var/, made fresh each run: one clinic, one patient with ~520 appointments (one a week for ten years), 520
reminder messages, 120 consent changes, 12 privacy requests and 30,000 access-log rows (calendar views and
record reads). It times `build_export` end to end, five runs, and prints the median and the worst.
Target (issue 7): <= 2 s.
"""

import asyncio
import os
import statistics
import time
from datetime import time as clock_time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "chairside_privacy_bench"
RUNS = 5


async def _seed() -> tuple[int, int]:
    from portal import clinics, db, patients, staff
    from portal.calendar import practice_setup

    owner = await clinics.create_clinic_with_owner(
        clinics.NewClinic(name="Bench Dental", country="NL", time_zone="Europe/Amsterdam",
                          contact_email="desk@bench.test", privacy_email="privacy@bench.test"),
        clinics.NewOwner(name="Bench Owner", email="owner@bench.test", password="bench-password-long"))
    for weekday in range(7):
        await practice_setup.set_opening_hours(owner, weekday, [(clock_time(8), clock_time(18))])
    chair = await practice_setup.add_chair(owner, "Chair 1")
    dentist_id = await staff.create_staff(owner, staff.StaffForm(name="Dr. Bench", email="dr@bench.test",
                                                                 role="dentist", active=True))
    type_id = await practice_setup.add_type(owner, practice_setup.TypeForm(name="Check-up", minutes="30"))
    patient_id = await patients.create_patient(owner, patients.PatientForm(
        given_name="Hanna", family_name="Langjarig", date_of_birth="1970-06-01", email="hanna@bench.test",
        phone_mobile="06 1234 5678", address="Kade 1, Amsterdam"))
    sql = f"""
    INSERT INTO appointment (clinic, patient, provider, chair, appointment_type, starts_at, ends_at, status,
                             notes, created_at, updated_at)
    SELECT {owner.clinic_id}, {patient_id}, {dentist_id}, {chair}, {type_id}, t, t + interval '30 minutes',
           'completed', 'Routine visit ' || n, t - interval '14 days', t
    FROM (SELECT n, date_trunc('day', now()) - (n * interval '7 days') + interval '9 hours' AS t
          FROM generate_series(1, 520) AS n) s;
    INSERT INTO outbox_message (clinic_id, patient_id, idempotency_key, recipient, subject, text_body, status,
                                next_attempt_at, created_at, sent_at)
    SELECT {owner.clinic_id}, {patient_id}, 'bench-reminder-' || n, 'hanna@bench.test', 'Your appointment',
           'See you tomorrow at 09:00 at Bench Dental. Reply to move it.', 'sent', now(), now() - n * interval '7 days',
           now() - n * interval '7 days'
    FROM generate_series(1, 520) AS n;
    INSERT INTO consent_event (clinic, patient, kind, granted, previous, actor_kind, actor_name, source,
                               notice_version, at)
    SELECT {owner.clinic_id}, {patient_id}, 'reminder_email', n % 2 = 0, n % 2 = 1, 'patient', 'Hanna',
           'privacy_centre', 'v1', now() - n * interval '30 days'
    FROM generate_series(1, 120) AS n;
    INSERT INTO privacy_request (clinic, patient_id, kind, status, filed_by_kind, details, received_at, due_at,
                                 decision_reason)
    SELECT {owner.clinic_id}, {patient_id}, 'inquiry', 'answered', 'patient',
           jsonb_build_object('question', 'Question ' || n), now() - n * interval '300 days',
           now() - n * interval '285 days', 'Answered'
    FROM generate_series(1, 12) AS n;
    INSERT INTO audit_entry (clinic_id, actor_kind, actor_id, actor_name, patient_id, action, object_type,
                             object_id, detail, at)
    SELECT {owner.clinic_id}, 'staff', {dentist_id}, 'Dr. Bench', {patient_id},
           CASE WHEN n % 3 = 0 THEN 'patient.viewed' ELSE 'calendar.day_viewed' END, 'patient', '{patient_id}',
           jsonb_build_object(), now() - n * interval '3 hours'
    FROM generate_series(1, 30000) AS n;
    ANALYZE;
    """
    await db.run_sql(sql)
    return owner.clinic_id, patient_id


async def main() -> None:
    from portal import db

    data_dir = Path(os.environ.get("PORTAL_DATA_DIR", ROOT / "var"))
    server = db.start_embedded(data_dir)
    import asyncpg

    conn = await asyncpg.connect(server)
    await conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    await conn.execute(f'CREATE DATABASE "{DATABASE}"')
    await conn.close()
    os.environ["DATABASE_URL"] = db.with_database(server, DATABASE)
    os.environ.setdefault("PICCOLO_CONF", "portal.piccolo_conf")
    await db.migrate()
    await db.start_pool(max_size=4)
    try:
        clinic_id, patient_id = await _seed()
        from portal.privacy import export
        from portal.tables import DataExport

        timings, size = [], 0
        for _ in range(RUNS):
            actor_free_id = await _new_export(clinic_id, patient_id)
            started = time.perf_counter()
            await export.build_export(actor_free_id)
            timings.append(time.perf_counter() - started)
            row = await DataExport.select(DataExport.status, DataExport.archive).where(
                DataExport.id == actor_free_id).first()
            assert row["status"] == "ready", row["status"]
            size = len(row["archive"])
        from portal.privacy import centre

        page_timings = []
        for _ in range(RUNS):
            started = time.perf_counter()
            await centre.gather(clinic_id, patient_id)
            page_timings.append(time.perf_counter() - started)
        print(f"see-everything page data (all categories, first 200 rows each formatted): median "
              f"{statistics.median(page_timings):.3f} s")
        print(f"privacy export, 10 years of history (520 visits, 520 messages, 120 consent changes, "
              f"30,000 access-log rows): median {statistics.median(timings):.3f} s, worst {max(timings):.3f} s, "
              f"ZIP {size / 1024:.0f} KiB over {RUNS} runs (target <= 2 s)")
    finally:
        await db.close_pool()


async def _new_export(clinic_id: int, patient_id: int) -> int:
    from datetime import datetime, timedelta, timezone

    from portal.tables import DataExport

    now = datetime.now(timezone.utc)
    row = DataExport(clinic=clinic_id, patient_id=patient_id, status="queued", total=0, created_at=now,
                     expires_at=now + timedelta(days=7))
    await row.save()
    return row.id


if __name__ == "__main__":
    asyncio.run(main())
