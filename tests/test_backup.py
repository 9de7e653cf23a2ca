"""Backup and restore: a drill with the real commands (seed, back up, restore into a new database, compare,
start the portal on it: nothing is sent twice), refusals, and the owner's held messages on /jobs."""

import asyncio
import io
import json
import os
import subprocess
import sys
import tarfile
import time
import urllib.request
from urllib.parse import urlsplit

import asyncpg
import pytest

from bench.jobs import seed_due_appointments
from portal import db
from portal.calendar import appointment_mail
from portal.imaging import images as imaging
from portal.messaging import holds, outbox
from portal.operations import backup
from portal.tables import AuditEntry, OutboxMessage
from tests import factories
from tests import image_samples as samples
from tests.conftest import ROOT
from tests.factories import csrf_token, sign_in_as
from tests.mail_sink import free_port

# Set by conftest's session start (a collect-only run has none and needs none).
TEST_DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://127.0.0.1/collect_only_test")

RESTORED_URL = db.with_database(TEST_DATABASE_URL, "chairside_restore_test")
DOMAIN_TABLES = ("clinic", "staff", "patient", "appointment", "outbox_message", "audit_entry", "consent_event",
                 "patient_image", "patient_image_blob", "migration")


async def _recreate(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    conn = await asyncpg.connect(db.with_database(url, "postgres"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def _portal(*args: str, database_url: str, timeout: float = 180) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url}
    return await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "portal.cli", *args], cwd=ROOT, env=env,
                                   capture_output=True, text=True, timeout=timeout)


async def _describe(url: str) -> dict:
    conn = await asyncpg.connect(url)
    try:
        return await backup.describe(conn)
    finally:
        await conn.close()


async def _fetch(url: str, sql: str):
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetch(sql)
    finally:
        await conn.close()


async def _seed(clinic, cal, settings) -> None:
    """20 due reminders (8 sent before the backup), an X-ray, and a reminder for an appointment already begun."""
    await seed_due_appointments(clinic, cal, 20)
    assert await appointment_mail.plan_reminders(settings=settings) == 20
    assert await outbox.deliver_due(settings, limit=8) == 8
    patient = await factories.make_patient(clinic, email="xray@example.org")
    await imaging.upload_images(clinic, patient, imaging.UploadForm(kind="xray"),
                                [imaging.UploadedFile("bite.png", samples.picture("PNG"))], 10 * 2**20)
    past = await OutboxMessage.raw(
        "INSERT INTO appointment (clinic, patient, provider, chair, appointment_type, starts_at, ends_at, created_at, "
        "updated_at) VALUES ({}, {}, {}, {}, {}, now() - interval '2 hours', now() - interval '90 minutes', "
        "now() - interval '3 days', now() - interval '3 days') RETURNING id, sequence",
        clinic.clinic_id, patient, cal["dentist"].id, cal["chairs"][1], cal["checkup"])
    await outbox.enqueue(outbox.Email(to="xray@example.org", subject="Reminder", text="Soon"), key="reminder:past",
                         clinic_id=clinic.clinic_id, patient_id=patient,
                         guard_appointment=(past[0]["id"], past[0]["sequence"]))


def _wait_http(url: str, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if urllib.request.urlopen(url, timeout=1).status == 200:
                return
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise AssertionError(f"the portal on the restored database did not start: {process.poll()}")
            time.sleep(0.3)


async def _wait(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await predicate():
            return True
        await asyncio.sleep(0.3)
    return False


async def test_restore_drill_restores_everything_and_resends_nothing(clinic, cal, settings, mailbox, tmp_path):
    await _seed(clinic, cal, settings)
    at_backup = await _describe(TEST_DATABASE_URL)
    file = tmp_path / "clinic.backup"
    started = time.monotonic()
    made = await _portal("backup", str(file), database_url=TEST_DATABASE_URL)
    backup_seconds = time.monotonic() - started
    assert made.returncode == 0, made.stderr
    # The live clinic carries on after the dump: it sends the 12 reminders that were still queued.
    while await outbox.deliver_due(settings):
        pass
    sent_live = len(mailbox.messages)
    assert sent_live == 20

    await _recreate(RESTORED_URL)
    started = time.monotonic()
    restored = await _portal("restore", str(file), database_url=RESTORED_URL)
    restore_seconds = time.monotonic() - started
    assert restored.returncode == 0, restored.stderr
    assert "12 waiting messages are held and 1 reminders of past appointments were dropped" in restored.stdout
    after = await _describe(RESTORED_URL)
    for table in DOMAIN_TABLES:
        assert after["tables"][table] == at_backup["tables"][table], table
    assert after["images"] == at_backup["images"] and len(after["images"]) == 2  # original, thumbnail
    assert set(map(tuple, after["triggers"])) >= backup.REQUIRED_TRIGGERS
    assert set(map(tuple, after["exclusion_constraints"])) == backup.REQUIRED_EXCLUSIONS
    statuses = {r["status"]: r["n"] for r in await _fetch(
        RESTORED_URL, "SELECT status, count(*) AS n FROM outbox_message GROUP BY status")}
    assert statuses == {"sent": 8, "held": 12, "withdrawn": 1}

    # The portal, with its worker, on the restored database: it runs delivery and sends nothing.
    port = free_port()
    env = {**os.environ, "DATABASE_URL": RESTORED_URL, "PORT": str(port), "SMTP_URL": mailbox.url}
    server = subprocess.Popen([sys.executable, "-m", "portal.cli", "serve", "--with-worker", "--server", "uvicorn"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_http(f"http://127.0.0.1:{port}/healthz", server)
        assert urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5).status == 200

        async def delivery_ran():
            rows = await _fetch(RESTORED_URL, "SELECT 1 FROM job_run WHERE task_name = 'outbox.deliver' "
                                              "AND last_status = 'succeeded'")
            return bool(rows)

        assert await _wait(delivery_ran, 90), "the worker on the restored database never ran delivery"
        await asyncio.sleep(2)
        resent = len(mailbox.messages) - sent_live
        assert resent == 0
        # The owner releases one held reminder: that one, and only that one, goes out.
        conn = await asyncpg.connect(RESTORED_URL)
        try:
            key = await conn.fetchval("UPDATE outbox_message SET status = 'queued', next_attempt_at = now() WHERE id = "
                                      "(SELECT min(id) FROM outbox_message WHERE status = 'held') "
                                      "RETURNING idempotency_key")
            await conn.execute("SELECT chairside_queue_delivery()")
        finally:
            await conn.close()

        async def released_arrived():
            return len(mailbox.messages) == sent_live + 1

        assert await _wait(released_arrived, 60)
        assert mailbox.messages[-1]["X-Chairside-Key"] == key
    finally:
        server.terminate()
        server.wait(30)
    print(f"\nrestore drill: {sum(at_backup['tables'].values())} rows in {len(at_backup['tables'])} tables, "
          f"{file.stat().st_size} bytes; backup {backup_seconds:.1f} s, restore {restore_seconds:.1f} s; "
          f"held 12, dropped 1, re-sent {resent}")


async def test_restore_refuses_a_database_that_is_not_empty(clinic, tmp_path):
    file = tmp_path / "clinic.backup"
    assert (await _portal("backup", str(file), database_url=TEST_DATABASE_URL)).returncode == 0
    refused = await _portal("restore", str(file), database_url=TEST_DATABASE_URL)
    assert refused.returncode != 0 and "not empty" in refused.stderr
    assert (await _describe(TEST_DATABASE_URL))["tables"]["clinic"] == 1  # the live database is untouched


async def test_restore_refuses_a_damaged_dump_before_touching_the_database(clinic, tmp_path):
    file = tmp_path / "clinic.backup"
    assert (await _portal("backup", str(file), database_url=TEST_DATABASE_URL)).returncode == 0
    manifest = backup.read_manifest(file)
    damaged = tmp_path / "damaged.backup"
    with tarfile.open(file) as source, tarfile.open(damaged, "w") as target:
        for member in source.getmembers():
            data = source.extractfile(member).read()
            if member.name == backup.DUMP_NAME:
                data = data[:-10] + b"0123456789"
            target.addfile(member, io.BytesIO(data))
    await _recreate(RESTORED_URL)
    with pytest.raises(backup.RestoreRefused, match="checksum"):
        await backup.restore(RESTORED_URL, damaged)
    assert (await _describe(RESTORED_URL))["tables"] == {}
    assert manifest["tables"]["clinic"] == 1


def test_a_missing_trigger_constraint_or_row_is_reported():
    manifest = {"tables": {"patient": 3}, "images": {"1:original": "ab"}, "migration": "m2",
                "triggers": [list(t) for t in backup.REQUIRED_TRIGGERS],
                "exclusion_constraints": [list(x) for x in backup.REQUIRED_EXCLUSIONS]}
    found = json.loads(json.dumps(manifest))
    assert backup.compare(manifest, found) == []
    found["tables"]["patient"] = 2
    found["images"]["1:original"] = "cd"
    found["triggers"] = [t for t in found["triggers"] if t[0] != "audit_entry"]
    found["exclusion_constraints"] = [x for x in found["exclusion_constraints"] if x[1] != "appointment_provider_free"]
    problems = backup.compare(manifest, found)
    assert len(problems) == 4
    assert any("audit_entry_append_only" in p for p in problems)
    assert any("exclusion constraint" in p for p in problems)


async def _held_message(clinic, key: str, to: str) -> int:
    await outbox.enqueue(outbox.Email(to=to, subject=f"Held {key}", text="Hello"), key=key,
                         clinic_id=clinic.clinic_id)
    await holds.hold_after_restore()
    return (await OutboxMessage.select(OutboxMessage.id).where(OutboxMessage.idempotency_key == key).first())["id"]


async def test_owner_releases_one_held_message_and_drops_another(client, clinic, settings, mailbox):
    kept = await _held_message(clinic, "held:1", "keep@example.org")
    gone = await _held_message(clinic, "held:2", "gone@example.org")
    assert await outbox.deliver_due(settings) == 0  # held messages are not due
    await sign_in_as(client, clinic)
    page = await client.get("/jobs")
    assert page.status_code == 200 and "keep@example.org" in page.text and "Held after a restore" in page.text
    response = await client.post(f"/jobs/held/{kept}/release", data={"_csrf_token": await csrf_token(client)},
                                 headers={"HX-Request": "true"})
    assert response.status_code == 200 and response.text.lstrip().startswith('<article id="held">')
    assert "keep@example.org" not in response.text and "gone@example.org" in response.text
    response = await client.post(f"/jobs/held/{gone}/drop", data={"_csrf_token": await csrf_token(client)})
    assert response.status_code == 303
    assert await outbox.deliver_due(settings) == 1
    assert len(mailbox.to("keep@example.org")) == 1 and not mailbox.to("gone@example.org")
    actions = {r["action"] for r in await AuditEntry.select(AuditEntry.action)}
    assert {"outbox.held_released", "outbox.held_dropped", "outbox.held_viewed"} <= actions


async def test_another_clinics_owner_cannot_release_or_see_held_messages(client, clinic, other_clinic):
    held = await _held_message(clinic, "held:3", "private@example.org")
    await sign_in_as(client, other_clinic)
    assert "private@example.org" not in (await client.get("/jobs")).text
    for action in ("release", "drop"):
        response = await client.post(f"/jobs/held/{held}/{action}", data={"_csrf_token": await csrf_token(client)})
        assert response.status_code == 404
    row = await OutboxMessage.select(OutboxMessage.status).where(OutboxMessage.id == held).first()
    assert row["status"] == "held"
