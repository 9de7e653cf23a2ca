"""Reminder throughput: N due reminders through one `portal worker` (a real subprocess) and a local SMTP
server; writes bench/results/jobs.md. Run alone with `python -m bench.jobs [N]` (default 10,000)."""

import asyncio
import os
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


async def seed_reminders(owner, cal: dict, count: int, patients: int = 20) -> list[str]:
    """`count` appointments 3+ days ahead (15 minutes apart), patients with reminder consent, and one queued
    48-hour reminder each (rendered and guarded, as the planner queues them); returns the idempotency keys."""
    from portal import appointment_mail, consents
    from portal.consents import ConsentChange, ConsentKind
    from portal.db import transaction
    from portal.tables import Appointment
    from tests import factories

    patient_ids = []
    for n in range(patients):
        pid = await factories.make_patient(owner, email=f"bench{n}@example.org")
        await consents.record_change(owner, owner.clinic_id, pid,
                                     ConsentChange(ConsentKind.REMINDER_EMAIL, True, "front_desk"))
        patient_ids.append(pid)
    rows = await Appointment.raw(
        "INSERT INTO appointment (clinic, patient, provider, chair, appointment_type, starts_at, ends_at) "
        "SELECT {}, ({}::int[])[1 + i % {}], {}, {}, {}, "
        "date_trunc('hour', now()) + interval '3 days' + i * interval '15 minutes', "
        "date_trunc('hour', now()) + interval '3 days' + i * interval '15 minutes' + interval '10 minutes' "
        "FROM generate_series(0, {} - 1) AS i RETURNING id",
        owner.clinic_id, patient_ids, patients, cal["dentist"].id, cal["chairs"][0], cal["checkup"], count)
    keys = []
    ids = [r["id"] for r in rows]
    for start in range(0, len(ids), 500):
        async with transaction():
            for appointment_id in ids[start:start + 500]:
                await appointment_mail.queue_reminder(appointment_id, 48)
                keys.append(appointment_mail.reminder_key(appointment_id, 48, 0))
    return keys


def start_worker(env: dict, concurrency: int = 4) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "portal.cli", "worker", "--no-migrate", "--concurrency",
                             str(concurrency)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE if env.get("WORKER_QUIET") else None)
